"""Figures bound to the artifacts that made them: reports/pipeline.lock (or dvc.lock), verified.

Each case is the issue's: a figure that could be had without the work, and what it becomes. The
lock is written by tests/known_artifacts.write_lock, independently of the template's writer (the
two meet in tests/test_evidence.py, on a real pipeline).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml
from project_files import ProjectFiles

from pocgen.evidence import content_md5, read_evidence
from pocgen.writeup import outputs, sections

pytestmark = pytest.mark.unit
METRICS = "reports/metrics.json"


def edit_json(files: ProjectFiles, relative: str, **changes: object) -> None:
    """Change a report by hand, as a person would, after its stage wrote it."""
    path = files.root / relative
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


@pytest.fixture
def bound(finished: ProjectFiles) -> ProjectFiles:
    """The finished project with params.yaml and a model, every stage recorded on them."""
    finished.write("params.yaml", "seed: 42\ntrain:\n  epochs: 12\n  lr: 0.003\n")
    finished.write("models/model.onnx", "onnx bytes")
    return finished.lock()


def test_an_intact_chain_states_its_figures(bound: ProjectFiles) -> None:
    project = bound.load()
    assert project.evidence.lock == "reports/pipeline.lock"
    assert project.results_withheld is None and project.headline is not None
    assert project.evidence.broken(METRICS) == []
    body = sections.reproduce(project).body
    assert "consistent with the committed model, split and settings" in body
    assert "produced by" not in body


def test_an_edited_metrics_file_is_never_stated(bound: ProjectFiles) -> None:
    """Today: accuracy 0.000 -> 0.91 by hand passes a course pack and the resume says "meeting
    the target". Now: the figure is withheld everywhere, in one line naming the edit."""
    edit_json(bound, METRICS, metrics={"accuracy": 0.91, "macro_f1": 0.9})
    project = bound.load()
    assert project.results_withheld == (
        "reports/metrics.json was changed after `evaluate` wrote it (edited, or replaced by "
        "hand): rerun `python -m defect_spotter evaluate`"
    )
    assert project.headline is None and project.target_met is None
    results = sections.results(project).body
    assert results.startswith("> **Figures not stated.** Reports/metrics.json was changed")
    assert "0.91" not in results and "0.873" not in results
    assert outputs.resume_bullets(project) == []
    assert "0.91" not in outputs.model_card(project, "") and "0.91" not in (
        outputs.blog_post(project, "") or ""
    )


def test_params_changed_since_the_run(bound: ProjectFiles) -> None:
    """Today: seed 42 -> 1234 after the run, and Reproduce still promises seed 42."""
    bound.write("params.yaml", "seed: 1234\ntrain:\n  epochs: 12\n  lr: 0.003\n")
    project = bound.load()
    assert (project.results_withheld or "").startswith(
        "params.yaml has seed: 1234, but `split` ran with 42 (changed since the run, or a "
        "command-line flag): rerun `python -m defect_spotter split`, then `train`, `export` and "
        "`evaluate`"
    )
    reproduce = sections.reproduce(project).body
    assert "seed 42" not in reproduce and "not reproducible as they stand" in reproduce


def test_a_setting_changed_in_a_section_names_the_stage(bound: ProjectFiles) -> None:
    bound.write("params.yaml", "seed: 42\ntrain:\n  epochs: 30\n  lr: 0.003\n")
    assert bound.load().results_withheld == (
        "params.yaml has train.epochs: 30, but `train` ran with 12 (changed since the run, or a "
        "command-line flag): rerun `python -m defect_spotter train`, then `export` and "
        "`evaluate`"
    )
    bound.write("params.yaml", "seed: 42\ntrain:\n  epochs: 12\n  lr: 0.003\n  dropout: 0.5\n")
    assert "train.dropout: 0.5, which `train` did not run with" in (
        bound.load().results_withheld or ""
    )


def test_a_replaced_model(bound: ProjectFiles) -> None:
    bound.write("models/model.onnx", "another model")
    assert bound.load().results_withheld == (
        "models/model.onnx was changed after `export` wrote it (edited, or replaced by hand): "
        "rerun `python -m defect_spotter export`, then `evaluate`"
    )


