"""The metric math of `evaluate`, on plain arrays: no files, no model, so each formula can be
checked on a worked example (tests/test_evaluate.py does).

Detections are matched to true boxes once per image and class (`match_all`); every metric, and
each bootstrap resample of the test set, is then computed from those matches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from .config import StageError

HEADLINE_METRICS = [
    "map50",
    "map50_95",
    "all_found_rate",
    "exact_scene_rate",
    "class_recall",
    "recall_at_precision",
]
IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)  # COCO's 0.5, 0.55, ..., 0.95
COUNTED = "boxes"  # what the test set holds of each class
CLASS_METRICS = ["class_recall", "recall_at_precision"]  # about evaluate.target_class
# Below these counts a test set gives a wide interval and shaky per-class numbers: say so.
SMALL_TEST_SET = 100  # items
SMALL_CLASS = 20  # of one class


def rounded(value: float) -> float | None:
    """A metric as written to metrics.json: 4 decimals, and None where it is undefined (NaN)."""
    return None if np.isnan(value) else round(float(value), 4)


def bootstrap_interval(
    metric: Callable[[np.ndarray], float | None], count: int, rounds: int, seed: int
) -> list[float | None]:
    """The 95% interval of a metric, by the percentile bootstrap.

    Draw `count` test items with replacement, recompute the metric, `rounds` times; the middle
    95% of those values is how far the number could move on another test set of the same size.
    Resamples where the metric is undefined (a class missing from them) are skipped. A score
    with no errors gives [1.0, 1.0]: resampling cannot show errors the test set never had, which
    is why a small test set also gets a warning.
    """
    rng = np.random.default_rng(seed)
    values = [metric(rng.integers(0, count, count)) for _ in range(rounds)]
    kept = [value for value in values if value is not None]
    if not kept:
        return [None, None]
    low, high = np.percentile(kept, [2.5, 97.5])
    return [rounded(low), rounded(high)]


def headline_metric(settings: dict[str, Any], classes: list[str]) -> str:
    """evaluate.metric, refused with the fix when params.yaml's target settings don't fit."""
    metric = settings.get("metric", HEADLINE_METRICS[0])
    if metric not in HEADLINE_METRICS:
        raise StageError(
            f"evaluate.metric must be one of {HEADLINE_METRICS} (got {metric!r}); fix params.yaml."
        )
    if metric in CLASS_METRICS and settings.get("target_class") not in classes:
        raise StageError(
            f"evaluate.metric {metric} needs evaluate.target_class, one of {classes}; "
            "set it in params.yaml."
        )
    if metric == "recall_at_precision" and not 0 < settings.get("precision", 0) <= 1:
        raise StageError(
            "evaluate.metric recall_at_precision needs evaluate.precision between 0 and 1; "
            "set it in params.yaml."
        )
    return metric


def headline(
    metric: str, settings: dict[str, Any], metrics: dict[str, Any], interval: list
) -> dict[str, Any]:
    """metrics.json's headline: the metric the success target is about, its value on the test
    split and its 95% interval, with the class (and precision) it is about."""
    result: dict[str, Any] = {"metric": metric, "value": metrics[metric]}
    if metric in CLASS_METRICS:
        result["class"] = settings["target_class"]
    if metric == "recall_at_precision":
        result["precision"] = settings["precision"]
    result["ci95"] = interval
    return result


def small_test_set_warnings(count: int, per_class: dict[str, int]) -> list[str]:
    """What makes the test set too small to trust: few items, or few of one class."""
    warnings = []
    if count < SMALL_TEST_SET:
        warnings.append(
            f"small test set: {count} items (fewer than {SMALL_TEST_SET}); "
            "quote the 95% interval, not the single number"
        )
    few = [f"{name} ({n})" for name, n in per_class.items() if n < SMALL_CLASS]
    if few:
        warnings.append(
            f"few test {COUNTED} of {', '.join(few)} (fewer than {SMALL_CLASS}): "
            "their per-class numbers are shaky"
        )
    return warnings


def latency_summary(seconds: list[float]) -> dict[str, Any]:
    """Mean, median and 95th percentile of the time per item, in milliseconds."""
    ms = np.array(seconds) * 1000
    return {
        "mean": round(float(ms.mean()), 2),
        "p50": round(float(np.percentile(ms, 50)), 2),
        "p95": round(float(np.percentile(ms, 95)), 2),
        "runtime": "onnxruntime",
    }


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one box with each of `boxes` (all as x0, y0, x1, y1)."""
    if len(boxes) == 0:
        return np.zeros(0)
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    overlap = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return overlap / np.maximum(area + areas - overlap, 1e-9)


class Matches(NamedTuple):
    """One class in one test image: its detections, most confident first, and which of them
    found a true box of the class, at each IoU threshold."""

    scores: np.ndarray  # (detections,)
    hits: np.ndarray  # (detections, IoU thresholds), True where the detection found a box
    boxes: int  # true boxes of the class in the image


def match_image(image_truth: list[tuple], image_detections: list[tuple], class_id: int) -> Matches:
    """Going down the image's detections of the class, most confident first, each one is a hit
    if it overlaps a true box of its class that no earlier detection has claimed, by at least
    the IoU threshold; otherwise it is a false alarm."""
    true_boxes = np.array([b for c, b in image_truth if c == class_id]).reshape(-1, 4)
    found = sorted(((s, b) for c, s, b in image_detections if c == class_id), key=lambda d: -d[0])
    hits = np.zeros((len(found), len(IOU_THRESHOLDS)), dtype=bool)
    for column, threshold in enumerate(IOU_THRESHOLDS):
        claimed = np.zeros(len(true_boxes), dtype=bool)
        for row, (_, box) in enumerate(found):
            overlaps = iou(box, true_boxes)
            overlaps[claimed] = 0  # a true box can be found only once
            if len(overlaps) and overlaps.max() >= threshold:
                claimed[overlaps.argmax()] = hits[row, column] = True
    return Matches(np.array([s for s, _ in found]), hits, len(true_boxes))


