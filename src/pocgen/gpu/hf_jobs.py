"""Hugging Face Jobs: the project's stages in a CUDA PyTorch container on Hub hardware.

The staged project goes to the private dataset repo, mounted read-only at /input at the exact
commit just uploaded; the job runs `.pocgen/gpu_job.py` (see `remote_job`), which uploads
`models/` and `reports/` to the private results repo with the token it gets as a job secret
(never in the job's environment or command, which the Hub shows). Jobs are billed per minute
of the flavor (`t4-small` is $0.40/h), need a positive credit balance, and always get an explicit
timeout (the Hub's default is 30 minutes).
"""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from pocgen.errors import PocgenError
from pocgen.gpu import hub
from pocgen.gpu.engine import JobState, RunOptions
from pocgen.gpu.record import JobRecord, now
from pocgen.gpu.staging import RUNNER_FILE, StagedProject

DEFAULT_FLAVOR = "t4-small"
# A CUDA build of PyTorch with Python 3.11; pip installs the rest of the project into it.
DEFAULT_IMAGE = "pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime"
MOUNT = "/input"


class HfJobsEngine(hub.HubEngine):
    name = "hf"
    default_flavor = DEFAULT_FLAVOR

    def price_per_hour(self, flavor: str) -> float:
        """The flavor's price from the Hub's hardware list; an unknown flavor is refused."""
        with hub.errors(self.account, "the Jobs hardware list"):
            hardware = self.account.api.list_jobs_hardware()
        for item in hardware:
            if item.name == flavor:
                per_unit = float(item.unit_cost_usd)
                return round(per_unit * 60 if item.unit_label == "minute" else per_unit, 4)
        gpus = [item.name for item in hardware if item.accelerator is not None]
        raise PocgenError(
            f"--flavor {flavor} is not a Jobs flavor; GPU flavors: {', '.join(gpus)}."
        )

    def submit(self, staged: StagedProject, options: RunOptions, console: Console) -> JobRecord:
        from huggingface_hub import Volume

        flavor = options.flavor or DEFAULT_FLAVOR
        timeout = options.timeout_seconds
        price = self.price_per_hour(flavor)
        console.print(
            f"Flavor {flavor} at ${price:.2f}/h, timeout {timeout // 60} min: at most "
            f"${price * timeout / 3600:.2f}, billed per minute of running time.",
            highlight=False,
        )
        results_repo, revision = self.upload(staged, console)
        data_repo = self.account.data_repo(staged.slug)
        with hub.errors(self.account, self.account.namespace):
            job = self.account.api.run_job(
                image=options.image or DEFAULT_IMAGE,
                command=["python", f"{MOUNT}/{RUNNER_FILE}", MOUNT],
                env={"HF_ENDPOINT": self.account.endpoint, "PYTHONUNBUFFERED": "1"},
                secrets={"HF_TOKEN": self.account.token},
                flavor=flavor,
                timeout=timeout,
                labels={"created-by": "pocgen", "project": staged.slug, "run": staged.run_id},
                volumes=[
                    Volume(type="dataset", source=data_repo, mount_path=MOUNT, revision=revision)
                ],
                namespace=self.account.namespace,
            )
        return JobRecord(
            engine=self.name,
            run_id=staged.run_id,
            submitted_at=now(),
            status=str(job.status.stage),
            job_id=job.id,
            url=job.url,
            flavor=flavor,
            timeout_seconds=timeout,
            namespace=self.account.namespace,
            endpoint=self.account.endpoint,
            data_repo=data_repo,
            data_revision=revision,
            results_repo=results_repo,
            price_per_hour_usd=price,
        )

    def state(self, record: JobRecord) -> JobState:
        with hub.errors(self.account, f"job {record.job_id}"):
            job = self.account.api.inspect_job(job_id=record.job_id, namespace=record.namespace)
        running = job.durations.running_secs if job.durations else None
        return JobState(str(job.status.stage), job.status.message, running)

    def follow(self, record: JobRecord, console: Console) -> JobState:
        """Print the job's log as it comes (the client returns when the job has finished)."""
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with (
            Progress(*columns, console=console, transient=True) as progress,
            hub.errors(self.account, f"job {record.job_id}"),
        ):
            progress.add_task(f"job {record.job_id} on {record.flavor} (Ctrl-C stops following)")
            for line in self.account.api.fetch_job_logs(
                job_id=record.job_id, namespace=record.namespace, follow=True
            ):
                console.print(line.rstrip("\n"), markup=False, highlight=False, soft_wrap=True)
        return self.state(record)

    def cancel(self, record: JobRecord) -> None:
        with hub.errors(self.account, f"job {record.job_id}"):
            self.account.api.cancel_job(job_id=record.job_id, namespace=record.namespace)

    def facts(self, record: JobRecord, state: JobState) -> dict[str, Any]:
        seconds = state.running_seconds
        cost = None
        if seconds is not None and record.price_per_hour_usd is not None:
            cost = round(math.ceil(seconds / 60) * record.price_per_hour_usd / 60, 4)
        return {
            "job_id": record.job_id,
            "job_url": record.url,
            "job_seconds": seconds,
            "price_per_hour_usd": record.price_per_hour_usd,
            "cost_usd": cost,
            "results_repo": record.results_repo,
        }
