"""`web`: the static browser demo's layout, its runtime cache, its preview server and its errors.

These tests run offline: the onnxruntime-web runtime comes from a stand-in cache or a stand-in
tarball whose hash the test computes, so only the download itself is not exercised here.
"""

import base64
import csv
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import tarfile
import urllib.request
from pathlib import Path

import pytest

from surgical_tool_detector import web
from surgical_tool_detector.cli import main

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def runtime_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache that already holds the runtime files (tiny stand-ins), as after a first build."""
    cache = tmp_path / "ort-cache"
    monkeypatch.setenv(web.CACHE_ENV, str(cache))
    folder = web.cache_dir()
    folder.mkdir(parents=True)
    for name in web.RUNTIME_FILES:
        (folder / name).write_text(f"// stand-in for {name}\n")
    return folder


def fake_tarball(tmp_path: Path) -> Path:
    """An npm-style tarball holding the runtime files under package/dist/."""
    path = tmp_path / "onnxruntime-web.tgz"
    with tarfile.open(path, "w:gz") as archive:
        for name in web.RUNTIME_FILES:
            data = f"// {name}\n".encode()
            member = tarfile.TarInfo(f"package/dist/{name}")
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    return path


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_build_writes_the_complete_site(exported_workdir, runtime_cache):
    main(["web", "--build", "site"])

    site = Path("site")
    for name in ["index.html", "page.js", "model.js", "style.css", "examples.json",
                 "models/model.onnx", "models/labels.json", "reports/metrics.json"]:
        assert (site / name).is_file(), name
    assert sorted(p.name for p in (site / "ort").iterdir()) == sorted(web.RUNTIME_FILES)
    assert (site / "models/model.onnx").read_bytes() == Path("models/model.onnx").read_bytes()
    examples = json.loads((site / "examples.json").read_text())
    assert 0 < len(examples) <= web.MAX_EXAMPLES
    for example in examples:
        assert (site / example["input"]).is_file()
    assert len(list((site / "examples").iterdir())) == len(examples)
    index = (site / "index.html").read_text()
    assert "ort/ort.wasm.min.js" in index and "page.js" in index


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
    assert "run `python -m surgical_tool_detector export`" in error_line(capsys)
    assert not Path("site").exists()


def test_build_refuses_a_folder_that_is_not_empty(exported_workdir, runtime_cache, capsys):
    Path("site").mkdir()
    Path("site/mine.txt").write_text("keep me")

    with pytest.raises(SystemExit):
        main(["web", "--build", "site"])

    assert "not an empty folder" in error_line(capsys)
    assert Path("site/mine.txt").read_text() == "keep me"


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
    assert not [p for p in Path(".").iterdir() if p.name.startswith(".web-")]


def test_runtime_is_downloaded_checked_and_cached(tmp_path, monkeypatch):
    tarball = fake_tarball(tmp_path)
    digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    monkeypatch.setenv(web.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(web, "RUNTIME_URL", tarball.as_uri())
    monkeypatch.setattr(web, "RUNTIME_INTEGRITY", f"sha512-{digest}")

    folder = web.runtime_files()

    assert sorted(p.name for p in folder.iterdir()) == sorted(web.RUNTIME_FILES)
    tarball.unlink()  # a second build needs no download
    assert web.runtime_files() == folder


def test_a_tarball_with_the_wrong_hash_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(web.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(web, "RUNTIME_URL", fake_tarball(tmp_path).as_uri())

    with pytest.raises(web.StageError, match="does not match its published hash"):
        web.runtime_files()
    assert not web.cache_dir().exists()


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
        "import sys; from surgical_tool_detector import cli, web; "
        "print(sorted({'numpy', 'onnxruntime', 'torch'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")},
    )
    assert result.stdout.strip() == "[]"


def test_preview_serves_the_site_on_loopback(exported_workdir, runtime_cache):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "surgical_tool_detector", "web", "--port", str(port)],
        stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")},
    )
    try:
        assert f"http://127.0.0.1:{port}/" in server.stdout.readline()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as response:
            assert b"ort/ort.wasm.min.js" in response.read()
        module = f"http://127.0.0.1:{port}/ort/ort-wasm-simd-threaded.mjs"
        with urllib.request.urlopen(module) as response:
            assert response.headers["Content-Type"] == "text/javascript"
    finally:
        server.terminate()
        server.wait(timeout=10)
