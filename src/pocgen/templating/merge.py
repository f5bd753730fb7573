"""Three-way merge of a template change into a user's project, file by file.

Given the template rendered at the old version (`base`), at the new version (`theirs`) and the
user's project (`ours`), every file the template changed is merged with `git merge-file`, the same
merge git uses for branches: the user's edits and the template's edits both survive, and where
they touch the same lines the file gets conflict markers instead of losing either side. As
Copier's update does, a conflicted file is then put in git's unmerged state in `ours`'s index
(stage 1 the old template's version, 2 the user's, 3 the new template's), so that the update
can hand it on to the project (see `journal`).
"""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from pocgen.templating import git_config, sources


@dataclass
class MergeReport:
    updated: list[str] = field(default_factory=list)  # template change applied cleanly
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # conflict markers written into the file
    # the user's version kept and the template change not applied
    kept: list[str] = field(default_factory=list)


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def _is_binary(path: Path) -> bool:
    return b"\0" in path.read_bytes()[:8192]


def _merge_file(ours: Path, base: Path | None, theirs: Path) -> bool:
    """Merge `theirs` into `ours` in place against `base`; True when it left conflict markers."""
    with tempfile.TemporaryDirectory() as scratch:
        base_copy = Path(scratch) / "base"
        base_copy.write_bytes(base.read_bytes() if base else b"")
        result = subprocess.run(
            [
                "git",
                "merge-file",
                "-p",
                "-L",
                "your project",
                "-L",
                "template (old)",
                "-L",
                "template (new)",
                str(ours),
                str(base_copy),
                str(theirs),
            ],
            capture_output=True,
            env=git_config.env(),
        )
    if result.returncode < 0 or result.returncode > 127:
        raise RuntimeError(f"git merge-file failed on {ours}: {result.stderr.decode()}")
    ours.write_bytes(result.stdout)
    return result.returncode > 0


def _through_link(root: Path, name: str) -> bool:
    """Whether `root/name`, or a folder on the way to it, is a symlink: writing there would
    change whatever the link points at, maybe a file outside the project."""
    path = root
    for part in Path(name).parts:
        path = path / part
        if path.is_symlink():
            return True
    return False


def three_way(base: Path, theirs: Path, ours: Path) -> MergeReport:
    """Apply the change from `base` to `theirs` onto the folder `ours`. A file the user keeps
    as a symlink (or under one) is never merged through: it is kept, the template change not
    applied."""
    report = MergeReport()
    base_files, their_files = _files(base), _files(theirs)
    for name in sorted(base_files | their_files):
        old, new, mine = base / name, theirs / name, ours / name
        in_base, in_theirs = name in base_files, name in their_files
        if in_base and in_theirs and filecmp.cmp(old, new, shallow=False):
            continue  # the template did not change this file
        if _through_link(ours, name):
            report.kept.append(name)
            continue
        if not in_theirs:  # the template removed it
            if mine.is_file() and filecmp.cmp(old, mine, shallow=False):
                mine.unlink()
                report.removed.append(name)
            elif mine.is_file():
                report.kept.append(name)
            continue
        if not mine.exists():
            if in_base:  # the user deleted a file the template still changes: respect that
                report.kept.append(name)
            else:
                mine.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(new, mine)
                report.added.append(name)
            continue
        if filecmp.cmp(mine, new, shallow=False):
            continue
        if in_base and filecmp.cmp(mine, old, shallow=False):
            shutil.copy2(new, mine)  # the user never touched it: take the new version
            report.updated.append(name)
        elif _is_binary(mine) or _is_binary(new):
            report.kept.append(name)  # binary files cannot hold conflict markers
        elif _merge_file(mine, old if in_base else None, new):
            report.conflicts.append(name)
        else:
            report.updated.append(name)
    if report.conflicts and (ours / ".git").is_dir():
        _mark_unmerged(base, theirs, ours, report.conflicts)
    return report


def _mark_unmerged(base: Path, theirs: Path, ours: Path, conflicts: list[str]) -> None:
    """Replace each conflicted file's entry in `ours`'s index by its three stages."""
    lines = []
    for name in conflicts:
        staged = sources.git(ours, "ls-files", "--stage", "-z", "--", name).decode()
        if not staged:  # not in the index: nothing to mark
            continue
        mode, blob, _ = staged.partition("\t")[0].split()
        lines += [f"0 {'0' * 40}\t{name}", f"{mode} {blob} 2\t{name}"]
        for stage, version in ((1, base / name), (3, theirs / name)):
            if version.is_file():
                stored = sources.git(ours, "hash-object", "-w", "--", str(version))
                lines.append(f"{mode} {stored.decode().strip()} {stage}\t{name}")
    if lines:
        sources.git(ours, "update-index", "--index-info", data="\n".join(lines).encode() + b"\n")
