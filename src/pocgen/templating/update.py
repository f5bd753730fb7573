"""`pocgen update`: bring template changes into a project without losing the user's edits.

The engines merge into a scratch copy of the project (its tracked files in a git repository of
their own), never into the project itself. Only once the merge fully succeeded are the project's
files replaced, as one set (`journal.replace_files`), so an interrupt at any moment leaves either
the old tree or the new one with every edit.
"""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pocgen.contract import ANSWERS_FILES, answers_file, read_record
from pocgen.errors import PocgenError
from pocgen.templating import engines, git_config, journal, sources
from pocgen.templating.engines import RenderOptions

CONFLICT_MARKER = "<<<<<<< "


@dataclass
class Updated:
    engine: str
    changed: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    resumed: bool = False  # an update killed halfway earlier was finished instead


def _git_status(project: Path) -> list[str] | None:
    """Changed and untracked paths under `project` (relative to it), or None outside git.

    `--short` rather than `--porcelain`: it names paths relative to the project folder, which may
    sit inside a larger repository (an example inside a tool's repo, a monorepo).
    """
    result = subprocess.run(
        [
            "git",
            "-C",
            str(project),
            "-c",
            "color.status=false",
            "-c",
            "status.relativePaths=true",
            "status",
            "--short",
            "--untracked-files=all",
            "--",
            ".",
        ],
        capture_output=True,
        text=True,
        env=git_config.env(project),
    )
    if result.returncode != 0:
        return None
    return [line[3:].strip('"') for line in result.stdout.splitlines()]


def record_file(project: Path) -> Path:
    """The file that records what made the project, and so the version to update from."""
    record = answers_file(project)
    if record is None:
        raise PocgenError(
            f"{project} was not made by pocgen or Copier: it has no .copier-answers.yml or "
            ".pocgen.yml, so there is no template version to update from."
        )
    return record


def _has_conflict_markers(path: Path) -> bool:
    try:
        return any(line.startswith(CONFLICT_MARKER) for line in path.read_text().splitlines())
    except (UnicodeDecodeError, OSError):
        return False


def _scratch_copy(project: Path, scratch: Path) -> list[str]:
    """Copy the project's tracked files into `scratch`, committed in a fresh repository; return
    their paths. Ignored files (data, models, venvs) stay behind: templates never touch them."""
    listed = sources.git(project, "ls-files", "-z", "--cached", "--", ".").decode()
    names = []
    for name in sorted(filter(None, listed.split("\0"))):
        source = project / name
        if source.is_dir() and not source.is_symlink():
            continue  # a submodule: its own repository, which no template writes into
        target = scratch / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
        names.append(name)
    sources.git(scratch, "init", "--quiet")
    sources.git(scratch, "add", "--all", "--force")
    sources.git(scratch, "commit", "--quiet", "--allow-empty", "-m", "the project before update")
    return names


def _same(one: Path, other: Path) -> bool:
    if one.is_symlink() or other.is_symlink():
        return one.is_symlink() and other.is_symlink() and one.readlink() == other.readlink()
    return filecmp.cmp(one, other, shallow=False)


def _same_version(answers: dict[str, Any]) -> dict[str, Any]:
    """Answers with `_commit` reduced to what identifies the template's content: versions of a
    built-in template that differ only in pocgen's release (`0.1.0+<tree>`, `0.2.0+<tree>`)
    name the same files."""
    commit = str(answers.get("_commit", ""))
    return answers | {"_commit": commit.partition("+")[2] or commit}


def _only_formatting(before: Path, after: Path) -> bool:
    """True when an answers file changed only in formatting: same answers, same version."""
    try:
        old, new = (yaml.safe_load(path.read_text(encoding="utf-8")) for path in (before, after))
    except (yaml.YAMLError, OSError):
        return False
    if not isinstance(old, dict) or not isinstance(new, dict):
        return False
    return _same_version(old) == _same_version(new)


def _changes(project: Path, scratch: Path, tracked: list[str]) -> journal.Changes:
    after = {
        path.relative_to(scratch).as_posix()
        for path in scratch.rglob("*")
        if ".git" not in path.relative_to(scratch).parts and not path.is_dir()
    }
    writes = [
        name
        for name in sorted(after)
        if not (project / name).exists() or not _same(project / name, scratch / name)
    ]
    deletes = sorted(set(tracked) - after)
    if not deletes and all(name in ANSWERS_FILES for name in writes):
        if all(_only_formatting(project / name, scratch / name) for name in writes):
            writes = []
    return journal.Changes(writes, deletes)


def update_project(
    project: Path, *, data: dict[str, Any] | None = None, options: RenderOptions | None = None
) -> Updated:
    """Update `project` in place. It must be a clean git work tree, so every change is reviewable
    with `git diff` and nothing the user had is lost."""
    options = options or RenderOptions()
    if not project.is_dir():
        raise PocgenError(f"{project} is not a folder; pass the project folder to update.")
    sources.check_ref(options.ref)
    record = record_file(project)
    engine = ANSWERS_FILES[record.name]
    status = _git_status(project)
    if status is None:
        raise PocgenError(
            f"{project} is not a git repository; update merges into your files, so commit them "
            "first: git init && git add -A && git commit -m 'Before update'."
        )
    if journal.recover(project):
        return Updated(engine, _git_status(project) or [], resumed=True)
    if status:
        raise PocgenError(
            f"{project} has uncommitted changes ({', '.join(status[:3])}"
            f"{', ...' if len(status) > 3 else ''}); commit or stash them first so no edit can "
            "be lost."
        )
    if record.is_symlink():  # the update rewrites it: never through a link
        raise PocgenError(
            f"{record} is a symlink (to {record.readlink()}); an update reads and rewrites the "
            "project's own record only. Replace the link with the file, and commit."
        )
    read_record(record)  # a corrupt answers file is reported here, before any work
    with tempfile.TemporaryDirectory(prefix="pocgen-update-") as scratch_folder:
        scratch = Path(scratch_folder) / project.resolve().name
        tracked = _scratch_copy(project, scratch)
        engines.get(engine).update(scratch, data or {}, options)
        changes = _changes(project, scratch, tracked)
        conflicts = [name for name in changes.writes if _has_conflict_markers(scratch / name)]
        changes = journal.Changes(
            changes.writes, changes.deletes, _unmerged(project, scratch, conflicts)
        )
        journal.replace_files(project, scratch, changes)
    return Updated(engine, changes.writes + changes.deletes, conflicts)


def _unmerged(project: Path, scratch: Path, conflicts: list[str]) -> dict[str, list[str]]:
    """The index stages the engine left for each conflicted file in the scratch copy (Copier's
    update and `merge.three_way` both record them), as "mode blob stage" entries, with each blob
    copied into the project's own object store so its index can point at it."""
    if not conflicts:
        return {}
    entries: dict[str, list[str]] = {}
    listed = sources.git(scratch, "ls-files", "--unmerged", "-z", "--", *conflicts).decode()
    for record in filter(None, listed.split("\0")):
        info, _, name = record.partition("\t")
        mode, blob, stage = info.split()
        content = sources.git(scratch, "cat-file", "blob", blob)
        stored = sources.git(project, "hash-object", "-w", "--stdin", data=content)
        entries.setdefault(name, []).append(f"{mode} {stored.decode().strip()} {stage}")
    return entries
