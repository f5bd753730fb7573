"""Replace an updated project's files as one set, through a journal in the project's git folder.

Every new file is written into the journal first, then one rename of the journal folder is the
moment the update happens, then the files are moved into the project. A process killed before
that rename leaves the old tree; one killed after it leaves a journal that the next
`pocgen update` finishes.

A file left with conflict markers is also put in git's unmerged state, as `git merge` and
`copier update` leave it: the index holds the template's old version (stage 1), the user's
(stage 2) and the template's new one (stage 3) instead of the file, so `git status` lists it as
unmerged and git refuses a commit until it is resolved (`git add`). The plan lists those index
entries, and their blobs are written into the project's object store before the commit point.

The journal lives in `.git`, which travels with a project copied as an archive, so the next
update treats it as data to validate, never as orders: its plan must follow the schema below,
name only files inside the project (no absolute paths, no `..`, nothing in `.git`, no symlinked
folder on the way), and be one this machine's pocgen remembers writing (`staging.remember`).
Anything else is refused in one line and left in place for the user to look at.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pocgen.errors import Interrupted, PocgenError
from pocgen.files import interrupts_deferred
from pocgen.templating import staging
from pocgen.templating.sources import git

JOURNAL = "pocgen-update"
PLAN_FORMAT = "pocgen-update-journal/2"
PLAN_KEYS = {"format", "prefix", "writes", "deletes", "unmerged"}
# A plan written by pocgen before conflicts were put in git's unmerged state: no `unmerged`.
OLD_PLAN_FORMAT = "pocgen-update-journal/1"
# One index entry of a conflicted file: mode, blob id (SHA-1 or SHA-256), stage.
INDEX_ENTRY = re.compile(r"(100644|100755|120000) ([0-9a-f]{40}|[0-9a-f]{64}) [123]")


@dataclass(frozen=True)
class Changes:
    """What an update does to a project: files to write (from a finished scratch copy) and to
    delete, as paths relative to the project; and for each conflicted file, its index entries
    ("mode blob stage") that put it in git's unmerged state."""

    writes: list[str]
    deletes: list[str]
    unmerged: dict[str, list[str]] = field(default_factory=dict)


def _git_paths(project: Path) -> tuple[Path, str]:
    """The project's git folder, and the project's path inside its work tree (`sub/dir/`)."""
    git_dir = git(project, "rev-parse", "--absolute-git-dir").decode().strip()
    prefix = git(project, "rev-parse", "--show-prefix").decode().strip()
    return Path(git_dir), prefix


def _refused(journal: Path, why: str) -> PocgenError:
    return PocgenError(
        f"{journal} is not an update this pocgen can finish ({why}); it was left in place and "
        f"nothing was changed. A project copied with its .git folder can carry one: look at "
        f"it, then remove it (rm -rf {shlex.quote(str(journal))}) and run the update again."
    )


def _plan(journal: Path, project: Path) -> dict[str, Any]:
    """The journal's plan, validated, or one line saying why it is refused."""
    plan_file = journal / "plan.json"
    if journal.is_symlink() or not journal.is_dir() or plan_file.is_symlink():
        raise _refused(journal, "it is not a folder holding a plan")
    try:
        raw = plan_file.read_bytes()
        plan = json.loads(raw)
    except FileNotFoundError:
        raise _refused(journal, "it has no plan.json") from None
    except (OSError, ValueError) as error:
        raise _refused(journal, f"its plan.json is not JSON: {error}") from None
    if isinstance(plan, dict) and plan.get("format") == OLD_PLAN_FORMAT and "unmerged" not in plan:
        plan = {**plan, "format": PLAN_FORMAT, "unmerged": {}}
    if not isinstance(plan, dict) or set(plan) != PLAN_KEYS or plan["format"] != PLAN_FORMAT:
        raise _refused(journal, f"its plan.json is not a {PLAN_FORMAT} plan")
    if not isinstance(plan["prefix"], str) or not all(
        isinstance(plan[key], list) for key in ("writes", "deletes")
    ):
        raise _refused(journal, "its plan.json has values of the wrong type")
    unmerged = plan["unmerged"]
    if not isinstance(unmerged, dict) or not all(
        name in plan["writes"]
        and isinstance(entries, list)
        and all(isinstance(entry, str) and INDEX_ENTRY.fullmatch(entry) for entry in entries)
        for name, entries in unmerged.items()
    ):
        raise _refused(journal, "its plan.json has unmerged entries that are not index entries")
    for name in plan["writes"] + plan["deletes"]:
        problem = staging.confined_name(name, project)
        if problem is None and name in plan["writes"]:
            problem = staging.confined_name(name, journal / "files")
        if problem:
            raise _refused(journal, f"it names {name!r}, {problem}")
    if not staging.remembers(raw, journal):
        raise _refused(journal, "this machine's pocgen has no record of writing it")
    return plan


def _finish(journal: Path, project: Path, plan: dict[str, Any]) -> None:
    for name in plan["writes"]:
        staged = journal / "files" / name
        if staged.exists() or staged.is_symlink():  # not yet moved by an earlier, killed run
            target = project / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
    for name in plan["deletes"]:
        (project / name).unlink(missing_ok=True)
    _mark_unmerged(project, plan["prefix"], plan["unmerged"])
    raw = (journal / "plan.json").read_bytes()
    shutil.rmtree(journal)
    staging.forget(raw)


