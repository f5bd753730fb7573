"""Benchmark the generated project's pipeline per task: the full default config on the sample data.

For each task this renders a fresh project from the built-in `poc` template, then runs its stages
one after another as child processes, exactly as a user would (`python -m <package> <stage>`):
sample, validate, split, train, export, evaluate, predict. It records each stage's wall time and
peak memory (the child's maximum resident set size, from os.wait4), the headline metric from
reports/metrics.json, and the machine's load average before and after, because a shared machine
makes every timing slower.

    python benchmarks/bench_pipeline.py                      # all three tasks, default params
    python benchmarks/bench_pipeline.py --tasks text-classification --smoke   # a quick check

The Python running this script must have the generated projects' dependencies (torch for the image
tasks); the dev virtualenv has them. Nothing is installed: the project's `src/` goes on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "poc"
TASKS = ["image-classification", "object-detection", "text-classification"]
# The targets of issue 3, on 2 CPU cores: seconds for the whole pipeline, and the headline metric.
TARGETS = {
    "image-classification": (180, 0.95),
    "object-detection": (600, 0.9),
    "text-classification": (30, None),
}
console = Console(width=150)  # wide enough for the table in a log file


def render(task: str, parent: Path) -> Path:
    """A fresh project for `task` with every other answer at its default."""
    destination = parent / task
    subprocess.run(
        [
            sys.executable,
            "-m",
            "copier",
            "copy",
            "--defaults",
            "--trust",
            "--quiet",
            "-d",
            f"task={task}",
            "-d",
            "project_name=Bench",
            str(TEMPLATE),
            str(destination),
        ],
        check=True,
        capture_output=True,
    )
    return destination


def run_stage(project: Path, stage: list[str]) -> dict:
    """Run one stage as a child process; its wall time, peak memory and exit status."""
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "bench", *stage],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output = child.stdout.read().decode(errors="replace")
    # wait4 (unlike wait) returns the child's own resource usage, so each stage is measured alone.
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    # ru_maxrss is in kilobytes on Linux and in bytes on macOS.
    divisor = 1024 * 1024 if sys.platform == "darwin" else 1024
    return {
        "stage": " ".join(stage),
        "seconds": round(seconds, 2),
        "peak_mb": round(usage.ru_maxrss / divisor, 1),
        "returncode": child.returncode,
        "output": output,
    }


def bench_task(task: str, parent: Path, smoke: bool) -> dict:
    """Render, run every stage, read the metrics; stop at the first stage that fails."""
    project = render(task, parent)
    flag = ["--smoke"] if smoke else []
    stages = [
        ["sample", *flag],
        ["validate"],
        ["split"],
        ["train", *flag],
        ["export", *flag],
        ["evaluate", *flag],
        ["predict", "--smoke", "--json"],
    ]
    results = []
    for stage in stages:
        result = run_stage(project, stage)
        results.append(result)
        console.print(
            f"  {task}: {result['stage']:<20} {result['seconds']:>8.1f} s "
            f"{result['peak_mb']:>8.0f} MB"
        )
        if result["returncode"] != 0:
            console.print(f"[red]{task}: `{result['stage']}` failed:[/red]\n{result['output']}")
            break
    metrics_file = project / "reports" / "metrics.json"
    metrics = json.loads(metrics_file.read_text()) if metrics_file.exists() else None
    training_file = project / "reports" / "training.json"
    training = json.loads(training_file.read_text()) if training_file.exists() else {}
    return {
        "task": task,
        "ok": all(r["returncode"] == 0 for r in results) and len(results) == len(stages),
        "stages": [{k: v for k, v in r.items() if k != "output"} for r in results],
        "seconds": round(sum(r["seconds"] for r in results), 1),
        "train_seconds": training.get("seconds"),
        "epochs": training.get("epochs"),
        "peak_mb": max(r["peak_mb"] for r in results),
        "headline": metrics["headline"] if metrics else None,
        "metrics": metrics["metrics"] if metrics else None,
        "latency_ms": metrics["latency_ms"]["mean"] if metrics else None,
        "model": metrics["model"] if metrics else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=TASKS)
    parser.add_argument("--smoke", action="store_true", help="smoke settings: checks the script")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args()

    load_before = os.getloadavg()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as folder:
        for task in args.tasks:
            results.append(bench_task(task, Path(folder), args.smoke))
    load_after = os.getloadavg()

    table = Table(title=f"Pipeline per task ({'smoke' if args.smoke else 'full default config'})")
    for column in (
        "task",
        "pipeline s",
        "train s",
        "epochs",
        "peak MB",
        "headline",
        "latency ms",
        "target",
    ):
        table.add_column(column)
    for r in results:
        seconds_target, metric_target = TARGETS[r["task"]]
        headline = r["headline"]
        met = (
            r["ok"]
            and r["seconds"] <= seconds_target
            and (metric_target is None or (headline and headline["value"] >= metric_target))
        )
        table.add_row(
            r["task"],
            f"{r['seconds']:.1f}",
            str(r["train_seconds"]),
            str(r["epochs"]),
            f"{r['peak_mb']:.0f}",
            f"{headline['metric']} {headline['value']:.3f}" if headline else "failed",
            f"{r['latency_ms']:.2f}" if r["latency_ms"] is not None else "",
            ("[green]met[/green]" if met else "[red]missed[/red]")
            + f" (<= {seconds_target} s"
            + (f", >= {metric_target})" if metric_target else ")"),
        )
    console.print(table)
    python = platform.python_version()
    machine = f"{os.cpu_count()} CPU cores ({platform.machine()}), Python {python}"
    console.print(
        f"{machine}; load average (1, 5, 15 min) before "
        f"{', '.join(f'{x:.2f}' for x in load_before)}, after "
        f"{', '.join(f'{x:.2f}' for x in load_after)}"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine,
                    "load_before": load_before,
                    "load_after": load_after,
                    "smoke": args.smoke,
                    "results": results,
                },
                indent=2,
            )
            + "\n"
        )
    if not all(r["ok"] for r in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
