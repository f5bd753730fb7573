"""What the GPU test files share: the "image" the stand-in engines run jobs in, a project ready
to train in seconds, and running `pocgen gpu` against the stand-ins.

The image is a virtualenv with no packages of its own that sees this environment's through a
`.pth` file: a job's `pip install -e .` finds every dependency already there and installs only the
project, into the image, never into the test environment (a container would be as isolated).
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import yaml
from conftest import Result, run_pocgen
from known_artifacts import render
from smoke_project import run_stage

from pocgen.gpu.record import RECORD_FILE

# Training settings that make a job take seconds: one epoch, tiny images, no pretrained weights
# (they cannot be downloaded here), a short bootstrap.
SECONDS_SETTINGS = {
    "train": {"epochs": 1, "input_size": 32, "pretrained": "false"},
    "evaluate": {"bootstrap": 50},
}


def make_image(folder: Path) -> Path:
    """A virtualenv whose `python` sees this environment's packages; returns its bin folder."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = folder / "lib" / version / "site-packages"
    (site / "test-environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return folder / "bin"


def ready_to_train(dest: Path, **answers) -> Path:
    """Render a project, give it the sample data and its splits, and make training take seconds."""
    render(dest, **answers)
    run_stage(dest, "sample", "--smoke")
    run_stage(dest, "split")
    params_file = dest / "params.yaml"
    params = yaml.safe_load(params_file.read_text(encoding="utf-8"))
    for section, values in SECONDS_SETTINGS.items():
        if section in params:
            params[section].update(
                {key: value for key, value in values.items() if key in params[section]}
            )
    params_file.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    return dest


def gpu(project: Path, *args: str, env: dict | None = None) -> Result:
    return run_pocgen("gpu", *args, project, env=env)


def record_of(project: Path) -> dict:
    return json.loads((project / RECORD_FILE).read_text(encoding="utf-8"))


def project_files(project: Path) -> dict[str, bytes]:
    """Every file of the project except pocgen's own state, for before/after comparisons."""
    return {
        path.relative_to(project).as_posix(): path.read_bytes()
        for path in sorted(project.rglob("*"))
        if path.is_file() and not path.relative_to(project).as_posix().startswith(".pocgen/")
    }
