"""`evaluate`: metrics.json per the schema, the figures, and the metric code on worked examples."""

import json
from pathlib import Path

import numpy as np
import pytest

from surgical_tool_detector.cli import main
from surgical_tool_detector.config import FIGURES_DIR, METRICS_FILE, load_params
from surgical_tool_detector.evaluate import confusion, mean_box_baseline
from surgical_tool_detector.metrics import (
    average_precision,
    bootstrap_interval,
    detection_metrics,
    iou,
    match_all,
    precision_recall,
)

# The project's own classes: these tests hold for whatever classes params.yaml names.
PARAMS = load_params(Path(__file__).resolve().parents[1] / "params.yaml")
CLASSES = PARAMS["classes"]
TOP_LEVEL_KEYS = {
    "schema_version",
    "task",
    "sample_data",
    "data_sources",
    "classes",
    "dataset",
    "headline",
    "metrics",
    "baseline",
    "per_class",
    "latency_ms",
    "model",
    "training",
    "figures",
    "created_at",
    "test_size",
    "warnings",
}


def test_smoke_evaluation_writes_metrics_per_the_schema(exported_workdir):
    METRICS_FILE.unlink(missing_ok=True)
    main(["evaluate", "--smoke"])
    metrics = json.loads(METRICS_FILE.read_text())
    assert TOP_LEVEL_KEYS <= set(metrics)
    assert metrics["schema_version"] == 1
    assert metrics["task"] == PARAMS["task"]
    assert metrics["sample_data"] is True
    assert set(metrics["data_sources"]) == {"sample"}  # the About panels say so
    assert metrics["classes"] == CLASSES
    assert metrics["dataset"]["test"] > 0
    assert set(metrics["dataset"]["per_class"]) == set(CLASSES)
    assert {"map50", "map50_95", "all_found_rate"} <= set(metrics["metrics"])
    assert metrics["baseline"]["name"].startswith("mean box per class")
    assert all({"ap50", "recall"} <= set(metrics["per_class"][name]) for name in CLASSES)
    headline = metrics["headline"]
    assert headline["metric"] == PARAMS["evaluate"]["metric"]
    assert set(metrics["baseline"]["metrics"]) == set(metrics["metrics"])
    assert headline["value"] == metrics["metrics"][headline["metric"]]
    if headline["value"] is not None:  # a class absent from the 8 smoke items has no recall
        low, high = headline["ci95"]
        assert 0 <= low <= high <= 1
    # At most 8 smoke items: the small-test-set warning is in the file.
    assert metrics["test_size"] == min(8, metrics["dataset"]["test"])
    assert metrics["warnings"][0].startswith(f"small test set: {metrics['test_size']} items")
    latency = metrics["latency_ms"]
    assert latency["runtime"] == "onnxruntime" and 0 < latency["p50"] <= latency["p95"]
    assert metrics["model"]["parameters"] > 0
    assert metrics["training"]["seconds"] >= 0 and metrics["training"]["hardware"]
    for name in ("confusion_matrix", "pr_curve", "examples"):
        path = exported_workdir / metrics["figures"][name]
        assert path.parent == exported_workdir / FIGURES_DIR
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_prints_the_small_test_set_warning_with_per_class_counts(exported_workdir, capsys):
    main(["evaluate", "--smoke"])
    out = " ".join(capsys.readouterr().out.split())  # the console wraps long lines
    assert "Warning: small test set:" in out
    assert "per class: " + CLASSES[0] in out


def test_bootstrap_interval_brackets_the_value_and_repeats_with_the_seed():
    hits = np.array([1.0] * 30 + [0.0] * 10)  # accuracy 0.75 on 40 items
    interval = bootstrap_interval(lambda sample: float(hits[sample].mean()), 40, 500, seed=0)
    assert interval == bootstrap_interval(lambda s: float(hits[s].mean()), 40, 500, seed=0)
    low, high = interval
    assert 0.55 < low < 0.75 < high < 0.9  # about 0.75 +- 1.96 * sqrt(0.75 * 0.25 / 40)
    # a resample where the metric is undefined is skipped, not counted as 0
    assert bootstrap_interval(lambda sample: None, 5, 10, seed=0) == [None, None]


