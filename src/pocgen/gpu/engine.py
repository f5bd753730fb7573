"""The one interface every GPU engine implements, and the options `pocgen gpu run` passes on.

An engine submits a staged project, reports a job's stage, follows it to the end, cancels it and
fetches what it produced into a scratch folder. Everything else (staging, the job record, putting
results in place) is the same for all engines and lives outside them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console

from pocgen.errors import PocgenError
from pocgen.gpu.record import FINISHED_STAGES, JobRecord
from pocgen.gpu.staging import StagedProject

ENGINES = ("hf", "kaggle", "colab")
TIMEOUT_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass
class RunOptions:
    """The flags of `pocgen gpu run`, passed through unchanged."""

    engine: str = "hf"
    flavor: str | None = None
    timeout: str = "1h"
    namespace: str | None = None
    detach: bool = False
    force: bool = False
    endpoint: str | None = None
    image: str | None = None

    @property
    def timeout_seconds(self) -> int:
        return parse_timeout(self.timeout)


@dataclass(frozen=True)
class JobState:
    """Where a job stands: a stage (the Hub's names), the engine's message, its running time."""

    stage: str
    message: str | None = None
    running_seconds: int | None = None

    @property
    def finished(self) -> bool:
        return self.stage in FINISHED_STAGES

    @property
    def succeeded(self) -> bool:
        return self.stage == "COMPLETED"


class Engine(Protocol):
    """What `run` needs from an engine; each module's `connect` returns one."""

    name: str

    def settings(self, slug: str, options: RunOptions) -> dict[str, Any]:
        """The job's settings this engine adds (`engine`, `flavor`, the results repo)."""
        ...

    def submit(self, staged: StagedProject, options: RunOptions, console: Console) -> JobRecord: ...

    def state(self, record: JobRecord) -> JobState: ...

    def follow(self, record: JobRecord, console: Console) -> JobState:
        """Show the job's progress (its log where the engine streams one) until it finishes."""
        ...

    def cancel(self, record: JobRecord) -> None: ...

    def fetch(self, record: JobRecord, into: Path) -> None:
        """Download what the job produced (at least `models/` and `reports/`) into `into`."""
        ...

    def facts(self, record: JobRecord, state: JobState) -> dict[str, Any]:
        """What the engine knows about the finished job, for reports/gpu.json (id, URL, time,
        cost)."""
        ...


def parse_timeout(text: str) -> int:
    """`90m`, `2h`, `1.5h`, `1d` or plain seconds, as whole seconds; refused unless positive."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    seconds = int(float(match.group(1)) * TIMEOUT_UNITS[match.group(2) or "s"]) if match else 0
    if seconds <= 0:
        raise PocgenError(
            f"--timeout {text!r} is not a duration: use e.g. 90m, 2h or 3600 (seconds)."
        )
    return seconds


def duration(seconds: float | None) -> str:
    """`42 s`, `7 min`, `1 h 05 min`: how long a job ran, for people."""
    if seconds is None:
        return "unknown time"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"
