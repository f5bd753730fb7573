"""A small stand-in for Kaggle's API, served on 127.0.0.1 for `pocgen gpu run --engine kaggle`.

The kaggle client (2.2, through kagglesdk) has no endpoint setting. With
KAGGLE_API_ENVIRONMENT=LOCALHOST it sends every call to `POST http://localhost/api/v1/{service}/
{method}` (JSON), and with HTTP_PROXY pointing here those requests arrive at this server, which
answers them as Kaggle would (a proxy receives the absolute URL). The upload of each file (a PUT
to the URL StartBlobUpload returns) and the download of a notebook's output files take the same
road. `env()` gives the variables that set this up.

A pushed notebook really runs: its code file (pocgen's job program) as a local process, with the
files of the datasets it names under an input folder passed as its argument (in place of
/kaggle/input), its working directory as its output folder (as /kaggle/working is), and
`job_image_bin` first on PATH (the "image"). Its output lines become the notebook's log, in
Kaggle's format: a JSON list of {stream_name, time, data}.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from fake_hub import IMAGE_ENV

BASE = "http://localhost"


@dataclass
class Dataset:
    files: dict[str, bytes]
    private: bool
    licence: str
    versions: int = 1
    pending_checks: int = 1  # GetDatasetStatus answers "processing" this many times first


@dataclass
class Kernel:
    """One pushed notebook: what SaveKernel received, its state, its output folder and log."""

    request: dict[str, Any]
    output: Path
    status: str = "QUEUED"
    failure: str = ""
    log: list[dict[str, Any]] = field(default_factory=list)
    process: subprocess.Popen | None = None
    started: float = field(default_factory=time.time)


@dataclass
class FakeKaggle:
    """Kaggle's state and the server that exposes it; use as a context manager."""

    user: str = "alice"
    token: str = "KGAT_" + "k" * 32
    job_image_bin: Path | None = None
    datasets: dict[str, Dataset] = field(default_factory=dict)
    kernels: dict[str, Kernel] = field(default_factory=dict)
    blobs: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # token -> (name, bytes)
    requests: list[str] = field(default_factory=list)
    # Method name ("SaveKernel", ...) -> HTTP status to answer.
    fail: dict[str, int] = field(default_factory=dict)
    server: ThreadingHTTPServer | None = None
    scratch: tempfile.TemporaryDirectory | None = None

    @property
    def proxy(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def env(self) -> dict[str, str]:
        """What points the kaggle client at this stand-in, signed in with its token."""
        return {
            "KAGGLE_API_ENVIRONMENT": "LOCALHOST",
            "HTTP_PROXY": self.proxy,
            "http_proxy": self.proxy,
            "NO_PROXY": "",
            "no_proxy": "",
            "KAGGLE_API_TOKEN": self.token,
        }

    def __enter__(self) -> FakeKaggle:
        self.scratch = tempfile.TemporaryDirectory(prefix="fake-kaggle-")
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None and self.scratch is not None
        for kernel in self.kernels.values():
            if kernel.process is not None and kernel.process.poll() is None:
                kernel.process.kill()
        self.server.shutdown()
        self.server.server_close()
        self.scratch.cleanup()


def _handler_for(kaggle: FakeKaggle) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, payload: Any) -> None:
            body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _error(self, status: int, message: str) -> None:
            self._send(status, {"code": status, "message": message})

        def _path(self) -> str:
            return unquote(urlsplit(self.path).path)

        def do_POST(self) -> None:
            match = re.fullmatch(r"/api/v1/([\w.]+)/(\w+)", self._path())
            if not match:
                return self._error(404, "Not found")
            method = match.group(2)
            kaggle.requests.append(method)
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            if method in kaggle.fail:
                return self._error(kaggle.fail[method], f"{method} refused by the stand-in")
            if method != "IntrospectToken" and (
                self.headers.get("Authorization") != f"Bearer {kaggle.token}"
            ):
                return self._error(401, "Unauthenticated")
            handler = getattr(self, method, None)
            if handler is None:
                return self._error(501, f"{method} is not in the stand-in")
            handler(body)

        def do_PUT(self) -> None:
            match = re.fullmatch(r"/upload/(\w+)", self._path())
            data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not match or match.group(1) not in kaggle.blobs:
                return self._error(404, "Unknown upload")
            name, _ = kaggle.blobs[match.group(1)]
            kaggle.blobs[match.group(1)] = (name, data)
            self._send(200, {})

        def do_GET(self) -> None:
            match = re.fullmatch(r"/output/([^/]+/[^/]+)/(.+)", self._path())
            kernel = kaggle.kernels.get(match.group(1)) if match else None
            path = kernel.output / match.group(2) if kernel and match else None
            if path is None or not path.is_file():
                return self._error(404, "No such output file")
            data = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        # -- methods --------------------------------------------------------------------------

        def IntrospectToken(self, body: dict) -> None:  # noqa: N802 - Kaggle's method names
            if body.get("token") != kaggle.token:
                return self._send(200, {"active": False})
            self._send(200, {"active": True, "username": kaggle.user})

        def GetDatasetStatus(self, body: dict) -> None:  # noqa: N802
            dataset = kaggle.datasets.get(f"{body['ownerSlug']}/{body['datasetSlug']}")
            if dataset is None:
                return self._error(404, "Dataset not found")
            if dataset.pending_checks > 0:
                dataset.pending_checks -= 1
                return self._send(200, {"status": "BLOBS_RECEIVED"})
            self._send(200, {"status": "READY"})

        def StartBlobUpload(self, body: dict) -> None:  # noqa: N802
            token = uuid.uuid4().hex
            kaggle.blobs[token] = (body["name"], b"")
            self._send(200, {"token": token, "createUrl": f"{BASE}/upload/{token}"})

        def _files(self, listed: list[dict]) -> dict[str, bytes]:
            return dict(kaggle.blobs.pop(item["token"]) for item in listed)

        def CreateDataset(self, body: dict) -> None:  # noqa: N802
            ref = f"{body['ownerSlug']}/{body['slug']}"
            if ref in kaggle.datasets:
                return self._send(200, {"error": f"The slug {body['slug']} is already in use"})
            kaggle.datasets[ref] = Dataset(
                self._files(body.get("files") or []),
                body.get("isPrivate", False),
                body.get("licenseName", ""),
            )
            self._send(200, {"ref": ref, "url": f"https://www.kaggle.com/datasets/{ref}"})

        def CreateDatasetVersion(self, body: dict) -> None:  # noqa: N802
            ref = f"{body['ownerSlug']}/{body['datasetSlug']}"
            dataset = kaggle.datasets.get(ref)
            if dataset is None:
                return self._error(404, "Dataset not found")
            dataset.files = self._files(body["body"].get("files") or [])
            dataset.versions += 1
            dataset.pending_checks = 1
            self._send(200, {"ref": ref, "url": f"https://www.kaggle.com/datasets/{ref}"})

        def SaveKernel(self, body: dict) -> None:  # noqa: N802
            ref = body["slug"]
            missing = [
                name for name in body.get("datasetDataSources") or [] if name not in kaggle.datasets
            ]
            if missing:
                return self._send(200, {"error": f"unknown dataset sources {missing}"})
            assert kaggle.scratch is not None
            output = Path(kaggle.scratch.name, "output", ref.replace("/", "--"), uuid.uuid4().hex)
            output.mkdir(parents=True)
            kernel = Kernel(body, output)
            kaggle.kernels[ref] = kernel
            threading.Thread(target=_run_kernel, args=(kaggle, kernel), daemon=True).start()
            url = f"https://www.kaggle.com/code/{ref}"
            self._send(200, {"ref": ref, "url": url, "versionNumber": 1, "error": ""})

        def GetKernelSessionStatus(self, body: dict) -> None:  # noqa: N802
            kernel = kaggle.kernels.get(f"{body['userName']}/{body['kernelSlug']}")
            if kernel is None:
                return self._error(404, "Kernel not found")
            self._send(200, {"status": kernel.status, "failureMessage": kernel.failure})

        def ListKernelSessionOutput(self, body: dict) -> None:  # noqa: N802
            ref = f"{body['userName']}/{body['kernelSlug']}"
            kernel = kaggle.kernels.get(ref)
            if kernel is None:
                return self._error(404, "Kernel not found")
            files = [
                {"fileName": name, "url": f"{BASE}/output/{ref}/{name}"}
                for name in sorted(
                    path.relative_to(kernel.output).as_posix()
                    for path in kernel.output.rglob("*")
                    if path.is_file()
                )
            ]
            self._send(200, {"files": files, "log": json.dumps(kernel.log)})

    return Handler


