"""`pocgen writeup`: fill the README's marker sections; write resume, model card and blog draft.

The rules, in the order they are enforced:
1. Plan everything first (new README, new outputs) without touching the disk.
2. Refuse, naming the section or file, when the user edited text that pocgen owns (a README marker
   body, or a generated file whose fingerprint footer no longer matches), unless `force`.
   Back up the edited files either way, so a later `--force` never loses work. Text pocgen wrote
   and nobody edited is replaced without a backup: there is nothing of the user's in it.
3. Write only files whose text changes, so a second run is a no-op. Writing is all or nothing
   (`pocgen.files.write_all`): every new text is staged beside its target first, then moved into
   place; if one move fails (an immutable file, a full disk) or Ctrl-C arrives, the files already
   moved get their old text back and no staged file is left behind.
`check=True` stops after the plan and reports which README sections are stale, for CI.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pocgen.errors import PocgenError
from pocgen.files import WriteFailed, read_text, write_all
from pocgen.project import Project, load_project
from pocgen.writeup.markers import file_edited, fill, find_regions, sign_file, user_section
from pocgen.writeup.outputs import OUTPUTS
from pocgen.writeup.sections import SECTIONS, Section

README = "README.md"
BACKUP_DIR = Path(".pocgen") / "backups"
USER_SECTIONS = ("Limitations", "Next steps")


@dataclass
class Plan:
    """What a writeup would do: the README before and after, and each extra output."""

    project: Project
    readme_before: str
    readme_after: str
    sections: dict[str, Section]
    edited: list[str]
    stale: list[str]
    unknown: list[str]
    absent: list[str]
    outputs: dict[str, tuple[str | None, str | None]]

    @property
    def waiting(self) -> dict[str, list[str]]:
        """Section -> commands it still waits for (missing artifacts)."""
        return {name: s.waiting for name, s in self.sections.items() if s.waiting}

    def edited_outputs(self) -> list[str]:
        return [
            path
            for path, (before, after) in self.outputs.items()
            if before is not None and after is not None and before != after and file_edited(before)
        ]


@dataclass
class WriteupResult:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    backups: list[str] = field(default_factory=list)
    plan: Plan | None = None


def _read(path: Path, relative: str) -> str:
    """Read text exactly as stored: CRLF endings outside the markers must survive a rewrite."""
    if not path.is_file():
        raise PocgenError(
            f"{relative} is not a file; move it aside so `pocgen writeup` can write {relative}."
        )
    return read_text(path, relative, "pocgen writeup")


def empty_user_sections(readme: str) -> list[str]:
    """User-owned sections (Limitations, Next steps) missing, blank or still a placeholder."""
    return [title for title in USER_SECTIONS if not user_section(readme, title)]


def plan_writeup(root: Path) -> Plan:
    """Build every output in memory; nothing is written."""
    project = load_project(root)
    readme_path = project.root / README
    if not readme_path.exists():
        raise PocgenError(
            f"{readme_path} not found: the writeup goes into the project's README.md."
        )
    before = _read(readme_path, README)
    regions = find_regions(before, README)
    if not regions:
        raise PocgenError(
            "README.md has no `<!-- pocgen:NAME -->` markers: add a pair such as "
            "`<!-- pocgen:results -->` / `<!-- /pocgen:results -->` where each section should go."
        )
    present = {region.name: region for region in regions}
    sections = {name: render(project) for name, render in SECTIONS.items() if name in present}
    after = fill(before, {name: section.body for name, section in sections.items()}, README)
    after_regions = {region.name: region for region in find_regions(after, README)}
    stale = [name for name in sections if present[name].body != after_regions[name].body]
    outputs: dict[str, tuple[str | None, str | None]] = {}
    authored = before.replace("\r\n", "\n")  # the author's paragraphs, copied with LF endings
    for relative, build in OUTPUTS.items():
        path = project.root / relative
        old = _read(path, relative) if path.exists() else None
        text = build(project, authored)
        outputs[relative] = (old, sign_file(text) if text is not None else None)
    return Plan(
        project=project,
        readme_before=before,
        readme_after=after,
        sections=sections,
        edited=[name for name in sections if present[name].edited],
        stale=stale,
        unknown=[name for name in present if name not in SECTIONS],
        absent=[name for name in SECTIONS if name not in present],
        outputs=outputs,
    )


def _backup(root: Path, relative: str) -> str:
    """Copy a file into .pocgen/backups/ under a UTC timestamp; return the backup's path."""
    folder = root / BACKUP_DIR
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = relative.replace("/", "__")
    target = folder / f"{base}.{stamp}"
    number = 1
    while target.exists():
        target = folder / f"{base}.{stamp}-{number}"
        number += 1
    shutil.copy2(root / relative, target)
    return target.relative_to(root).as_posix()


