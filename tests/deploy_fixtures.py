"""The deploy tests' fixtures (loaded with `pytest_plugins`): a trained project and the fake Hub."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fake_hub import FakeHub
from smoke_project import smoke_project


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A text project with both apps and a real smoke model (text trains in seconds)."""
    return smoke_project(
        tmp_path_factory.mktemp("deploy") / "ticket-router",
        task="text-classification",
        project_name="Ticket Router",
        ui="both",
    )


@pytest.fixture
def project(trained: Path, tmp_path: Path) -> Path:
    """A fresh copy per test, so one test's planted secret or deploy record never leaks."""
    return Path(shutil.copytree(trained, tmp_path / "ticket-router", symlinks=True))


@pytest.fixture
def hub():
    with FakeHub() as server:
        yield server
