"""Label your own data in Label Studio, driven from this project's command line.

    python -m surgical_tool_detector label serve   # a local Label Studio, installed on first use
    python -m surgical_tool_detector label push    # send the items that have no label yet
    python -m surgical_tool_detector label pull    # bring finished annotations back into data/

How the pieces fit together:
- The server runs in its own environment (.label-studio/venv) because it pins its own Django,
  pandas and Pillow; this project only needs its client library, label-studio-sdk.
  Its database lives in .label-studio/data and it reads images straight from data/raw
  ("local files"), so nothing is uploaded or copied. .label-studio/ and .env are gitignored.
- push and pull talk to the server named by LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY, from the
  environment or from .env (`serve` writes both). A legacy token and a personal access token
  (a JWT) both work: the SDK tells them apart and refreshes the JWT itself.
- .label-studio/project.json remembers which project on the server belongs to this folder, so
  pushing twice never makes a second project or duplicate tasks.
- Label Studio accepts any label in an annotation, even one that is not in the labeling config,
  so pull checks every annotation against `classes` in params.yaml before it is saved.
- When two people labeled the same item, pull measures how much they agree, per class, in
  reports/labels.json: a class people disagree on is a class the model will struggle with too.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Hashable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

from PIL import Image
from rich.console import Console
from rich.progress import track

from .config import (
    BOX_LABELS_DIR,
    LABELS_JSON_FILE,
    ONNX_FILE,
    RAW_DIR,
    REPORTS_DIR,
    StageError,
    load_params,
)
from .dataset import (
    Box,
    box_file,
    box_problem,
    list_images,
    read_boxes,
    write_boxes,
)

console = Console(stderr=True, soft_wrap=True)

LABEL_STUDIO_DIR = Path(".label-studio")
TOOL_VENV = LABEL_STUDIO_DIR / "venv"  # the server's own environment
SERVER_DATA_DIR = LABEL_STUDIO_DIR / "data"  # its database, media and signing key
DATABASE = "label_studio.sqlite3"  # inside SERVER_DATA_DIR
SERVER_LOG = LABEL_STUDIO_DIR / "server.log"
PROJECT_STATE_FILE = LABEL_STUDIO_DIR / "project.json"  # which project on the server is ours
ENV_FILE = Path(".env")
LABELING_REPORT = REPORTS_DIR / "labels.json"
COCO_FILE = BOX_LABELS_DIR / "coco.json"

# 1.23 is the version these commands were tested with; its API and start-up flags differ from
# older releases, so an unpinned install could break `serve` without any change here.
LABEL_STUDIO_REQUIREMENT = "label-studio==1.23.*"
DEFAULT_PORT = 8080
STARTUP_TIMEOUT_S = 300  # the first start creates the database: 30-80 s on a laptop
USER_EMAIL = "pocgen@example.com"  # the account `serve` creates for you
PROJECT_TITLE = "Surgical Tool Detector"
SMOKE_ITEMS = 16  # push --smoke sends at most this many items

# Names inside the labeling config. Annotations refer to them, so pull looks results up by them.
CONTROL = "label"
OBJECT = "image"
# The local-files storage only grants access to data/raw; it must never import by itself
# (a "Sync" click in the UI would duplicate every task push made), so its filter matches nothing.
MATCH_NOTHING = "(?!)"
# Files uploaded through the UI get an 8-hex-digit prefix ("1a2b3c4d-photo.jpg").
UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    serve = actions.add_parser("serve", help="start a local Label Studio for this project")
    serve.add_argument("--port", type=int, help=f"port on 127.0.0.1 (default {DEFAULT_PORT})")
    push = actions.add_parser("push", help="create or update the project; import unlabeled items")
    push.add_argument(
        "--no-predictions",
        action="store_true",
        help="do not pre-annotate with the exported model, even when models/model.onnx exists",
    )
    push.add_argument(
        "--threshold", type=float, default=0.5, help="pre-annotate boxes scoring at least this"
    )
    push.add_argument("--smoke", action="store_true", help=f"push at most {SMOKE_ITEMS} items")
    actions.add_parser("pull", help="export finished annotations into data/ and measure agreement")


def run(args: argparse.Namespace) -> None:
    {"serve": serve, "push": push, "pull": pull}[args.action](args)


# --- settings: the environment first, then .env ----------------------------------------------


def read_env_file(path: Path = ENV_FILE) -> dict[str, str]:
    """The KEY=VALUE lines of .env; comments, blank lines and surrounding quotes are skipped."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        key, separator, value = line.partition("=")
        if separator and not key.strip().startswith("#"):
            values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def update_env_file(values: dict[str, str], path: Path = ENV_FILE) -> None:
    """Set these keys in .env and keep every other line as it was.

    .env is the only place a token is ever written; the file is made readable by you alone.
    """
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    pending = dict(values)
    for index, line in enumerate(lines):
        key = line.partition("=")[0].strip().removeprefix("export ").strip()
        if key in pending and "=" in line and not line.lstrip().startswith("#"):
            lines[index] = f"{key}={pending.pop(key)}"
    lines += [f"{key}={value}" for key, value in pending.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)


