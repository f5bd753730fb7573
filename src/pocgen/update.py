"""`pocgen update`: bring template changes into a project without losing the user's edits."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pocgen import engines
from pocgen.engines import RenderOptions
from pocgen.errors import PocgenError

RECORDS = {".copier-answers.yml": "copier", ".pocgen.yml": "cookiecutter"}
CONFLICT_MARKER = "<<<<<<< "


@dataclass
class Updated:
    engine: str
    changed: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


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
    )
    if result.returncode != 0:
        return None
    return [line[3:].strip('"') for line in result.stdout.splitlines()]


def engine_of(project: Path) -> str:
    for name, engine in RECORDS.items():
        if (project / name).is_file():
            return engine
    raise PocgenError(
        f"{project} was not made by pocgen or Copier: it has no .copier-answers.yml or "
        ".pocgen.yml, so there is no template version to update from."
    )


def _has_conflict_markers(path: Path) -> bool:
    try:
        return any(line.startswith(CONFLICT_MARKER) for line in path.read_text().splitlines())
    except (UnicodeDecodeError, OSError):
        return False


def update_project(
    project: Path, *, data: dict[str, Any] | None = None, options: RenderOptions | None = None
) -> Updated:
    """Update `project` in place. It must be a clean git work tree, so every change is reviewable
    with `git diff` and nothing the user had is lost."""
    if not project.is_dir():
        raise PocgenError(f"{project} is not a folder; pass the project folder to update.")
    engine = engine_of(project)
    status = _git_status(project)
    if status is None:
        raise PocgenError(
            f"{project} is not a git repository; update merges into your files, so commit them "
            "first: git init && git add -A && git commit -m 'Before update'."
        )
    if status:
        raise PocgenError(
            f"{project} has uncommitted changes ({', '.join(status[:3])}"
            f"{', ...' if len(status) > 3 else ''}); commit or stash them first so no edit can "
            "be lost."
        )
    engines.get(engine).update(project, data or {}, options or RenderOptions())
    changed = _git_status(project) or []
    conflicts = [name for name in changed if _has_conflict_markers(project / name)]
    return Updated(engine, changed, conflicts)
