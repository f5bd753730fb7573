"""Shared fixtures: run the real `pocgen` CLI, and small templates kept in temporary git repos."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPO_ROOT = Path(__file__).resolve().parents[1]


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """`pytest -m unit` collects tests/unit only. The other modules import what the `test` extra
    installs (torch, gradio, nbformat, playwright...), which the inner loop's environment
    (`pip install -e '.[unit]'`) leaves out on purpose; every unit test lives in tests/unit."""
    if config.getoption("markexpr") != "unit" or collection_path.is_dir():
        return None
    return None if collection_path.is_relative_to(Path(__file__).parent / "unit") else True


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Keep pocgen's snapshot cache out of the user's home; one per test session is enough."""
    monkeypatch.setenv("POCGEN_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "pocgen-cache"))


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def run_pocgen(*args: str | Path, cwd: Path | None = None, env: dict | None = None) -> Result:
    """Run the real CLI in a subprocess, as a user would, without a terminal."""
    completed = subprocess.run(
        [sys.executable, "-m", "pocgen", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})},
        stdin=subprocess.DEVNULL,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


def git(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(folder), *args], capture_output=True, text=True, check=True
    ).stdout


def git_init(folder: Path) -> None:
    git(folder, "init", "--quiet", "--initial-branch=main")
    git(folder, "config", "user.email", "test@example.com")
    git(folder, "config", "user.name", "Test")


def commit_all(folder: Path, message: str, tag: str | None = None) -> None:
    git(folder, "add", "--all")
    git(folder, "commit", "--quiet", "--allow-empty", "-m", message)
    if tag:
        git(folder, "tag", tag)


@pytest.fixture
def versioned_template(tmp_path: Path):
    """A factory: copy a fixture template into a git repo, tag it v1, apply a change, tag v2."""

    def make(name: str, change_v2) -> Path:
        repo = tmp_path / f"{name}-repo"
        shutil.copytree(FIXTURES / name, repo)
        git_init(repo)
        commit_all(repo, "v1", tag="v1")
        change_v2(repo)
        commit_all(repo, "v2", tag="v2")
        return repo

    return make


@pytest.fixture
def files(tmp_path: Path):
    """A project with answers and a README only, written file by file (tests/project_files.py):
    no stage has run yet. The unit tests' starting point."""
    from project_files import ProjectFiles

    return ProjectFiles(tmp_path / "defect-spotter")


@pytest.fixture
def finished(files):
    """A project holding every known artifact."""
    return files.finished()