def setting(name: str) -> str | None:
    """A variable from the environment, else from .env: an exported value wins, as usual."""
    return os.environ.get(name) or read_env_file().get(name) or None


# --- the labeling config: what the annotator sees --------------------------------------------


def label_config(classes: list[str]) -> str:
    """The Label Studio labeling config for this task, classes in params.yaml order.

    Each Label carries `category`, its index in `classes`: without it Label Studio numbers
    classes alphabetically in YOLO exports, and every class id would silently be wrong.
    Rotation is switched off because YOLO boxes are upright.
    """
    view = ET.Element("View")
    ET.SubElement(view, "Image", name=OBJECT, value=f"${OBJECT}")
    control = ET.SubElement(
        view, "RectangleLabels", name=CONTROL, toName=OBJECT, canRotate="false"
    )
    for index, name in enumerate(classes):
        ET.SubElement(control, "Label", value=name, category=str(index))
    ET.indent(view)
    return ET.tostring(view, encoding="unicode")


def config_classes(config: str) -> list[str]:
    """The class names in a labeling config, in order: what the server will accept from now on."""
    view = ET.fromstring(config)
    return [label.get("value", "") for label in view.iter("Label")]


# --- talking to the server --------------------------------------------------------------------


@contextlib.contextmanager
def server_errors(url: str) -> Iterator[None]:
    """Turn the SDK's network and HTTP errors into one line that says what to do about them."""
    import httpx
    from label_studio_sdk.core.api_error import ApiError

    try:
        yield
    except httpx.TransportError as error:
        raise StageError(
            f"Label Studio at {url} is not reachable ({type(error).__name__}): start it with "
            "`python -m surgical_tool_detector label serve`, or fix LABEL_STUDIO_URL in .env."
        ) from None
    except ApiError as error:
        detail = error.body.get("detail") if isinstance(error.body, dict) else error.body
        if error.status_code in (401, 403):
            raise StageError(
                f"Label Studio at {url} refused the API key ({error.status_code}: {detail}): "
                "create a personal access token under Account & Settings in Label Studio and "
                "put it in .env as LABEL_STUDIO_API_KEY."
            ) from None
        raise StageError(f"Label Studio at {url} answered {error.status_code}: {detail}") from None


def connect() -> tuple[Any, str]:
    """A logged-in SDK client and the server URL, or a StageError that says what is missing."""
    url, key = setting("LABEL_STUDIO_URL"), setting("LABEL_STUDIO_API_KEY")
    if not url or not key:
        raise StageError(
            "LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY are not set: run "
            "`python -m surgical_tool_detector label serve` (it writes both to .env), or put "
            "your own server's URL and token in .env."
        )
    try:
        from label_studio_sdk import LabelStudio
    except ImportError:
        raise StageError("label-studio-sdk is not installed: pip install -e '.[label]'") from None
    url = url.rstrip("/")
    with server_errors(url):
        # max_retries=0: a server that is down should fail in a second, not after a minute.
        client = LabelStudio(base_url=url, api_key=key, timeout=120, max_retries=0)
        client.users.whoami()  # check the token now rather than halfway through a push
    return client, url


def read_state() -> dict[str, Any]:
    if not PROJECT_STATE_FILE.exists():
        return {}
    return json.loads(PROJECT_STATE_FILE.read_text(encoding="utf-8"))


def write_state(state: dict[str, Any]) -> None:
    PROJECT_STATE_FILE.parent.mkdir(parents=True, exist_ok=True)
    PROJECT_STATE_FILE.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")


def find_project(client: Any) -> Any | None:
    """Our project on the server, or None when there is none yet or it was deleted there.

    It is found by id and creation time, not by URL (`serve` may come back on another port) or
    title (you may rename it in the UI).
    """
    from label_studio_sdk.core.api_error import ApiError

    state = read_state()
    if "project_id" not in state:
        return None
    try:
        project = client.projects.get(state["project_id"])
    except ApiError as error:
        if error.status_code == 404:
            return None
        raise
    # Another server may use the same id for someone else's project.
    return project if str(project.created_at) == state.get("created_at") else None


