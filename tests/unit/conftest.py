"""The unit tests' fixtures: a project folder filled file by file (see project_files.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from project_files import ProjectFiles


@pytest.fixture
def files(tmp_path: Path) -> ProjectFiles:
    """A project with answers and a README only: no stage has run yet."""
    return ProjectFiles(tmp_path / "defect-spotter")


@pytest.fixture
def finished(files: ProjectFiles) -> ProjectFiles:
    """A project holding every known artifact."""
    return files.finished()
