"""Fixtures shared by the project's tests.

Stages read and write paths relative to the project root, so each test runs in a fresh copy of
the project's settings inside a temporary folder: no test touches your real data or models.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder holding only params.yaml, set as the current directory."""
    shutil.copy(PROJECT_ROOT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path
