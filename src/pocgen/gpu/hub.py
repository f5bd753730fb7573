"""What the Hugging Face routes (Jobs and the Colab notebook) share: the account, the two private
repos, uploading the staged project and downloading the results.

The project's copy goes to a private dataset repo, `<namespace>/<slug>-gpu-data`; the job (or the
notebook) sends `models/` and `reports/` to a private model repo, `<namespace>/<slug>-gpu-results`.
Both are mirrored (files of an earlier run that this one lacks are deleted), so pocgen refuses to
use a repo that is public or that holds files pocgen did not put there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from pocgen.deploy import upload as hub_client
from pocgen.errors import PocgenError
from pocgen.gpu.engine import RunOptions
from pocgen.gpu.record import JobRecord
from pocgen.gpu.staging import SETTINGS_FILE, StagedProject

RESULTS_RECORD = "reports/gpu.json"
RESULT_PATTERNS = ["models/**", "reports/**"]
BILLING = "https://huggingface.co/settings/billing"


@dataclass
class HubAccount:
    """A connected client, who the token is, and the namespace the repos and the job go to."""

    api: Any  # huggingface_hub.HfApi, imported lazily
    endpoint: str
    token: str
    namespace: str

    def data_repo(self, slug: str) -> str:
        return f"{self.namespace}/{slug}-gpu-data"

    def results_repo(self, slug: str) -> str:
        return f"{self.namespace}/{slug}-gpu-results"


def explain(status: int | None, target: str, detail: str) -> str:
    """One line for an HTTP error on the GPU routes; the others are worded as for deploy."""
    if status == 402:
        return (
            f"Hugging Face Jobs need credits, and the account of {target} has none (HTTP 402): "
            f"add credits at {BILLING} (a PRO plan's monthly credits count). Free routes: "
            "`pocgen gpu run --engine colab` (the project's notebooks/train-on-colab.ipynb on "
            "Colab's free GPU) or `pocgen gpu run --engine kaggle` (Kaggle's weekly GPU hours)."
        )
    if status == 404:
        return (
            f"the Hub does not know {target} (HTTP 404): it was deleted, or the token belongs to "
            "another account; check `pocgen gpu status` and your login."
        )
    return hub_client.explain(status, target, detail)


def errors(account_or_endpoint: HubAccount | str, target: str):
    """`hub_errors` with the GPU wording: one line for every HTTP or network failure."""
    endpoint = getattr(account_or_endpoint, "endpoint", account_or_endpoint)
    return hub_client.hub_errors(str(endpoint), target, explain)


def connect(endpoint: str | None, namespace: str | None, answers: dict[str, Any]) -> HubAccount:
    """The Hub client for `endpoint` (HF_ENDPOINT, else the public Hub), refusing a read-only
    token and a namespace the token cannot write to. Default namespace: the project's
    `hf_username`, else the token's user."""
    from huggingface_hub import get_token

    url = hub_client.endpoint_url(endpoint)
    api = hub_client.connect(url)
    with errors(url, "your account"):
        me = hub_client.account(api, purpose="training on a GPU")
    chosen = namespace or answers.get("hf_username") or me["name"]
    allowed = hub_client.writable_namespaces(me)
    if chosen not in allowed:
        raise PocgenError(
            f"{me['name']} cannot write to the namespace '{chosen}'; use --namespace with one of "
            f"{', '.join(allowed)}."
        )
    return HubAccount(api, url, str(get_token()), chosen)


def private_repo(account: HubAccount, repo_id: str, repo_type: str, marker: str) -> None:
    """Create `repo_id` as private, or reuse it if it is private and pocgen's (it holds `marker`,
    or nothing yet): the upload mirrors the repo, so a public or foreign one is refused."""
    api = account.api
    with errors(account, repo_id):
        api.create_repo(repo_id, repo_type=repo_type, private=True, exist_ok=True)
        info = api.repo_info(repo_id, repo_type=repo_type)
        files = set(api.list_repo_files(repo_id, repo_type=repo_type)) - {".gitattributes"}
    if not info.private:
        raise PocgenError(
            f"{repo_id} exists and is public: pocgen keeps the project's copy and its results in "
            "private repos; make it private on the Hub, or use another --namespace."
        )
    if files and marker not in files:
        raise PocgenError(
            f"{repo_id} already holds files pocgen did not put there, and a GPU run would replace "
            "them; rename that repo on the Hub, or use another --namespace."
        )


def upload_project(account: HubAccount, staged: StagedProject, console: Console) -> str:
    """Mirror the staged project into its private dataset repo; returns the commit to mount."""
    repo_id = account.data_repo(staged.slug)
    private_repo(account, repo_id, "dataset", SETTINGS_FILE)
    console.print(
        f"Uploading the project ({staged.describe()}) to the private dataset {repo_id}...",
        highlight=False,
    )
    with errors(account, repo_id):
        commit = account.api.upload_folder(
            repo_id=repo_id,
            repo_type="dataset",
            folder_path=str(staged.folder),
            commit_message=f"pocgen gpu run {staged.run_id}: the project and its data",
            delete_patterns="*",
        )
    return str(commit.oid)


def fetch_results(account: HubAccount, repo_id: str, into: Path) -> str:
    """Download models/ and reports/ from the results repo; returns the commit they came from.

    The repo's commit is asked first: snapshot_download turns HTTP errors into a "not in the
    local cache" error, which would hide a refused token.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.utils import disable_progress_bars

    with errors(account, repo_id), disable_progress_bars():
        revision = str(account.api.repo_info(repo_id).sha)
        snapshot_download(
            repo_id,
            revision=revision,
            local_dir=into,
            allow_patterns=RESULT_PATTERNS,
            token=account.token,
            endpoint=account.endpoint,
        )
    return revision


def results_run_id(account: HubAccount, repo_id: str) -> str | None:
    """The run whose results the repo holds now (from its reports/gpu.json), or None."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError

    with errors(account, repo_id):
        try:
            path = hf_hub_download(
                repo_id, RESULTS_RECORD, token=account.token, endpoint=account.endpoint
            )
        except (EntryNotFoundError, RepositoryNotFoundError):
            return None
    try:
        return json.loads(Path(path).read_text(encoding="utf-8")).get("run_id")
    except (ValueError, AttributeError):
        return None


class HubEngine:
    """What the two Hugging Face engines share: the account, the job's settings, the upload of
    the project next to its results repo, and fetching the results from there."""

    name = ""
    default_flavor: str | None = None

    def __init__(self, account: HubAccount) -> None:
        self.account = account

    @classmethod
    def connect(cls, options: RunOptions | None, answers: dict[str, Any]) -> Any:
        options = options or RunOptions()
        return cls(connect(options.endpoint, options.namespace, answers))

    @classmethod
    def reconnect(cls, record: JobRecord) -> Any:
        return cls(connect(record.endpoint, record.namespace, {}))

    def settings(self, slug: str, options: RunOptions) -> dict[str, Any]:
        return {
            "engine": self.name,
            "flavor": options.flavor or self.default_flavor,
            "results_repo": self.account.results_repo(slug),
        }

    def upload(self, staged: StagedProject, console: Console) -> tuple[str, str]:
        """Make sure the results repo is pocgen's and private, then upload the project; returns
        the results repo and the uploaded commit."""
        results_repo = self.account.results_repo(staged.slug)
        private_repo(self.account, results_repo, "model", RESULTS_RECORD)
        return results_repo, upload_project(self.account, staged, console)

    def fetch(self, record: JobRecord, into: Path) -> None:
        assert record.results_repo is not None
        fetch_results(self.account, record.results_repo, into)
