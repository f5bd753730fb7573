"""Kaggle: the free one-command route (a weekly GPU quota, no credit card).

The staged project goes up as one archive, `project.zip`, in a private Kaggle dataset
`<user>/<slug>-gpu-data` (a new version on later runs); a private script notebook
`<user>/<slug>-gpu`, whose code is `remote_job`, mounts it, runs the project's stages on a GPU
and leaves `models/` and `reports/` in its output folder, which `pocgen gpu pull` downloads. The
notebook's metadata sets `enable_gpu` and `enable_internet` explicitly (the client's default for
internet differs from Kaggle's docs; pip needs it).

The `kaggle` package is optional (`pip install 'pocgen[kaggle]'`): it is imported only here, it
signs in when imported, and it needs `six` without declaring it. Its failures become one line.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console

from pocgen.errors import PocgenError, one_line
from pocgen.gpu.engine import JobState, RunOptions
from pocgen.gpu.record import JobRecord, now
from pocgen.gpu.staging import RUNNER_SOURCE, StagedProject

DEFAULT_MACHINE = "NvidiaTeslaT4"
ARCHIVE = "project.zip"
CODE_FILE = "gpu_job.py"
LICENCE = "copyright-authors"  # the user's own data: not a public licence
TOKEN_HELP = (
    "create an API token at https://www.kaggle.com/settings (API, Create New Token), then set "
    "KAGGLE_API_TOKEN or save it in ~/.kaggle/access_token"
)
# Kaggle's kernel states, in the Hub's words the rest of pocgen uses.
STAGES = {
    "QUEUED": "SCHEDULING",
    "NEW_SCRIPT": "SCHEDULING",
    "RUNNING": "RUNNING",
    "COMPLETE": "COMPLETED",
    "ERROR": "ERROR",
    "CANCEL_REQUESTED": "CANCELED",
    "CANCEL_ACKNOWLEDGED": "CANCELED",
}
DATASET_WAIT_SECONDS = 15 * 60
LOG_TAIL = 40


def slug_with(slug: str, suffix: str) -> str:
    """A Kaggle slug: 6 to 50 characters."""
    return (slug[: 50 - len(suffix)] + suffix).rjust(6, "x")


def backoff() -> Iterator[float]:
    """Seconds to wait between polls: quick at first (a stand-in's run takes seconds), then every
    15 s (a Kaggle run takes minutes to hours)."""
    delay = 1.0
    while True:
        yield delay
        delay = min(delay * 1.5, 15.0)


@contextlib.contextmanager
def kaggle_errors(what: str) -> Iterator[None]:
    """Kaggle's HTTP, network and validation errors as one line naming the fix."""
    import requests

    try:
        yield
    except requests.HTTPError as error:
        status = error.response.status_code if error.response is not None else None
        detail = one_line(error) or "no details"
        if status == 401:
            raise PocgenError(
                f"Kaggle refused the credentials (HTTP 401): they are invalid or expired; "
                f"{TOKEN_HELP}."
            ) from None
        if status == 403:
            raise PocgenError(
                f"Kaggle refused {what} (HTTP 403: {detail}); a notebook with a GPU and internet "
                "needs a phone-verified account (https://www.kaggle.com/settings)."
            ) from None
        raise PocgenError(
            f"Kaggle answered HTTP {status} for {what}: {detail}; retry later."
        ) from None
    except requests.ConnectionError as error:
        raise PocgenError(
            f"cannot reach Kaggle ({type(error).__name__}): check your network and retry."
        ) from None
    except ValueError as error:
        raise PocgenError(f"Kaggle refused {what}: {one_line(error)}") from None


def signed_in_client() -> Any:
    """Kaggle's client, signed in; one line when the package or the credentials are missing.

    Importing `kaggle` signs in and prints help when that fails, so its output is swallowed and
    the sign-in is done again here, where a failure can be reported.
    """
    quiet = io.StringIO()
    try:
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            from kaggle.api.kaggle_api_extended import KaggleApi
    except ImportError as error:
        raise PocgenError(
            f"the Kaggle client is not installed ({error}): pip install 'pocgen[kaggle]'."
        ) from None
    api = KaggleApi()
    try:
        with kaggle_errors("the sign-in"), contextlib.redirect_stdout(quiet):
            api.authenticate()
    except SystemExit:
        api.config_values = {}
    if not api.config_values.get("username"):  # also an empty KAGGLE_USERNAME
        raise PocgenError(f"no Kaggle credentials found: {TOKEN_HELP}.")
    return api


def log_lines(text: str) -> list[str]:
    """A kernel's log: Kaggle stores it as a JSON list of {stream_name, time, data}."""
    try:
        events = json.loads(text)
        return "".join(str(event.get("data", "")) for event in events).splitlines()
    except (ValueError, AttributeError, TypeError):
        return text.splitlines()


class KaggleEngine:
    name = "kaggle"

    def __init__(self, api: Any) -> None:
        self.api = api
        self.user = str(api.config_values.get("username") or "")

    @classmethod
    def connect(cls, options: RunOptions | None, answers: dict[str, Any]) -> KaggleEngine:
        return cls(signed_in_client())

    @classmethod
    def reconnect(cls, record: JobRecord) -> KaggleEngine:
        return cls(signed_in_client())

    def settings(self, slug: str, options: RunOptions) -> dict[str, Any]:
        return {"engine": self.name, "flavor": options.flavor or DEFAULT_MACHINE}

    def upload_dataset(self, staged: StagedProject, folder: Path, console: Console) -> str:
        """Zip the staged project into a private dataset (a new version when it exists) and wait
        until Kaggle has processed it, so the notebook mounts this upload and no older one."""
        import requests

        dataset = f"{self.user}/{slug_with(staged.slug, '-gpu-data')}"
        with zipfile.ZipFile(folder / ARCHIVE, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
            for name in staged.files:
                out.write(staged.folder / name, name)
        metadata = {
            "title": dataset.split("/")[1],
            "id": dataset,
            "licenses": [{"name": LICENCE}],
        }
        (folder / "dataset-metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
        size = (folder / ARCHIVE).stat().st_size / 1e6
        with (
            console.status(
                f"Uploading {ARCHIVE} ({size:,.1f} MB) to the private dataset {dataset}"
            ),
            kaggle_errors(f"the dataset {dataset}"),
        ):
            try:
                self.api.dataset_status(dataset)
                exists = True
            except requests.HTTPError as error:
                if error.response is None or error.response.status_code != 404:
                    raise
                exists = False
            if exists:
                notes = f"pocgen gpu run {staged.run_id}"
                made = self.api.dataset_create_version(str(folder), notes, quiet=True)
            else:
                made = self.api.dataset_create_new(str(folder), public=False, quiet=True)
        if made.error:
            raise PocgenError(f"Kaggle refused the dataset {dataset}: {one_line(made.error)}")
        self.wait_until_ready(dataset, console)
        return dataset

    def wait_until_ready(self, dataset: str, console: Console) -> None:
        deadline = time.monotonic() + DATASET_WAIT_SECONDS
        with console.status(f"Kaggle is processing {dataset}..."):
            for delay in backoff():
                with kaggle_errors(f"the dataset {dataset}"):
                    status = str(self.api.dataset_status(dataset))
                if status == "ready":
                    return
                if status in ("failed", "deleted") or time.monotonic() > deadline:
                    raise PocgenError(
                        f"Kaggle did not make {dataset} ready (status {status}): open it on "
                        "kaggle.com to see why, then run `pocgen gpu run --engine kaggle` again."
                    )
                time.sleep(delay)

    def submit(self, staged: StagedProject, options: RunOptions, console: Console) -> JobRecord:
        machine = options.flavor or DEFAULT_MACHINE
        kernel_slug = slug_with(staged.slug, "-gpu")
        kernel = f"{self.user}/{kernel_slug}"
        with tempfile.TemporaryDirectory(prefix="pocgen-kaggle-") as scratch:
            data_folder, code_folder = Path(scratch, "dataset"), Path(scratch, "kernel")
            data_folder.mkdir()
            code_folder.mkdir()
            dataset = self.upload_dataset(staged, data_folder, console)
            shutil.copyfile(RUNNER_SOURCE, code_folder / CODE_FILE)
            metadata = {
                "id": kernel,
                "title": kernel_slug,
                "code_file": CODE_FILE,
                "language": "python",
                "kernel_type": "script",
                "is_private": True,
                "enable_gpu": True,
                "enable_internet": True,
                "dataset_sources": [dataset],
                "competition_sources": [],
                "kernel_sources": [],
                "model_sources": [],
                "machine_shape": machine,
            }
            (code_folder / "kernel-metadata.json").write_text(json.dumps(metadata), "utf-8")
            with kaggle_errors(f"the notebook {kernel}"):
                pushed = self.api.kernels_push(
                    str(code_folder), timeout=str(options.timeout_seconds)
                )
        if pushed.error:
            raise PocgenError(f"Kaggle refused the notebook {kernel}: {one_line(pushed.error)}")
        return JobRecord(
            engine=self.name,
            run_id=staged.run_id,
            submitted_at=now(),
            status="SCHEDULING",
            job_id=kernel,
            url=pushed.url or f"https://www.kaggle.com/code/{kernel}",
            flavor=machine,
            timeout_seconds=options.timeout_seconds,
            data_repo=dataset,
        )

    def state(self, record: JobRecord) -> JobState:
        with kaggle_errors(f"the notebook {record.job_id}"):
            answer = self.api.kernels_status(record.job_id)
        name = getattr(answer.status, "name", str(answer.status))
        return JobState(STAGES.get(name, name), answer.failure_message or None)

    def follow(self, record: JobRecord, console: Console) -> JobState:
        """Poll until the notebook finishes (Kaggle streams no log); on failure, print the tail
        of its log."""
        with console.status(f"Kaggle notebook {record.job_id}...") as status:
            for delay in backoff():
                state = self.state(record)
                status.update(
                    f"Kaggle notebook {record.job_id}: {state.stage} (Ctrl-C stops waiting)"
                )
                if state.finished:
                    break
                time.sleep(delay)
        if not state.succeeded:
            with tempfile.TemporaryDirectory() as scratch:
                for line in self.log(record, Path(scratch))[-LOG_TAIL:]:
                    console.print(line, markup=False, highlight=False, soft_wrap=True)
        return state

    def log(self, record: JobRecord, into: Path) -> list[str]:
        """Fetch the notebook's output into `into` and return its log's lines (the log file is
        removed, so only the notebook's own output files stay)."""
        assert record.job_id is not None
        with kaggle_errors(f"the output of {record.job_id}"):
            self.api.kernels_output(record.job_id, str(into), quiet=True, force=True)
        log_file = into / f"{record.job_id.split('/')[1]}.log"
        if not log_file.exists():
            return []
        lines = log_lines(log_file.read_text(encoding="utf-8"))
        log_file.unlink()
        return lines

    def cancel(self, record: JobRecord) -> None:
        raise PocgenError(
            f"Kaggle's API has no call to stop a notebook run: stop it on its page, {record.url} "
            "(it also ends at its timeout)."
        )

    def fetch(self, record: JobRecord, into: Path) -> None:
        self.log(record, into)

    def facts(self, record: JobRecord, state: JobState) -> dict[str, Any]:
        # Kaggle's GPU hours are free within the weekly quota; its API reports no running time.
        return {"job_id": record.job_id, "job_url": record.url, "cost_usd": 0.0}
