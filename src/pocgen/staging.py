"""Render into a scratch folder, then move the result into place.

Engines write files one by one; if a render fails or is interrupted (Ctrl-C) halfway, the user
must not be left with a half-written project or a half-overwritten folder. So every render goes
into a temporary folder next to the destination and is moved into place only once it finished.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pocgen.errors import PocgenError


def check_destination(dest: Path, force: bool) -> None:
    """Refuse a destination that is a file, or a non-empty folder without --force."""
    if dest.exists() and not dest.is_dir():
        raise PocgenError(f"{dest} exists and is not a folder; choose another destination.")
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise PocgenError(
            f"{dest} already exists and is not empty; choose a new folder, or pass --force "
            "to write the project into it (files with the same names are overwritten)."
        )


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path


@contextmanager
def staging_area(dest: Path) -> Iterator[Path]:
    """A temporary folder on the destination's file system, removed whatever happens."""
    root = Path(tempfile.mkdtemp(prefix=".pocgen-staging-", dir=_nearest_existing(dest.parent)))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def move_into_place(rendered: Path, dest: Path) -> None:
    """Move a finished render to `dest`: a rename when it is new, a copy over it with --force."""
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(rendered, dest)
        return
    shutil.copytree(rendered, dest, dirs_exist_ok=True, symlinks=True)
