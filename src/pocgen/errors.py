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


class Interrupted(PocgenError):
    """Ctrl-C (or SIGTERM) stopped a command; the message says what state it left. Exit 130,
    as a shell reports an interrupted program."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=130)


def printable(text: object) -> str:
    """`text` safe to show in a terminal: control characters (an escape sequence or a newline in
    a file name a template chose) are shown as `\\x1b`, `\\n`, never sent to the terminal."""
    return "".join(
        char if char.isprintable() or char == " " else ascii(char)[1:-1] for char in str(text)
    )


def shown(text: object) -> str:
    """User-provided text (a path, a file name, a message quoting one) inside a rich markup
    string: `printable`, and `[...]` kept as text rather than read as markup."""
    from rich.markup import escape

    return escape(printable(text))