def test_evaluate_without_an_exported_model_names_the_missing_stage(workdir, capsys):
    main(["sample", "--smoke"])
    main(["split", "--smoke"])
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--smoke"])
    assert exit_info.value.code == 1
    assert "export" in capsys.readouterr().err
    assert not METRICS_FILE.exists()


def box(x0, y0, x1, y1):
    return np.array([x0, y0, x1, y1], dtype=float)


def test_iou_of_known_boxes():
    boxes = np.array([box(0, 0, 10, 10), box(5, 0, 15, 10), box(20, 20, 30, 30)])
    np.testing.assert_allclose(iou(box(0, 0, 10, 10), boxes), [1.0, 50 / 150, 0.0])


def curve(truth, detections, class_id=0):
    """Precision, recall and true-box count at IoU 0.5 over all images."""
    matches = match_all(truth, detections, num_classes=3)
    precision, recall, _, total = precision_recall(matches, class_id, np.arange(len(truth)))
    return precision[:, 0], recall[:, 0], total


def test_average_precision_worked_by_hand():
    # Two true boxes in one image; the best detection finds one, the second is a false alarm.
    truth = [[(0, box(0, 0, 10, 10)), (0, box(50, 50, 60, 60))]]
    detections = [[(0, 0.9, box(0, 0, 10, 10)), (0, 0.8, box(20, 20, 30, 30))]]
    precision, recall, total = curve(truth, detections)
    assert total == 2
    np.testing.assert_allclose(precision, [1.0, 0.5])
    np.testing.assert_allclose(recall, [0.5, 0.5])
    # Precision 1 up to recall 0.5 (51 of the 101 recall points), 0 beyond: AP = 51 / 101.
    assert average_precision(precision, recall) == pytest.approx(51 / 101)


SETTINGS = {"threshold": 0.5, "target_class": "a", "precision": 0.9}
TRUTH = [[(0, box(0, 0, 10, 10))], [(1, box(5, 5, 25, 25)), (0, box(30, 30, 40, 40))], []]


def test_perfect_and_empty_predictions_score_one_and_zero():
    perfect = [[(c, 1.0, b) for c, b in image] for image in TRUTH]
    names = ["a", "b", "c"]
    result = detection_metrics(match_all(TRUTH, perfect, 3), names, SETTINGS, np.arange(3))
    assert result["metrics"] == {
        "map50": 1.0,
        "map50_95": 1.0,
        "all_found_rate": 1.0,
        "exact_scene_rate": 1.0,
        "class_recall": 1.0,
        "recall_at_precision": 1.0,
    }
    assert result["per_class"]["c"]["ap50"] is None  # no true box: left out of the mean
    empty = detection_metrics(match_all(TRUTH, [[], [], []], 3), names, SETTINGS, np.arange(3))
    # Finding nothing reads the empty third image exactly, and nothing else.
    assert empty["metrics"].pop("exact_scene_rate") == pytest.approx(1 / 3, abs=1e-3)
    assert set(empty["metrics"].values()) == {0.0}


