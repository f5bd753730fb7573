"""`evaluate`: metrics.json per the schema, the figures, and the metric code on worked examples."""

import json

import numpy as np
import pytest

from surgical_tool_detector.cli import main
from surgical_tool_detector.config import FIGURES_DIR, METRICS_FILE
from surgical_tool_detector.evaluate import (
    average_precision,
    confusion,
    detection_metrics,
    iou,
    precision_recall,
)

CLASSES = ["scalpel", "forceps", "scissors", "needle holder", "retractor"]
TOP_LEVEL_KEYS = {
    "schema_version", "task", "sample_data", "classes", "dataset", "headline", "metrics",
    "baseline", "per_class", "latency_ms", "model", "training", "figures", "created_at",
}


def test_smoke_evaluation_writes_metrics_per_the_schema(exported_workdir):
    METRICS_FILE.unlink(missing_ok=True)
    main(["evaluate", "--smoke"])
    metrics = json.loads(METRICS_FILE.read_text())
    assert TOP_LEVEL_KEYS <= set(metrics)
    assert metrics["schema_version"] == 1
    assert metrics["task"] == "object-detection"
    assert metrics["sample_data"] is True
    assert metrics["classes"] == CLASSES
    assert metrics["dataset"]["test"] > 0
    assert set(metrics["dataset"]["per_class"]) == set(CLASSES)
    assert metrics["headline"]["metric"] == "map50"
    assert set(metrics["metrics"]) == {"map50", "map50_95"}
    assert metrics["baseline"] == {
        "name": "empty prediction", "metrics": {"map50": 0.0, "map50_95": 0.0}
    }
    assert all("ap50" in metrics["per_class"][name] for name in CLASSES)
    assert metrics["headline"]["value"] == metrics["metrics"][metrics["headline"]["metric"]]
    assert 0 <= metrics["headline"]["value"] <= 1
    latency = metrics["latency_ms"]
    assert latency["runtime"] == "onnxruntime" and 0 < latency["p50"] <= latency["p95"]
    assert metrics["model"]["parameters"] > 0
    assert metrics["training"]["seconds"] >= 0 and metrics["training"]["hardware"]
    for name in ("confusion_matrix", "pr_curve", "examples"):
        path = exported_workdir / metrics["figures"][name]
        assert path.parent == exported_workdir / FIGURES_DIR
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


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


def test_average_precision_worked_by_hand():
    # Two true boxes in one image; the best detection finds one, the second is a false alarm.
    truth = [[(0, box(0, 0, 10, 10)), (0, box(50, 50, 60, 60))]]
    detections = [[(0, 0.9, box(0, 0, 10, 10)), (0, 0.8, box(20, 20, 30, 30))]]
    precision, recall, total = precision_recall(truth, detections, 0, 0.5)
    assert total == 2
    np.testing.assert_allclose(precision, [1.0, 0.5])
    np.testing.assert_allclose(recall, [0.5, 0.5])
    # Precision 1 up to recall 0.5 (51 of the 101 recall points), 0 beyond: AP = 51 / 101.
    assert average_precision(precision, recall) == pytest.approx(51 / 101)


def test_perfect_and_empty_predictions_score_one_and_zero():
    truth = [[(0, box(0, 0, 10, 10))], [(1, box(5, 5, 25, 25)), (0, box(30, 30, 40, 40))]]
    perfect = [[(c, 1.0, b) for c, b in image] for image in truth]
    names = ["a", "b", "c"]
    result = detection_metrics(truth, perfect, names)
    assert result["metrics"] == {"map50": 1.0, "map50_95": 1.0}
    assert result["per_class"]["c"]["ap50"] is None  # no true box: left out of the mean
    empty = detection_metrics(truth, [[], []], names)
    assert empty["metrics"] == {"map50": 0.0, "map50_95": 0.0}


def test_a_detection_counts_once_even_when_repeated():
    truth = [[(0, box(0, 0, 10, 10))]]
    twice = [[(0, 0.9, box(0, 0, 10, 10)), (0, 0.8, box(0, 0, 10, 10))]]
    precision, recall, _ = precision_recall(truth, twice, 0, 0.5)
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
