"""Talk to the Hub: check the token, create the Space, mirror the build, set secrets, wait.

Every call goes through one `HfApi` built with the endpoint passed explicitly, because
huggingface_hub reads HF_ENDPOINT only once, at import time. Every failure a user can fix becomes
one `PocgenError` line that says what to do: log in, use a write token, pick another name,
choose free hardware, or check the network.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
from huggingface_hub import HfApi, SpaceHardware, get_token
from huggingface_hub.errors import HfHubHTTPError
from rich.console import Console

from pocgen.errors import PocgenError

DEFAULT_ENDPOINT = "https://huggingface.co"
SECRET_PREFIX = "POCGEN_SPACE_SECRET_"
VARIABLE_PREFIX = "POCGEN_SPACE_VARIABLE_"
LOGIN_HELP = (
    "create a write token at https://huggingface.co/settings/tokens, then run `hf auth login` "
    "or set HF_TOKEN"
)
WAIT_SECONDS = 15 * 60
POLL_SECONDS = 5
# Stages after which waiting longer changes nothing.
FAILED_STAGES = {"BUILD_ERROR", "RUNTIME_ERROR", "CONFIG_ERROR", "NO_APP_FILE"}


def endpoint_url(endpoint: str | None) -> str:
    """`--endpoint`, else HF_ENDPOINT, else the public Hub; no trailing slash."""
    return (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def explain(status: int | None, space_id: str, detail: str) -> str:
    """One line for an HTTP error from the Hub, naming the fix."""
    if status == 401:
        return f"the Hub refused the token (HTTP 401): it is invalid or expired; {LOGIN_HELP}."
    if status == 403:
        return (
            f"the token cannot write to {space_id} (HTTP 403): it is read-only or lacks access "
            f"to that namespace; {LOGIN_HELP}."
        )
    if status == 402:
        return (
            f"the Hub needs a paid plan to create {space_id} (HTTP 402): new Gradio and Docker "
            "Spaces need a PRO account or a paid organisation. Retry with `--ui web`: the model "
            "runs in the visitor's browser on a static Space, free for every account (or "
            "`--ui gradio --hardware zero-a10g` for the Gradio app on ZeroGPU; see "
            "https://huggingface.co/pricing)."
        )
    if status == 409:
        return (
            f"the Space name {space_id} is taken (HTTP 409): another repository already uses it "
            "or is being created; choose another name with --space NAMESPACE/NAME."
        )
    return f"the Hub answered HTTP {status} for {space_id}: {detail or 'no details'}; retry later."


@contextmanager
def hub_errors(
    endpoint: str, space_id: str, explain_status: Callable[[int | None, str, str], str] = explain
) -> Iterator[None]:
    """Turn the Hub's HTTP errors and network failures into one-line `PocgenError`s;
    `explain_status` words the HTTP errors (`pocgen gpu` has its own for 402 and 404)."""
    try:
        yield
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else None
        detail = (error.server_message or "").strip().splitlines()
        raise PocgenError(explain_status(status, space_id, detail[0] if detail else "")) from None
    except httpx2.TransportError as error:
        raise PocgenError(
            f"cannot reach the Hub at {endpoint} ({error or type(error).__name__}): check your "
            "network, or point --endpoint (or HF_ENDPOINT) at a reachable Hub."
        ) from None


def connect(endpoint: str, required: bool = True) -> HfApi | None:
    """An `HfApi` for `endpoint`; with no token configured, one line (or None if not required)."""
    token = get_token()
    if not token:
        if not required:
            return None
        raise PocgenError(f"no Hugging Face token found: {LOGIN_HELP}.")
    return HfApi(endpoint=endpoint, token=token)


def account(api: HfApi, purpose: str = "deploying") -> dict[str, Any]:
    """whoami's answer, refusing a read-only token before anything else happens."""
    me = api.whoami()
    role = me.get("auth", {}).get("accessToken", {}).get("role")
    if role == "read":
        raise PocgenError(
            f"the token of {me['name']} is read-only, and {purpose} needs write access; "
            f"{LOGIN_HELP}."
        )
    return me


def writable_namespaces(me: dict[str, Any]) -> list[str]:
    """The user's own namespace and the organisations where their role allows writing."""
    orgs = [org["name"] for org in me.get("orgs", []) if org.get("roleInOrg") != "read"]
    return [me["name"], *orgs]