def run_writeup(root: Path, force: bool = False) -> WriteupResult:
    """Write the README sections and the extra outputs; refuse over hand edits unless forced."""
    plan = plan_writeup(root)
    project_root = plan.project.root
    edited_outputs = plan.edited_outputs()
    result = WriteupResult(plan=plan)
    if plan.edited:
        result.backups.append(_backup(project_root, README))
    result.backups += [_backup(project_root, path) for path in edited_outputs]
    if (plan.edited or edited_outputs) and not force:
        what = [f"README.md section `{name}`" for name in plan.edited] + edited_outputs
        raise PocgenError(
            f"{', '.join(what)} edited by hand inside text pocgen writes; nothing was changed "
            f"(backup in {', '.join(result.backups)}). Move your text outside the "
            "`<!-- pocgen:... -->` markers (or into a copy of the file) and rerun, or rerun with "
            "--force to replace it."
        )
    changes = {README: (plan.readme_before, plan.readme_after), **plan.outputs}
    for relative, (before, after) in changes.items():
        if after is None or before == after:
            result.unchanged.append(relative)
        else:
            result.written.append(relative)
    try:
        write_all({project_root / path: changes[path][1] or "" for path in result.written})
    except WriteFailed as error:
        relative = error.target.relative_to(project_root).as_posix()
        raise PocgenError(
            f"cannot write {relative} ({error.strerror}); nothing was changed. Make it writable "
            "(e.g. `chattr -i`, `chmod u+w`, free disk space) and rerun `pocgen writeup`."
        ) from error
    return result


def stale_message(plan: Plan) -> str | None:
    """Why `writeup --check` fails, or None when the README matches the artifacts."""
    problems = []
    if plan.edited:
        problems.append("edited by hand inside the markers: " + ", ".join(plan.edited))
    if plan.stale:
        problems.append("stale against the artifacts: " + ", ".join(plan.stale))
    if not problems:
        return None
    return "README.md sections " + "; ".join(problems) + ". Run `pocgen writeup` to refresh them."


def summary(result: WriteupResult) -> list[str]:
    """What a writeup did and what is still missing, one line each, for the CLI."""
    lines = [f"wrote {path}" for path in result.written] or ["nothing changed: already up to date"]
    lines += [f"backup {path}" for path in result.backups]
    plan = result.plan
    if plan is not None:
        lines += [
            f"section {name} waits for: " + ", ".join(f"`{c}`" for c in commands)
            for name, commands in plan.waiting.items()
        ]
        lines += [
            f"section {title} is empty: it is yours to write in README.md"
            for title in empty_user_sections(plan.readme_after)
        ]
        lines += [
            f"no {path}: a demo project (`demo: true`) gets none"
            for path, (_, after) in plan.outputs.items()
            if after is None and plan.project.demo
        ]
        lines += [f"README.md has no markers for section {name}" for name in plan.absent]
        lines += [f"unknown section {name} left as it is" for name in plan.unknown]
    return lines
