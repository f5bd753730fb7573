"""Put a GPU run's results into the project: `models/` and `reports/`, and nothing else.

The results were fetched into a scratch folder first. A file that came back replaces the
project's copy unless that copy changed after the job was submitted (the user retrained or
edited meanwhile): then nothing is written and the command says which files, unless `--force`.
Identical files are left alone; files the job did not make are never touched.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pocgen.errors import PocgenError
from pocgen.gpu.record import JobRecord

RESULT_FOLDERS = ("models", "reports")
GPU_REPORT = Path("reports/gpu.json")
SHOWN = 3


@dataclass
class Placed:
    """What a pull did: files written, files already identical."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def fetched_files(scratch: Path) -> list[str]:
    """The files under models/ and reports/ in the scratch folder, relative and sorted."""
    return sorted(
        path.relative_to(scratch).as_posix()
        for folder in RESULT_FOLDERS
        for path in (scratch / folder).rglob("*")
        if path.is_file() and not path.is_symlink()
    )


def run_report(scratch: Path, record: JobRecord) -> dict[str, Any]:
    """The job's reports/gpu.json, refused unless it belongs to this run: results of another
    run (a later upload, or an older one still in the results repo) are never mixed in."""
    path = scratch / GPU_REPORT
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        report = None
    if not isinstance(report, dict):
        raise PocgenError(
            f"the results of {record.job_id or record.results_repo} have no readable "
            f"{GPU_REPORT}: the job did not finish its work; see `pocgen gpu status`."
        )
    if report.get("run_id") != record.run_id:
        raise PocgenError(
            f"the results fetched belong to run {report.get('run_id')}, not to this project's "
            f"recorded run {record.run_id}: another run replaced them; start a new one with "
            "`pocgen gpu run`."
        )
    return report


def place(project: Path, scratch: Path, since: float, force: bool) -> Placed:
    """Copy the fetched results over the project's, all or nothing (see the module docstring)."""
    placed = Placed()
    conflicts = []
    for name in fetched_files(scratch):
        target = project / name
        below = [path for path in (target, *target.parents) if path.is_relative_to(project)]
        links = [path for path in below if path != project and path.is_symlink()]
        if links or (target.exists() and not target.is_file()):
            raise PocgenError(
                f"{name} in the project is not a plain file in a plain folder (a symlink, or a "
                "folder); pocgen writes results only inside the project: move it away and pull "
                "again."
            )
        if target.exists() and target.read_bytes() == (scratch / name).read_bytes():
            placed.unchanged.append(name)
            continue
        if target.exists() and target.stat().st_mtime > since and not force:
            conflicts.append(name)
        placed.written.append(name)
    if conflicts:
        listed = ", ".join(conflicts[:SHOWN]) + (" ..." if len(conflicts) > SHOWN else "")
        raise PocgenError(
            f"{len(conflicts)} local result files changed after the GPU job started ({listed}); "
            "nothing was replaced. Keep yours, or take the GPU run's with "
            "`pocgen gpu pull --force`."
        )
    for name in placed.written:
        target = project / name
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.pocgen-pull")
        shutil.copyfile(scratch / name, temporary)
        os.replace(temporary, target)
    return placed
