"""A small stand-in for the Hugging Face Hub's HTTP API, served on 127.0.0.1 for tests.

The real huggingface_hub client talks to it exactly as it talks to huggingface.co: the endpoints
and payloads are the ones huggingface_hub 2.4 calls (see ../shared notes on the Hub). It keeps
each Space's files, secrets and variables in memory, validates README front matter like the Hub
does, and can be told to answer one route with an error status, so every failure path of
`pocgen deploy` runs against real HTTP.

It also holds dataset and model repos (create, info, tree, upload, download) and runs Jobs: a job
posted to /api/jobs/{namespace} really runs, as a local process. Its "image" is a folder put
first on PATH (`job_image_bin`: a virtualenv that sees this environment's packages), its volumes
are the repos' files written to a temporary folder, and the mount path is replaced by that folder
in the command and the environment (the one liberty: no container here). Secrets reach the
process as environment variables, as in a real job, and are masked in every answer. Its output
is the job's log, streamed as server-sent events while it runs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

COLOURS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}
ERROR_MESSAGES = {
    401: "Invalid credentials in Authorization header",
    402: "Payment required: a PRO subscription, or credits for Jobs",
    403: "You don't have the rights to create a space under this namespace",
    409: "A repository with this name already exists",
    500: "Internal Error",
}


FINISHED_JOB_STAGES = {"COMPLETED", "ERROR", "CANCELED", "DELETED"}
# The job flavors the stand-in sells, with the Hub's prices (USD per minute).
JOB_HARDWARE = [
    {
        "name": "cpu-basic",
        "prettyName": "CPU Basic",
        "cpu": "2 vCPU",
        "ram": "16 GB",
        "accelerator": None,
        "unitCostMicroUSD": 167,
        "unitCostUSD": 0.000167,
        "unitLabel": "minute",
    },
    {
        "name": "t4-small",
        "prettyName": "Nvidia T4 - small",
        "cpu": "4 vCPU",
        "ram": "15 GB",
        "accelerator": {
            "type": "gpu",
            "model": "T4",
            "quantity": "1",
            "vram": "16 GB",
            "manufacturer": "Nvidia",
        },
        "unitCostMicroUSD": 6667,
        "unitCostUSD": 0.006667,
        "unitLabel": "minute",
    },
    {
        "name": "a10g-small",
        "prettyName": "Nvidia A10G - small",
        "cpu": "4 vCPU",
        "ram": "15 GB",
        "accelerator": {
            "type": "gpu",
            "model": "A10G",
            "quantity": "1",
            "vram": "24 GB",
            "manufacturer": "Nvidia",
        },
        "unitCostMicroUSD": 16667,
        "unitCostUSD": 0.016667,
        "unitLabel": "minute",
    },
]
# What a job's process inherits from this machine: the "image's" PATH, pip's configuration (the
# package index) and the home folder (pip's cache); nothing else, so no test credential leaks in.
IMAGE_ENV = ("PATH", "HOME", "LANG", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")


@dataclass
class Repo:
    """What the fake Hub holds for one repository: a Space, a dataset or a model."""

    private: bool = False
    files: dict[str, bytes] = field(default_factory=dict)
    commits: list[str] = field(default_factory=list)
    lfs_paths: set[str] = field(default_factory=set)  # files that came through the LFS batch API


@dataclass
class Space(Repo):
    """A Space: a repo with an SDK, hardware, secrets, variables and a runtime stage."""

    sdk: str = "gradio"
    hardware: str | None = None
    secrets: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    stage: str = "BUILDING"


@dataclass
class Job:
    """One job: what was posted, its stage, and its log as (timestamp, line) pairs."""

    id: str
    namespace: str
    spec: dict[str, Any]
    stage: str = "SCHEDULING"
    message: str | None = None
    log: list[tuple[str, str]] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    process: subprocess.Popen | None = None
    released: threading.Event = field(default_factory=threading.Event)
    changed: threading.Condition = field(default_factory=threading.Condition)

    @property
    def finished(self) -> bool:
        return self.stage in FINISHED_JOB_STAGES

    def add_line(self, line: str) -> None:
        with self.changed:
            self.log.append((_stamp(time.time()), line.rstrip("\n")))
            self.changed.notify_all()

    def end(self, stage: str, message: str | None = None) -> None:
        with self.changed:
            if not self.finished:
                self.stage, self.message, self.finished_at = stage, message, time.time()
            self.changed.notify_all()


@dataclass
class FakeHub:
    """The Hub's state and the server that exposes it; use as a context manager."""

    user: str = "alice"
    role: str = "write"
    # The plan whoami reports. A free account is refused new Gradio and Docker Spaces (HTTP 402)
    # unless they run on ZeroGPU, as on the Hub; static Spaces are free for everyone.
    is_pro: bool = True
    token: str = "hf_" + "T" * 34
    orgs: list[str] = field(default_factory=list)
    spaces: dict[str, Space] = field(default_factory=dict)
    datasets: dict[str, Repo] = field(default_factory=dict)
    models: dict[str, Repo] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    # Route name ("whoami", "create", "preupload", "commit", ...) -> HTTP status to answer.
    fail: dict[str, int] = field(default_factory=dict)
    # Stages /runtime reports, one per call (the last one repeats); and the build log lines.
    stages: list[str] = field(default_factory=lambda: ["RUNNING"])
    build_log: list[str] = field(default_factory=list)
    # Files larger than this go through LFS, as the Hub asks for files over 10 MB (None: never).
    # The client uses Xet instead when hf_xet is installed, unless HF_HUB_DISABLE_XET=1.
    lfs_over: int | None = None
    lfs_objects: dict[str, bytes] = field(default_factory=dict)  # sha256 -> content
    # Jobs: whether the account has credits (without them POST /api/jobs answers 402), the bin
    # folder whose `python` runs them, and whether they wait in SCHEDULING until `release_jobs`.
    credits: bool = True
    job_image_bin: Path | None = None
    hold_jobs: bool = False
    jobs: dict[str, Job] = field(default_factory=dict)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeHub:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None
        for job in self.jobs.values():
            _stop(job, "CANCELED", "the stand-in Hub shut down")
        self.server.shutdown()
        self.server.server_close()

    def next_stage(self) -> str:
        return self.stages.pop(0) if len(self.stages) > 1 else self.stages[0]

    def repos(self, kind: str) -> dict[str, Any]:
        """The repos of one kind, by the URL's plural: spaces, datasets or models."""
        return {"spaces": self.spaces, "datasets": self.datasets, "models": self.models}[kind]

    def release_jobs(self) -> None:
        for job in self.jobs.values():
            job.released.set()

    def wait_for_job(self, job_id: str, seconds: float = 300) -> Job:
        job = self.jobs[job_id]
        with job.changed:
            job.changed.wait_for(lambda: job.finished, timeout=seconds)
        return job


