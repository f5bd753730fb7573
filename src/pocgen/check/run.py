"""`pocgen check`: grade a project against a rubric, for people (a table) and autograders (JSON).

Each rubric item is a built-in check (see `items.py`), a shell command run in the project folder,
or a course's exercise (see `exercises.py`); a command passes when it exits 0 and, with a
`threshold`, when the number on its last output line reaches it. A pass scores the item's weight,
a warn half of it, a fail nothing; an item `--static` does not run is skipped and counts neither
way. The check fails (non-zero exit) when any required item fails. The JSON shape is
`schemas/check.schema.json`, documented in docs/check.md.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from pocgen import __version__
from pocgen.check import exercises, probes
from pocgen.check.grading import Grading, runs_project_code
from pocgen.check.items import Context, Status, Verdict
from pocgen.check.rubric import Rubric, RubricItem
from pocgen.errors import shown
from pocgen.project import load_project, project_python
from pocgen.records import Answers

SCHEMA_VERSION = 2
SCORES: dict[str, float] = {"pass": 1.0, "warn": 0.5, "fail": 0.0}
COMMAND_TIMEOUT = 900
STYLES = {"pass": "green", "warn": "yellow", "fail": "red", "skip": "dim"}
ReportStatus = Status | Literal["skip"]
SKIPPED = Verdict(
    "pass",  # never scored: the item's status becomes `skip`
    "not run: --static grades without running the project's code",
    "static",
)


@dataclass
class ItemResult:
    id: str
    title: str
    status: ReportStatus
    reason: str
    evidence: str
    output_tail: str | None
    required: bool
    weight: float
    score: float
    check: str | None
    command: str | None
    exercise: str | None
    threshold: float | None


@dataclass
class CheckReport:
    project: str
    rubric: Rubric
    items: list[ItemResult]
    template: dict[str, str | None]  # the template's source and version the project records
    rubric_sha256: str
    started_at: str
    seconds: float
    static: bool = False

    @property
    def score(self) -> float:
        return round(sum(item.score for item in self.items), 3)

    @property
    def max_score(self) -> float:
        """The weights of the items graded; a skipped item counts neither way."""
        return round(sum(item.weight for item in self.items if item.status != "skip"), 3)

    @property
    def passed(self) -> bool:
        """No required item failed; warnings never fail a project."""
        return not any(item.required and item.status == "fail" for item in self.items)

    def to_json(self) -> dict[str, Any]:
        counts = {
            status: sum(1 for item in self.items if item.status == status)
            for status in (*SCORES, "skip")
        }
        return {
            "schema_version": SCHEMA_VERSION,
            "project": self.project,
            "pocgen": {"version": __version__},
            "template": self.template,
            "rubric": {
                "name": self.rubric.name,
                "source": self.rubric.source,
                "sha256": self.rubric_sha256,
            },
            "started_at": self.started_at,
            "duration_seconds": round(self.seconds, 1),
            "static": self.static,
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
        if outcome.returncode is None:  # timed out, or could not start
            return Verdict("fail", outcome.evidence, "command-did-not-finish", outcome.tail)
        # The last line it printed (its errors come last in the tail) beside the exit code.
        last = (outcome.tail or "").splitlines()[-1:] or ["no output"]
        evidence = f"exit code {outcome.returncode}: {last[0].strip()}"
        return Verdict("fail", evidence, "command-failed", outcome.tail)
    if item.threshold is None:
        return Verdict("pass", outcome.evidence or "exit code 0", "command-passed")
    try:
        value = float(outcome.evidence.split()[-1])
    except (ValueError, IndexError):
        return Verdict(
            "fail",
            f"expected a number on the last output line, got {outcome.evidence!r}",
            "no-number",
        )
    if value >= item.threshold:
        return Verdict("pass", f"{value:g} (threshold {item.threshold:g})", "threshold-met")
    return Verdict("fail", f"{value:g} (threshold {item.threshold:g})", "below-threshold")


def _template(answers: Answers) -> dict[str, str | None]:
    return {"source": answers.template_source, "version": answers.template_version}


def run_check(root: Path, grading: Grading, console: Console | None = None) -> CheckReport:
    """Grade the project at `root`; the spinner goes to stderr so `--json` stays clean on stdout."""
    return grade(grading.context(load_project(root)), grading, console)


def grade(context: Context, grading: Grading, console: Console | None = None) -> CheckReport:
    """Grade the project `context` holds as `grading` says. `context` comes from
    `grading.context` (or another grading's of the same course: the same locked answers and
    exercises), and grading one context several ways (rubrics, `--static`) runs each built-in
    check once (`Context.verdict`)."""
    grading.check_trust()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    started = time.monotonic()
    items = grading.items_for(context.project.task)
    exercise_verdicts: dict[str, Verdict] | None = None
    results: list[ItemResult] = []
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        transient=True,
    )
    with progress:
        task = progress.add_task("checking", total=len(items))
        for item in items:
            progress.update(task, description=f"checking: {item.title}")
            skipped = grading.static and runs_project_code(item)
            if skipped:
                verdict = SKIPPED
            elif item.check:
                verdict = context.verdict(item.check, item.threshold)
            elif item.exercise:
                if exercise_verdicts is None:  # every exercise's hidden tests run at once
                    exercise_verdicts = exercises.grade(
                        context.root,
                        [grading.exercise(i.exercise) for i in items if i.exercise],
                        context.project.answers,
                        project_python(context.root),
                    )
                verdict = exercise_verdicts[item.exercise]
            else:
                verdict = _run_command(item, context.root)
            results.append(
                ItemResult(
                    id=item.id,
                    title=item.title,
                    status="skip" if skipped else verdict.status,
                    reason=verdict.reason,
                    evidence=probes.stable_text(verdict.evidence),
                    output_tail=probes.stable_text(verdict.output) if verdict.output else None,
                    required=item.required,
                    weight=item.weight,
                    score=0.0 if skipped else round(item.weight * SCORES[verdict.status], 3),
                    check=item.check,
                    command=item.command,
                    exercise=item.exercise,
                    threshold=item.threshold,
                )
            )
            progress.advance(task)
    return CheckReport(
        str(context.root),
        grading.rubric,
        results,
        _template(context.project.answers),
        grading.digest(),
        started_at,
        time.monotonic() - started,
        grading.static,
    )


def report_table(report: CheckReport) -> Table:
    """The table people read: one row per item, status coloured, evidence in full."""
    table = Table(
        title=shown(f"{Path(report.project).name}: rubric {report.rubric.name}"),
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
        # Evidence and output come from the project (a student's command may print anything):
        # shown as text, never read as markup or sent to the terminal as control characters.
        lines = [item.evidence]
        if item.output_tail and item.status == "fail":
            lines += item.output_tail.splitlines()
        evidence = "\n".join(shown(line) for line in lines)
        table.add_row(shown(item.title) + mark, status, f"{item.weight:g}", evidence)
    return table
