"""`pocgen gpu run`, `pull`, `status` and `cancel`, in order; the CLI calls one function each.

`run` refuses what a GPU cannot help (a text project, unless forced), a second run over results
not yet pulled, and a project without splits; then it stages the clean copy, submits it to the
chosen engine, records the job, and (unless `--detach`, or for Colab, where the user starts the
notebook) follows it and pulls the results. `pull` waits when the job still runs.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from pathlib import Path
from typing import Any

from rich.console import Console

from pocgen.contract import schema_problem
from pocgen.errors import PocgenError
from pocgen.gpu import record as records
from pocgen.gpu.engine import ENGINES, Engine, JobState, RunOptions, duration, parse_timeout
from pocgen.gpu.record import JobRecord
from pocgen.gpu.results import GPU_REPORT, Placed, place, run_report
from pocgen.gpu.staging import staged
from pocgen.project import Project, load_project
from pocgen.records import GpuRun

STAGES = ("train", "export", "evaluate")
# A recorded run in one of these may be replaced by a new one without --force.
ABANDONED = {"ERROR", "CANCELED", "DELETED"}


def engine_class(name: str) -> Any:
    """The engine module's class, imported only when used (each pulls in its own client)."""
    if name == "hf":
        from pocgen.gpu.hf_jobs import HfJobsEngine

        return HfJobsEngine
    if name == "kaggle":
        from pocgen.gpu.kaggle import KaggleEngine

        return KaggleEngine
    if name == "colab":
        from pocgen.gpu.colab import ColabEngine

        return ColabEngine
    raise PocgenError(f"--engine {name} is not one pocgen knows; use one of {', '.join(ENGINES)}.")


def check_can_run(project: Project, options: RunOptions) -> None:
    """Everything refused before any account is asked or any file leaves the machine."""
    engine_class(options.engine)
    parse_timeout(options.timeout)
    if not project.image_task and not options.force:
        raise PocgenError(
            "this is a text project: TF-IDF and logistic regression train on a CPU in seconds "
            "and nothing in it runs on a GPU, so a GPU job would only add waiting (and cost); "
            "train with `make pipeline`, or pass --force to run it on a GPU anyway."
        )
    existing = records.load(project.root)
    unpulled = bool(existing and not existing.pulled_at and existing.status not in ABANDONED)
    if existing and unpulled and not options.force:
        raise PocgenError(
            f"a GPU run is recorded ({existing.engine}, {existing.job_id or existing.data_repo}, "
            f"{existing.status}) and its results were not pulled: `pocgen gpu pull` brings them "
            "back, `pocgen gpu status` shows it, and --force starts another run instead."
        )
    if "train" not in project.split_labels:
        raise PocgenError(
            "nothing to train on yet: data/splits/train.csv is missing; run "
            f"`{project.command('split')}` (or `make pipeline`) first, so the GPU trains on "
            "splits you have checked."
        )


def run_on_gpu(project_dir: Path, options: RunOptions, console: Console) -> JobRecord:
    """Stage, submit, record; then, unless detached, follow the job and pull its results."""
    project = load_project(project_dir)
    check_can_run(project, options)
    engine = engine_class(options.engine).connect(options, project.answers)
    slug = project.slug
    run_id = uuid.uuid4().hex[:12]
    settings = {
        "run_id": run_id,
        "package": project.package,
        "stages": list(STAGES),
        **engine.settings(slug, options),
    }
    with staged(project.root, project.package, slug, run_id, settings) as copy:
        console.print(
            f"Staged {copy.describe()}: what git tracks, plus data/ (never models/, .venv, "
            ".env or .git).",
            highlight=False,
        )
        record = engine.submit(copy, options, console)
    records.save(project.root, record)
    if record.job_id:
        console.print(
            f"Started {record.engine} job {record.job_id}: {record.url} (recorded in "
            f"{records.RECORD_FILE}).",
            highlight=False,
            soft_wrap=True,
        )
    if options.detach and options.engine != "colab":
        console.print(
            "Detached: `pocgen gpu status` shows the job, `pocgen gpu pull` waits for it and "
            "brings models/ and reports/ back, `pocgen gpu cancel` stops it."
        )
    if options.detach or options.engine == "colab":
        return record
    bring_back(project, record, engine, console, force=False, show_log=True)
    return record


def why_not(record: JobRecord, state: JobState, log_shown: bool) -> str:
    if not state.finished:
        return f"{state.message or f'the job is still {state.stage}'}."
    where = "above" if log_shown else f"at {record.url}"
    message = f": {state.message}" if state.message else ""
    return (
        f"the {record.engine} job {record.job_id} ended {state.stage}{message}; its log is "
        f"{where}. Fix the cause and run `pocgen gpu run` again."
    )


