"""The browser demo: app/web/ plus the exported model, as a static site that needs no server code.

The page runs models/model.onnx in the visitor's browser with onnxruntime-web (WebAssembly, CPU),
so it can be hosted for free on a static Hugging Face Space that never sleeps.

    python -m surgical_tool_detector web                 # preview on http://127.0.0.1:8000/
    python -m surgical_tool_detector web --build dist/web  # write the static site into dist/web/

The runtime is the pinned npm package onnxruntime-web. It is downloaded once, checked against
the hash npm publishes for it, and cached like a package manager caches it (in
~/.cache/onnxruntime-web/, or in the folder named by the ORT_WEB_CACHE environment variable);
neither git nor the page's source holds its 14 MB. Only the three files of the WebAssembly CPU
path are copied into a site, never the much larger WebGPU build.

A `file://` page cannot load the runtime's module in Chromium, so even the preview is served over
HTTP. Apart from the project's paths in config.py, this file uses only the standard library (no
numpy, no onnxruntime): it copies files, so it starts at once.
"""

from __future__ import annotations

import argparse
import base64
import csv
import functools
import hashlib
import http.server
import io
import json
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from .config import DATA_DIR, LABELS_JSON_FILE, METRICS_FILE, ONNX_FILE, SPLITS_DIR, StageError

# app/web/ sits next to src/ in the project, wherever the command runs from.
WEB_DIR = Path(__file__).resolve().parents[2] / "app" / "web"
RUNTIME_VERSION = "1.30.0"
RUNTIME_URL = (
    f"https://registry.npmjs.org/onnxruntime-web/-/onnxruntime-web-{RUNTIME_VERSION}.tgz"
)
# The tarball's `dist.integrity` on the npm registry: what `npm install` itself checks.
RUNTIME_INTEGRITY = (
    "sha512-q0y+JrrtukXSzsBWEMccVfqX25LRmosXHF+CaRJmg8pZClzcV7svNc4rKY3jL02Vb7QmRMDs1SigqR4CXAfKYQ=="
)
# The WebAssembly CPU path only: the loader script, its worker module and the compiled runtime.
RUNTIME_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
CACHE_ENV = "ORT_WEB_CACHE"
MAX_EXAMPLES = 8
# Browsers load module scripts and compile WebAssembly fastest only with these content types.
CONTENT_TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--build", type=Path, metavar="DIR",
        help="write the static site into DIR (absent or empty) instead of serving a preview",
    )
    parser.add_argument("--port", type=int, default=8000, help="preview port on 127.0.0.1")


def cache_dir() -> Path:
    """Where the runtime files are kept between builds, one folder per version."""
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "onnxruntime-web"
    return Path(root) / RUNTIME_VERSION


def runtime_files() -> Path:
    """The folder holding RUNTIME_FILES, downloading and checking the npm tarball if needed."""
    folder = cache_dir()
    if all((folder / name).is_file() for name in RUNTIME_FILES):
        return folder
    try:
        with urllib.request.urlopen(RUNTIME_URL, timeout=60) as response:
            tarball = response.read()
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise StageError(
            f"cannot download onnxruntime-web {RUNTIME_VERSION} from {RUNTIME_URL} ({reason}); "
            f"check the connection, or put {', '.join(RUNTIME_FILES)} in {folder}."
        ) from None
    digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    if digest != RUNTIME_INTEGRITY:
        raise StageError(
            f"the onnxruntime-web tarball from {RUNTIME_URL} does not match its published hash; "
            "nothing was cached. Retry later, or check for a proxy that rewrites downloads."
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Extract next to the cache and rename, so an interrupted download never leaves half a cache.
    staging = Path(tempfile.mkdtemp(prefix=".download-", dir=folder.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
            for name in RUNTIME_FILES:
                (staging / name).write_bytes(archive.extractfile(f"package/dist/{name}").read())
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def inside_data(path: str) -> Path:
    """`path` from a split file, refused unless it lies inside data/ (the site is public)."""
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(DATA_DIR.resolve()) or not resolved.is_file():
        raise StageError(
            f"example {path} in {SPLITS_DIR / 'test.csv'} is not a file inside {DATA_DIR}/; "
            "run `split` again."
        )
    return resolved


def pick_examples() -> list[dict[str, str]]:
    """Up to MAX_EXAMPLES rows of the test split, one per class in turn, so visitors see variety."""
    split = SPLITS_DIR / "test.csv"
    if not split.exists():
        return []
    with split.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    by_class: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_class.setdefault(row.get("label", ""), []).append(row)
    queues = list(by_class.values())
    picked: list[dict[str, str]] = []
    while len(picked) < MAX_EXAMPLES and any(queues):
        picked += [queue.pop(0) for queue in queues if queue]
    return picked[:MAX_EXAMPLES]


def write_examples(site: Path) -> None:
    """examples.json: [{"input", "label"}], each input what window.pocgen.predict takes."""
    listed = []
    for number, row in enumerate(pick_examples()):
        source = inside_data(row["path"])
        name = f"examples/{number:02d}-{source.name}"
        (site / "examples").mkdir(exist_ok=True)
        shutil.copyfile(source, site / name)
        listed.append({"input": name, "label": row.get("label", "")})
    (site / "examples.json").write_text(json.dumps(listed, indent=2) + "\n", encoding="utf-8")


def build(destination: Path) -> Path:
    """Write the complete site into `destination`; on any error nothing is left behind."""
    if not ONNX_FILE.exists() or not LABELS_JSON_FILE.exists():
        raise StageError(
            f"{ONNX_FILE} not found: run `python -m surgical_tool_detector export` first."
        )
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise StageError(f"{destination} is not an empty folder: name a new or empty one.")
    runtime = runtime_files()
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".web-", dir=destination.parent))
    try:
        shutil.copytree(WEB_DIR, staging, dirs_exist_ok=True)
        (staging / "ort").mkdir()
        for name in RUNTIME_FILES:
            shutil.copyfile(runtime / name, staging / "ort" / name)
        (staging / "models").mkdir()
        shutil.copyfile(ONNX_FILE, staging / "models" / "model.onnx")
        shutil.copyfile(LABELS_JSON_FILE, staging / "models" / "labels.json")
        if METRICS_FILE.exists():  # the About panel says "no metrics yet" without it
            (staging / "reports").mkdir()
            shutil.copyfile(METRICS_FILE, staging / "reports" / "metrics.json")
        write_examples(staging)
        if destination.exists():
            destination.rmdir()
        staging.rename(destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return destination


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the built site with the content types browsers insist on for modules and wasm."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **CONTENT_TYPES}

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per file would bury the URL


def preview(port: int) -> None:
    """Build the site into a temporary folder and serve it on 127.0.0.1 until Ctrl+C."""
    with tempfile.TemporaryDirectory(prefix="web-preview-") as folder:
        site = build(Path(folder) / "site")
        handler = functools.partial(SiteHandler, directory=str(site))
        try:
            server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        except OSError as error:
            message = f"cannot serve on port {port} ({error.strerror}); choose another with --port."
            raise StageError(message) from None
        with server:
            print(f"Browser demo at http://127.0.0.1:{port}/ (Ctrl+C stops it)", flush=True)
            server.serve_forever()


def run(args: argparse.Namespace) -> None:
    if args.build is None:
        preview(args.port)
        return
    site = build(args.build)
    print(
        f"Wrote the browser demo to {site}/; "
        "preview it with `python -m surgical_tool_detector web`."
    )
