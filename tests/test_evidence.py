"""Results bound to their inputs, end to end: a real pipeline records itself, pocgen verifies it.

A text-classification project (its full pipeline takes seconds, so no --smoke: the settings
used are params.yaml's) is run the three ways a user runs it: `make`, `python -m`, and a
notebook. Each writes reports/pipeline.lock through the stages themselves, and pocgen's reader of
that file (tests/unit/test_evidence.py covers each broken link on written files) finds the chain
intact; then the issue's tampering, done for real: an edited metrics file, a setting changed
after the run, a stage rerun on its own, a flag that differs from params.yaml. Each breaks the
chain in one line, and rerunning what the line says repairs it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from known_artifacts import render
from nbclient import NotebookClient
from smoke_project import project_env, run_stage

from pocgen.project import load_project
from pocgen.writeup.run import plan_writeup

pytestmark = pytest.mark.training
METRICS = "reports/metrics.json"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A text project whose whole pipeline ran through `make pipeline` (no --smoke)."""
    project = render(
        tmp_path_factory.mktemp("evidence") / "ticket-router", task="text-classification"
    )
    completed = subprocess.run(
        ["make", "pipeline", f"PYTHON={sys.executable}"],
        cwd=project,
        env=project_env(project),
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return project


@pytest.fixture
def project(made: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(made, tmp_path / made.name))


def withheld(project: Path) -> str | None:
    return load_project(project).results_withheld


def test_make_records_every_stage_and_the_chain_holds(project: Path) -> None:
    loaded = load_project(project)
    assert set(loaded.evidence.stages) == {"validate", "split", "train", "export", "evaluate"}
    assert loaded.results_withheld is None and not loaded.smoke
    assert loaded.evidence.stages["train"].cmd == "python -m defect_spotter train"
    readme = plan_writeup(project).readme_after
    assert "consistent with the committed model, split and settings" in readme
    assert "**Figures not stated.**" not in readme


def test_an_edited_metrics_file_is_caught_and_a_rerun_repairs_it(project: Path) -> None:
    path = project / METRICS
    data = json.loads(path.read_text(encoding="utf-8"))
    data["metrics"][data["headline"]["metric"]] = data["headline"]["value"] = 0.99
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    assert withheld(project) == (
        "reports/metrics.json was changed after `evaluate` wrote it (edited, or replaced by "
        "hand): rerun `python -m defect_spotter evaluate`"
    )
    plan = plan_writeup(project)
    assert "0.990" not in plan.readme_after and "Figures not stated" in plan.readme_after
    run_stage(project, "evaluate")
    assert withheld(project) is None


def test_a_setting_changed_after_the_run(project: Path) -> None:
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    params["seed"] = 1234
    (project / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    reason = withheld(project) or ""
    assert reason.startswith("params.yaml has seed: 1234, but `split` ran with 42")
    reproduce = plan_writeup(project).sections["reproduce"].body
    assert "seed 42" not in reproduce and "not reproducible as they stand" in reproduce
    for stage in ("split", "train", "export", "evaluate"):  # the line's own repair
        run_stage(project, stage)
    assert withheld(project) is None


def test_train_rerun_alone_and_a_flag_that_differs(project: Path) -> None:
    run_stage(project, "train", "--C", "0.5")
    reason = withheld(project) or ""
    assert "params.yaml has train.C: [0.3, 1.0, 3.0, 10.0, 30.0], but `train` ran with [0.5]" in (
        reason
    ), reason
    run_stage(project, "train")  # params.yaml's settings again, but export and evaluate are stale
    assert withheld(project) == (
        "`train` ran again after `evaluate` read reports/training.json: the figures describe "
        "an earlier training run; rerun `python -m defect_spotter export`, then `evaluate`"
    )
    run_stage(project, "export")
    run_stage(project, "evaluate")
    assert withheld(project) is None


def test_a_notebook_records_the_stages_it_runs(project: Path) -> None:
    lock = project / "reports" / "pipeline.lock"
    lock.unlink()
    notebook = nbformat.read(project / "notebooks" / "02-train-evaluate.ipynb", as_version=4)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in project_env(project).items():
            patch.setenv(key, value)
        patch.setenv("MPLBACKEND", "Agg")
        client = NotebookClient(
            notebook,
            timeout=600,
            kernel_name="python3",
            resources={"metadata": {"path": str(project)}},
        )
        client.execute()
    stages = yaml.safe_load(lock.read_text(encoding="utf-8"))["stages"]
    assert {"split", "train", "export", "evaluate"} <= set(stages)
    assert withheld(project) is None  # validate's record is not part of the results' chain