def bring_back(
    project: Project,
    record: JobRecord,
    engine: Engine,
    console: Console,
    force: bool,
    show_log: bool,
) -> Placed:
    """Wait for the job if needed, then fetch its results and put them in place."""
    state = engine.state(record)
    followed = show_log or not state.finished
    if followed:
        state = engine.follow(record, console)
    record.status = state.stage
    records.save(project.root, record)
    if not state.succeeded:
        raise PocgenError(why_not(record, state, followed))
    with tempfile.TemporaryDirectory(prefix="pocgen-gpu-") as scratch:
        fetched = Path(scratch)
        with console.status(
            f"Downloading the results of {record.job_id or record.results_repo}..."
        ):
            engine.fetch(record, fetched)
        report = {**run_report(fetched, record), **engine.facts(record, state)}
        # Checked here, before anything is placed: a record the writeup could not read would
        # otherwise land in reports/ and stop every later `pocgen writeup` and `check`.
        problem = schema_problem(report, "gpu")
        if problem:
            raise PocgenError(
                f"the job's {GPU_REPORT} is malformed ({problem}); nothing was placed: start a "
                "new run with `pocgen gpu run`."
            )
        (fetched / GPU_REPORT).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        placed = place(project.root, fetched, record.submitted_timestamp, force)
    record.pulled_at = records.now()
    records.save(project.root, record)
    show_pulled(placed, GpuRun.parse(report), console)
    return placed


def show_pulled(placed: Placed, run: GpuRun, console: Console) -> None:
    console.print(
        f"Brought back {len(placed.written)} files into models/ and reports/ "
        f"({len(placed.unchanged)} unchanged); {GPU_REPORT} records the run.",
        highlight=False,
    )
    flavor = f" ({run.flavor})" if run.flavor else ""
    where = run.gpu or run.device or "an unknown device"
    line = f"Trained on {where}{flavor} in {duration(run.train_seconds)}"
    if run.job_seconds is not None:
        line += f"; the job ran {duration(run.job_seconds)}"
    if run.cost_usd == 0:
        line += " (free)"
    elif run.cost_usd is not None:
        line += f", about ${run.cost_usd:.2f}"
    console.print(line + ".", highlight=False)
    if not run.device.startswith("cuda"):
        console.print(
            f"[yellow]warning:[/] the job trained on {run.device or 'an unknown device'}"
            ", not a GPU: its PyTorch saw no CUDA device (check the flavor or the image).",
            highlight=False,
        )


def pull(project_dir: Path, force: bool, console: Console) -> Placed:
    """Bring the recorded run's models/ and reports/ back, waiting for it if it still runs."""
    project = load_project(project_dir)
    record = records.require(project.root)
    engine = engine_class(record.engine).reconnect(record)
    return bring_back(project, record, engine, console, force=force, show_log=False)


def status(project_dir: Path, console: Console) -> JobState:
    """Print where the recorded run stands and what to do next."""
    project = load_project(project_dir)
    record = records.require(project.root)
    state = engine_class(record.engine).reconnect(record).state(record)
    record.status = state.stage
    records.save(project.root, record)
    facts = [
        f"{record.engine} {record.job_id or record.data_repo}: {state.stage}"
        + (f" ({state.message})" if state.message and state.finished else ""),
        f"submitted {record.submitted_at}"
        + (f", pulled {record.pulled_at}" if record.pulled_at else ""),
    ]
    if record.flavor:
        facts.append(f"flavor {record.flavor}")
    if state.running_seconds is not None:
        facts.append(f"running time {duration(state.running_seconds)}")
    if record.url:
        facts.append(record.url)
    for fact in facts:
        console.print(fact, markup=False, highlight=False, soft_wrap=True)
    if record.pulled_at:
        console.print("Its results are in models/ and reports/.")
    elif state.succeeded:
        console.print("Finished: `pocgen gpu pull` brings models/ and reports/ back.")
    elif not state.finished:
        console.print(
            state.message or "`pocgen gpu pull` waits for it; `pocgen gpu cancel` stops it."
        )
    return state


def cancel(project_dir: Path, console: Console) -> JobState:
    """Stop the recorded job (it bills until it ends); a finished job is left as it is."""
    project = load_project(project_dir)
    record = records.require(project.root)
    engine = engine_class(record.engine).reconnect(record)
    state = engine.state(record)
    if not state.finished:
        engine.cancel(record)
        state = engine.state(record)
        console.print(
            f"Canceled {record.engine} job {record.job_id}: {state.stage}.", highlight=False
        )
    else:
        console.print(
            f"{record.engine} job {record.job_id} already ended ({state.stage}): nothing to "
            "cancel.",
            highlight=False,
        )
    record.status = state.stage
    records.save(project.root, record)
    return state
