"""Each report is parsed once into its typed record; a malformed one is one line, never a traceback.

The line names the file, what is wrong (the schema's own words, and where) and the stage that
rewrites it, and nothing is read past it.
"""

from __future__ import annotations

import pytest
from known_artifacts import LABELS, METRICS, QUALITY
from project_files import ProjectFiles

from pocgen.errors import PocgenError
from pocgen.records import Answers, DataQuality, GpuRun, LabelsReport, Metrics, RunInfo
from pocgen.writeup.sections import gpu_run_text

pytestmark = pytest.mark.unit


def test_every_known_report_becomes_its_record(finished: ProjectFiles) -> None:
    project = finished.load()
    assert project.metrics is not None and project.metrics.headline.metric == "accuracy"
    assert project.metrics.headline.value == 0.8731
    assert project.metrics.baseline.name == "majority class"
    assert project.training is not None and project.training.seed == 42
    assert project.quality is not None and project.quality.items == 240
    assert project.labels is not None and project.labels.annotators == {"jane": 200, "omar": 40}
    assert project.deploy is not None and project.deploy.ui == "gradio"


def test_missing_reports_read_as_none(files: ProjectFiles) -> None:
    project = files.load()
    assert (project.metrics, project.training, project.quality, project.labels) == (None,) * 4
    assert project.deploy is None and project.experiments == {} and project.manifest is None


@pytest.mark.parametrize(
    ("report", "changes", "expected"),
    [
        (
            "metrics",
            {"headline": {"metric": "accuracy", "value": "high"}},
            "reports/metrics.json is malformed: 'high' is not of type 'number', 'null' "
            "(at `headline.value`); rerun `python -m defect_spotter evaluate` to rewrite it.",
        ),
        (
            "metrics",
            {"metrics": {"accuracy": 1.5}},
            "reports/metrics.json is malformed: 1.5 is greater than the maximum of 1 "
            "(at `metrics.accuracy`)",
        ),
        (
            "metrics",
            {"smoke": None},
            "reports/metrics.json is malformed: 'smoke' is a required property;",
        ),
        (
            "metrics",
            {"baseline": {"metrics": {}}},
            "'name' is a required property (at `baseline`)",
        ),
        (
            "metrics",
            {"task": "tabular-regression"},
            "(at `task`)",
        ),
        (
            "metrics",
            {"headline": {"metric": "accuracy", "value": 0.9, "ci95": [0.8]}},
            "(at `headline.ci95`)",
        ),
        (
            "training",
            {"seed": "forty-two"},
            "reports/training.json is malformed: 'forty-two' is not of type 'integer' (at `seed`); "
            "rerun `python -m defect_spotter train`",
        ),
        (
            "training",
            {"history": [{"epoch": 1, "train_loss": "low"}]},
            "(at `history.0.train_loss`)",
        ),
        (
            "quality",
            {"duplicates": {"exact": 3, "near": []}},
            "reports/data_quality.json is malformed: 3 is not of type 'array' "
            "(at `duplicates.exact`); rerun `python -m defect_spotter validate`",
        ),
        (
            "quality",
            {"blocking": None},
            "'blocking' is a required property",
        ),
        (
            "labels",
            {"annotators": {"jane": -1}},
            "reports/labels.json is malformed: -1 is less than the minimum of 0 "
            "(at `annotators.jane`); rerun `python -m defect_spotter label pull`",
        ),
        (
            "labels",
            {"agreement": {"pairs": 1, "overall": {"kappa": "good"}, "per_class": {}}},
            "(at `agreement.overall.kappa`)",
        ),
        (
            "deploy",
            {"ui": None},
            "reports/deploy.json is malformed: 'ui' is a required property; rerun "
            "`pocgen deploy` to rewrite it.",
        ),
        (
            "deploy",
            {"ui": "flask"},
            "(at `ui`)",
        ),
        (
            "deploy",
            {"url": "ftp://example.org"},
            "(at `url`)",
        ),
    ],
)
def test_a_malformed_report_is_one_line_naming_file_problem_and_fix(
    files: ProjectFiles, report: str, changes: dict, expected: str
) -> None:
    files.report(report, **changes)
    with pytest.raises(PocgenError) as raised:
        files.load()
    message = str(raised.value)
    assert expected in message and "\n" not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"headline": NaN}', "holds NaN"),
        ('{"headline": Infinity}', "holds Infinity"),
        ('{"headline": -Infinity}', "holds -Infinity"),
        ('{"headline": 1e999}', "holds 1e999"),
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
        ('{"task": "caf\xe9"}', "is not valid JSON"),
    ],
    ids=["nan", "infinity", "minus-infinity", "overflow", "broken", "list", "latin1"],
)
def test_json_that_is_no_measurement_is_refused(
    files: ProjectFiles, text: str, expected: str
) -> None:
    path = files.root / "reports" / "metrics.json"
    path.parent.mkdir()
    path.write_bytes(text.encode("latin-1"))  # é as one byte: not UTF-8
    with pytest.raises(PocgenError, match=expected) as raised:
        files.load()
    assert "reports/metrics.json" in str(raised.value)
    assert "python -m defect_spotter evaluate" in str(raised.value)


