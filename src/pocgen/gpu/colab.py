"""Colab: the free route for a Hugging Face account without credits.

Colab has no API that runs a notebook headlessly, so this engine does the half pocgen can: it
uploads the staged project to the private dataset repo and prints how to open the project's own
`notebooks/train-on-colab.ipynb` in Colab (a link built from the project's GitHub remote, when it
has one). The notebook trains on Colab's GPU and pushes `models/` and `reports/` to the private
results repo, tagged with this upload's run id; `pocgen gpu pull` then brings them back.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

from rich.console import Console

from pocgen.errors import PocgenError
from pocgen.gpu import hub
from pocgen.gpu.engine import JobState, RunOptions
from pocgen.gpu.record import JobRecord, now
from pocgen.gpu.staging import StagedProject

NOTEBOOK = "notebooks/train-on-colab.ipynb"
GITHUB_REMOTE = re.compile(r"(?:https://github\.com/|git@github\.com:)([^/]+)/(.+?)(?:\.git)?/?$")


def colab_link(project: Path) -> str | None:
    """The notebook's "Open in Colab" address, from the `origin` remote on GitHub, or None."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(project), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    match = GITHUB_REMOTE.match(git("remote", "get-url", "origin"))
    branch = git("symbolic-ref", "--short", "HEAD")  # fails on a detached HEAD
    if not match or not branch:
        return None
    owner, repo = match.groups()
    return f"https://colab.research.google.com/github/{owner}/{repo}/blob/{branch}/{NOTEBOOK}"


class ColabEngine(hub.HubEngine):
    name = "colab"

    def submit(self, staged: StagedProject, options: RunOptions, console: Console) -> JobRecord:
        if not (staged.project / NOTEBOOK).is_file():
            raise PocgenError(
                f"{NOTEBOOK} is missing: the Colab route needs the notebook that image projects "
                "get (render with notebooks, or `pocgen update`); or use --engine kaggle."
            )
        results_repo, revision = self.upload(staged, console)
        link = colab_link(staged.project)
        where = link or (
            f"the Open in Colab badge of your README once the project is on GitHub, or upload "
            f"{NOTEBOOK} at https://colab.research.google.com"
        )
        console.print(
            f"Next, in Colab: open {where}; choose Runtime > Change runtime type > T4 GPU; add "
            "your Hugging Face token as the secret HF_TOKEN (the key icon); Runtime > Run all. "
            "Then `pocgen gpu pull` brings models/ and reports/ back here.",
            highlight=False,
            soft_wrap=True,
        )
        return JobRecord(
            engine=self.name,
            run_id=staged.run_id,
            submitted_at=now(),
            status="UPLOADED",
            url=link,
            namespace=self.account.namespace,
            endpoint=self.account.endpoint,
            data_repo=self.account.data_repo(staged.slug),
            data_revision=revision,
            results_repo=results_repo,
        )

    def state(self, record: JobRecord) -> JobState:
        assert record.results_repo is not None
        if hub.results_run_id(self.account, record.results_repo) == record.run_id:
            return JobState("COMPLETED")
        return JobState(
            "UPLOADED",
            f"{record.results_repo} holds no results of this upload yet: run {NOTEBOOK} in "
            f"Colab ({record.url or 'see the README badge'}), then pull again",
        )

    def follow(self, record: JobRecord, console: Console) -> JobState:
        return self.state(record)  # the notebook runs in the user's browser: nothing to follow

    def cancel(self, record: JobRecord) -> None:
        raise PocgenError(
            "a Colab run is not pocgen's to stop: stop the notebook in Colab (Runtime > "
            "Disconnect and delete runtime); `pocgen gpu run --force` starts over."
        )

    def facts(self, record: JobRecord, state: JobState) -> dict[str, Any]:
        return {"results_repo": record.results_repo}
