"""Render into a scratch folder, then move the result into place.

Engines write files one by one; if a render fails or is interrupted (Ctrl-C, a kill) halfway,
the user must not be left with a half-written project. So every render goes into a staging
folder next to the destination (`.pocgen-staging-*`, on the same file system) and is moved into
place only once it finished:
- a new destination is one rename;
- with --force into an existing folder, every rendered file is renamed over its target: first
  everything that could fail is checked, then a plan is written (the commit point), then the
  renames run with Ctrl-C deferred. A process killed during those milliseconds leaves its plan,
  and the next `pocgen new` beside it finishes the job.

A staging folder holds a lock (`flock`) for as long as its process lives, so a later `pocgen new`
can prove a leftover folder's owner is dead before it removes it. A plan is obeyed only when
this machine's pocgen remembers writing it (`remember`): a folder that arrived in an archive
moves nothing.

The update journal (`journal.py`) shares the path rules (`confined_name`) and the memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from pocgen import files
from pocgen.errors import Interrupted, PocgenError
from pocgen.files import interrupts_deferred

STAGING_PREFIX = ".pocgen-staging-"
LOCK_FILE = "pocgen.lock"
PLAN_FILE = "plan.json"
RENDER_FOLDER = "render"


def check_destination(dest: Path, force: bool) -> None:
    """Refuse a destination that is a file, or a non-empty folder without --force."""
    if dest.exists() and not dest.is_dir():
        raise PocgenError(f"{dest} exists and is not a folder; choose another destination.")
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise PocgenError(
            f"{dest} already exists and is not empty; choose a new folder, or pass --force "
            "to write the project into it (files with the same names are overwritten)."
        )


def nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path


def _unwritable(path: Path, error: OSError) -> PocgenError:
    return PocgenError(
        f"cannot write {error.filename or path} ({error.strerror or error}); nothing was "
        f"written to {path}. Choose a destination you can write to, or fix its permissions."
    )


# --- what pocgen remembers writing ----------------------------------------------------------


def _memory(plan: bytes) -> Path:
    from pocgen.templating.snapshots import cache_root

    return cache_root() / "pending" / f"{hashlib.sha256(plan).hexdigest()}.json"


def remember(plan: bytes, where: Path) -> None:
    """Note, outside the project, that this pocgen wrote `plan` (in `where`): only a plan it
    remembers is obeyed later."""
    record = _memory(plan)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"where": str(where.resolve())}), encoding="utf-8")


def remembers(plan: bytes, where: Path) -> bool:
    try:
        record = json.loads(_memory(plan).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and record.get("where") == str(where.resolve())


def forget(plan: bytes) -> None:
    _memory(plan).unlink(missing_ok=True)


# --- paths a plan may name -------------------------------------------------------------------


def confined_name(name: Any, root: Path) -> str | None:
    """Why `name` cannot be a file of `root` that a plan may write or delete, or None.

    A name must be relative POSIX text without `.`/`..` parts, outside `.git`, and no folder on
    the way to it may be a symlink (a write there would land wherever the link points).
    """
    if not isinstance(name, str) or not name or "\0" in name or "\\" in name:
        return "not a relative file name"
    parts = PurePosixPath(name).parts
    if PurePosixPath(name).is_absolute() or any(part in {".", "..", ""} for part in parts):
        return "not a path inside the folder"
    if ".git" in parts:
        return "inside .git"
    folder = root
    for part in parts[:-1]:
        folder = folder / part
        if folder.is_symlink():
            return f"{folder.relative_to(root).as_posix()} on the way is a symlink"
    return None


# --- the staging area ------------------------------------------------------------------------


@dataclass
class Staging:
    """A staging folder: `workspace` is where the engine renders; `committed` turns true once
    the project is in place; `finished` names what an earlier, killed `new` left half-done and
    this one completed."""

    root: Path
    workspace: Path
    committed: bool = False
    finished: list[str] = field(default_factory=list)


def _locked(path: Path) -> Any:
    """An open lock file holding an exclusive flock, or None where it is held elsewhere (or
    the platform has no flock)."""
    try:
        import fcntl
    except ImportError:
        return None
    try:
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held while the folder lives)
    except OSError:
        return None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def _staging_parent(dest: Path) -> Path:
    """Where the staging folder goes: beside the destination, on its file system (inside an
    existing destination that is a mount point of its own, so renames never cross devices)."""
    parent = nearest_existing(dest.parent)
    if dest.is_dir() and dest.stat().st_dev != parent.stat().st_dev:
        return dest
    return parent


def clean_stale(folder: Path) -> list[str]:
    """Remove the staging folders of dead `pocgen new` processes in `folder`; finish a --force
    write one of them had committed to. Returns the destinations finished."""
    finished = []
    for stale in sorted(folder.glob(f"{STAGING_PREFIX}*")):
        if stale.is_symlink() or not stale.is_dir() or stale.stat().st_uid != os.getuid():
            continue
        lock_file = stale / LOCK_FILE
        lock = _locked(lock_file) if lock_file.is_file() and not lock_file.is_symlink() else None
        if lock is None:  # alive, or not provably dead: left alone
            continue
        try:
            plan_file = stale / PLAN_FILE
            if plan_file.is_file():
                dest = _finish_plan(stale, plan_file.read_bytes())
                if dest is None:
                    continue  # a plan this machine never wrote: left for the user to see
                finished.append(str(dest))
            shutil.rmtree(stale, ignore_errors=True)
        finally:
            lock.close()
    return finished


@contextmanager
def staging_area(dest: Path) -> Iterator[Staging]:
    """A locked staging folder on the destination's file system, removed afterwards unless it
    holds a committed plan that could not be finished."""
    parent = _staging_parent(dest)
    finished = clean_stale(parent)
    try:
        root = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=parent))
    except OSError as error:
        raise _unwritable(dest, error) from None
    lock = _locked(root / LOCK_FILE)
    try:
        if lock is not None:
            lock.write(f"{os.getpid()}\n")
            lock.flush()
        workspace = root / RENDER_FOLDER
        workspace.mkdir()
        yield Staging(root, workspace, finished=finished)
    finally:
        if not (root / PLAN_FILE).exists():
            shutil.rmtree(root, ignore_errors=True)
        if lock is not None:
            lock.close()


# --- moving a finished render into place ------------------------------------------------------


def _check_targets(rendered: Path, dest: Path, names: list[str]) -> None:
    """Everything that could stop a rename, checked before any: a folder or a file in the way,
    a symlinked folder, another file system, a folder that refuses writes."""
    device = rendered.stat().st_dev
    probed: set[Path] = set()
    for name in names:
        target = dest / name
        if target.is_dir() and not target.is_symlink():
            raise IsADirectoryError(21, "a folder is in the way", str(target))
        problem = confined_name(name, dest)
        if problem:
            raise PocgenError(
                f"refusing to write {dest / name} with --force: {problem}; pocgen writes only "
                f"inside {dest}. Remove the link, or choose another destination."
            )
        nearest = nearest_existing(target.parent)
        if not nearest.is_dir():
            raise NotADirectoryError(20, "a file is in the way", str(nearest))
        if nearest.stat().st_dev != device:
            raise PocgenError(
                f"{nearest} is on another file system than {dest}, so pocgen cannot replace "
                f"its files all at once; nothing was written to {dest}. Render into a new "
                "folder and copy the files over."
            )
        if nearest not in probed:
            probed.add(nearest)
            with tempfile.TemporaryFile(dir=nearest, prefix=".pocgen-probe-"):
                pass


def _rename_all(source: Path, dest: Path, names: list[str]) -> None:
    for name in names:
        staged = source / name
        if staged.exists() or staged.is_symlink():  # not yet moved by an earlier, killed run
            target = dest / name
            files.make_parents(target.parent)
            os.replace(staged, target)


def _finish_plan(root: Path, plan: bytes) -> Path | None:
    """Finish the --force write of a killed `new` whose plan this machine wrote; None (and
    nothing moved) for any other plan."""
    try:
        data = json.loads(plan)
        dest, names = Path(data["dest"]), data["names"]
    except (ValueError, KeyError, TypeError):
        return None
    if not remembers(plan, root) or not isinstance(names, list):
        return None
    if any(confined_name(name, dest) for name in names):
        return None
    _rename_all(root / RENDER_FOLDER / data["rendered"], dest, names)
    forget(plan)
    return dest


def move_into_place(rendered: Path, dest: Path, staging: Staging) -> None:
    """Move a finished render to `dest`: one rename when it is new; with --force, every file
    renamed over its target after all of them were checked, so an unwritable folder changes
    nothing and a kill leaves a plan the next `new` finishes."""
    try:
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            with interrupts_deferred():
                os.replace(rendered, dest)
                staging.committed = True
            return
        names = sorted(
            path.relative_to(rendered).as_posix()
            for path in rendered.rglob("*")
            if path.is_symlink() or not path.is_dir()
        )
        _check_targets(rendered, dest, names)
    except OSError as error:
        raise _unwritable(dest, error) from None
    relative = rendered.relative_to(staging.workspace).as_posix()
    plan = json.dumps({"dest": str(dest.resolve()), "rendered": relative, "names": names})
    plan_bytes = plan.encode()
    try:
        remember(plan_bytes, staging.root)
        (staging.root / f"{PLAN_FILE}.new").write_bytes(plan_bytes)
    except OSError as error:
        raise _unwritable(dest, error) from None
    try:
        with interrupts_deferred():
            os.replace(staging.root / f"{PLAN_FILE}.new", staging.root / PLAN_FILE)  # commit
            _rename_all(rendered, dest.resolve(), names)
            (staging.root / PLAN_FILE).unlink()
            forget(plan_bytes)
            staging.committed = True
    except OSError as error:
        raise PocgenError(
            f"{dest} is only partly written ({error.strerror}: {error.filename}); fix that and "
            "run the same `pocgen new` again: it finishes the job first."
        ) from None


def interrupted(dest: Path, staging: Staging | None) -> Interrupted:
    """The line for Ctrl-C during `new`: whether the project was written decides what it says."""
    if staging is not None and staging.committed:
        return Interrupted(f"interrupted after {dest} was written: the project is complete.")
    return Interrupted(f"interrupted: nothing was written to {dest}.")