def front_matter_errors(readme: str) -> list[str]:
    """The Hub's checks on a Space README's metadata (the subset the notes list)."""
    match = re.match(r"---\n(.*?)\n---\n", readme, flags=re.DOTALL)
    if not match:
        return ["no front matter"]
    meta = yaml.safe_load(match.group(1)) or {}
    errors = []
    for key in ("colorFrom", "colorTo"):
        if key in meta and meta[key] not in COLOURS:
            errors.append(f'"{key}" must be one of [{", ".join(sorted(COLOURS))}]')
    if len(str(meta.get("short_description", ""))) > 60:
        errors.append('"short_description" length must be less than or equal to 60')
    if meta.get("sdk") not in {"gradio", "docker", "static"}:
        errors.append('"sdk" must be one of [gradio, docker, static]')
    if not re.fullmatch(r"3\.\d+(\.\d+)?", str(meta.get("python_version", "3.10"))):
        errors.append('"python_version" must be 3.x or 3.x.x')
    return errors


def _handler_for(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        # -- plumbing -------------------------------------------------------------------------

        def _send(self, status: int, payload: Any = None, content_type: str = "") -> None:
            body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type or "application/json")
            self.send_header("Content-Length", str(len(body)))
            if status >= 400:
                self.send_header("X-Error-Message", ERROR_MESSAGES.get(status, "error"))
            self.end_headers()
            self.wfile.write(body)

        def _error(self, status: int) -> None:
            self._send(status, {"error": ERROR_MESSAGES.get(status, "error")})

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _authorised(self) -> bool:
            return self.headers.get("Authorization") == f"Bearer {hub.token}"

        def _route(self, method: str) -> None:
            path = unquote(urlsplit(self.path).path)
            hub.requests.append(f"{method} {path}")
            for pattern, name, handler in ROUTES:
                match = re.fullmatch(pattern, path)
                if match and name.split()[0] == method:
                    route = name.split()[1]
                    if route in hub.fail:
                        return self._error(hub.fail[route])
                    # Like the Hub's: README validation is public, LFS upload URLs are presigned.
                    public = route in ("validate-yaml", "lfs-upload")
                    if not public and not self._authorised():
                        return self._error(401)
                    return handler(self, *match.groups())
            return self._error(404)

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def do_HEAD(self) -> None:
            self._route("HEAD")

        def do_PUT(self) -> None:
            self._route("PUT")

        # -- endpoints ------------------------------------------------------------------------

        def whoami(self) -> None:
            orgs = [{"name": org, "roleInOrg": "write"} for org in hub.orgs]
            auth = {"type": "access_token", "accessToken": {"role": hub.role}}
            me = {"type": "user", "name": hub.user, "orgs": orgs, "auth": auth}
            self._send(200, {**me, "isPro": hub.is_pro, "canPay": hub.is_pro})

        def create(self) -> None:
            request = json.loads(self._body())
            space_id = f"{request.get('organization') or hub.user}/{request['name']}"
            kind = {"space": "spaces", "dataset": "datasets"}.get(request.get("type"), "models")
            prefix = "" if kind == "models" else f"{kind}/"
            url = f"{hub.url}/{prefix}{space_id}"
            if space_id in hub.repos(kind):
                return self._send(409, {"error": ERROR_MESSAGES[409], "url": url})
            if kind != "spaces":
                private = request.get("visibility") == "private"
                hub.repos(kind)[space_id] = Repo(private=private)
                return self._send(200, {"url": url, "name": space_id, "id": space_id})
            zero_gpu = str(request.get("hardware") or "").startswith("zero-")
            if not hub.is_pro and request["sdk"] != "static" and not zero_gpu:
                return self._error(402)
            hub.spaces[space_id] = Space(
                sdk=request["sdk"],
                private=request.get("visibility") == "private",
                hardware=request.get("hardware"),
            )
            self._send(200, {"url": url, "name": space_id, "id": space_id})

        def repo_info(self, kind: str, repo_id: str) -> None:
            repo = hub.repos(kind).get(repo_id)
            if repo is None:
                return self._send(404, {"error": "Repository not found"})
            sha = (repo.commits or ["0" * 40])[-1]
            info = {"id": repo_id, "sha": sha, "private": repo.private}
            if isinstance(repo, Space):
                info["sdk"] = repo.sdk
            self._send(200, info)

        def validate_yaml(self) -> None:
            request = json.loads(self._body())
            if request.get("repoType") not in (None, "space"):
                return self._send(200, {"warnings": []})  # a dataset or model card: free text
            errors = front_matter_errors(request["content"])
            if errors:
                return self._send(400, {"errors": [{"message": error} for error in errors]})
            self._send(200, {"warnings": []})

        def tree(self, kind: str, space_id: str, revision: str) -> None:
            space = hub.repos(kind)[space_id]
            entries = [
                {"type": "file", "path": path, "size": len(data), "oid": _oid(data)}
                for path, data in sorted(space.files.items())
            ]
            self._send(200, entries)

        def preupload(self, kind: str, space_id: str, revision: str) -> None:
            files = json.loads(self._body())["files"]
            answer = [
                {
                    "path": item["path"],
                    "uploadMode": _mode(hub, item["size"]),
                    "shouldIgnore": False,
                }
                for item in files
            ]
            self._send(200, {"files": answer, "commitOid": "0" * 40})

        def commit(self, kind: str, space_id: str, revision: str) -> None:
            space = hub.repos(kind)[space_id]
            for line in self._body().decode().splitlines():
                item = json.loads(line)
                value = item["value"]
                if item["key"] == "file":
                    data = base64.b64decode(value["content"])
                    if value["path"] == "README.md" and kind == "spaces":
                        errors = front_matter_errors(data.decode())
                        if errors:
                            return self._send(400, {"error": "Invalid metadata in README.md."})
                    space.files[value["path"]] = data
                elif item["key"] == "lfsFile":
                    space.files[value["path"]] = hub.lfs_objects[value["oid"]]
                    space.lfs_paths.add(value["path"])
                elif item["key"] == "deletedFile":
                    space.files.pop(value["path"], None)
                elif item["key"] != "header":
                    return self._send(400, {"error": f"unsupported operation {item['key']}"})
            contents = sorted((path, _oid(data)) for path, data in space.files.items())
            oid = hashlib.sha1(json.dumps([contents, len(space.commits)]).encode()).hexdigest()
            space.commits.append(oid)
            url = f"{hub.url}/{kind}/{space_id}/commit/{oid}"
            self._send(200, {"commitOid": oid, "commitUrl": url})

        def secret(self, space_id: str) -> None:
            request = json.loads(self._body())
            hub.spaces[space_id].secrets[request["key"]] = request["value"]
            self._send(200, {})

        def variable(self, space_id: str) -> None:
            request = json.loads(self._body())
            hub.spaces[space_id].variables[request["key"]] = request["value"]
            self._send(200, {})

        def hardware(self, space_id: str) -> None:
            hub.spaces[space_id].hardware = json.loads(self._body())["flavor"]
            self._send(200, _runtime(hub, space_id))

        def runtime(self, space_id: str) -> None:
            hub.spaces[space_id].stage = hub.next_stage()
            self._send(200, _runtime(hub, space_id))

        def resolve(self, kind: str | None, space_id: str, revision: str, path: str) -> None:
            """A file's bytes (GET) or just its metadata (HEAD), as hf_hub_download expects."""
            space = hub.repos(kind or "models").get(space_id)
            if space is None or path not in space.files:
                return self._send(404, {"error": "Entry not found"})
            data = space.files[path]
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("ETag", f'"{_oid(data)}"')
            self.send_header("X-Repo-Commit", (space.commits or ["0" * 40])[-1])
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(data)

        def lfs_batch(self, kind: str | None, space_id: str) -> None:
            """The git-lfs batch API: where to PUT each object (no verify step)."""
            objects = json.loads(self._body())["objects"]
            actions = [
                {**item, "actions": {"upload": {"href": f"{hub.url}/lfs-upload/{item['oid']}"}}}
                for item in objects
            ]
            self._send(200, {"transfer": "basic", "objects": actions})

        def lfs_upload(self, oid: str) -> None:
            data = self._body()
            if hashlib.sha256(data).hexdigest() != oid:
                return self._send(400, {"error": "sha256 mismatch"})
            hub.lfs_objects[oid] = data
            self._send(200, {})

        def build_logs(self, space_id: str) -> None:
            stamp = "2026-01-01T00:00:00.000Z"
            events = "".join(
                f"data: {json.dumps({'data': line + chr(10), 'timestamp': stamp})}\n\n"
                for line in hub.build_log
            )
            self._send(200, events.encode(), content_type="text/event-stream")

        # -- jobs -----------------------------------------------------------------------------

        def run_job(self, namespace: str) -> None:
            spec = json.loads(self._body())
            if namespace not in (hub.user, *hub.orgs):
                return self._error(403)
            if not hub.credits:
                return self._error(402)
            if spec.get("flavor") not in {item["name"] for item in JOB_HARDWARE}:
                return self._send(400, {"error": f"unknown flavor {spec.get('flavor')}"})
            job = Job(uuid.uuid4().hex[:24], namespace, spec)
            hub.jobs[job.id] = job
            threading.Thread(target=_run_job, args=(hub, job), daemon=True).start()
            self._send(200, _job_info(hub, job))

        def job_info(self, namespace: str, job_id: str) -> None:
            job = hub.jobs.get(job_id)
            if job is None or job.namespace != namespace:
                return self._send(404, {"error": "Job not found"})
            self._send(200, _job_info(hub, job))

        def job_logs(self, namespace: str, job_id: str) -> None:
            """Server-sent events: the log so far, then each new line, until the job ends."""
            job = hub.jobs.get(job_id)
            if job is None or job.namespace != namespace:
                return self._send(404, {"error": "Job not found"})
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.close_connection = True  # the stream ends when the connection does
            sent = 0
            while True:
                with job.changed:
                    job.changed.wait_for(lambda seen=sent: len(job.log) > seen or job.finished, 1)
                    lines, finished = job.log[sent:], job.finished
                for stamp, line in lines:
                    event = json.dumps({"data": line, "timestamp": stamp})
                    self.wfile.write(f"data: {event}\n\n".encode())
                self.wfile.flush()
                sent += len(lines)
                if finished and sent == len(job.log):
                    return

        def cancel_job(self, namespace: str, job_id: str) -> None:
            job = hub.jobs.get(job_id)
            if job is None or job.namespace != namespace:
                return self._send(404, {"error": "Job not found"})
            _stop(job, "CANCELED", None)
            self._send(200, {})

        def job_hardware(self) -> None:
            self._send(200, JOB_HARDWARE)

    space = r"/api/spaces/([^/]+/[^/]+)"
    repo = r"/api/(spaces|datasets|models)/([^/]+/[^/]+)"
    resolve = r"/(?:(spaces|datasets)/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)"
    jobs = r"/api/jobs/([^/]+)"
    ROUTES = [
        (r"/api/whoami-v2", "GET whoami", Handler.whoami),
        (r"/api/repos/create", "POST create", Handler.create),
        (r"/api/validate-yaml", "POST validate-yaml", Handler.validate_yaml),
        (r"/api/jobs/hardware", "GET job-hardware", Handler.job_hardware),
        (rf"{jobs}", "POST jobs", Handler.run_job),
        (rf"{jobs}/([0-9a-f]+)", "GET job", Handler.job_info),
        (rf"{jobs}/([0-9a-f]+)/logs", "GET job-logs", Handler.job_logs),
        (rf"{jobs}/([0-9a-f]+)/cancel", "POST job-cancel", Handler.cancel_job),
        (rf"{repo}/tree/([^/]+)(?:/.*)?", "GET tree", Handler.tree),
        (rf"{repo}/preupload/([^/]+)", "POST preupload", Handler.preupload),
        (rf"{repo}/commit/([^/]+)", "POST commit", Handler.commit),
        (rf"{space}/secrets", "POST secrets", Handler.secret),
        (rf"{space}/variables", "POST variables", Handler.variable),
        (rf"{space}/hardware", "POST hardware", Handler.hardware),
        (rf"{space}/runtime", "GET runtime", Handler.runtime),
        (rf"{space}/logs/build", "GET logs", Handler.build_logs),
        (
            r"/(?:(spaces|datasets)/)?([^/]+/[^/]+)\.git/info/lfs/objects/batch",
            "POST lfs-batch",
            Handler.lfs_batch,
        ),
        (r"/lfs-upload/([0-9a-f]{64})", "PUT lfs-upload", Handler.lfs_upload),
        (rf"{repo}(?:/revision/[^/]+)?", "GET info", Handler.repo_info),
        (resolve, "GET resolve", Handler.resolve),
        (resolve, "HEAD resolve", Handler.resolve),
    ]
    return Handler


