"""`pocgen check`: grade a project against a rubric, for people (a table) and autograders (JSON).

Each rubric item is a built-in check (see `items.py`) or a shell command run in the project folder;
a command passes when it exits 0 and, with a `threshold`, when the number on its last output line
reaches it. A pass scores the item's weight, a warn half of it, a fail nothing. The check fails
(non-zero exit) when any required item fails. The JSON shape is `schemas/check.schema.json`,
documented in docs/check.md.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from pocgen.check import probes
from pocgen.check.items import Context, Status, Verdict
from pocgen.check.rubric import Rubric, RubricItem, load_rubric
from pocgen.errors import PocgenError
from pocgen.project import load_project, project_python

SCHEMA_VERSION = 1
SCORES: dict[str, float] = {"pass": 1.0, "warn": 0.5, "fail": 0.0}
COMMAND_TIMEOUT = 900
STYLES = {"pass": "green", "warn": "yellow", "fail": "red"}


@dataclass
class ItemResult:
    id: str
    title: str
    status: Status
    evidence: str
    required: bool
    weight: float
    score: float
    check: str | None
    command: str | None
    threshold: float | None


@dataclass
class CheckReport:
    project: str
    rubric: Rubric
    items: list[ItemResult]

    @property
    def score(self) -> float:
        return round(sum(item.score for item in self.items), 3)

    @property
    def max_score(self) -> float:
        return round(sum(item.weight for item in self.items), 3)

    @property
    def passed(self) -> bool:
        """No required item failed; warnings never fail a project."""
        return not any(item.required and item.status == "fail" for item in self.items)

    def to_json(self) -> dict[str, Any]:
        counts = {
            status: sum(1 for item in self.items if item.status == status) for status in SCORES
        }
        return {
            "schema_version": SCHEMA_VERSION,
            "project": self.project,
            "rubric": {"name": self.rubric.name, "source": self.rubric.source},
            "passed": self.passed,
            "score": self.score,
            "max_score": self.max_score,
            "counts": counts,
            "items": [asdict(item) for item in self.items],
        }


def _run_command(item: RubricItem, root: Path) -> Verdict:
    """Run a rubric command with the project's interpreter first on PATH, so `python` is its own."""
    python_dir = str(Path(project_python(root)).parent)
    env = {**os.environ, "PATH": python_dir + os.pathsep + os.environ.get("PATH", "")}
    outcome = probes.run_command(item.command or "", root, COMMAND_TIMEOUT, env=env)
    if not outcome.ok:
        return Verdict("fail", outcome.evidence)
    if item.threshold is None:
        return Verdict("pass", outcome.evidence or "exit code 0")
    try:
        value = float(outcome.evidence.split()[-1])
    except (ValueError, IndexError):
        return Verdict(
            "fail", f"expected a number on the last output line, got {outcome.evidence!r}"
        )
    status: Status = "pass" if value >= item.threshold else "fail"
    return Verdict(status, f"{value:g} (threshold {item.threshold:g})")


def run_check(
    root: Path,
    rubric: Rubric,
    locked: dict[str, Any] | None = None,
    trust: bool = False,
    console: Console | None = None,
) -> CheckReport:
    """Grade the project at `root`; the spinner goes to stderr so `--json` stays clean on stdout."""
    return grade(Context(load_project(root), locked), rubric, trust, console)


def grade(
    context: Context, rubric: Rubric, trust: bool = False, console: Console | None = None
) -> CheckReport:
    """Grade the project `context` holds against `rubric`. Grading one context against several
    rubrics runs each built-in check once (`Context.verdict`)."""
    commands = [item.id for item in rubric.items if item.command]
    if rubric.remote and commands and not trust:
        raise PocgenError(
            f"rubric {rubric.source} came from the network and runs commands "
            f"({', '.join(commands)}); read them, then rerun with --trust to allow them."
        )
    results: list[ItemResult] = []
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        transient=True,
    )
    with progress:
        task = progress.add_task("checking", total=len(rubric.items))
        for item in rubric.items:
            progress.update(task, description=f"checking: {item.title}")
            if item.check:
                verdict = context.verdict(item.check, item.threshold)
            else:
                verdict = _run_command(item, context.root)
            results.append(
                ItemResult(
                    id=item.id,
                    title=item.title,
                    status=verdict.status,
                    evidence=verdict.evidence,
                    required=item.required,
                    weight=item.weight,
                    score=round(item.weight * SCORES[verdict.status], 3),
                    check=item.check,
                    command=item.command,
                    threshold=item.threshold,
                )
            )
            progress.advance(task)
    return CheckReport(str(context.root), rubric, results)


def report_table(report: CheckReport) -> Table:
    """The table people read: one row per item, status coloured, evidence in full."""
    table = Table(
        title=f"{Path(report.project).name}: rubric {report.rubric.name}",
        caption=f"score {report.score:g} / {report.max_score:g}; "
        + ("all required items pass" if report.passed else "a required item fails"),
    )
    table.add_column("item")
    table.add_column("status")
    table.add_column("weight", justify="right")
    table.add_column("evidence", overflow="fold")
    for item in report.items:
        mark = "" if item.required else " (optional)"
        status = f"[{STYLES[item.status]}]{item.status}[/]"
        table.add_row(item.title + mark, status, f"{item.weight:g}", item.evidence)
    return table


def select_rubric(rubric: str | None, course: str | None) -> tuple[Rubric, dict[str, Any]]:
    """The rubric to grade with, and the answers a course locked (empty without a course)."""
    if rubric and course:
        raise PocgenError("give --rubric or --course, not both: a course pack brings its rubric.")
    if course:
        from pocgen.check.course import load_pack

        pack = load_pack(course)
        return pack.grading_rubric(), pack.locked_answers
    return load_rubric(rubric), {}