def project_title() -> str:
    # Label Studio refuses titles shorter than 3 characters.
    return PROJECT_TITLE if len(PROJECT_TITLE) >= 3 else f"{PROJECT_TITLE} labels"


# --- serve: a local Label Studio ---------------------------------------------------------------


def label_studio_command() -> Path:
    """The `label-studio` program: LABEL_STUDIO_BIN, our tool env, one on PATH, or a new install."""
    if configured := os.environ.get("LABEL_STUDIO_BIN"):
        if not Path(configured).is_file():
            raise StageError(f"LABEL_STUDIO_BIN={configured} is not a file: fix or unset it.")
        return Path(configured)
    windows = os.name == "nt"
    scripts = TOOL_VENV / ("Scripts" if windows else "bin")
    own = scripts / ("label-studio.exe" if windows else "label-studio")
    if own.exists():
        return own
    if on_path := shutil.which("label-studio"):
        return Path(on_path)
    with console.status(
        f"Installing {LABEL_STUDIO_REQUIREMENT} into {TOOL_VENV} (once; about a minute, ~1 GB)"
    ):
        subprocess.run([sys.executable, "-m", "venv", str(TOOL_VENV)], check=True)
        pip = scripts / ("pip.exe" if windows else "pip")
        result = subprocess.run(
            [str(pip), "install", "--quiet", LABEL_STUDIO_REQUIREMENT],
            capture_output=True,
            text=True,
        )
    if result.returncode != 0 or not own.exists():
        last_line = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise StageError(
            f"installing {LABEL_STUDIO_REQUIREMENT} failed ({last_line}): check your connection "
            f"and retry, or install it yourself and set LABEL_STUDIO_BIN."
        )
    return own


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def choose_port(requested: int | None, previous: int | None) -> int:
    """A free port on 127.0.0.1, checked here because Label Studio silently moves off a busy one.

    If it moved, our health check would talk to whatever else answers on that port. Without
    --port the last port is reused when it is free, so bookmarks keep working.
    """
    if requested is not None:
        if not port_is_free(requested):
            raise StageError(f"port {requested} on 127.0.0.1 is in use: pass another --port.")
        return requested
    for port in (previous, DEFAULT_PORT):
        if port is not None and port_is_free(port):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))  # the system picks a free port
        return probe.getsockname()[1]


def server_environment(document_root: Path, login: dict[str, str] | None) -> dict[str, str]:
    """The server's environment: ours minus what would confuse it, plus quiet, local settings."""
    # Label Studio reads HOST, PORT, USERNAME, PASSWORD and USER_TOKEN, with or without a
    # LABEL_STUDIO_ prefix; shells and CI often set the short ones for other reasons. It must
    # never see our API key either. Your other LABEL_STUDIO_* settings pass through.
    names = ("HOST", "PORT", "USERNAME", "PASSWORD", "USER_TOKEN", "URL", "API_KEY")
    skip = {*names, *(f"LABEL_STUDIO_{name}" for name in names)}
    env = {key: value for key, value in os.environ.items() if key not in skip}
    env.update(
        COLLECT_ANALYTICS="false",
        LATEST_VERSION_CHECK="false",
        SENTRY_DSN="",
        FRONTEND_SENTRY_DSN="",
        LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="true",  # nobody else can make an account
        LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED="true",
        LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=str(document_root),
    )
    if login:  # only on the first start: that is when Label Studio creates the user
        env.update(LABEL_STUDIO_USERNAME=login["email"], LABEL_STUDIO_PASSWORD=login["password"])
    return env


def wait_until_up(server: subprocess.Popen, url: str) -> None:
    """Poll GET /health on exactly our port until it answers UP, or explain why it never will."""
    import httpx

    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    with console.status(f"Starting Label Studio on {url} (the first start sets up its database)"):
        while True:
            if server.poll() is not None:
                raise StageError(
                    f"Label Studio exited during start-up (code {server.returncode}): "
                    f"read {SERVER_LOG} for the reason."
                )
            with contextlib.suppress(httpx.HTTPError, ValueError):
                if httpx.get(f"{url}/health", timeout=2).json().get("status") == "UP":
                    return
            if time.monotonic() > deadline:
                raise StageError(
                    f"Label Studio did not answer on {url} within {STARTUP_TIMEOUT_S} s: "
                    f"read {SERVER_LOG}."
                )
            time.sleep(0.5)


