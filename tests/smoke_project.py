"""Generated projects holding a real, tiny model, for the deploy, demo and benchmark code.

A project is rendered from the built-in `poc` template, then its own smoke pipeline runs in it:
the generated stages, not a stand-in, so what gets deployed or served is what a user would have
after `make pipeline` (on a tiny slice of the sample data, in seconds).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from known_artifacts import render

# The project's stages in pipeline order; evaluate reads the exported model, so it runs last.
SMOKE_STAGES = (
    ("sample", "--smoke"),
    ("split",),
    ("train", "--smoke"),
    ("export",),
    ("evaluate", "--smoke"),
)


def package_of(project: Path) -> str:
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    return str(answers["package_name"])


def project_env(project: Path) -> dict[str, str]:
    """The environment a project's code runs in: its own src/ importable, no analytics calls."""
    return {
        **os.environ,
        "PYTHONPATH": str(project / "src"),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    }


def run_stage(project: Path, *args: str) -> None:
    """`python -m <package> <stage> ...` in the project; a failure shows the stage's own output."""
    completed = subprocess.run(
        [sys.executable, "-m", package_of(project), *args],
        cwd=project,
        env=project_env(project),
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        output = f"{completed.stdout}\n{completed.stderr}"
        raise AssertionError(f"stage {' '.join(args)} failed:\n{output}")


def smoke_project(dest: Path, **answers: Any) -> Path:
    """Render a project with `answers` and run its smoke pipeline, so it has a model to demo."""
    render(dest, **answers)
    for stage in SMOKE_STAGES:
        run_stage(dest, *stage)
    return dest
