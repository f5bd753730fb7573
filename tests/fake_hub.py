"""A small stand-in for the Hugging Face Hub's HTTP API, served on 127.0.0.1 for tests.

The real huggingface_hub client talks to it exactly as it talks to huggingface.co: the endpoints
and payloads are the ones huggingface_hub 2.4 calls (see ../shared notes on the Hub). It keeps
each Space's files, secrets and variables in memory, validates README front matter like the Hub
does, and can be told to answer one route with an error status, so every failure path of
`pocgen deploy` runs against real HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

COLOURS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}
ERROR_MESSAGES = {
    401: "Invalid credentials in Authorization header",
    402: "You need a PRO subscription to create a Gradio or Docker Space",
    403: "You don't have the rights to create a space under this namespace",
    409: "A repository with this name already exists",
    500: "Internal Error",
}


@dataclass
class Space:
    """What the fake Hub holds for one Space."""

    sdk: str
    private: bool
    hardware: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    commits: list[str] = field(default_factory=list)
    stage: str = "BUILDING"
    lfs_paths: set[str] = field(default_factory=set)  # files that came through the LFS batch API


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
        self.server.shutdown()
        self.server.server_close()

    def next_stage(self) -> str:
        return self.stages.pop(0) if len(self.stages) > 1 else self.stages[0]


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
            url = f"{hub.url}/spaces/{space_id}"
            if space_id in hub.spaces:
                return self._send(409, {"error": ERROR_MESSAGES[409], "url": url})
            zero_gpu = str(request.get("hardware") or "").startswith("zero-")
            if not hub.is_pro and request["sdk"] != "static" and not zero_gpu:
                return self._error(402)
            hub.spaces[space_id] = Space(
                sdk=request["sdk"],
                private=request.get("visibility") == "private",
                hardware=request.get("hardware"),
            )
            self._send(200, {"url": url, "name": space_id, "id": space_id})

        def space_info(self, space_id: str) -> None:
            space = hub.spaces.get(space_id)
            if space is None:
                return self._send(404, {"error": "Repository not found"})
            sha = (space.commits or ["0" * 40])[-1]
            info = {"id": space_id, "sha": sha, "private": space.private, "sdk": space.sdk}
            self._send(200, info)

        def validate_yaml(self) -> None:
            request = json.loads(self._body())
            errors = front_matter_errors(request["content"])
            if errors:
                return self._send(400, {"errors": [{"message": error} for error in errors]})
            self._send(200, {"warnings": []})

        def tree(self, space_id: str, revision: str) -> None:
            space = hub.spaces[space_id]
            entries = [
                {"type": "file", "path": path, "size": len(data), "oid": _oid(data)}
                for path, data in sorted(space.files.items())
            ]
            self._send(200, entries)

        def preupload(self, space_id: str, revision: str) -> None:
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

        def commit(self, space_id: str, revision: str) -> None:
            space = hub.spaces[space_id]
            for line in self._body().decode().splitlines():
                item = json.loads(line)
                value = item["value"]
                if item["key"] == "file":
                    data = base64.b64decode(value["content"])
                    if value["path"] == "README.md":
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
            oid = hashlib.sha1(json.dumps(sorted(space.files)).encode()).hexdigest()
            space.commits.append(oid)
            url = f"{hub.url}/spaces/{space_id}/commit/{oid}"
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

        def resolve(self, space_id: str, revision: str, path: str) -> None:
            """A file's bytes (GET) or just its metadata (HEAD), as hf_hub_download expects."""
            space = hub.spaces.get(space_id)
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

        def lfs_batch(self, space_id: str) -> None:
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

    space = r"/api/spaces/([^/]+/[^/]+)"
    resolve = r"/spaces/([^/]+/[^/]+)/resolve/([^/]+)/(.+)"
    ROUTES = [
        (r"/api/whoami-v2", "GET whoami", Handler.whoami),
        (r"/api/repos/create", "POST create", Handler.create),
        (r"/api/validate-yaml", "POST validate-yaml", Handler.validate_yaml),
        (rf"{space}/tree/([^/]+)", "GET tree", Handler.tree),
        (rf"{space}/preupload/([^/]+)", "POST preupload", Handler.preupload),
        (rf"{space}/commit/([^/]+)", "POST commit", Handler.commit),
        (rf"{space}/secrets", "POST secrets", Handler.secret),
        (rf"{space}/variables", "POST variables", Handler.variable),
        (rf"{space}/hardware", "POST hardware", Handler.hardware),
        (rf"{space}/runtime", "GET runtime", Handler.runtime),
        (rf"{space}/logs/build", "GET logs", Handler.build_logs),
        (r"/spaces/([^/]+/[^/]+)\.git/info/lfs/objects/batch", "POST lfs-batch", Handler.lfs_batch),
        (r"/lfs-upload/([0-9a-f]{64})", "PUT lfs-upload", Handler.lfs_upload),
        (rf"{space}(?:/revision/[^/]+)?", "GET info", Handler.space_info),
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