def create_access_token(url: str, email: str, password: str) -> str:
    """Log in like a browser does and create the user's personal access token (a JWT).

    This needs no legacy token, which new Label Studio organizations refuse anyway. The server
    shows a personal access token only once, at creation, so it goes straight into .env.
    """
    import httpx

    with httpx.Client(base_url=url, timeout=30) as session:
        session.get("/user/login/")  # sets the CSRF cookie the login form needs
        answer = session.post(
            "/user/login/",
            data={
                "email": email,
                "password": password,
                "csrfmiddlewaretoken": session.cookies.get("csrftoken", ""),
            },
            headers={"Referer": f"{url}/user/login/"},
        )
        if answer.status_code != 302:  # a successful login redirects away from the form
            raise StageError(
                f"could not log in to Label Studio as {email}: {SERVER_DATA_DIR} was made with "
                "another password (was .env deleted?). Move that folder away to start afresh "
                "(its annotations stay there), then run `label serve` again."
            )
        answer = session.post(
            "/api/token/",
            headers={"X-CSRFToken": session.cookies.get("csrftoken", ""), "Referer": f"{url}/"},
        )
    if answer.status_code == 409:
        raise StageError(
            f"{email} already has a personal access token, and Label Studio shows it only once: "
            "revoke it under Account & Settings, create a new one and put it in .env as "
            "LABEL_STUDIO_API_KEY."
        )
    if answer.status_code != 201:
        raise StageError(f"Label Studio did not create an access token ({answer.status_code}).")
    return answer.json()["token"]


def stop_on_sigterm(signum: int, frame: Any) -> None:
    """`kill PID` stops serve as cleanly as Ctrl-C does, so the server never outlives it."""
    raise KeyboardInterrupt


