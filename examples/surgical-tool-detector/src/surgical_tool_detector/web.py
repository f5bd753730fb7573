"""The browser demo: app/web/ plus the exported model, as a static site that needs no server code.

The page runs models/model.onnx in the visitor's browser with onnxruntime-web (WebAssembly, CPU),
so it can be hosted for free on a static Hugging Face Space that never sleeps.

    python -m surgical_tool_detector web                 # preview on http://127.0.0.1:8000/
    python -m surgical_tool_detector web --build dist/web  # write the static site into dist/web/

The runtime is the pinned npm package onnxruntime-web. It is downloaded once, checked against
the hash npm publishes for it, and cached like a package manager caches it (in
~/.cache/onnxruntime-web/, or in the folder named by the ORT_WEB_CACHE environment variable);
neither git nor the page's source holds its 14 MB. Every build checks the cached files again
against their pinned hashes, so a cache someone tampered with never reaches the site.

Only two files of the runtime go into a site: its ES-module API (which carries the WebAssembly
glue code inside it) and the compiled runtime, gzipped from 14.2 MB to 3.7 MB. The page unpacks
it with the browser's own DecompressionStream, so visitors download the small file whether or not
the host compresses. downloads.json tells the page each download's size (for an honest progress
bar) and SHA-256 (to check it, and as the key under which the browser keeps it for next time).

A `file://` page cannot load the runtime's module in Chromium, so even the preview is served over
HTTP. Apart from the project's paths in config.py, this file uses only the standard library (no
numpy, no onnxruntime): it copies files, so it starts at once.
"""

from __future__ import annotations

import argparse
import base64
import functools
import gzip
import hashlib
import http.client
import http.server
import io
import json
import os
import shutil
import signal
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from .config import DATA_DIR, LABELS_JSON_FILE, METRICS_FILE, ONNX_FILE, SPLITS_DIR, StageError
from .dataset import read_csv

# app/web/ sits next to src/ in the project, wherever the command runs from.
WEB_DIR = Path(__file__).resolve().parents[2] / "app" / "web"
RUNTIME_VERSION = "1.30.0"
RUNTIME_URL = f"https://registry.npmjs.org/onnxruntime-web/-/onnxruntime-web-{RUNTIME_VERSION}.tgz"
# The tarball's `dist.integrity` on the npm registry: what `npm install` itself checks.
RUNTIME_INTEGRITY = "sha512-q0y+JrrtukXSzsBWEMccVfqX25LRmosXHF+CaRJmg8pZClzcV7svNc4rKY3jL02Vb7QmRMDs1SigqR4CXAfKYQ=="  # noqa: E501
# The files the page needs from the tarball's dist/ folder, each with the sha512 of its content
# (computed from the tarball above), so that the cache can be checked at every build.
RUNTIME_FILES = {
    "ort.wasm.bundle.min.mjs": (
        "sha512-1KcF8CWAZeqtTcvLgKPtOMXIbkWeh++LDCQpDhQ5ARVxHAL1VNL5rr0OI+MxTbmNIANldE/A/q+O4gSKgSMjWQ=="
    ),
    "ort-wasm-simd-threaded.wasm": (
        "sha512-Gt7e1iIDIZ/PXEhM/OVleqWHVom0kEI/hs8cod0crXcV9jDGM39B23HuQnlOOgDOC3x4k5pxIgtdgzaL9up3MA=="
    ),
}
# The .wasm is cached and shipped gzipped: a quarter of the size, and the page unpacks it.
GZIPPED = ("ort-wasm-simd-threaded.wasm",)
CACHE_ENV = "ORT_WEB_CACHE"
MAX_EXAMPLES = 8
# Browsers load module scripts and compile WebAssembly fastest only with these content types.
CONTENT_TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm"}
# Temporary folders carry the process id, so a later run can tell a killed run's leftovers (its
# process is gone) from a build still running next to it.
DOWNLOAD_PREFIX = ".download-"
BUILD_PREFIX = ".web-build-"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--build",
        type=Path,
        metavar="DIR",
        help="write the static site into DIR (absent or empty) instead of serving a preview",
    )
    parser.add_argument("--port", type=int, default=8000, help="preview port on 127.0.0.1")


