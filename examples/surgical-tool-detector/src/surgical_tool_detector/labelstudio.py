"""Talking to a Label Studio server: the connection, this folder's project, its annotations.

What every task's `label` stage shares. Label Studio is a program of its own, installed apart
(`make label-serve` runs it); this package only uses its client, label-studio-sdk, which is
imported inside the functions so that the other stages never need it.
"""

from __future__ import annotations

import argparse
import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from .config import StageError

console = Console(stderr=True, soft_wrap=True)

PROJECT_STATE_FILE = Path(".label-studio/project.json")  # which project on the server is ours
ENV_FILE = Path(".env")
# Label Studio refuses project titles shorter than 3 characters.
PROJECT_TITLE = "Surgical Tool Detector"


def run_on_server(action: Callable[[argparse.Namespace], None], args: argparse.Namespace) -> None:
    """Run push or pull, turning the SDK's network and HTTP errors into one line with the fix."""
    try:
        import httpx
        from dotenv import load_dotenv
        from label_studio_sdk.core.api_error import ApiError
    except ImportError:
        raise StageError("the labeling extra is missing: pip install -e '.[label]'") from None
    load_dotenv(ENV_FILE)  # fills in what the environment does not set
    url = os.environ.get("LABEL_STUDIO_URL", "").rstrip("/")
    try:
        action(args)
    except httpx.TransportError as error:
        raise StageError(
            f"Label Studio at {url} is not reachable ({type(error).__name__}): start it with "
            "`make label-serve`, or fix LABEL_STUDIO_URL in .env."
        ) from None
    except ApiError as error:
        detail = error.body.get("detail") if isinstance(error.body, dict) else error.body
        if error.status_code in (401, 403):
            raise StageError(
                f"Label Studio at {url} refused the API key ({error.status_code}: {detail}): copy "
                "your token from Account & Settings into .env as LABEL_STUDIO_API_KEY."
            ) from None
        raise StageError(f"Label Studio at {url} answered {error.status_code}: {detail}") from None


def connect() -> tuple[Any, str]:
    """A logged-in SDK client and the server URL, or a StageError that says what is missing."""
    from label_studio_sdk import LabelStudio

    url, key = os.environ.get("LABEL_STUDIO_URL"), os.environ.get("LABEL_STUDIO_API_KEY")
    if not url or not key:
        raise StageError(
            "LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY are not set: run `make label-serve` "
            "(it writes both to .env), or put your own server's URL and token in .env."
        )
    # The SDK sends a legacy token as it is and trades a personal access token (a JWT) for
    # short-lived ones itself. max_retries=0: a server that is down fails in a second.
    client = LabelStudio(base_url=url.rstrip("/"), api_key=key, timeout=120, max_retries=0)
    client.users.whoami()  # check the token now rather than halfway through a push
    return client, url.rstrip("/")


def find_project(client: Any) -> Any | None:
    """Our project on the server, or None when there is none yet or it was deleted there.

    It is found by id and creation time (another server may use the same id), not by URL (the
    server may come back on another port) or title (you may rename it in the UI).
    """
    from label_studio_sdk.core.api_error import ApiError

    if not PROJECT_STATE_FILE.exists():
        return None
    state = json.loads(PROJECT_STATE_FILE.read_text(encoding="utf-8"))
    try:
        project = client.projects.get(state["project_id"])
    except ApiError as error:
        if error.status_code == 404:
            return None
        raise
    return project if str(project.created_at) == state.get("created_at") else None


def config_classes(config: str) -> list[str]:
    """The class names in a labeling config, in order: what the server will accept from now on."""
    return [
        element.get("value", "")
        for element in ET.fromstring(config).iter()
        if element.tag in ("Label", "Choice")
    ]


def open_project(client: Any, url: str, config: str) -> Any:
    """This folder's project on the server with the labeling `config`, created if needed."""
    project = find_project(client)
    if project is None:
        if PROJECT_STATE_FILE.exists():
            console.print(f"[yellow]Our project is gone from {url}; creating a new one "
                          "(labels already pulled are safe in data/).")  # fmt: skip
        project = client.projects.create(title=PROJECT_TITLE, label_config=config)
        state = {"url": url, "project_id": project.id, "created_at": str(project.created_at)}
        PROJECT_STATE_FILE.parent.mkdir(parents=True, exist_ok=True)
        PROJECT_STATE_FILE.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    elif config_classes(project.label_config) != config_classes(config):
        client.projects.update(project.id, label_config=config)
        console.print(f"Classes changed: the labeling config now offers {config_classes(config)}.")
    return project


def exported_tasks(client: Any, project: Any) -> list[dict[str, Any]]:
    """Every task of the project that has an annotation, with its annotations.

    JSON, not Label Studio's YOLO or CSV export: those include unlabeled tasks as empty labels
    and rename files; the label stage checks every annotation before it is saved.
    """
    download = client.projects.exports.download_sync(
        project.id, export_type="JSON", download_all_tasks=False
    )
    return json.loads(b"".join(download))


def labeled_at(annotation: dict[str, Any]) -> str:
    """When it was last saved, in the UTC ISO format of every other timestamp in data/."""
    saved = datetime.fromisoformat(annotation["updated_at"])  # UTC, with a trailing Z
    return saved.astimezone(UTC).isoformat(timespec="seconds")


def choose_annotation(annotations: list[dict[str, Any]]) -> dict[str, Any]:
    """The annotation that becomes the label: a ground truth if someone marked one, else the
    latest, because a later correction is usually a reviewer fixing an earlier mistake."""
    return max(annotations, key=lambda a: (bool(a.get("ground_truth")), labeled_at(a), a["id"]))
