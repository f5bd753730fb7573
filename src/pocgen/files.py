"""Write a set of files all or nothing: the one way pocgen replaces files a user may own.

`pocgen writeup` (the README and three reports), `pocgen new --force` (a finished render over an
existing folder) and `pocgen deploy` (its record) all replace files in place. A failure or an
interrupt halfway must leave the old files, never a mix, and no temporary file behind. So every new
content is first written beside its target, the old content is kept (a hard link, or a copy where
the file system has none), and only then are the new files renamed over the old ones, with Ctrl-C
and SIGTERM held for those milliseconds. If a rename fails, the files already replaced get their
old content back, folders made for new files are removed, and the error is raised.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pocgen.errors import PocgenError

# New content for a file: text (written exactly, no newline translation), bytes, or a file to
# copy (a symlink is copied as a link).
Content = str | bytes | Path


class WriteFailed(OSError):
    """Writing `target` failed; nothing was changed. `error` is the operating system's reason."""

    def __init__(self, target: Path, error: OSError) -> None:
        super().__init__(error.errno, error.strerror or str(error), str(target))
        self.target = target
        self.error = error


def read_text(path: Path, shown: str, rerun: str) -> str:
    """A text file exactly as stored (CRLF endings kept); one line naming the fix when it is not
    UTF-8 or cannot be read. `shown` names the file, `rerun` the command to run once fixed."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return handle.read()
    except UnicodeDecodeError as error:
        raise PocgenError(
            f"{shown} is not UTF-8 text (byte {error.start}); save it as UTF-8 and rerun `{rerun}`."
        ) from error
    except OSError as error:
        raise PocgenError(f"{shown} cannot be read ({error.strerror}).") from error


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM while files are renamed into place (milliseconds): once the first
    rename happened, finishing is the only way to leave the tree whole. A signal that arrived
    meanwhile is delivered when the block ends, not lost, so the caller can still say what
    happened. Signals can only be handled in the main thread; elsewhere the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = (signal.SIGINT, signal.SIGTERM)
    arrived: list[int] = []
    previous = {number: signal.signal(number, lambda n, _: arrived.append(n)) for number in held}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    for number in dict.fromkeys(arrived):
        signal.raise_signal(number)


@dataclass
class _Staged:
    target: Path
    temporary: Path
    kept: Path | None = None  # the old content, while the new one is moved in
    moved: bool = False


def _beside(target: Path, kind: str) -> Path:
    """A name next to `target` that no other file has: `.NAME.pocgen-KIND-PID-N`."""
    for number in range(1000):
        candidate = target.with_name(f".{target.name}.pocgen-{kind}-{os.getpid()}-{number}")
        if not candidate.exists() and not candidate.is_symlink():
            return candidate
    raise FileExistsError(17, "no free temporary name", str(target))


def make_parents(folder: Path, created: list[Path] | None = None) -> None:
    """`mkdir -p`, remembering in `created` each folder it made so a failure can remove them."""
    missing = []
    while not folder.exists() and not folder.is_symlink():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir()
        if created is not None:
            created.append(path)


def _stage(target: Path, content: Content, created: list[Path], staged: list[_Staged]) -> None:
    if target.is_dir() and not target.is_symlink():
        raise IsADirectoryError(21, "a folder is in the way", str(target))
    make_parents(target.parent, created)
    entry = _Staged(target, _beside(target, "new"))
    staged.append(entry)  # before writing: a half-written file is removed too
    if isinstance(content, Path):
        shutil.copy2(content, entry.temporary, follow_symlinks=False)
        return
    with entry.temporary.open("wb") as stream:
        stream.write(content.encode("utf-8") if isinstance(content, str) else content)
    with contextlib.suppress(OSError):  # keep the old file's mode where it had one
        shutil.copymode(target, entry.temporary)


def _keep(entry: _Staged) -> None:
    """Keep the target's current content under another name, so it can be put back."""
    if not entry.target.exists() and not entry.target.is_symlink():
        return
    entry.kept = _beside(entry.target, "old")
    try:
        os.link(entry.target, entry.kept, follow_symlinks=False)
    except OSError:  # a file system without hard links
        shutil.copy2(entry.target, entry.kept, follow_symlinks=False)


def _undo(staged: list[_Staged], created: list[Path]) -> None:
    """Put every replaced file back, remove what was staged and the folders made for it."""
    for entry in staged:
        with contextlib.suppress(OSError):
            if entry.moved and entry.kept is not None:
                os.replace(entry.kept, entry.target)
            elif entry.moved:
                entry.target.unlink()
        entry.temporary.unlink(missing_ok=True)
    for folder in reversed(created):
        with contextlib.suppress(OSError):
            folder.rmdir()


def write_all(changes: dict[Path, Content]) -> None:
    """Replace (or create) every file of `changes` with its new content, or none of them.

    Raises `WriteFailed` naming the file that could not be written; then nothing has changed.
    """
    staged: list[_Staged] = []
    created: list[Path] = []
    current = next(iter(changes), Path("."))
    try:
        for target, content in changes.items():
            current = target
            _stage(target, content, created, staged)
        for entry in staged:
            current = entry.target
            _keep(entry)
        with interrupts_deferred():
            for entry in staged:
                current = entry.target
                os.replace(entry.temporary, entry.target)
                entry.moved = True
    except BaseException as error:  # Ctrl-C while staging too: nothing may be left behind
        _undo(staged, created)
        if isinstance(error, OSError) and not isinstance(error, WriteFailed):
            raise WriteFailed(current, error) from error
        raise
    finally:
        for entry in staged:
            if entry.kept is not None:
                entry.kept.unlink(missing_ok=True)
