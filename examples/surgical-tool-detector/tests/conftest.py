"""Fixtures shared by the project's tests.

Stages read and write paths relative to the project root, so each test runs in a fresh copy of
the project's settings inside a temporary folder: no test touches your real data or models.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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
    so the demo apps and predictions are tested on a real model in seconds.
    """
    root = tmp_path_factory.mktemp("exported")
    shutil.copy(PROJECT_ROOT / "params.yaml", root / "params.yaml")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")}
    for stage in SMOKE_PIPELINE:
        command = [sys.executable, "-m", PACKAGE, *stage]
        done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{' '.join(stage)} failed:\n{done.stdout}{done.stderr}"
    return root


@pytest.fixture
def exported_workdir(exported_project: Path, workdir: Path) -> Path:
    """A private copy of `exported_project` as the current directory, free to change or break."""
    shutil.copytree(exported_project, workdir, dirs_exist_ok=True)
    return workdir