def _mode(hub: FakeHub, size: int) -> str:
    return "lfs" if hub.lfs_over is not None and size > hub.lfs_over else "regular"


def _oid(data: bytes) -> str:
    """The git blob id, which the client compares to skip unchanged files."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _runtime(hub: FakeHub, space_id: str) -> dict[str, Any]:
    space = hub.spaces[space_id]
    flavour = space.hardware or "cpu-basic"
    return {
        "stage": space.stage,
        "hardware": {"current": flavour, "requested": flavour},
        "storage": None,
        "gcTimeout": 172800,
        "replicas": {"current": 1, "requested": 1},
    }


def _stamp(seconds: float) -> str:
    """The Hub's timestamps: UTC, milliseconds, a Z."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _job_info(hub: FakeHub, job: Job) -> dict[str, Any]:
    """A job as GET /api/jobs/{namespace}/{id} answers it; secret values are never sent back."""
    now = time.time()
    started, finished = job.started_at, job.finished_at
    spec = job.spec
    return {
        "id": job.id,
        "createdAt": _stamp(job.created_at),
        "startedAt": _stamp(started) if started else None,
        "finishedAt": _stamp(finished) if finished else None,
        "dockerImage": spec.get("dockerImage"),
        "spaceId": spec.get("spaceId"),
        "command": spec.get("command"),
        "arguments": spec.get("arguments"),
        "environment": spec.get("environment"),
        "secrets": {name: None for name in spec.get("secrets") or {}},
        "flavor": spec.get("flavor"),
        "labels": spec.get("labels"),
        "volumes": spec.get("volumes"),
        "status": {"stage": job.stage, "message": job.message},
        "durations": {
            "schedulingSecs": int((started or now) - job.created_at),
            "runningSecs": int((finished or now) - started) if started else None,
            "totalSecs": int((finished or now) - job.created_at),
        },
        "owner": {"id": "0" * 24, "name": job.namespace, "type": "user"},
    }


