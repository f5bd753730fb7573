"""The one exception type the CLI turns into a clean, one-line error.

Library code raises `PocgenError` for every failure a user can fix (bad input, missing files,
refused tokens). The message names the problem and the fix; the CLI prints it without a traceback
and exits with code 1. Anything else is a bug and keeps its traceback.
"""


class PocgenError(Exception):
    """A failure the user can fix; `str(error)` is the whole message."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def one_line(text: object) -> str:
    """An engine's explanation, all of it, on one line.

    Copier and Cookiecutter often put the decisive part (the missing module, the bad key) on a
    second line; keeping only the first would drop it, so lines are joined instead.
    """
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())