def _run_kernel(kaggle: FakeKaggle, kernel: Kernel) -> None:
    """Run the pushed script with its datasets under an input folder, as Kaggle would."""
    request = kernel.request
    with tempfile.TemporaryDirectory(prefix="fake-kaggle-kernel-") as scratch:
        inputs = Path(scratch, "input")
        for ref in request.get("datasetDataSources") or []:
            folder = inputs / ref.split("/")[1]
            for name, data in kaggle.datasets[ref].files.items():
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_bytes(data)
        script = Path(scratch, "script.py")
        script.write_text(request["text"], encoding="utf-8")
        env = {key: value for key, value in os.environ.items() if key in IMAGE_ENV}
        env.update({key: value for key, value in os.environ.items() if key.startswith("PIP_")})
        if kaggle.job_image_bin is not None:
            env["PATH"] = f"{kaggle.job_image_bin}{os.pathsep}{env.get('PATH', '')}"
        env["PYTHONUNBUFFERED"] = "1"
        kernel.status = "RUNNING"
        kernel.process = subprocess.Popen(
            ["python", str(script), str(inputs)],
            cwd=kernel.output,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert kernel.process.stdout is not None
        for line in kernel.process.stdout:
            elapsed = round(time.time() - kernel.started, 3)
            kernel.log.append({"stream_name": "stdout", "time": elapsed, "data": line})
        code = kernel.process.wait()
    if code == 0:
        kernel.status = "COMPLETE"
    else:
        kernel.status, kernel.failure = "ERROR", f"Your notebook exited with code {code}"