def test_train_rerun_without_evaluate(bound: ProjectFiles) -> None:
    bound.report("training", seconds=99.0)  # train ran again: its record follows, evaluate's not
    lock = yaml.safe_load((bound.root / "reports/pipeline.lock").read_text(encoding="utf-8"))
    old = hashlib.md5(b"an earlier training.json").hexdigest()
    for dep in lock["stages"]["evaluate"]["deps"]:
        if dep["path"] == "reports/training.json":
            dep["md5"] = old
    (bound.root / "reports/pipeline.lock").write_text(yaml.safe_dump(lock), encoding="utf-8")
    assert bound.load().results_withheld == (
        "`train` ran again after `evaluate` read reports/training.json: the figures describe an "
        "earlier training run; rerun `python -m defect_spotter export`, then `evaluate`"
    )


def test_a_stage_run_outside_the_pipeline(bound: ProjectFiles) -> None:
    (bound.root / "reports/pipeline.lock").unlink()
    withheld = bound.load().results_withheld or ""
    assert withheld.startswith("no reports/pipeline.lock: nothing binds reports/metrics.json")
    bound.lock()
    lock = yaml.safe_load((bound.root / "reports/pipeline.lock").read_text(encoding="utf-8"))
    del lock["stages"]["train"]
    (bound.root / "reports/pipeline.lock").write_text(yaml.safe_dump(lock), encoding="utf-8")
    assert (bound.load().results_withheld or "").startswith(
        "no record of the stage that wrote reports/training.json in reports/pipeline.lock"
    )


def test_a_malformed_lock_is_one_line(bound: ProjectFiles) -> None:
    bound.write("reports/pipeline.lock", "schema: '2.0'\nstages:\n  train: {deps: []}\n")
    assert (bound.load().results_withheld or "").startswith(
        "reports/pipeline.lock is malformed: 'cmd' is a required property"
    )


def test_files_not_in_this_copy_are_unchecked_not_broken(bound: ProjectFiles) -> None:
    """A clone has no checkpoint and no data: the records still hold each other together."""
    shutil.rmtree(bound.root / "data")
    project = bound.load()
    assert project.results_withheld is None
    unchecked = project.evidence.unchecked(METRICS)
    assert "models/model.pt" in unchecked and "data/splits/test.csv" in unchecked


def test_a_changed_split_breaks_new_data_does_not(bound: ProjectFiles) -> None:
    bound.write("data/manifest.csv", "item,source\nnew.jpg,folder\n")
    project = bound.load()
    assert project.results_withheld is None  # new data is not in the results yet: a note
    assert project.evidence.drift(METRICS) == ["data/manifest.csv changed since `split` ran"]
    bound.write("data/splits/test.csv", "path,label,group\nx.jpg,ok,g\n")
    assert (bound.load().results_withheld or "").startswith(
        "data/splits/test.csv was changed after `split` wrote it"
    )


def test_dvc_lock_is_read_the_same_way(bound: ProjectFiles) -> None:
    """A project run with DVC: dvc.lock, its params as dotted keys, no pipeline.lock."""
    lock = yaml.safe_load((bound.root / "reports/pipeline.lock").read_text(encoding="utf-8"))
    for stage in lock["stages"].values():
        stage["params"]["params.yaml"] = {"train.epochs": 12} if "train" in stage["cmd"] else {}
    (bound.root / "dvc.lock").write_text(yaml.safe_dump(lock), encoding="utf-8")
    (bound.root / "reports/pipeline.lock").unlink()
    project = bound.load()
    assert project.evidence.lock == "dvc.lock" and project.results_withheld is None
    bound.write("params.yaml", "seed: 42\ntrain:\n  epochs: 13\n  lr: 0.003\n")
    assert "train.epochs: 13, but `train` ran with 12" in (bound.load().results_withheld or "")


def test_folder_hashes_are_dvcs(tmp_path: Path) -> None:
    """A folder's md5: the md5 of the JSON list of {md5, relpath} sorted by path, plus `.dir`
    (dvc-data's formula); compiled files are left out, as the template's writer does."""
    folder = tmp_path / "src"
    (folder / "pkg").mkdir(parents=True)
    (folder / "pkg" / "a.py").write_text("a = 1\n")
    (folder / "b.py").write_text("b = 2\n")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "b.pyc").write_bytes(b"\0")
    entries = [
        {"md5": hashlib.md5(b"b = 2\n").hexdigest(), "relpath": "b.py"},
        {"md5": hashlib.md5(b"a = 1\n").hexdigest(), "relpath": "pkg/a.py"},
    ]
    expected = hashlib.md5(json.dumps(entries, sort_keys=True).encode()).hexdigest() + ".dir"
    assert content_md5(folder) == expected


def test_settings_used_are_what_the_stages_recorded(bound: ProjectFiles) -> None:
    used = read_evidence(bound.root, "defect_spotter").settings_used()
    assert used["train.epochs"] == 12 and used["seed"] == 42