def cache_dir() -> Path:
    """Where the runtime files are kept between builds, one folder per version.

    The folder name says "gzip": projects built from older templates keep the plain files in a
    folder named by the version alone, and the two never replace each other's files.
    """
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "onnxruntime-web"
    return Path(root) / f"{RUNTIME_VERSION}-gzip"


def stored_name(name: str) -> str:
    """A runtime file's name in the cache and in the site: gzipped ones end in .gz."""
    return f"{name}.gz" if name in GZIPPED else name


def integrity(data: bytes) -> str:
    """A file's hash in npm's notation: sha512-<base64>."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def content(path: Path) -> bytes | None:
    """A cached runtime file's original bytes (unpacked if gzipped), or None if unreadable."""
    try:
        data = path.read_bytes()
        return gzip.decompress(data) if path.suffix == ".gz" else data
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile):
        return None


def cache_is_intact(folder: Path) -> bool:
    """Whether every runtime file is in the cache with the content its pinned hash names."""
    for name, expected in RUNTIME_FILES.items():
        data = content(folder / stored_name(name))
        if data is None or integrity(data) != expected:
            return False
    return True


def remove_leftovers(folder: Path, prefix: str) -> None:
    """Delete temporary folders that a killed run left in `folder` (their process is gone)."""
    if not folder.is_dir():
        return
    for path in folder.glob(f"{prefix}*"):
        pid = path.name.removeprefix(prefix).split("-")[0]
        if pid.isdigit() and not process_is_running(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def process_is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def download_runtime() -> bytes:
    """The npm tarball, checked against its published hash; one line on any failure."""
    try:
        with urllib.request.urlopen(RUNTIME_URL, timeout=60) as response:
            tarball = response.read()
    except http.client.IncompleteRead as error:
        reason = f"the download stopped after {len(error.partial):,} bytes"
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        reason = str(getattr(error, "reason", None) or error or type(error).__name__)
    else:
        if integrity(tarball) == RUNTIME_INTEGRITY:
            return tarball
        raise StageError(
            f"the onnxruntime-web tarball from {RUNTIME_URL} does not match its published hash "
            "(cut short, or rewritten on the way); nothing was cached. Build again, or check "
            "for a proxy that rewrites downloads."
        )
    raise StageError(
        f"cannot download onnxruntime-web {RUNTIME_VERSION} from {RUNTIME_URL} ({reason}); "
        "check the connection and build again."
    )


def runtime_files() -> Path:
    """The cache folder holding the runtime files, checked; downloaded first if missing or wrong."""
    folder = cache_dir()
    if cache_is_intact(folder):
        return folder
    tarball = download_runtime()
    folder.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(folder.parent, DOWNLOAD_PREFIX)
    # Extract next to the cache and rename, so an interrupted download never leaves half a cache.
    staging = Path(tempfile.mkdtemp(prefix=f"{DOWNLOAD_PREFIX}{os.getpid()}-", dir=folder.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
            for name in RUNTIME_FILES:
                data = archive.extractfile(f"package/dist/{name}").read()
                packed = gzip.compress(data, compresslevel=9, mtime=0) if name in GZIPPED else data
                (staging / stored_name(name)).write_bytes(packed)
        if not cache_is_intact(staging):
            raise StageError(
                f"the onnxruntime-web {RUNTIME_VERSION} files differ from the hashes pinned in "
                f"{Path(__file__).name}; update RUNTIME_FILES together with RUNTIME_VERSION."
            )
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
    rows = read_csv(SPLITS_DIR / "test.csv")
    by_class: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_class.setdefault(row.get("label", ""), []).append(row)
    queues = list(by_class.values())
    picked: list[dict[str, str]] = []
    while len(picked) < MAX_EXAMPLES and any(queues):
        picked += [queue.pop(0) for queue in queues if queue]
    return picked[:MAX_EXAMPLES]


def write_examples(site: Path) -> None:
    """examples.json: [{"input"}], each input what window.pocgen.predict takes.

    Neither the file names nor the list carry the label: a visitor should not see the answer
    before the model gives it. A photo is written again from its pixels: the site is public,
    and a visitor needs neither the phone's EXIF (maker, time, GPS position) nor any other
    metadata.
    """
    listed = []
    from .images import open_image  # here: numpy only when a site with photos is built

    for number, row in enumerate(pick_examples(), start=1):
        source = inside_data(row["path"])
        name = f"examples/{number:02d}{source.suffix.lower()}"
        (site / "examples").mkdir(exist_ok=True)
        open_image(source).image.save(site / name, quality=95)  # pixels only: no EXIF, GPS, XMP
        listed.append({"input": name})
    (site / "examples.json").write_text(json.dumps(listed, indent=2) + "\n", encoding="utf-8")


def download_entry(site: Path, name: str) -> dict[str, object]:
    """What the page needs to fetch one file: its path, size and SHA-256 (its cache key).

    For a gzipped file, also the size and hash it has unpacked: a host may unpack .gz files
    itself (Content-Encoding: gzip), and the page must then check what it received.
    """
    data = (site / name).read_bytes()
    entry: dict[str, object] = {"path": name, "bytes": len(data)}
    entry["sha256"] = hashlib.sha256(data).hexdigest()
    if name.endswith(".gz"):
        unpacked = gzip.decompress(data)
        entry["unpacked_bytes"] = len(unpacked)
        entry["unpacked_sha256"] = hashlib.sha256(unpacked).hexdigest()
    return entry


def write_downloads(site: Path) -> None:
    """downloads.json: the runtime and the model, the two large files the page fetches itself."""
    listing = {
        "runtime": download_entry(site, f"ort/{stored_name(GZIPPED[0])}"),
        "model": download_entry(site, "models/model.onnx"),
    }
    (site / "downloads.json").write_text(json.dumps(listing, indent=2) + "\n", encoding="utf-8")


def build(destination: Path) -> Path:
    """Write the complete site into `destination`; on any error nothing is left behind."""
    if not ONNX_FILE.exists() or not LABELS_JSON_FILE.exists():
        raise StageError(f"{ONNX_FILE} not found: run `python -m {__package__} export` first.")
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise StageError(f"{destination} is not an empty folder: name a new or empty one.")
    runtime = runtime_files()
    destination.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(destination.parent, BUILD_PREFIX)
    staging = Path(tempfile.mkdtemp(prefix=f"{BUILD_PREFIX}{os.getpid()}-", dir=destination.parent))
    try:
        shutil.copytree(WEB_DIR, staging, dirs_exist_ok=True)
        (staging / "ort").mkdir()
        for name in RUNTIME_FILES:
            shutil.copyfile(runtime / stored_name(name), staging / "ort" / stored_name(name))
        (staging / "models").mkdir()
        shutil.copyfile(ONNX_FILE, staging / "models" / "model.onnx")
        shutil.copyfile(LABELS_JSON_FILE, staging / "models" / "labels.json")
        if METRICS_FILE.exists():  # the About panel says "no metrics yet" without it
            (staging / "reports").mkdir()
            shutil.copyfile(METRICS_FILE, staging / "reports" / "metrics.json")
        write_examples(staging)
        write_downloads(staging)
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


def stop(signum: int, frame: object) -> None:
    """`kill` stops the command the way Ctrl+C does, so its temporary files are removed."""
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> None:
    signal.signal(signal.SIGTERM, stop)
    if args.build is None:
        preview(args.port)
        return
    site = build(args.build)
    print(f"Wrote the browser demo to {site}/; preview it with `python -m {__package__} web`.")
