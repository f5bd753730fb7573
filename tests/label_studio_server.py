"""A real Label Studio for the tests: installed once, started on a free 127.0.0.1 port.

Why it is built this way (measured with label-studio 1.23.2):
- The server pins its own Django, pandas and Pillow, so it lives in its own virtualenv,
  cached across test runs (`POCGEN_LABEL_STUDIO_VENV`, default ~/.cache/pocgen/...).
  Installing takes about a minute and ~1 GB, once.
- A fresh data dir spends 20-80 s on database migrations. We migrate one once per
  Label Studio version (`label-studio version` migrates and exits, without serving), keep it
  next to the venv, and start every server on a copy: start-up then takes 2-5 s.
- Label Studio silently moves to the next port when its port is busy, so we pick a free port
  and health-check exactly that one, and we stop the server by the PID we started.
- It reads unprefixed HOST, PORT, USERNAME and PASSWORD from the environment: they are removed.
- Legacy tokens are only enabled when the organization is created, so the server is started
  with `--enable-legacy-api-token` on a copy without users; the personal access token (JWT) is
  then created through the API with the legacy token.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

LABEL_STUDIO_REQUIREMENT = "label-studio==1.23.*"
DEFAULT_VENV = Path.home() / ".cache" / "pocgen" / "label-studio-venv"
STARTUP_TIMEOUT_S = 240
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "test-admin-password"
LEGACY_TOKEN = "pocgen-test-legacy-token-0123456789abcdef"  # fixed: a throwaway test server


def venv_dir() -> Path:
    return Path(os.environ.get("POCGEN_LABEL_STUDIO_VENV") or DEFAULT_VENV)


@contextlib.contextmanager
def cache_lock() -> Iterator[None]:
    """One test session at a time installs or migrates; the others wait, then reuse the result."""
    venv_dir().parent.mkdir(parents=True, exist_ok=True)
    with (venv_dir().parent / f"{venv_dir().name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def label_studio_bin() -> Path:
    """The `label-studio` executable of the cached tool venv, installing it when missing."""
    venv = venv_dir()
    program = venv / "bin" / "label-studio"
    with cache_lock():
        if not program.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run(
                [str(venv / "bin" / "pip"), "install", "--quiet", LABEL_STUDIO_REQUIREMENT],
                check=True,
                timeout=900,
            )
    return program


def server_env(document_root: Path) -> dict[str, str]:
    """Our environment minus what Label Studio would misread, plus quiet local settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"HOST", "PORT", "USERNAME", "PASSWORD"}
        and not key.startswith("LABEL_STUDIO_")
    }
    env.update(
        COLLECT_ANALYTICS="false",
        LATEST_VERSION_CHECK="false",
        SENTRY_DSN="",
        FRONTEND_SENTRY_DSN="",
        LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="true",
        LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED="true",
        LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=str(document_root),
    )
    return env


def migrated_data_dir(program: Path) -> Path:
    """A data dir with every migration applied and no user yet, made once per installed version."""
    version = subprocess.run(
        [
            str(program.parent / "python"),
            "-c",
            "import label_studio; print(label_studio.__version__)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    target = venv_dir().parent / f"label-studio-{version}-migrated"
    with cache_lock():
        if not target.exists():
            # Built aside and renamed: an interrupted run never leaves a half-migrated copy.
            building = target.with_name(f"{target.name}.tmp")
            shutil.rmtree(building, ignore_errors=True)
            subprocess.run(
                [str(program), "version", "--data-dir", str(building)],
                env=server_env(building),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                check=True,
                timeout=600,
            )
            building.rename(target)
    return target


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_health(process: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"label-studio exited with {process.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            if httpx.get(f"{url}/health", timeout=2).json().get("status") == "UP":
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"label-studio did not answer on {url} in {STARTUP_TIMEOUT_S} s")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the PID we started (it stops in 1-3 s), SIGKILL if it does not."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


@dataclass
class LabelStudioServer:
    url: str
    port: int
    data_dir: Path
    document_root: Path
    legacy_token: str
    access_token: str  # a personal access token: a JWT refresh token
    process: subprocess.Popen
    startup_s: float

    def stop(self) -> None:
        stop(self.process)


def start_server(workdir: Path, document_root: Path) -> LabelStudioServer:
    """Start Label Studio on a copy of the migrated data dir, with an admin and both tokens."""
    program = label_studio_bin()
    data_dir = workdir / "label-studio-data"
    shutil.copytree(migrated_data_dir(program), data_dir)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = server_env(document_root)
    env.update(
        LABEL_STUDIO_USERNAME=ADMIN_EMAIL,
        LABEL_STUDIO_PASSWORD=ADMIN_PASSWORD,
        LABEL_STUDIO_USER_TOKEN=LEGACY_TOKEN,
    )
    log = workdir / "label-studio.log"
    started = time.monotonic()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                str(program), "start", "--no-browser",
                "--internal-host", "127.0.0.1",
                "--port", str(port),
                "--data-dir", str(data_dir),
                "--enable-legacy-api-token",
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for_health(process, url, log)
        answer = httpx.post(
            f"{url}/api/token/", headers={"Authorization": f"Token {LEGACY_TOKEN}"}, timeout=30
        )
        answer.raise_for_status()
    except BaseException:
        stop(process)
        raise
    return LabelStudioServer(
        url=url,
        port=port,
        data_dir=data_dir,
        document_root=document_root,
        legacy_token=LEGACY_TOKEN,
        access_token=answer.json()["token"],
        process=process,
        startup_s=time.monotonic() - started,
    )
