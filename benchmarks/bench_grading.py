"""How long does grading a class take, one project after another and with a worker per core?

Renders N student projects from the shipped bootcamp course pack (exercise mode: every other
student fills the stubs with the template's own solution, the rest leave them), then grades all
of them with the pack's whole rubric, hidden tests included, twice in the same run:
`--workers 1` (one after another, in this process) and one worker per core (a process pool).
Then once more with `--static` and a worker per core, which runs no student code. Prints seconds,
seconds per project and the speed-up.

Run: python benchmarks/bench_grading.py [--projects N] [--workers W]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from pocgen.check.batch import grade_many
from pocgen.check.course import course_request, load_pack
from pocgen.check.grading import select_grading
from pocgen.templating.engines import RenderOptions
from pocgen.templating.new import create_project

PACK = Path(__file__).resolve().parents[1] / "examples" / "course-packs" / "four-week-bootcamp.yaml"
TOPICS = [
    ("Weld Seam", "cracked welds", "sound, cracked"),
    ("Pipe Leak", "slow leaks", "dry, leaking"),
    ("Fabric Flaw", "torn threads", "clean, torn"),
    ("Tile Crack", "cracked tiles", "whole, cracked"),
    ("Bottle Cap", "loose caps", "sealed, loose"),
    ("Solder Joint", "cold joints", "good, cold"),
    ("Apple Bruise", "bruised apples", "fresh, bruised"),
    ("Label Print", "smudged labels", "sharp, smudged"),
    ("Tyre Tread", "worn treads", "legal, worn"),
    ("Glass Chip", "chipped glasses", "intact, chipped"),
]


def students(folder: Path, count: int) -> list[Path]:
    """`count` projects as `pocgen new --course` makes them; every other one solved."""
    projects = []
    pack = load_pack(str(PACK))
    for index in range(count):
        name, defect, classes = TOPICS[index % len(TOPICS)]
        title = f"{name} Check {index}"
        answers = {
            "project_name": title,
            "problem": f"Inspectors at plant {index} miss {defect} in a fast line.",
            "business_objective": f"Stop {defect} before they ship.",
            "success_metric": "macro-F1 of at least 0.85 on held-out photos",
            "classes": classes,
        }
        template, ref, data, finish = course_request(str(PACK), None, None, answers)
        dest = folder / title.lower().replace(" ", "-")
        options = RenderOptions(defaults=True, ref=ref)
        create_project(dest, template, data=data, options=options, finish=finish)
        if index % 2 == 0:  # solved: the reference code put back in place of the stubs
            plain = folder / "plain" / dest.name
            create_project(plain, template, data=data, options=options)
            for exercise in pack.exercises:
                package = f"src/{data.get('package_name') or dest.name.replace('-', '_')}"
                shutil.copy(plain / package / exercise.file, dest / package / exercise.file)
        projects.append(dest)
    return projects


def timed(projects: list[Path], workers: int, static: bool) -> tuple[float, int]:
    grading = select_grading(None, str(PACK), static=static)
    started = time.perf_counter()
    batch = grade_many(projects, grading, workers)
    assert not any(g.error for g in batch.graded), [g.error for g in batch.graded]
    return time.perf_counter() - started, len(batch.cohort.flagged)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=10)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="pocgen-bench-grading-"))
    os.environ["POCGEN_CACHE_DIR"] = str(scratch / "cache")
    try:
        projects = students(scratch, args.projects)
        load = os.getloadavg()[0]
        serial, _ = timed(projects, 1, static=False)
        parallel, flagged = timed(projects, args.workers, static=False)
        static, _ = timed(projects, args.workers, static=True)
        count = len(projects)
        print(f"{count} projects, {os.cpu_count()} cores, load average {load:.2f} at the start")
        print("| grading | seconds | per project |")
        print("| --- | --- | --- |")
        print(f"| one after another (--workers 1) | {serial:.0f} | {serial / count:.1f} |")
        print(f"| --workers {args.workers} | {parallel:.0f} | {parallel / count:.1f} |")
        print(f"| --workers {args.workers} --static | {static:.0f} | {static / count:.1f} |")
        print(f"speed-up with {args.workers} workers: {serial / parallel:.2f}x")
        print(f"pairs flagged: {flagged} (sharing the template's solution is not a copy)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