def test_all_found_rate_and_class_recall_count_what_a_tray_check_needs():
    # Image 0: its one object found. Image 1: one of two found (the class-a box, but the b box
    # is only found below the score threshold). Image 2 has no object: it does not count.
    detections = [
        [(0, 0.9, box(0, 0, 10, 10))],
        [(0, 0.8, box(30, 30, 40, 40)), (1, 0.3, box(5, 5, 25, 25))],
        [(2, 0.9, box(0, 0, 5, 5))],
    ]
    names = ["a", "b", "c"]
    result = detection_metrics(match_all(TRUTH, detections, 3), names, SETTINGS, np.arange(3))
    assert result["metrics"]["all_found_rate"] == 0.5
    # Read exactly: only image 0. Image 1 misses its b box; image 2, empty, gets a false alarm,
    # which all_found_rate never sees.
    assert result["metrics"]["exact_scene_rate"] == pytest.approx(1 / 3, abs=1e-3)
    assert result["metrics"]["class_recall"] == 1.0  # both a boxes found
    assert result["per_class"]["b"]["recall"] == 0.0  # its box scored under the threshold
    # Resampling image 0 twice: the metrics follow the resampled set.
    resampled = detection_metrics(match_all(TRUTH, detections, 3), names, SETTINGS, [0, 0])
    assert resampled["metrics"]["all_found_rate"] == 1.0
    # A resample without any box of the target class: its recalls are undefined, not 0.
    empty = detection_metrics(match_all(TRUTH, detections, 3), names, SETTINGS, [2])
    assert empty["metrics"]["class_recall"] is None
    assert empty["metrics"]["recall_at_precision"] is None


def test_recall_at_precision_reads_the_curve_where_precision_holds():
    # Class a: hit (0.9), false alarm (0.8), hit (0.7): precision 1, 0.5, 0.67; recall 0.5, 1.
    truth = [[(0, box(0, 0, 10, 10)), (0, box(50, 50, 60, 60))]]
    detections = [
        [(0, 0.9, box(0, 0, 10, 10)), (0, 0.8, box(20, 20, 30, 30)), (0, 0.7, box(50, 50, 60, 60))]
    ]
    matches = match_all(truth, detections, 3)
    strict = detection_metrics(matches, ["a", "b", "c"], SETTINGS, np.arange(1))
    assert strict["metrics"]["recall_at_precision"] == 0.5  # precision >= 0.9: only the first
    loose = {**SETTINGS, "precision": 0.6}
    result = detection_metrics(matches, ["a", "b", "c"], loose, np.arange(1))
    assert result["metrics"]["recall_at_precision"] == 1.0


def test_mean_box_baseline_is_not_zero_by_construction(workdir):
    # Two training images with an object of class a in the same place: the baseline's box for a
    # lands there in a test image too, scored 1 (every training image holds an a).
    labels = workdir / "labels"
    labels.mkdir()
    (labels / "one.txt").write_text("0 0.25 0.25 0.2 0.2\n")
    (labels / "two.txt").write_text("0 0.27 0.25 0.2 0.2\n")
    rows = [{"annotation": str(labels / name)} for name in ("one.txt", "two.txt")]
    guesses = mean_box_baseline(rows, ["a", "b"], [(100, 100)])
    assert len(guesses[0]) == 1 and guesses[0][0][:2] == (0, 1.0)
    np.testing.assert_allclose(guesses[0][0][2], [16, 15, 36, 35])
    truth = [[(0, box(16, 15, 36, 35))]]
    result = detection_metrics(match_all(truth, guesses, 2), ["a", "b"], SETTINGS, [0])
    assert result["metrics"]["map50"] == 1.0


def test_a_detection_counts_once_even_when_repeated():
    truth = [[(0, box(0, 0, 10, 10))]]
    twice = [[(0, 0.9, box(0, 0, 10, 10)), (0, 0.8, box(0, 0, 10, 10))]]
    precision, recall, _ = curve(truth, twice)
    np.testing.assert_allclose(precision, [1.0, 0.5])


def test_confusion_counts_wrong_class_misses_and_false_alarms():
    truth = [[(0, box(0, 0, 10, 10)), (1, box(50, 50, 60, 60))]]
    detections = [[(1, 0.9, box(0, 0, 10, 10)), (0, 0.8, box(80, 80, 90, 90))]]
    matrix, errors = confusion(truth, detections, num_classes=2, threshold=0.5)
    background = 2
    assert matrix[0, 1] == 1  # a class-0 object called class 1
    assert matrix[1, background] == 1  # the class-1 object was missed
    assert matrix[background, 0] == 1  # a false alarm
    assert errors == [3]
