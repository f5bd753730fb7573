"""The facts every command states are derived once, in `Project`, from the typed records."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from known_artifacts import METRICS, TRAINING
from project_files import ProjectFiles

from pocgen.errors import PocgenError
from pocgen.project import load_project, project_python

pytestmark = pytest.mark.unit


def test_who_the_project_is(files: ProjectFiles) -> None:
    project = files.load()
    assert (project.name, project.package, project.task) == (
        "Defect Spotter",
        "defect_spotter",
        "image-classification",
    )
    assert project.classes == ["ok", "defect"] and project.image_task
    assert project.item_word == "images" and not project.demo
    assert project.command("train") == "python -m defect_spotter train"
    assert project.command("pocgen deploy") == "pocgen deploy"
    assert project.report_command("labels") == "python -m defect_spotter label pull"


def test_a_text_project_speaks_of_texts(files: ProjectFiles) -> None:
    project = files.answers(task="text-classification").load()
    assert not project.image_task and project.item_word == "texts"


def test_without_answers_for_them_the_names_come_from_the_folder_and_metrics(
    files: ProjectFiles,
) -> None:
    files.answers(project_name=None, package_name=None, task=None, classes=None)
    files.report("metrics")
    project = files.load()
    assert (project.name, project.package) == ("defect-spotter", "defect_spotter")
    assert project.task == "image-classification" and project.classes == ["ok", "defect"]


def test_not_a_project(tmp_path: Path) -> None:
    with pytest.raises(PocgenError, match="is not a pocgen project"):
        load_project(tmp_path)
    with pytest.raises(PocgenError, match="is not a folder"):
        load_project(tmp_path / "missing")


def test_headline_baseline_and_target(finished: ProjectFiles) -> None:
    project = finished.load()
    assert project.headline is not None and project.headline.value == 0.8731
    assert project.baseline_value == 0.5278
    assert project.target is not None and project.target.value == 0.9
    assert project.target_measured == 0.8731 and project.target_met is False


def test_a_target_met(files: ProjectFiles) -> None:
    files.report("metrics", metrics={"accuracy": 0.95, "macro_f1": 0.9})
    assert files.load().target_met is True


def test_an_undefined_headline_is_no_headline(files: ProjectFiles) -> None:
    files.report("metrics", headline={"metric": "accuracy", "value": None})
    project = files.load()
    assert project.headline is None and project.metrics is not None


def test_a_target_on_a_metric_not_measured(files: ProjectFiles) -> None:
    files.answers(target_metric="class_recall", target_class="defect").report("metrics")
    project = files.load()
    assert project.target_measured is None and project.target_met is None


def test_no_target_without_metrics(files: ProjectFiles) -> None:
    project = files.load()
    assert project.target is not None and project.target_met is None
    assert project.headline is None and project.baseline_value is None


def test_the_run_merges_train_and_evaluate(files: ProjectFiles) -> None:
    files.report("training", seconds=100.0, git_commit="aaa", hardware="laptop")
    files.report("metrics", training={"seconds": 301.4, "git_commit": None})
    run = files.load().run
    assert run.seconds == 301.4  # evaluate copied the newer run
    assert run.git_commit == "aaa" and run.hardware == "laptop"  # kept where evaluate has none


def test_the_run_from_one_record_alone(files: ProjectFiles) -> None:
    assert files.load().run.git_commit is None
    files.report("training")
    assert files.load().run.git_commit == "4f2c9e1" and files.load().seed == 42


def test_model_info_prefers_what_evaluate_saw(files: ProjectFiles) -> None:
    files.report("training", model={"name": "resnet18", "pretrained": True})
    assert files.load().model_info.name == "resnet18"
    files.report("metrics")
    assert files.load().model_info.name == "small-cnn"


@pytest.mark.parametrize(
    ("metrics_smoke", "training_smoke", "expected"),
    [(False, False, False), (True, False, True), (False, True, True)],
)
def test_a_smoke_run_anywhere_makes_the_results_smoke(
    files: ProjectFiles, metrics_smoke: bool, training_smoke: bool, expected: bool
) -> None:
    files.report("metrics", smoke=metrics_smoke).report("training", smoke=training_smoke)
    assert files.load().smoke is expected


def test_the_deployed_demo_comes_from_the_deploy_record(files: ProjectFiles) -> None:
    files.answers(ui="gradio")
    assert files.load().deployed_ui is None
    files.report("deploy", ui="web", sdk="static")
    assert files.load().deployed_ui == "web"


@pytest.mark.parametrize(
    ("sources", "sample_only", "synth_only", "own"),
    [
        ({"sample": 3}, True, False, False),
        ({"synth": 3}, False, True, False),
        ({"folder": 2, "sample": 1}, False, False, True),
        ({"video": 2}, False, False, True),
        ({}, False, False, False),
    ],
)
def test_where_the_data_came_from(
    files: ProjectFiles, sources: dict, sample_only: bool, synth_only: bool, own: bool
) -> None:
    rows = [f"{s}/{i}.jpg,{s},g{i},2026,x,y" for s, n in sources.items() for i in range(n)]
    if rows:
        files.write("data/manifest.csv", "item,source,group,collected_at,a,b\n" + "\n".join(rows))
    project = files.load()
    assert (project.sample_only, project.synth_only, project.own_data) == (
        sample_only,
        synth_only,
        own,
    )
    assert project.collected_counts() == {
        s: n for s, n in sources.items() if s in ("folder", "video")
    }


@pytest.mark.parametrize(
    ("answers", "manifest", "metrics", "expected"),
    [
        ({"demo": True}, "folder", {}, "demo"),
        ({}, "sample", {}, "sample"),
        ({}, "folder", {"sample_data": True}, "sample"),
        ({}, "folder", {}, None),
    ],
)
def test_borrowed_work(
    files: ProjectFiles, answers: dict, manifest: str, metrics: dict, expected: str | None
) -> None:
    files.answers(**answers).manifest(manifest, 3).report("metrics", **metrics)
    assert files.load().borrowed_work == expected


def test_split_sizes_from_metrics_else_the_split_files(files: ProjectFiles) -> None:
    files.splits(train=["ok", "ok", "defect"], test=["defect"])
    project = files.load()
    assert project.split_sizes() == {"train": 3, "test": 1}
    assert project.per_class_split_counts() == {
        "ok": {"train": 2},
        "defect": {"train": 1, "test": 1},
    }
    files.report("metrics")
    assert files.load().split_sizes() == {"train": 168, "val": 36, "test": 36}


def test_per_class_counts_quality_then_labels_then_splits(files: ProjectFiles) -> None:
    files.splits(train=["ok", "defect", "defect"])
    assert files.load().per_class_counts() == {"ok": 1, "defect": 2}
    files.labels([("a.jpg", "ok", "jane"), ("b.jpg", "ok", "jane")])
    assert files.load().per_class_counts() == {"ok": 2}
    files.report("quality")
    assert files.load().per_class_counts() == {"ok": 128, "defect": 112}


def test_annotators_from_labels_and_the_coco_export(files: ProjectFiles) -> None:
    files.labels([("a.jpg", "ok", "jane"), ("b.jpg", "ok", "omar"), ("c.jpg", "ok", "")])
    files.write(
        "data/labels/coco.json",
        {"images": [{"file_name": "b.jpg", "annotator": "jane"}, "not an image"]},
    )
    assert dict(files.load().annotation_counts()) == {"jane": 2}


def test_detection_boxes_of_the_sample_and_synthesizer_are_theirs(files: ProjectFiles) -> None:
    files.answers(task="object-detection").manifest("synth", 2)
    rows = "item,source,group,a,b,c\nsample/x.jpg,sample,g,1,2,3\nphoto.jpg,folder,h,1,2,3\n"
    files.write("data/manifest.csv", rows + "synth/0.jpg,synth,s,1,2,3\n")
    assert dict(files.load().annotation_counts()) == {"sample": 1, "synthesizer": 1}


def test_label_studio_people_need_a_pull_and_their_names_on_the_labels(
    files: ProjectFiles,
) -> None:
    files.labels([("a.jpg", "ok", "jane"), ("b.jpg", "ok", "sample"), ("c.jpg", "ok", "omar")])
    assert files.load().label_studio_people() == {}  # no pull yet
    files.report("labels", annotators={"jane": 1, "sample": 1, "zoe": 4})
    assert files.load().label_studio_people() == {"jane": 1}  # a program and an absent name drop
    files.report("labels", labeled_items=0)
    assert files.load().label_studio_people() == {}


def test_figures_and_screenshots(finished: ProjectFiles) -> None:
    project = finished.load()
    assert "reports/figures/confusion_matrix.png" in project.figures()
    assert project.app_screenshots() == ["reports/figures/app_gradio.png"]


def test_lock_file(files: ProjectFiles) -> None:
    assert files.load().lock_file() is None
    files.write("uv.lock", "version = 1\n")
    assert files.load().lock_file() == "uv.lock"


def test_the_projects_own_interpreter(tmp_path: Path) -> None:
    assert project_python(tmp_path) == sys.executable
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    assert project_python(tmp_path) == str(python)


def test_experiments_are_read_by_name(files: ProjectFiles) -> None:
    files.write("reports/experiments/scratch.json", METRICS)
    files.write("reports/experiments/pretrained.json", dict(METRICS, smoke=True))
    files.write("reports/experiments/notes.txt", "not an experiment")
    experiments = files.load().experiments
    assert sorted(experiments) == ["pretrained", "scratch"]
    assert experiments["pretrained"].smoke


def test_a_broken_csv_is_one_line(files: ProjectFiles) -> None:
    (files.root / "data").mkdir()
    (files.root / "data" / "manifest.csv").write_bytes(b"item,source\n\xff\xfe,x\n")
    with pytest.raises(PocgenError, match="manifest.csv cannot be read as UTF-8 CSV"):
        files.load()


def test_training_history_is_kept_as_recorded(files: ProjectFiles) -> None:
    files.report("training")
    record = files.load().training
    assert record is not None and record.history == tuple(TRAINING["history"])
    assert record.params["lr"] == 0.003 and not record.smoke
