"""`pocgen writeup`: fill the README's marker sections and draft resume, model card and blog post.

`run` plans and writes all files or none; `sections` and `outputs` turn the project's files into
sentences (never its template answers alone: docs/claims.md lists each claim's evidence);
`contribution` measures what the user built on top of the template; `markers` finds and signs the
`<!-- pocgen:NAME -->` regions; `formatting` writes numbers and metric names as a reader says them.
"""

from pocgen.writeup.run import plan_writeup, run_writeup, stale_message, summary

__all__ = ["plan_writeup", "run_writeup", "stale_message", "summary"]
