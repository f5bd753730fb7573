"""Fixtures shared by the project's tests.

Stages read and write paths relative to the project root, so each test runs in a fresh copy of
the project's settings inside a temporary folder: no test touches your real data or models.
"""

from __future__ import annotations

import importlib
import shutil
import struct
import zlib
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The project's one package: the folder in src/ that `python -m` runs.
PACKAGE = next(path.parent.name for path in (PROJECT_ROOT / "src").glob("*/__main__.py"))
SMOKE_PIPELINE = (
    ["sample", "--smoke"],
    ["split"],
    ["train", "--smoke"],
    ["export"],
    ["evaluate", "--smoke"],
)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder holding only params.yaml, set as the current directory."""
    shutil.copy(PROJECT_ROOT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def exported_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder with a tiny trained, exported and evaluated model, built once per session.

    It runs the project's own smoke pipeline (a tiny slice of the sample data, one short epoch),
    so the demo apps and predictions are tested on a real model in seconds. The stages run in
    this process, as `main([...])` calls, so torch is imported once for the whole test session
    (test_cli checks that `python -m` works as a separate process).
    """
    main = importlib.import_module(f"{PACKAGE}.cli").main  # `from <package>.cli import main`
    root = tmp_path_factory.mktemp("exported")
    shutil.copy(PROJECT_ROOT / "params.yaml", root / "params.yaml")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)  # stages read and write relative to the project root
        for stage in SMOKE_PIPELINE:
            try:
                main(stage)
            except SystemExit as error:  # a StageError: its one line is in the captured stderr
                pytest.fail(f"`{' '.join(stage)}` exited with code {error.code}")
    return root


@pytest.fixture
def exported_workdir(exported_project: Path, workdir: Path) -> Path:
    """A private copy of `exported_project` as the current directory, free to change or break."""
    shutil.copytree(exported_project, workdir, dirs_exist_ok=True)
    return workdir


@pytest.fixture
def decompression_bomb(tmp_path: Path) -> Path:
    """A PNG whose header claims 15000 x 15000 pixels: a few bytes on disk, 225 megapixels (and
    gigabytes of memory) once decoded. Image stages must refuse it in one line."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        checksum = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + checksum

    path = tmp_path / "bomb" / "huge.png"
    path.parent.mkdir()
    header = struct.pack(">IIBBBBB", 15000, 15000, 8, 0, 0, 0, 0)  # 8-bit grayscale
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )
    return path