def test_another_schema_version_names_the_upgrade(files: ProjectFiles) -> None:
    files.report("metrics", schema_version=2)
    with pytest.raises(PocgenError, match="has schema_version 2; this pocgen reads version 1"):
        files.load()


def test_an_experiment_is_validated_like_metrics(files: ProjectFiles) -> None:
    files.write("reports/experiments/scratch.json", dict(METRICS, smoke="no"))
    with pytest.raises(PocgenError) as raised:
        files.load()
    assert str(raised.value).startswith("reports/experiments/scratch.json is malformed: 'no'")


def test_extra_keys_are_kept_out_of_the_way(files: ProjectFiles) -> None:
    """A key the schema does not name (a user's note, a newer template's field) is not an error."""
    files.report("metrics", notes={"dataset_token": "v2"})
    assert files.load().metrics is not None


def test_metrics_record_keeps_the_numbers_as_written() -> None:
    data = dict(
        METRICS,
        headline={"metric": "accuracy", "value": 1, "ci95": [0.8, 1.0]},
        metrics={"accuracy": 1, "macro_f1": None},
        test_size=36,
        warnings=["  small test set ", ""],
    )
    metrics = Metrics.parse(data)
    assert metrics.headline.value == 1 and isinstance(metrics.headline.value, int)
    assert metrics.headline.ci95 == (0.8, 1.0)
    assert metrics.values == {"accuracy": 1, "macro_f1": None}
    assert metrics.warnings == ("small test set",)
    assert metrics.splits == {"train": 168, "val": 36, "test": 36}
    assert metrics.per_class_splits["ok"] == {"train": 90, "val": 19, "test": 19}
    assert metrics.baseline_headline == 0.5278
    assert metrics.latency is not None and metrics.latency.p95 == 5.77
    assert metrics.run.git_commit == "4f2c9e1" and metrics.run.epochs == 12


def test_an_undefined_interval_is_no_interval() -> None:
    data = dict(METRICS, headline={"metric": "accuracy", "value": 0.5, "ci95": [None, None]})
    assert Metrics.parse(data).headline.ci95 is None


def test_class_and_precision_of_a_class_metric_are_kept() -> None:
    head = {"metric": "recall_at_precision", "value": 0.7, "class": "defect", "precision": 0.9}
    headline = Metrics.parse(dict(METRICS, headline=head)).headline
    assert (headline.target_class, headline.precision) == ("defect", 0.9)


@pytest.mark.parametrize(
    ("per_class", "expected"),
    [
        ({"ok": {"f1": 0.9}, "defect": {"f1": 0.6}}, ("defect", "f1", 0.6)),
        ({"ok": {"ap50": 0.4}, "defect": {"ap50": 0.6}}, ("ok", "ap50", 0.4)),
        ({"ok": {"recall": 0.4, "f1": None}, "defect": {"recall": 0.6}}, ("ok", "recall", 0.4)),
        ({"ok": {"f1": 0.4}}, None),
        ({}, None),
    ],
)
def test_the_weakest_class_needs_two_classes_measured(per_class: dict, expected: object) -> None:
    assert Metrics.parse(dict(METRICS, per_class=per_class)).weakest_class() == expected


def test_quality_findings_are_counted() -> None:
    quality = DataQuality.parse(
        dict(
            QUALITY,
            corrupt=[{"item": "a.jpg", "error": "truncated"}],
            too_small=[{"item": "b.jpg", "size": [8, 8]}, {"item": "c.jpg", "size": [9, 9]}],
            empty_texts=["t1"],
        )
    )
    assert (quality.corrupt, quality.too_small, quality.empty_texts) == (1, 2, 1)
    assert (quality.exact_duplicates, quality.near_duplicates, quality.duplicate_groups) == (
        1,
        2,
        3,
    )
    assert quality.copies_within_groups is False


def test_blocking_without_reasons_points_at_the_markdown_report() -> None:
    quality = DataQuality.parse(dict(QUALITY, blocking=True, blocking_reasons=[]))
    assert quality.blocking_reasons == ("see reports/data_quality.md",)


