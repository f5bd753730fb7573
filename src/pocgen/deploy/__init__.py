"""`pocgen deploy`: build a generated project's demo into a Space folder and upload it to the Hub.

One module per job: `build` lays out the folder, `frontmatter` writes and checks the Space's
README metadata, `secrets` refuses anything that looks like a credential, `upload` talks to the
Hub, and `run` puts them in order for the CLI.
"""
