"""The reports the template's stages really write keep the schemas the template ships.

For each task a project is rendered and its own smoke pipeline runs (`sample`, `validate`,
`split`, `train`, `export`, `evaluate`, the generated code, not a stand-in); every report is
validated against its schema closed to unknown keys, so a stage that renames, drops or adds a
field fails here until the schema (and pocgen's records) follow. pocgen then reads the project,
which parses each report into its typed record, and plans a writeup from it. labels.json is
checked where a real Label Studio writes it (test_labeling.py), deploy.json where pocgen writes it
(tests/unit/test_deploy_logic.py). reports/pipeline.lock, which every stage extends, keeps its
schema too, and binds the reports to what made them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from report_schemas import strict_problem
from smoke_project import run_stage, smoke_project

from pocgen.project import load_project
from pocgen.writeup.run import plan_writeup

pytestmark = pytest.mark.training

TASKS = ("image-classification", "object-detection", "text-classification")
REPORTS = {
    "metrics": "reports/metrics.json",
    "training": "reports/training.json",
    "data_quality": "reports/data_quality.json",
}


@pytest.fixture(scope="module", params=TASKS)
def pipeline(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = smoke_project(tmp_path_factory.mktemp("reports") / "tray-check", task=request.param)
    run_stage(project, "validate", "--smoke")
    return project


@pytest.mark.parametrize("name", REPORTS)
def test_each_report_keeps_its_schema(pipeline: Path, name: str) -> None:
    data = json.loads((pipeline / REPORTS[name]).read_text(encoding="utf-8"))
    assert strict_problem(data, name) is None


def test_an_experiment_copy_keeps_the_metrics_schema(pipeline: Path) -> None:
    experiments = pipeline / "reports" / "experiments"
    experiments.mkdir(exist_ok=True)
    shutil.copy(pipeline / REPORTS["metrics"], experiments / "smoke.json")
    data = json.loads((experiments / "smoke.json").read_text(encoding="utf-8"))
    assert strict_problem(data, "experiments") is None


def test_pocgen_reads_the_reports_into_records(pipeline: Path) -> None:
    project = load_project(pipeline)
    assert project.metrics is not None and project.training is not None
    assert project.quality is not None and project.smoke  # a smoke run, recorded as such
    assert project.metrics.task == project.task and project.metrics.headline.metric
    assert project.quality.items > 0 and project.training.seed == project.seed
    plan = plan_writeup(pipeline)
    assert "model" not in plan.waiting and "results" not in plan.waiting


def test_the_lock_keeps_its_schema_and_binds_each_report(pipeline: Path) -> None:
    lock = yaml.safe_load((pipeline / "reports" / "pipeline.lock").read_text(encoding="utf-8"))
    assert strict_problem(lock, "pipeline_lock") is None
    project = load_project(pipeline)
    assert set(project.evidence.stages) == {"validate", "split", "train", "export", "evaluate"}
    assert project.withheld("quality") is None
    # The smoke run's own settings (one short epoch, a tiny model) are all that differ from
    # params.yaml: the chain holds everywhere else, and a smoke run is never reported anyway.
    broken = project.evidence.broken(REPORTS["metrics"])
    assert broken and all("but `train` ran with" in line for line in broken), broken
    assert project.evidence.drift(REPORTS["metrics"]) == []
