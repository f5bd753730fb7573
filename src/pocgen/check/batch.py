"""`pocgen check --course PACK DIR...`: grade a class's projects at once, one worker per core.

Each project is graded in a worker process of its own (a process pool: the checks run the
projects' tests, notebooks and apps as child processes, and pocgen's own work, rendering
templates and diffing files, is Python that a thread pool would serialise), then fingerprinted
for the cohort report (`cohort.py`) in the same worker, which reuses the fresh template render the
grading made. One JSON document holds every report, the projects that could not be graded, and
the cohort report; one table summarises them.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import traceback
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from pocgen import __version__
from pocgen.check import cohort
from pocgen.check.grading import Grading
from pocgen.check.run import SCHEMA_VERSION, run_check
from pocgen.errors import PocgenError, shown


@dataclass(frozen=True)
class Graded:
    """One project's report (JSON), or why it could not be graded, and its fingerprint."""

    project: str
    report: dict[str, Any] | None
    error: str | None
    fingerprint: cohort.Fingerprint | None


def grade_one(project: str, grading: Grading) -> Graded:
    """Grade and fingerprint one project (what each worker runs)."""
    try:
        report = run_check(Path(project), grading, console=Console(quiet=True))
        print_ = cohort.fingerprint(Path(project), grading.exercises)
    except PocgenError as error:
        return Graded(str(Path(project).resolve()), None, str(error), None)
    except Exception as error:  # a bug: the class is still graded, the traceback still shown
        traceback.print_exc()
        message = f"pocgen failed on this project ({type(error).__name__}: {error}): a bug"
        return Graded(str(Path(project).resolve()), None, message, None)
    return Graded(report.project, report.to_json(), None, print_)


def _flagship() -> cohort.Fingerprint | None:
    """The shipped flagship's fingerprint; one that cannot be read leaves the class graded and
    says why the flagship was not compared."""
    root = cohort.flagship_root()
    if root is None:
        return None
    try:
        return cohort.fingerprint(root)
    except PocgenError as error:
        why = f"the flagship could not be read: {error}"
        return cohort.Fingerprint(str(root), not_compared=why)


@dataclass
class BatchReport:
    grading: Grading
    graded: list[Graded]
    cohort: cohort.CohortReport
    workers: int
    started_at: str
    seconds: float

    @property
    def passed(self) -> bool:
        return all(g.report is not None and g.report["passed"] for g in self.graded)

    def to_json(self) -> dict[str, Any]:
        rubric = self.grading.rubric
        return {
            "schema_version": SCHEMA_VERSION,
            "pocgen": {"version": __version__},
            "rubric": {
                "name": rubric.name,
                "source": rubric.source,
                "sha256": self.grading.digest(),
            },
            "started_at": self.started_at,
            "duration_seconds": round(self.seconds, 1),
            "workers": self.workers,
            "static": self.grading.static,
            "passed": self.passed,
            "reports": [g.report for g in self.graded if g.report is not None],
            "errors": [{"project": g.project, "error": g.error} for g in self.graded if g.error],
            "cohort": self.cohort.to_json(),
        }


def grade_many(
    projects: Sequence[Path],
    grading: Grading,
    workers: int | None = None,
    threshold: float = cohort.SIMILAR,
    console: Console | None = None,
) -> BatchReport:
    """Grade `projects` with `workers` processes (default: one per core; 1 grades them one
    after another in this process), then compare them; a bar on stderr shows progress."""
    grading.check_trust()  # once, before any worker starts
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    started = time.monotonic()
    workers = max(1, workers or os.cpu_count() or 1)
    names = [str(project) for project in projects]
    progress = Progress(
        TextColumn("grading"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        transient=True,
    )
    results: dict[str, Graded] = {}
    with progress:
        bar = progress.add_task("grading", total=len(names) + 1)
        if workers == 1:
            for name in names:
                results[name] = grade_one(name, grading)
                progress.advance(bar)
            flagship = _flagship()
            progress.advance(bar)
        else:
            # spawn, not fork: a worker starts clean instead of copying this process's threads.
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(min(workers, len(names) + 1), mp_context=context) as pool:
                futures: dict[Future[Any], str] = {
                    pool.submit(grade_one, name, grading): name for name in names
                }
                flagship_future = pool.submit(_flagship)
                for future in as_completed([*futures, flagship_future]):
                    if future is not flagship_future:
                        results[futures[future]] = future.result()
                    progress.advance(bar)
                flagship = flagship_future.result()
    graded = [results[name] for name in names]
    prints = [g.fingerprint for g in graded if g.fingerprint is not None]
    return BatchReport(
        grading,
        graded,
        cohort.compare(prints, flagship, threshold),
        workers,
        started_at,
        time.monotonic() - started,
    )


def batch_table(batch: BatchReport) -> Table:
    """One row per project: score, the items that failed, and what the cohort report flags."""
    flags: dict[str, list[str]] = {}
    for pair in batch.cohort.flagged:
        shared = f"{pair.similarity:.0%}"
        flags.setdefault(pair.a, []).append(f"shares {shared} with {Path(pair.b).name}")
        flags.setdefault(pair.b, []).append(f"shares {shared} with {Path(pair.a).name}")
    for match in batch.cohort.matches:
        share = f" ({match.similarity:.0%})" if match.similarity < 1 else ""
        flags.setdefault(match.project, []).append(match.detail + share)
    table = Table(
        title=shown(f"{len(batch.graded)} projects: rubric {batch.grading.rubric.name}"),
        caption=f"graded in {batch.seconds:.0f} s with {batch.workers} worker(s); similarity "
        f"threshold {batch.cohort.threshold:g}",
    )
    for column in ("project", "score", "passed", "failed items", "flagged"):
        table.add_column(column, overflow="fold")
    for g in batch.graded:
        # Folder names and error lines come from the students' files: text, never markup.
        name = shown(Path(g.project).name)
        if g.report is None:
            table.add_row(name, "–", "[red]error[/]", shown(g.error or ""), "")
            continue
        failed = [item["id"] for item in g.report["items"] if item["status"] == "fail"]
        passed = "[green]yes[/]" if g.report["passed"] else "[red]no[/]"
        score = f"{g.report['score']:g} / {g.report['max_score']:g}"
        flagged = shown("; ".join(flags.get(g.project, [])))
        table.add_row(name, score, passed, ", ".join(failed), flagged)
    return table