def match_all(
    truth: list[list[tuple]], detections: list[list[tuple]], num_classes: int
) -> list[list[Matches]]:
    """Matches per test image, per class. Matching never crosses images, so a resampled test
    set (the bootstrap) reuses them instead of matching again."""
    return [
        [match_image(image_truth, image_detections, c) for c in range(num_classes)]
        for image_truth, image_detections in zip(truth, detections, strict=True)
    ]


def precision_recall(
    matches: list[list[Matches]], class_id: int, images: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Precision and recall of one class over `images` (indices; repeats allowed) after each
    detection, most confident first, one column per IoU threshold.

    Returns (precision, recall, the detections' scores, number of true boxes).
    """
    picked = [matches[i][class_id] for i in images]
    scores = np.concatenate([m.scores for m in picked])
    hits = np.concatenate([m.hits for m in picked])
    total = sum(m.boxes for m in picked)
    order = np.argsort(-scores, kind="stable")
    true_positives = np.cumsum(hits[order], axis=0)
    precision = true_positives / np.arange(1, len(order) + 1)[:, None]
    recall = true_positives / max(total, 1)
    return precision, recall, scores[order], total


def average_precision(precision: np.ndarray, recall: np.ndarray) -> float:
    """Area under the precision-recall curve, the COCO way (101-point interpolation).

    First the curve is made non-increasing (the precision at recall r is the best precision at
    any recall >= r), then it is read at recall 0, 0.01, ..., 1 and averaged; a recall never
    reached counts as precision 0.
    """
    if len(precision) == 0:
        return 0.0
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    points = np.linspace(0, 1, 101)
    first = np.searchsorted(recall, points, side="left")  # first detection reaching each recall
    reached = first < len(recall)
    return float(np.where(reached, envelope[np.minimum(first, len(recall) - 1)], 0.0).mean())


def detection_metrics(
    matches: list[list[Matches]], classes: list[str], settings: dict[str, Any], images: np.ndarray
) -> dict:
    """mAP@0.5, mAP@0.5:0.95, the share of images with all objects found, the share read exactly
    (all found and no false alarm), per-class AP and recall, and the recall of
    `evaluate.target_class` when params.yaml names one.

    A class absent from the test split is left out of the means (its AP is undefined), as COCO
    does. Recall counts detections scoring at least `evaluate.threshold`, at IoU 0.5.
    """
    per_class, ap50s, ap_all = {}, [], []
    metrics: dict[str, float | None] = {}
    for class_id, name in enumerate(classes):
        precision, recall, scores, total = precision_recall(matches, class_id, images)
        if total == 0:
            per_class[name] = {"ap50": None, "ap50_95": None, "recall": None, "support": 0}
            continue
        aps = [average_precision(precision[:, t], recall[:, t]) for t in range(recall.shape[1])]
        counted = int((scores >= settings["threshold"]).sum())  # scores are sorted: a prefix
        found = recall[counted - 1, 0] if counted else 0.0
        per_class[name] = {
            "ap50": rounded(aps[0]),
            "ap50_95": rounded(np.mean(aps)),
            "recall": rounded(found),
            "support": total,
        }
        ap50s.append(aps[0])
        ap_all.append(np.mean(aps))
        if name == settings.get("target_class"):
            metrics["class_recall"] = rounded(found)
            if "precision" in settings:
                kept = recall[precision[:, 0] >= settings["precision"], 0]
                metrics["recall_at_precision"] = rounded(kept.max() if len(kept) else 0.0)
    if settings.get("target_class") in classes:  # undefined: no box of the class in `images`
        metrics.setdefault("class_recall", None)
        if "precision" in settings:
            metrics.setdefault("recall_at_precision", None)
    return {
        "metrics": {
            "map50": rounded(np.mean(ap50s)) if ap50s else 0.0,
            "map50_95": rounded(np.mean(ap_all)) if ap_all else 0.0,
            "all_found_rate": all_found_rate(matches, settings["threshold"], images),
            "exact_scene_rate": exact_scene_rate(matches, settings["threshold"], images),
            **metrics,
        },
        "per_class": per_class,
    }


def all_found_rate(matches: list[list[Matches]], threshold: float, images: np.ndarray) -> float:
    """The share of images, among those holding objects, where every object was found (IoU 0.5,
    right class, score >= threshold): for a count check, one missed object fails the image."""
    complete = []
    for index in images:
        boxes = sum(m.boxes for m in matches[index])
        if boxes:
            found = sum(int(m.hits[m.scores >= threshold, 0].sum()) for m in matches[index])
            complete.append(found == boxes)
    return rounded(np.mean(complete)) if complete else 0.0


def exact_scene_rate(matches: list[list[Matches]], threshold: float, images: np.ndarray) -> float:
    """The share of all images, empty ones included, read exactly: every object found (IoU 0.5,
    right class, score >= threshold) and no other box. all_found_rate forgives a false alarm and
    skips empty scenes; a count that must be right needs both."""
    exact = []
    for index in images:
        raised = [m.hits[m.scores >= threshold, 0] for m in matches[index]]
        found = sum(int(hits.sum()) for hits in raised)
        exact.append(found == sum(m.boxes for m in matches[index]) == sum(map(len, raised)))
    return rounded(np.mean(exact)) if exact else 0.0