def resolve_space_id(me: dict[str, Any], space: str | None, answers: dict[str, Any]) -> str:
    """`--space`, else the project's `hf_username/space_name`, with the login's name as fallback;
    refused when the namespace is not one the token may write to."""
    name = answers.get("space_name") or answers["project_slug"]
    namespace = answers.get("hf_username") or me["name"]
    if space:
        namespace, _, name = space.rpartition("/")
        namespace = namespace or me["name"]
    space_id = f"{namespace}/{name}"
    allowed = writable_namespaces(me)
    if namespace not in allowed:
        raise PocgenError(
            f"the Space name {space_id} is taken for you: it lives under '{namespace}', and "
            f"{me['name']} can only write to {', '.join(allowed)}; use --space {me['name']}/{name}."
        )
    return space_id


def check_hardware(hardware: str | None, sdk: str) -> None:
    """Refuse unknown flavours, and ZeroGPU for anything but Gradio (the only SDK it runs).
    (A static Space with --hardware is refused earlier, when the demo is chosen.)"""
    if hardware is None:
        return
    known = [flavor.value for flavor in SpaceHardware]
    if hardware not in known:
        raise PocgenError(
            f"--hardware {hardware} is not a Space flavour; use one of {', '.join(known)}."
        )
    if hardware.startswith("zero-") and sdk != "gradio":
        raise PocgenError("ZeroGPU hardware runs Gradio Spaces only: deploy with --ui gradio.")


def env_settings(prefix: str) -> dict[str, str]:
    """Space secrets or variables from the environment: POCGEN_SPACE_SECRET_NAME=value -> NAME."""
    return {
        key[len(prefix) :]: value
        for key, value in sorted(os.environ.items())
        if key.startswith(prefix) and key[len(prefix) :]
    }


def upload(
    api: HfApi,
    space_id: str,
    folder: str,
    sdk: str,
    private: bool,
    hardware: str | None,
) -> str:
    """Create the Space if needed, make it mirror `folder`, and set secrets and variables.

    `delete_patterns="*"` removes files of earlier deploys that this build no longer has, so the
    Space always equals dist/space/. Secret values come only from the environment and go only to
    the Hub's secrets API: never into a file, a commit or the terminal. Returns the Space's URL.
    """
    url = api.create_repo(
        space_id,
        repo_type="space",
        space_sdk=sdk,
        space_hardware=hardware,
        private=private,
        exist_ok=True,
    )
    if hardware:
        # create_repo only sets the hardware of a new Space; this also upgrades an existing one.
        api.request_space_hardware(space_id, hardware)
    api.upload_folder(
        repo_id=space_id,
        repo_type="space",
        folder_path=folder,
        commit_message="Deploy the demo with pocgen",
        delete_patterns="*",
    )
    for key, value in env_settings(SECRET_PREFIX).items():
        api.add_space_secret(space_id, key, value)
    for key, value in env_settings(VARIABLE_PREFIX).items():
        api.add_space_variable(space_id, key, value)
    return str(url)


def wait_until_running(api: HfApi, space_id: str, console: Console) -> None:
    """Poll the Space until it runs; on a failed build, print the build log and stop."""
    deadline = time.monotonic() + WAIT_SECONDS
    with console.status("Waiting for the Space to build and start...") as status:
        while time.monotonic() < deadline:
            stage = api.get_space_runtime(space_id).stage
            status.update(f"Waiting for the Space to build and start... ({stage})")
            if stage == "RUNNING":
                return
            if stage in FAILED_STAGES:
                break
            time.sleep(POLL_SECONDS)
        else:
            raise PocgenError(
                f"{space_id} did not start within {WAIT_SECONDS // 60} minutes; check its logs "
                "on the Hub, or run `pocgen deploy --no-wait`."
            )
    if stage != "BUILD_ERROR":
        raise PocgenError(f"{space_id} stopped in stage {stage}: read its logs on the Hub.")
    console.rule("build log")
    for line in api.fetch_space_logs(space_id, build=True):
        console.print(line, end="", markup=False, highlight=False)
    console.rule()
    raise PocgenError(f"{space_id} failed to build (BUILD_ERROR): the build log is above.")
