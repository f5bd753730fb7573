"""The flagship proves it: a clone of this repository, followed as the flagship's README says,
gets the grade the README states.

examples/surgical-tool-detector/README.md states its `pocgen check` grade and, under *Grade it
yourself*, the commands that give it. This test clones the repository (its committed state, as a
reader gets it), runs those commands in order from the clone, and compares the score `pocgen
check` prints with the one the README states. One liberty is taken, for time only: a line
`python -m venv DIR && DIR/bin/pip install -e SPEC` is done by uv, from the same package
sources pip uses (tests/venvs.py), which gives the same environment in seconds instead of
minutes. Everything else runs as written, with the clone's own pocgen.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import REPO_ROOT
from venvs import fresh_venv

pytestmark = pytest.mark.training

FLAGSHIP = Path("examples") / "surgical-tool-detector"
STEPS = re.compile(r"^### Grade it yourself\n.*?```bash\n(?P<steps>.*?)```", re.S | re.M)
GRADE = re.compile(
    r"\*\*Graded by `pocgen check`\*\*.*?\*\*(?P<score>[\d.]+) of (?P<max>[\d.]+)\*\*", re.S
)
INSTALL = re.compile(
    r"python -m venv (?P<venv>\S+) && (?P=venv)/bin/pip install -e '?(?P<spec>[^'\s]+)'?"
)
SPEC = re.compile(r"(?P<path>[^\[]+)(?:\[(?P<extras>[^\]]*)\])?")


def run_readme_steps(clone: Path, steps: list[str]) -> str:
    """Each step from the clone's root, `cd` followed; the last command's output."""
    where, output = clone, ""
    for step in steps:
        command = step.split("  #")[0].strip()
        if command.startswith("cd "):
            where = (where / command[3:]).resolve()
            continue
        install = INSTALL.fullmatch(command)
        if install:
            spec = SPEC.fullmatch(install["spec"])
            assert spec, f"cannot read the install spec of: {step}"
            fresh_venv(
                where / install["venv"], (where / spec["path"]).resolve(), spec["extras"] or ""
            )
            continue
        completed = subprocess.run(
            command,
            shell=True,
            cwd=where,
            capture_output=True,
            text=True,
            env={
                "PATH": "/usr/bin:/bin",
                "HOME": str(clone.parent),
                "COLUMNS": "200",
                "NO_COLOR": "1",
            },
        )
        output = completed.stdout + completed.stderr
    return output


def test_a_clone_followed_as_its_readme_says_gets_the_grade_it_states(tmp_path: Path) -> None:
    clone = tmp_path / "pocgen"
    subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(clone)], check=True)
    readme = (clone / FLAGSHIP / "README.md").read_text(encoding="utf-8")
    stated, steps = GRADE.search(readme), STEPS.search(readme)
    assert stated and steps, "the flagship's README states no grade, or no steps to check it"
    output = run_readme_steps(clone, steps["steps"].strip().splitlines())
    measured = re.search(r"score (?P<score>[\d.]+) / (?P<max>[\d.]+)", output)
    assert measured, output[-3000:]
    assert (measured["score"], measured["max"]) == (stated["score"], stated["max"]), output[-6000:]
