"""pocgen: do the job before you have it.

Generate an ML proof-of-concept project from a template, keep it up to date, deploy its demo to a
Hugging Face Space, write it up from its own results and check how far along it is.
"""

__version__ = "0.1.0"