def test_copies_inside_one_group_are_recognised() -> None:
    assert DataQuality.parse(dict(QUALITY, duplicates_across_groups=0)).copies_within_groups


def test_agreement_keeps_measures_apart_from_counts() -> None:
    detection = {
        "pairs": 3,
        "overall": {"boxes": 12, "mean_iou": 0.8, "f1_50": 0.9},
        "per_class": {"gauze": {"boxes": 6, "mean_iou": 0.7, "f1_50": 0.85}, "glove": None},
    }
    agreement = LabelsReport.parse(dict(LABELS, agreement=detection)).agreement
    assert agreement.overall == {"mean_iou": 0.8, "f1_50": 0.9}
    assert agreement.per_class_measure() == {"gauze": 0.85}


def test_agreement_without_pairs_has_no_overall() -> None:
    empty = {"pairs": 0, "overall": None, "per_class": {"ok": None, "defect": None}}
    agreement = LabelsReport.parse(dict(LABELS, agreement=empty)).agreement
    assert agreement.overall == {} and agreement.per_class_measure() == {}


def test_a_later_run_record_wins_where_it_records_something() -> None:
    older = RunInfo(seconds=10.0, epochs=3, device="cpu", hardware="2 cores", git_commit="abc")
    newer = RunInfo(seconds=12.0, git_commit="def")
    assert older.merged(newer) == RunInfo(12.0, 3, "cpu", "2 cores", "def")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"target_metric": "accuracy", "target_value": 0.9}, ("accuracy", 0.9, None)),
        (
            {"target_metric": "class_recall", "target_value": 1, "target_class": "defect"},
            ("class_recall", 1.0, "defect"),
        ),
        ({"target_metric": "accuracy", "target_value": "0.9"}, None),
        ({"target_metric": "accuracy", "target_value": True}, None),
        ({"target_value": 0.9}, None),
    ],
)
def test_the_target_comes_from_the_answers(raw: dict, expected: tuple | None) -> None:
    target = Answers(raw).target
    found = None if target is None else (target.metric, target.value, target.target_class)
    assert found == expected


def test_answers_are_typed_and_still_a_mapping() -> None:
    answers = Answers({"classes": " ok,  defect ,", "demo": True, "license": "Apache-2.0"})
    assert answers.classes == ("ok", "defect")
    assert answers.demo and answers.hub_license == "apache-2.0"
    assert answers["license"] == "Apache-2.0" and dict(answers)["demo"] is True
    assert answers.text("problem") == "" and len(answers) == 3
    assert Answers({"demo": "yes"}).demo is False  # only YAML's true marks a demo


GPU_REPORT = {
    "schema_version": 1,
    "engine": "kaggle",
    "flavor": None,
    "run_id": "run-7",
    "device": "cuda",
    "gpu": "Tesla P100-PCIE-16GB",
    "train_seconds": 95.3,
    "cost_usd": 0.0,
}


@pytest.mark.parametrize(
    ("run", "describes"),
    [
        (RunInfo(seconds=95.3, device="cuda"), True),
        (RunInfo(seconds=95.5, device="cuda"), True),  # rounding in a copy of the record
        (RunInfo(seconds=301.0, device="cuda"), False),  # trained again since
        (RunInfo(seconds=95.3, device="cpu"), False),  # trained again on this machine
        (RunInfo(device="cuda"), False),
    ],
)
def test_a_gpu_record_speaks_only_for_the_training_it_matches(run: RunInfo, describes: bool):
    assert GpuRun.parse(GPU_REPORT).describes(run) is describes


def test_a_gpu_run_reads_with_its_engine_time_and_cost():
    kaggle = GpuRun.parse(GPU_REPORT)
    assert gpu_run_text(kaggle) == "Kaggle; no charge (`reports/gpu.json`)"
    hf = GpuRun.parse(
        {
            **GPU_REPORT,
            "engine": "hf",
            "flavor": "a10g-small",
            "job_seconds": 61,
            "cost_usd": 0.0033,
        }
    )
    assert gpu_run_text(hf) == (
        "Hugging Face Jobs, `a10g-small`; the job ran 1 min 1 s, under $0.01 (`reports/gpu.json`)"
    )


def test_a_malformed_gpu_record_names_the_file(files: ProjectFiles):
    files.write("reports/gpu.json", {**GPU_REPORT, "engine": "my-laptop"})
    with pytest.raises(PocgenError, match=r"reports/gpu\.json is malformed: .*pocgen gpu pull"):
        files.load()
