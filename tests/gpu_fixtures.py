"""The GPU tests' fixtures (loaded with `pytest_plugins`): a project ready to train and the
"image" the stand-in engines run jobs in (see gpu_helpers)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from gpu_helpers import make_image, ready_to_train


@pytest.fixture(scope="session")
def image_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_image(tmp_path_factory.mktemp("image") / "venv")


@pytest.fixture(scope="module")
def classifier_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An image-classification project with sample data and splits, never run in."""
    return ready_to_train(
        tmp_path_factory.mktemp("gpu") / "defect-spotter",
        task="image-classification",
        project_name="Defect Spotter",
    )


@pytest.fixture
def classifier(classifier_template: Path, tmp_path: Path) -> Path:
    """A fresh copy per test, so one test's record or results never reach another."""
    return Path(shutil.copytree(classifier_template, tmp_path / "defect-spotter", symlinks=True))
