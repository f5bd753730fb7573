"""`pocgen writeup`: fill the README's marker sections; write resume, model card and blog draft.

The rules, in the order they are enforced:
1. Plan everything first (new README, new outputs) without touching the disk.
2. Refuse, naming the section or file, when the user edited text that pocgen owns (a README marker
   body, or a generated file whose fingerprint footer no longer matches), unless `force`.
   Back up the edited files either way, so a later `--force` never loses work.
3. Write only files whose text changes, so a second run is a no-op; back up each one first.
`check=True` stops after the plan and reports which README sections are stale, for CI.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pocgen.artifacts import Project, load_project
from pocgen.errors import PocgenError
from pocgen.markers import file_edited, fill, find_regions, sign_file
from pocgen.outputs import OUTPUTS
from pocgen.sections import SECTIONS, Section

README = "README.md"
BACKUP_DIR = Path(".pocgen") / "backups"
USER_SECTIONS = ("Limitations", "Next steps")
_PLACEHOLDER = re.compile(r"^_[^_]*_$", re.DOTALL)


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
    outputs: dict[str, tuple[str | None, str]]

    @property
    def waiting(self) -> dict[str, list[str]]:
        """Section -> commands it still waits for (missing artifacts)."""
        return {name: s.waiting for name, s in self.sections.items() if s.waiting}

    def edited_outputs(self) -> list[str]:
        return [
            path
            for path, (before, after) in self.outputs.items()
            if before is not None and before != after and file_edited(before)
        ]


@dataclass
class WriteupResult:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    backups: list[str] = field(default_factory=list)
    plan: Plan | None = None


def _read(path: Path) -> str:
    """Read text exactly as stored: CRLF endings outside the markers must survive a rewrite."""
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read()


def empty_user_sections(readme: str) -> list[str]:
    """User-owned sections (Limitations, Next steps) missing, blank or still a placeholder."""
    empty = []
    for title in USER_SECTIONS:
        match = re.search(
            rf"^##\s+{re.escape(title)}\s*$(?P<body>.*?)(?=^##\s|\Z)",
            readme,
            re.MULTILINE | re.DOTALL | re.IGNORECASE,
        )
        body = match["body"].strip() if match else ""
        if not body or _PLACEHOLDER.match(body):
            empty.append(title)
    return empty


def plan_writeup(root: Path) -> Plan:
    """Build every output in memory; nothing is written."""
    project = load_project(root)
    readme_path = project.root / README
    if not readme_path.exists():
        raise PocgenError(
            f"{readme_path} not found: the writeup goes into the project's README.md."
        )
    before = _read(readme_path)
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
    outputs: dict[str, tuple[str | None, str]] = {}
    for relative, build in OUTPUTS.items():
        path = project.root / relative
        old = _read(path) if path.exists() else None
        outputs[relative] = (old, sign_file(build(project)))
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
    backed_up = set(([README] if plan.edited else []) + edited_outputs)
    changes = {README: (plan.readme_before, plan.readme_after), **plan.outputs}
    for relative, (before, after) in changes.items():
        if before == after:
            result.unchanged.append(relative)
            continue
        path = project_root / relative
        if before is not None and relative not in backed_up:
            result.backups.append(_backup(project_root, relative))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(after, encoding="utf-8", newline="")
        result.written.append(relative)
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
        lines += [f"README.md has no markers for section {name}" for name in plan.absent]
        lines += [f"unknown section {name} left as it is" for name in plan.unknown]
    return lines