def _stop(job: Job, stage: str, message: str | None) -> None:
    job.end(stage, message)
    job.released.set()
    if job.process is not None and job.process.poll() is None:
        job.process.kill()


def _mount(hub: FakeHub, volume: dict[str, Any], folder: Path) -> None:
    """Write a repo volume's files into `folder`, refusing a revision the repo does not have."""
    repo = hub.repos(volume["type"] + "s").get(volume["source"])
    if repo is None:
        raise LookupError(f"volume {volume['source']}: repository not found")
    revision = volume.get("revision")
    if revision not in (None, "main") and revision != (repo.commits or [None])[-1]:
        raise LookupError(f"volume {volume['source']}: revision {revision} is not its head")
    for path, data in repo.files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)


def _run_job(hub: FakeHub, job: Job) -> None:
    """Run a posted job as a local process (see the module docstring), then record its end."""
    if hub.hold_jobs:
        job.released.wait()
    if job.finished:
        return
    spec = job.spec
    with tempfile.TemporaryDirectory(prefix="fake-hub-job-") as scratch:
        mounts: dict[str, str] = {}
        try:
            for number, volume in enumerate(spec.get("volumes") or []):
                folder = Path(scratch, f"volume-{number}")
                folder.mkdir()
                _mount(hub, volume, folder)
                mounts[volume["mountPath"]] = str(folder)
        except LookupError as error:
            return job.end("ERROR", str(error))

        def local(value: str) -> str:
            for mount, folder in mounts.items():
                if value == mount or value.startswith(mount + "/"):
                    return folder + value[len(mount) :]
            return value

        env = {key: value for key, value in os.environ.items() if key in IMAGE_ENV}
        env.update({key: value for key, value in os.environ.items() if key.startswith("PIP_")})
        if hub.job_image_bin is not None:
            env["PATH"] = f"{hub.job_image_bin}{os.pathsep}{env.get('PATH', '')}"
        env["HF_HOME"] = str(Path(scratch, "hf-home"))
        env.update(
            {key: local(str(value)) for key, value in (spec.get("environment") or {}).items()}
        )
        env.update({key: str(value) for key, value in (spec.get("secrets") or {}).items()})
        command = [local(part) for part in spec["command"] + (spec.get("arguments") or [])]
        job.started_at = time.time()
        job.stage = "RUNNING"
        job.add_line(f"===== Job started at {_stamp(job.started_at)} =====")
        try:
            job.process = subprocess.Popen(
                command,
                cwd=scratch,
                env=env,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        except OSError as error:
            return job.end("ERROR", f"cannot start {command[0]}: {error}")
        deadline = threading.Timer(
            float(spec.get("timeoutSeconds") or 1800), _stop, (job, "ERROR", "Job timeout")
        )
        deadline.start()
        assert job.process.stdout is not None
        for line in job.process.stdout:
            job.add_line(line)
        code = job.process.wait()
        deadline.cancel()
        if code == 0:
            job.end("COMPLETED")
        else:
            job.end("ERROR", f"Job failed with exit code: {code}")
