"""pocgen's command line. Each command is a few lines: parse, call one library function, print.

Heavy libraries (copier, cookiecutter, huggingface_hub) are imported inside the commands that use
them, so `pocgen --help` starts fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pocgen.errors import PocgenError

app = typer.Typer(
    name="pocgen",
    help="Do the job before you have it: generate, run, deploy and write up an ML proof of concept.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

ProjectArg = Annotated[
    Path, typer.Argument(help="The project folder.", show_default=True)
]


def main() -> None:
    """Console-script entry point: run the app and turn `PocgenError` into one line, exit 1."""
    try:
        app(prog_name="pocgen")
    except PocgenError as error:
        err_console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        sys.exit(error.exit_code)