def serve(args: argparse.Namespace) -> None:
    load_params()  # fails unless we are in the project root, where .label-studio/ belongs
    command = label_studio_command()
    saved = read_env_file()
    previous = urlparse(saved.get("LABEL_STUDIO_URL", ""))
    port = choose_port(args.port, previous.port if previous.hostname == "127.0.0.1" else None)
    url = f"http://127.0.0.1:{port}"
    email = saved.get("LABEL_STUDIO_USERNAME") or USER_EMAIL
    login = None
    if not saved.get("LABEL_STUDIO_API_KEY") or not (SERVER_DATA_DIR / DATABASE).exists():
        # First start (or a new database): make up a password and keep it before the server
        # sees it, so that a crash halfway can never leave an account nobody can log in to.
        password = saved.get("LABEL_STUDIO_PASSWORD") or secrets.token_urlsafe(16)
        login = {"email": email, "password": password}
        update_env_file({"LABEL_STUDIO_USERNAME": email, "LABEL_STUDIO_PASSWORD": password})
    SERVER_DATA_DIR.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    with SERVER_LOG.open("ab") as log:
        server = subprocess.Popen(
            [
                str(command), "start", "--no-browser",
                "--internal-host", "127.0.0.1",  # otherwise it listens on every interface
                "--port", str(port),
                "--data-dir", str(SERVER_DATA_DIR.resolve()),
            ],
            env=server_environment(Path.cwd(), login),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until_up(server, url)
        settings = {
            "LABEL_STUDIO_URL": url,
            "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(Path.cwd()),
        }
        if login:
            settings["LABEL_STUDIO_API_KEY"] = create_access_token(url, email, login["password"])
        update_env_file(settings)
        console.print(
            f"Label Studio is running at {url} (log in as {email}; the password and the API "
            f"token are in {ENV_FILE}). Next: `python -m surgical_tool_detector label push`. "
            "Ctrl-C stops it."
        )
        server.wait()
        raise StageError(f"Label Studio stopped by itself: read {SERVER_LOG}.")
    except KeyboardInterrupt:
        console.print("Stopping Label Studio.")
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()


# --- push: items out, with the model's guesses ------------------------------------------------


def local_file_url(path: str) -> str:
    """How Label Studio addresses a file under its document root (no upload, no copy)."""
    return "/data/local-files/?d=" + quote(path.lstrip("/"))


def all_items() -> dict[str, dict[str, str]]:
    """item -> the task data Label Studio shows for it, for every item in data/raw."""
    root = Path(setting("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT") or Path.cwd()).resolve()
    raw = RAW_DIR.resolve()
    if not raw.is_relative_to(root):
        raise StageError(
            f"{raw} is not inside LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT={root}, so Label Studio "
            "cannot show its images: set it (in .env and for the server) to a folder that holds "
            "this project."
        )
    # Local files are addressed relative to the server's document root.
    prefix = raw.relative_to(root).as_posix()
    return {
        item: {OBJECT: local_file_url(f"{prefix}/{item}"), "item": item}
        for item in list_images()
    }


def labeled_items() -> set[str]:
    """Items that already have a label here: they are not sent to Label Studio again."""
    return {item for item in list_images() if box_file(item).exists()}


def model_version() -> str:
    """A name for the exported model that changes whenever the model does (its file hash)."""
    digest = hashlib.sha256(ONNX_FILE.read_bytes()).hexdigest()
    return f"model-{digest[:12]}"


def prediction_for(predictor: Any, data: dict[str, str], threshold: float) -> dict[str, Any]:
    """The model's answer as a Label Studio prediction, with a score = how sure it is.

    Label Studio's uncertainty sampling serves the lowest score first, so the annotator spends
    their time where the model is least sure (active learning).
    """
    with Image.open(RAW_DIR / data["item"]) as opened:
        image = opened.convert("RGB")
    # Look at every box the model suspects, keep the confident ones as pre-annotations, and
    # score the image by its least certain keep-or-drop decision: max(s, 1 - s) per box.
    candidates = predictor.predict(image, threshold=0.05)["boxes"]
    width, height = image.size
    result = [
        {
            "from_name": CONTROL,
            "to_name": OBJECT,
            "type": "rectanglelabels",
            "original_width": width,
            "original_height": height,
            "image_rotation": 0,
            "value": {
                "x": 100 * x0 / width,
                "y": 100 * y0 / height,
                "width": 100 * (x1 - x0) / width,
                "height": 100 * (y1 - y0) / height,
                "rotation": 0,
                "rectanglelabels": [found["label"]],
            },
            "score": found["score"],
        }
        for found in candidates
        if found["score"] >= threshold
        for x0, y0, x1, y1 in [found["box"]]
    ]
    score = min((max(found["score"], 1 - found["score"]) for found in candidates), default=1.0)
    return {"result": result, "score": float(score)}


def pre_annotations(
    items: dict[str, dict[str, str]], classes: list[str], threshold: float
) -> dict[str, dict[str, Any]] | None:
    """item -> the exported model's prediction, or None when the model is for other classes."""
    from .inference import Predictor

    predictor = Predictor(ONNX_FILE, LABELS_JSON_FILE)
    if predictor.classes != classes:
        console.print(
            f"[yellow]{ONNX_FILE} was trained on {predictor.classes}, not on {classes}: "
            "no pre-annotations (retrain and export to get them back)."
        )
        return None
    return {
        item: prediction_for(predictor, data, threshold)
        for item, data in track(items.items(), description="Pre-annotating", console=console)
    }


def push(args: argparse.Namespace) -> None:
    params = load_params()
    classes: list[str] = params["classes"]
    items = all_items()
    labeled = labeled_items()
    client, url = connect()
    with server_errors(url):
        project = find_project(client)
        state = read_state()
        if project is None:
            if state.get("project_id") is not None:
                console.print(
                    f"[yellow]Project {state['project_id']} is gone from {url}; creating a new "
                    "one (labels already pulled are safe in data/)."
                )
            project = client.projects.create(
                title=project_title(), label_config=label_config(classes)
            )
            write_state(
                {"url": url, "project_id": project.id, "created_at": str(project.created_at)}
            )
        elif config_classes(project.label_config) != classes:
            client.projects.update(project.id, label_config=label_config(classes))
            console.print(f"Classes changed: the labeling config now offers {classes}.")
        # Label Studio serves a local file only under a local-files storage that covers it.
        raw = str(RAW_DIR.resolve())
        storages = client.import_storage.local.list(project=project.id)
        if not any(storage.path == raw for storage in storages):
            client.import_storage.local.create(
                project=project.id, path=raw, regex_filter=MATCH_NOTHING, use_blob_urls=True,
                title="data/raw (tasks come from `label push`; do not sync)",
            )  # fmt: skip
        tasks = {task.data.get("item"): task for task in client.tasks.list(project=project.id)}
        new = {
            item: data for item, data in items.items() if item not in labeled and item not in tasks
        }
        if args.smoke:
            new = dict(itertools.islice(new.items(), SMOKE_ITEMS))
        # The exported model pre-annotates the new tasks, and the older ones nobody labeled yet
        # that do not have this model's guess.
        model_ready = ONNX_FILE.exists() and LABELS_JSON_FILE.exists() and not args.no_predictions
        version = model_version() if model_ready else ""
        waiting = {
            item: items[item]
            for item, task in tasks.items()
            if item in items
            and not task.total_annotations
            and version not in {prediction.model_version for prediction in task.predictions or []}
        }
        predicted = None
        if version and (new or waiting):
            predicted = pre_annotations({**new, **waiting}, classes, args.threshold)
        if predicted is None:
            version, predicted = "", {}
        # Most uncertain first, so the tasks' order in the list matches the labeling queue.
        order = sorted(new, key=lambda item: predicted[item]["score"] if item in predicted else 0.0)
        payload = []
        for item in order:
            task_data: dict[str, Any] = {"data": new[item]}
            if item in predicted:
                task_data["predictions"] = [{"model_version": version, **predicted[item]}]
            payload.append(task_data)
        if payload:
            client.projects.import_tasks(project.id, request=payload)
        for item in waiting.keys() & predicted.keys():
            client.predictions.create(task=tasks[item].id, model_version=version, **predicted[item])
        if version:
            # Annotators see pre-annotations only from the project's current model_version.
            client.projects.update(
                project.id, model_version=version, sampling="Uncertainty sampling"
            )
    console.print(
        f"Pushed {len(payload)} new items to {url}/projects/{project.id} "
        f"({len(tasks)} were already there, {len(labeled)} are labeled here)"
        + (f"; pre-annotated with {version} ({len(predicted)} items)." if version else ".")
    )


# --- pull: annotations back, checked --------------------------------------------------------


def saved_at(annotation: dict[str, Any]) -> datetime:
    """When the annotation was last saved (Label Studio writes UTC with a trailing Z)."""
    return datetime.fromisoformat(annotation["updated_at"].replace("Z", "+00:00"))


def labeled_at(annotation: dict[str, Any]) -> str:
    """The save time in the UTC ISO format of every other timestamp in data/."""
    return saved_at(annotation).astimezone(UTC).isoformat(timespec="seconds")


def choose_annotation(annotations: list[dict[str, Any]]) -> dict[str, Any]:
    """The annotation that becomes the label: a ground truth if someone marked one, else the
    latest, because a later correction is usually a reviewer fixing an earlier mistake."""
    return max(annotations, key=lambda a: (bool(a.get("ground_truth")), saved_at(a), a["id"]))


def parse_result(result: list[dict[str, Any]], classes: list[str]) -> list[Box]:
    """The YOLO boxes in one annotation; ValueError names the first thing that is wrong.

    Label Studio stores a rectangle's top-left corner and size in percent of the image.
    """
    boxes = []
    for region in result:
        if region.get("from_name") != CONTROL or region.get("type") != "rectanglelabels":
            continue
        value = region["value"]
        names = value.get("rectanglelabels") or []
        if len(names) != 1:
            raise ValueError(f"a box has {len(names)} labels instead of one")
        if names[0] not in classes:
            raise ValueError(f"label '{names[0]}' is not one of the classes {classes}")
        x, y, w, h = (value[key] / 100 for key in ("x", "y", "width", "height"))
        box = Box(classes.index(names[0]), x + w / 2, y + h / 2, w, h)
        if problem := box_problem(box):
            raise ValueError(f"a '{names[0]}' box is {problem}")
        boxes.append(box)
    return boxes


def file_name(data: dict[str, Any]) -> str:
    """The image's own file name, from a task made by push or one the user made in the UI."""
    url = str(data.get(OBJECT, ""))
    path = parse_qs(urlparse(url).query).get("d", [urlparse(url).path])[0]
    return UPLOAD_PREFIX.sub("", Path(path).name)


def resolve_item(data: dict[str, Any], known: set[str], by_name: dict[str, list[str]]) -> str:
    """The task's item in data/raw. A moved image is found again by its file name."""
    item = data.get("item") or file_name(data)
    if item in known:
        return item
    matches = by_name.get(Path(item).name, [])
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ValueError(
            f"image {item} is no longer in data/raw (moved or deleted): put it back under data/raw"
        )
    raise ValueError(f"several images are called {Path(item).name} ({matches}): rename all but one")


# --- agreement: how much do two annotators of one item agree? --------------------------------


def cohen_kappa(first: list[Hashable], second: list[Hashable]) -> float:
    """Agreement beyond chance between two raters: (observed - chance) / (1 - chance).

    1 is perfect agreement, 0 is what two people guessing with the same label frequencies get.
    """
    n = len(first)
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    counts_first, counts_second = Counter(first), Counter(second)
    chance = sum(counts_first[label] * counts_second[label] for label in counts_first) / n**2
    if chance == 1:  # both used one single label throughout, so they agreed every time
        return 1.0
    return (observed - chance) / (1 - chance)


def box_iou(first: Box, second: Box) -> float:
    """Intersection over union of two boxes (the same in fractions as in pixels)."""
    ax0, ay0, ax1, ay1 = first.to_pixels(1, 1)
    bx0, by0, bx1, by1 = second.to_pixels(1, 1)
    overlap = max(0.0, min(ax1, bx1) - max(ax0, bx0)) * max(0.0, min(ay1, by1) - max(ay0, by0))
    union = first.w * first.h + second.w * second.h - overlap
    return overlap / union if union > 0 else 0.0


def match_boxes(first: list[Box], second: list[Box]) -> list[tuple[Box, float]]:
    """Pair boxes of the same class one to one, highest IoU first, as detection metrics do.

    Returns each matched box of `first` with its IoU; unmatched boxes have no partner.
    """
    candidates = sorted(
        (
            (box_iou(a, b), i, j)
            for (i, a), (j, b) in itertools.product(enumerate(first), enumerate(second))
            if a.class_id == b.class_id
        ),
        reverse=True,
    )
    used_first: set[int] = set()
    used_second: set[int] = set()
    matches = []
    for overlap, i, j in candidates:
        if overlap > 0 and i not in used_first and j not in used_second:
            used_first.add(i)
            used_second.add(j)
            matches.append((first[i], overlap))
    return matches


def agreement(pairs: list[tuple[list[Box], list[Box]]], classes: list[str]) -> dict[str, Any]:
    """Per class: mean IoU of matched boxes, and F1 at IoU 0.5 (a box counts as agreed on when
    the other annotator drew the same class over it with IoU >= 0.5)."""

    def summary(ious: list[float], boxes: int) -> dict[str, Any] | None:
        if boxes == 0:
            return None  # nobody drew this class on a doubly labeled image
        agreed = sum(overlap >= 0.5 for overlap in ious)
        return {
            "boxes": boxes,
            "mean_iou": round(sum(ious) / len(ious), 4) if ious else 0.0,
            "f1_50": round(2 * agreed / boxes, 4),  # 2 TP / (boxes of one + boxes of the other)
        }

    ious: dict[int, list[float]] = {index: [] for index in range(len(classes))}
    boxes: Counter[int] = Counter()
    for first, second in pairs:
        boxes.update(box.class_id for box in first + second)
        for box, overlap in match_boxes(first, second):
            ious[box.class_id].append(overlap)
    return {
        "pairs": len(pairs),
        "overall": summary([v for values in ious.values() for v in values], sum(boxes.values())),
        "per_class": {name: summary(ious[i], boxes[i]) for i, name in enumerate(classes)},
    }


# --- writing the labels -----------------------------------------------------------------------


def write_coco(classes: list[str], provenance: dict[str, dict[str, str]]) -> None:
    """data/labels/coco.json: every YOLO file in data/labels again as COCO, for other tools.

    Category ids are the YOLO class ids; each image records who labeled it and when.
    """
    earlier = json.loads(COCO_FILE.read_text(encoding="utf-8")) if COCO_FILE.exists() else {}
    known = {image["file_name"]: image for image in earlier.get("images", [])}
    by_stem = {Path(item).stem: item for item in list_images()}
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for path in sorted(BOX_LABELS_DIR.glob("*.txt")):
        item = by_stem.get(path.stem)
        if item is None:
            continue  # a label file whose image is gone has nothing to point at
        with Image.open(RAW_DIR / item) as opened:
            width, height = opened.size
        record = provenance.get(item) or known.get(item, {})
        image_id = len(images) + 1
        images.append(
            {
                "id": image_id,
                "file_name": item,
                "width": width,
                "height": height,
                "annotator": record.get("annotator"),
                "labeled_at": record.get("labeled_at"),
            }
        )
        for box in read_boxes(path, len(classes)):
            x0, y0, x1, y1 = box.to_pixels(width, height)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": box.class_id,
                    "bbox": [round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)],
                    "area": round((x1 - x0) * (y1 - y0), 2),
                    "iscrowd": 0,
                }
            )
    coco = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": index, "name": name} for index, name in enumerate(classes)],
    }
    COCO_FILE.parent.mkdir(parents=True, exist_ok=True)
    COCO_FILE.write_text(json.dumps(coco, indent=1) + "\n", encoding="utf-8")