def _mark_unmerged(project: Path, prefix: str, unmerged: dict[str, list[str]]) -> None:
    """Replace each conflicted file's index entry by its stages 1, 2 and 3 (see the module's
    docstring); the blobs are already in the project's object store."""
    lines = []
    for name, entries in unmerged.items():
        path = prefix + name
        lines.append(f"0 {'0' * 40}\t{path}")  # mode 0: remove the file's stage 0 entry
        lines += [f"{entry}\t{path}" for entry in entries]
    if not lines:
        return
    try:
        git(project, "update-index", "--index-info", data="\n".join(lines).encode() + b"\n")
    except subprocess.CalledProcessError as error:
        raise PocgenError(
            f"the updated files are in place, but git could not mark the conflicted ones as "
            f"unmerged ({error.stderr.decode(errors='replace').strip()}); fix that and run "
            f"`pocgen update {shlex.quote(str(project))}` again to finish."
        ) from None


def _stopped_halfway(journal: Path, project: Path, error: OSError) -> PocgenError:
    journal_arg, project_arg = shlex.quote(str(journal)), shlex.quote(str(project))
    return PocgenError(
        f"the update stopped while moving files into place ({error.strerror}: {error.filename}); "
        f"fix that and run `pocgen update {project_arg}` again to finish it, or get the old "
        f"state back: rm -rf {journal_arg} && git -C {project_arg} checkout -- . && "
        f"git -C {project_arg} clean -fd -- ."
    )


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def recover(project: Path) -> bool:
    """Finish an update that was killed after its commit point; True when there was one.

    The pending folders of updates killed before that point are removed (the project never saw
    them); those of an update still running are not.
    """
    git_dir, prefix = _git_paths(project)
    for stale in git_dir.glob(f"{JOURNAL}.pending-*"):
        if not _alive(stale.name.rpartition("-")[2]):
            shutil.rmtree(stale, ignore_errors=True)
    journal = git_dir / JOURNAL
    if not (journal.exists() or journal.is_symlink()):
        return False
    plan = _plan(journal, project)
    top = Path(git(project, "rev-parse", "--show-toplevel").decode().strip())
    if plan["prefix"] != prefix:
        if staging.confined_name(plan["prefix"].rstrip("/"), top):
            raise _refused(journal, "it names a project outside this repository")
        raise PocgenError(
            f"an interrupted update of {top / plan['prefix']} is pending; run "
            f"`pocgen update {shlex.quote(str(top / plan['prefix']))}` to finish it first."
        )
    try:
        with interrupts_deferred():
            _finish(journal, project, plan)
    except OSError as error:
        raise _stopped_halfway(journal, project, error) from None
    return True


def _check_writable(project: Path, changes: Changes) -> None:
    """Before the commit point, write a probe file into every folder the update writes to or
    deletes from, so an unwritable folder stops the update while nothing has changed yet."""
    folders = {(project / name).parent for name in changes.writes + changes.deletes}
    for folder in sorted(folders):
        nearest = staging.nearest_existing(folder)
        try:
            with tempfile.TemporaryFile(dir=nearest, prefix=".pocgen-probe-"):
                pass
        except OSError as error:
            raise PocgenError(
                f"cannot write in {nearest} ({error.strerror}); {project} is unchanged. Fix its "
                "permissions, then run the update again."
            ) from None


def _check_names(project: Path, changes: Changes) -> None:
    """An update writes and deletes only inside the project, never through a symlinked
    folder: the file would land wherever the link points."""
    for name in changes.writes + changes.deletes:
        problem = staging.confined_name(name, project)
        if problem:
            raise PocgenError(
                f"the update would change {name} in {project}, but {problem}; {project} is "
                "unchanged. Replace the link with a folder, or remove it, and commit."
            )


def replace_files(project: Path, finished: Path, changes: Changes) -> None:
    """Make `project` match the scratch copy `finished` for `changes`, all or nothing."""
    _check_names(project, changes)
    _check_writable(project, changes)
    git_dir, prefix = _git_paths(project)
    journal = git_dir / JOURNAL
    pending = git_dir / f"{JOURNAL}.pending-{os.getpid()}"
    plan = {"format": PLAN_FORMAT, "prefix": prefix, **vars(changes)}
    raw = json.dumps(plan).encode()
    try:
        for name in changes.writes:
            staged = pending / "files" / name
            staged.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(finished / name, staged, follow_symlinks=False)
        pending.mkdir(parents=True, exist_ok=True)
        (pending / "plan.json").write_bytes(raw)
        staging.remember(raw, journal)
    except BaseException as error:
        shutil.rmtree(pending, ignore_errors=True)
        if isinstance(error, OSError):
            raise PocgenError(
                f"could not prepare the update ({error.strerror}: {error.filename}); {project} "
                "is unchanged."
            ) from None
        raise
    try:
        with interrupts_deferred():
            os.rename(pending, journal)  # the commit point
            _finish(journal, project, plan)
    except KeyboardInterrupt:  # held until every file was in place: the update happened
        raise Interrupted(
            f"interrupted after {project} was updated; review the update with `git diff`."
        ) from None
    except OSError as error:
        if pending.exists():  # the commit point was never reached: nothing changed
            shutil.rmtree(pending, ignore_errors=True)
            staging.forget(raw)
            raise PocgenError(
                f"could not start the update ({error.strerror}: {error.filename}); "
                f"{project} is unchanged."
            ) from None
        raise _stopped_halfway(journal, project, error) from None
