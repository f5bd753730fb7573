"""Run Label Studio for this project on 127.0.0.1 until Ctrl-C (`make label-serve`).

Label Studio is a program of its own. Install it once, apart from this project, because it pins
its own Django and Pillow:

    pipx install 'label-studio==1.23.*'

This runs Label Studio's own `start`, with its database in .label-studio/data, reading images
straight from data/raw. Its first start creates your login and an API token, made up here and
kept in .env (gitignored, readable by you alone), where `label push` and `label pull` find them.
The token is a legacy token: Label Studio accepts those only in an organization created with
--enable-legacy-api-token, and the organization is created on that same first start.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

try:
    from dotenv import dotenv_values, set_key
    from label_studio_sdk import LabelStudio
    from label_studio_sdk.core.api_error import ApiError
except ImportError:
    raise SystemExit("error: the labeling extra is missing: pip install -e '.[label]'") from None

ROOT = Path(__file__).resolve().parent.parent  # the project
ENV_FILE = ROOT / ".env"
DATA_DIR = ROOT / ".label-studio" / "data"  # the server's database, media and signing key
LOG = ROOT / ".label-studio" / "server.log"
# The login made on the first start: the email of your answers.
USER_EMAIL = "pocgen@example.com"
STARTUP_TIMEOUT_S = 300  # the first start sets up the database: 30-80 s on a laptop


def settings(port: int) -> dict[str, str]:
    """The URL, login and token for .env: kept where .env has them, else made up.

    They are saved before the server sees them, so a crash can never leave a login nobody knows.
    """
    saved = dotenv_values(ENV_FILE)
    values = {
        "LABEL_STUDIO_URL": f"http://127.0.0.1:{port}",
        "LABEL_STUDIO_API_KEY": saved.get("LABEL_STUDIO_API_KEY") or secrets.token_hex(20),
        "LABEL_STUDIO_USERNAME": saved.get("LABEL_STUDIO_USERNAME") or USER_EMAIL,
        "LABEL_STUDIO_PASSWORD": saved.get("LABEL_STUDIO_PASSWORD") or secrets.token_urlsafe(16),
        "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(ROOT),  # local files are served from here
    }
    for key, value in values.items():
        set_key(ENV_FILE, key, value)  # every other line of .env stays as it was
    ENV_FILE.chmod(0o600)
    return values


def server_environment(values: dict[str, str]) -> dict[str, str]:
    # Label Studio also reads HOST and PORT, which shells and CI often set for other reasons.
    environment = {key: value for key, value in os.environ.items() if key not in {"HOST", "PORT"}}
    environment.update(
        # Secrets go through the environment, not the command line anyone on this machine sees.
        LABEL_STUDIO_USERNAME=values["LABEL_STUDIO_USERNAME"],
        LABEL_STUDIO_PASSWORD=values["LABEL_STUDIO_PASSWORD"],
        LABEL_STUDIO_USER_TOKEN=values["LABEL_STUDIO_API_KEY"],
        LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED="true",
        LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=values["LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT"],
        LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="true",  # nobody else can make an account
        COLLECT_ANALYTICS="false",
        LATEST_VERSION_CHECK="false",
    )
    return environment


def wait_for_health(server: subprocess.Popen, url: str) -> None:
    """Poll GET /health on exactly our port until it answers UP, or say why it never will."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while server.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):  # not listening yet
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if json.load(answer).get("status") == "UP":
                    return
        time.sleep(0.5)
    raise SystemExit(f"error: Label Studio did not start on {url}: read {LOG} for why.")


def check_token(url: str, token: str) -> None:
    """Make sure the server accepts the token in .env, so push and pull will work too.

    The SDK sends a legacy token as it is and trades a personal access token for short-lived
    ones, so either kind of token passes.
    """
    try:
        LabelStudio(base_url=url, api_key=token, max_retries=0).users.whoami()
    except ApiError as error:
        raise SystemExit(
            f"error: Label Studio refused the API token in .env ({error.status_code}): "
            f"{DATA_DIR} was set up with another one. Copy your token from Account & Settings "
            f"into .env as LABEL_STUDIO_API_KEY, or move {DATA_DIR} away to start afresh."
        ) from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (default 8080)")
    args = parser.parse_args()
    program = shutil.which("label-studio")
    if program is None:
        raise SystemExit(
            "error: label-studio is not installed. Install it apart from this project: "
            "pipx install 'label-studio==1.23.*'"
        )
    with socket.socket() as probe:  # on a busy port Label Studio would silently take the next
        if probe.connect_ex(("127.0.0.1", args.port)) == 0:
            raise SystemExit(f"error: port {args.port} on 127.0.0.1 is in use: pass another --port")
    values = settings(args.port)
    url = values["LABEL_STUDIO_URL"]
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    command = [program, "start", "--no-browser", "--internal-host", "127.0.0.1"]
    command += ["--port", str(args.port), "--data-dir", str(DATA_DIR), "--enable-legacy-api-token"]
    with LOG.open("ab") as log:
        server = subprocess.Popen(
            command,
            env=server_environment(values),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_health(server, url)
        check_token(url, values["LABEL_STUDIO_API_KEY"])
        print(
            f"Label Studio is running at {url} (log in as {values['LABEL_STUDIO_USERNAME']}; "
            "the password is in .env). Next, in another terminal: `make label-push`. "
            "Ctrl-C stops it.",
            flush=True,
        )
        server.wait()
        raise SystemExit(f"error: Label Studio stopped by itself: read {LOG}.")
    except KeyboardInterrupt:
        print("Stopping Label Studio.")
    finally:
        server.terminate()  # does nothing when it has stopped already
        server.wait()


if __name__ == "__main__":
    main()