def save_labels(
    labels: dict[str, list[Box]], provenance: dict[str, dict[str, str]], classes: list[str]
) -> Counter[str]:
    """Write data/labels/<stem>.txt for each item, then coco.json; count new/updated/unchanged."""
    outcome: Counter[str] = Counter()
    for item, boxes in sorted(labels.items()):
        path = box_file(item)
        before = path.read_bytes() if path.exists() else None
        write_boxes(path, boxes)
        if before is None:
            outcome["new"] += 1
        else:
            outcome["updated" if path.read_bytes() != before else "unchanged"] += 1
    write_coco(classes, provenance)
    return outcome


def pull(args: argparse.Namespace) -> None:
    params = load_params()
    classes: list[str] = params["classes"]
    client, url = connect()
    with server_errors(url):
        project = find_project(client)
        if project is None:
            raise StageError(
                f"this project has no Label Studio project on {url} (never pushed, or deleted "
                "there): run `python -m surgical_tool_detector label push` to create it and "
                "send the unlabeled items; labels already pulled stay in data/."
            )
        server_classes = config_classes(project.label_config)
        if server_classes != classes:
            raise StageError(
                f"classes changed since the last push: params.yaml has {classes}, the Label "
                f"Studio project has {server_classes}. Run "
                "`python -m surgical_tool_detector label push` to update the project, then pull "
                "again."
            )
        # JSON, not Label Studio's YOLO or CSV export: those include unlabeled tasks as empty
        # labels and rename files; here every annotation is checked before it is saved.
        exported = json.loads(
            b"".join(
                client.projects.exports.download_sync(
                    project.id, export_type="JSON", download_all_tasks=False
                )
            )
        )
        emails = {user.id: user.email for user in client.users.list()}
    known = set(list_images())
    by_name: dict[str, list[str]] = {}
    for item in sorted(known):
        by_name.setdefault(Path(item).name, []).append(item)
    labels: dict[str, Any] = {}
    provenance: dict[str, dict[str, str]] = {}
    pairs: list[tuple[Any, Any]] = []
    rejected: list[dict[str, Any]] = []
    for task in exported:
        # Skipped tasks and cancelled annotations are not labels; an unlabeled task never
        # becomes an empty label.
        done = [a for a in task.get("annotations", []) if not a.get("was_cancelled")]
        if not done:
            continue
        try:
            item = resolve_item(task["data"], known, by_name)
            chosen = choose_annotation(done)
            labels[item] = parse_result(chosen["result"], classes)
        except ValueError as error:
            item = task["data"].get("item")
            rejected.append({"task": task["id"], "item": item, "reason": str(error)})
            continue
        author = chosen.get("completed_by")
        provenance[item] = {
            "annotator": emails.get(author, f"user {author}"),
            "labeled_at": labeled_at(chosen),
        }
        # Every pair of valid annotations of one item is one comparison between two people.
        valid = []
        for annotation in sorted(done, key=lambda a: a["id"]):
            with contextlib.suppress(ValueError):
                valid.append(parse_result(annotation["result"], classes))
        pairs.extend(itertools.combinations(valid, 2))
    try:
        outcome = save_labels(labels, provenance, classes)
    except ValueError as error:  # coco.json rereads every label file; one was malformed
        raise StageError(f"{error}: fix that file and pull again.") from None
    report = {
        "task": params["task"],
        "classes": classes,
        "project": {"url": url, "id": project.id},
        "labeled_items": len(labels),
        "annotators": dict(sorted(Counter(p["annotator"] for p in provenance.values()).items())),
        "agreement": agreement(pairs, classes),
        "rejected": rejected,
    }
    LABELING_REPORT.parent.mkdir(parents=True, exist_ok=True)
    LABELING_REPORT.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    console.print(
        f"Pulled {len(labels)} labeled items from {url}/projects/{project.id}: "
        f"{outcome['new']} new, {outcome['updated']} updated, {outcome['unchanged']} unchanged; "
        f"{len(pairs)} double annotations compared in {LABELING_REPORT}."
    )
    if rejected:
        first = rejected[0]
        raise StageError(
            f"{len(rejected)} labeled item(s) were not saved (all listed in {LABELING_REPORT}); "
            f"first, task {first['task']}: {first['reason']}. Fix them (annotations at "
            f"{url}/projects/{project.id}) and pull again; the other items were saved."
        )
