"""Render into a scratch folder, then move the result into place.

Engines write files one by one; if a render or an update fails or is interrupted (Ctrl-C, a
kill) halfway, the user must not be left with a half-written project or a half-merged one. So
every render goes into a temporary folder next to the destination and is moved into place only
once it finished, and an update's files are replaced as one set through a journal.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pocgen.errors import PocgenError
from pocgen.files import WriteFailed, interrupts_deferred, write_all
from pocgen.templating.sources import git


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


def _unwritable(path: Path, error: OSError) -> PocgenError:
    return PocgenError(
        f"cannot write {error.filename or path} ({error.strerror or error}); nothing was "
        f"written to {path}. Choose a destination you can write to, or fix its permissions."
    )


@contextmanager
def staging_area(dest: Path) -> Iterator[Path]:
    """A temporary folder on the destination's file system, removed whatever happens."""
    try:
        root = Path(tempfile.mkdtemp(prefix=".pocgen-staging-", dir=_nearest_existing(dest.parent)))
    except OSError as error:
        raise _unwritable(dest, error) from None
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def move_into_place(rendered: Path, dest: Path) -> None:
    """Move a finished render to `dest`: a rename when it is new; with --force, every file is
    first written next to its target, and only when all of them could be are they renamed over
    the old ones, so an unwritable folder changes nothing."""
    try:
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(rendered, dest)
            return
    except OSError as error:
        raise _unwritable(dest, error) from None
    names = sorted(path.relative_to(rendered) for path in rendered.rglob("*") if not path.is_dir())
    try:
        write_all({dest / name: rendered / name for name in names})
    except WriteFailed as error:
        raise _unwritable(dest, error) from None


# An update's changes go through a journal in the project's git folder: every new file is written
# there first, then one rename of the journal folder is the moment the update happens, then the
# files are moved into the project. A process killed before that rename leaves the old tree; one
# killed after it leaves a journal that the next `pocgen update` finishes.
JOURNAL = "pocgen-update"


@dataclass(frozen=True)
class Changes:
    """What an update does to a project: files to write (from a finished scratch copy) and to
    delete, as paths relative to the project."""

    writes: list[str]
    deletes: list[str]


def _git_paths(project: Path) -> tuple[Path, str]:
    """The project's git folder, and the project's path inside its work tree (`sub/dir/`)."""
    git_dir = git(project, "rev-parse", "--absolute-git-dir").decode().strip()
    prefix = git(project, "rev-parse", "--show-prefix").decode().strip()
    return Path(git_dir), prefix


def _finish(journal: Path, project: Path) -> None:
    plan = json.loads((journal / "plan.json").read_text(encoding="utf-8"))
    for name in plan["writes"]:
        staged = journal / "files" / name
        if staged.exists() or staged.is_symlink():  # not yet moved by an earlier, killed run
            target = project / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
    for name in plan["deletes"]:
        (project / name).unlink(missing_ok=True)
    shutil.rmtree(journal)


def _stopped_halfway(journal: Path, project: Path, error: OSError) -> PocgenError:
    return PocgenError(
        f"the update stopped while moving files into place ({error.strerror}: {error.filename}); "
        f"fix that and run `pocgen update {project}` again to finish it, or get the old state "
        f"back: rm -rf {journal} && git -C {project} checkout -- . && "
        f"git -C {project} clean -fd -- ."
    )


def recover(project: Path) -> bool:
    """Finish an update that was killed after its commit point; True when there was one.

    Journals of updates killed before that point are removed: the project never saw them.
    """
    git_dir, prefix = _git_paths(project)
    for stale in git_dir.glob(f"{JOURNAL}.pending-*"):
        shutil.rmtree(stale, ignore_errors=True)
    journal = git_dir / JOURNAL
    if not (journal / "plan.json").is_file():
        shutil.rmtree(journal, ignore_errors=True)
        return False
    plan = json.loads((journal / "plan.json").read_text(encoding="utf-8"))
    top = Path(git(project, "rev-parse", "--show-toplevel").decode().strip())
    if plan["prefix"] != prefix:
        raise PocgenError(
            f"an interrupted update of {top / plan['prefix']} is pending; run "
            f"`pocgen update {top / plan['prefix']}` to finish it first."
        )
    try:
        with interrupts_deferred():
            _finish(journal, project)
    except OSError as error:
        raise _stopped_halfway(journal, project, error) from None
    return True


def _check_writable(project: Path, changes: Changes) -> None:
    """Before the commit point, write a probe file into every folder the update writes to or
    deletes from, so an unwritable folder stops the update while nothing has changed yet."""
    folders = {(project / name).parent for name in changes.writes + changes.deletes}
    for folder in sorted(folders):
        nearest = _nearest_existing(folder)
        try:
            with tempfile.TemporaryFile(dir=nearest, prefix=".pocgen-probe-"):
                pass
        except OSError as error:
            raise PocgenError(
                f"cannot write in {nearest} ({error.strerror}); {project} is unchanged. Fix its "
                "permissions, then run the update again."
            ) from None


def replace_files(project: Path, finished: Path, changes: Changes) -> None:
    """Make `project` match the scratch copy `finished` for `changes`, all or nothing."""
    _check_writable(project, changes)
    git_dir, prefix = _git_paths(project)
    journal = git_dir / JOURNAL
    pending = git_dir / f"{JOURNAL}.pending-{os.getpid()}"
    try:
        for name in changes.writes:
            staged = pending / "files" / name
            staged.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(finished / name, staged, follow_symlinks=False)
        plan = {"prefix": prefix, "writes": changes.writes, "deletes": changes.deletes}
        pending.mkdir(parents=True, exist_ok=True)
        (pending / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    except BaseException:
        shutil.rmtree(pending, ignore_errors=True)
        raise
    try:
        with interrupts_deferred():
            os.rename(pending, journal)  # the commit point
            _finish(journal, project)
    except OSError as error:
        if pending.exists():  # the commit point was never reached: nothing changed
            shutil.rmtree(pending, ignore_errors=True)
            raise PocgenError(
                f"could not start the update ({error.strerror}: {error.filename}); "
                f"{project} is unchanged."
            ) from None
        raise _stopped_halfway(journal, project, error) from None
