"""The job record, `.pocgen/gpu.json`: which job `pocgen gpu pull`, `status` and `cancel` mean.

It is written as soon as a job is submitted, so an interrupted `pocgen gpu run` (or `--detach`)
leaves enough behind to follow, pull or cancel the job later. `.pocgen/` is gitignored: the record
is this machine's state. What the writeup needs about the training (engine, flavor, GPU, seconds,
cost) goes to `reports/gpu.json` instead, which the job writes and `pull` completes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pocgen.errors import PocgenError

RECORD_FILE = Path(".pocgen/gpu.json")
# Stages after which a job changes no more (the Hub's names; the Kaggle engine maps its own).
FINISHED_STAGES = frozenset({"COMPLETED", "ERROR", "CANCELED", "DELETED"})


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class JobRecord:
    """One submitted GPU run, as `.pocgen/gpu.json` holds it."""

    engine: str  # "hf", "kaggle" or "colab"
    run_id: str  # pocgen's id for the upload; the results carry it back, so stale ones show
    submitted_at: str  # UTC, ISO 8601: local results newer than this are never overwritten
    status: str  # the last stage seen (SCHEDULING, RUNNING, COMPLETED, ...; UPLOADED for colab)
    job_id: str | None = None  # Hugging Face job id, or Kaggle's `owner/kernel`
    url: str | None = None  # the job's page (or, for colab, the notebook's Colab link)
    flavor: str | None = None  # Hugging Face flavor or Kaggle machine shape
    timeout_seconds: int | None = None
    namespace: str | None = None  # Hub user or organisation that owns the job and the repos
    endpoint: str | None = None  # the Hub the job was sent to
    data_repo: str | None = None  # where the project's copy went (Hub dataset or Kaggle dataset)
    data_revision: str | None = None
    results_repo: str | None = None  # the private Hub model repo the job uploads results to
    price_per_hour_usd: float | None = None
    pulled_at: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STAGES

    @property
    def submitted_timestamp(self) -> float:
        return datetime.fromisoformat(self.submitted_at).timestamp()


def save(project: Path, record: JobRecord) -> Path:
    path = project / RECORD_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(record), indent=2) + "\n", encoding="utf-8")
    return path


def load(project: Path) -> JobRecord | None:
    """The recorded job, or None when no GPU job was ever started from this project."""
    path = project / RECORD_FILE
    if not path.exists():
        return None
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        known = {field.name for field in fields(JobRecord)}
        return JobRecord(**{key: value for key, value in data.items() if key in known})
    except (ValueError, TypeError, AttributeError) as error:
        raise PocgenError(
            f"{RECORD_FILE} cannot be read ({error}); delete it and start again with "
            "`pocgen gpu run`."
        ) from None


def require(project: Path) -> JobRecord:
    record = load(project)
    if record is None:
        raise PocgenError(
            f"no GPU job recorded in {project / RECORD_FILE}: start one with `pocgen gpu run`."
        )
    return record
