"""Measure the exported model on the test split next to a trivial baseline; write metrics, figures.

Everything here goes through `inference.Predictor` and the ONNX model, exactly as the demo does,
so the numbers describe what a visitor of the demo gets (run `export` before this stage).
The baseline is the score of a model that learnt nothing: one that never finds
anything. A model is only interesting by how far it beats that.

Writes reports/metrics.json (schema in docs/architecture.md of pocgen, and in the README) and
reports/figures/: confusion_matrix.png, pr_curve.png and examples.png (the worst errors first).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image, ImageOps
from rich.console import Console
from rich.progress import track

from .config import (
    FIGURES_DIR,
    LABELS_JSON_FILE,
    METRICS_FILE,
    ONNX_FILE,
    TRAINING_FILE,
    StageError,
    load_params,
)
from .dataset import is_sample_data, read_boxes, read_manifest, read_split
from .inference import Predictor

console = Console()
SCHEMA_VERSION = 1
SMOKE_ITEMS = 8  # --smoke: test items evaluated
# Keep nearly every box the model suspects: average precision is computed over all of them,
# from the most to the least confident, so a high cut-off would hide part of the curve.
SCORE_FLOOR = 0.01
IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)  # COCO's 0.5, 0.55, ..., 0.95


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threshold", type=float, help="score of a counted detection (confusion matrix, examples)"
    )
    parser.add_argument("--smoke", action="store_true", help=f"only {SMOKE_ITEMS} test items")


def load_predictor(classes: list[str]) -> Predictor:
    """The exported model, refusing a missing one or one trained for other classes."""
    if not ONNX_FILE.exists() or not LABELS_JSON_FILE.exists():
        raise StageError(
            f"{ONNX_FILE} not found: run `python -m surgical_tool_detector export` first "
            "(evaluate measures the exported model, the one the demo uses)."
        )
    predictor = Predictor(ONNX_FILE, LABELS_JSON_FILE)
    if predictor.classes != classes:
        raise StageError(
            f"the exported model knows classes {predictor.classes} but params.yaml has {classes}; "
            "run `train` and `export` again."
        )
    return predictor


def predict_split(
    predictor: Predictor, rows: list[dict[str, str]], threshold: float
) -> tuple[list[dict[str, Any]], list[float]]:
    """The prediction for every row, and the seconds each one took (one item at a time, as in
    the demo). One call before the clock starts lets onnxruntime finish its lazy setup."""
    first = load_image(rows[0]["path"])
    predictor.predict(first, threshold)
    predictions, seconds = [], []
    for row in track(rows, description="predicting", console=console):
        item = load_image(row["path"])
        started = time.perf_counter()
        predictions.append(predictor.predict(item, threshold))
        seconds.append(time.perf_counter() - started)
    return predictions, seconds


def load_image(path: str) -> Image.Image:
    """An upright RGB picture: phone photos are often stored sideways with an EXIF rotation tag."""
    try:
        with Image.open(path) as image:
            return ImageOps.exif_transpose(image).convert("RGB")
    except OSError as error:
        raise StageError(f"cannot read {path} ({error}); run `validate`, then `split`.") from error


def latency_summary(seconds: list[float]) -> dict[str, Any]:
    """Mean, median and 95th percentile of the time per item, in milliseconds."""
    ms = np.array(seconds) * 1000
    return {
        "mean": round(float(ms.mean()), 2),
        "p50": round(float(np.percentile(ms, 50)), 2),
        "p95": round(float(np.percentile(ms, 95)), 2),
        "runtime": "onnxruntime",
    }


def plot_confusion(matrix: np.ndarray, names: list[str], path: Path, title: str) -> None:
    """Rows are the true classes, columns the predicted ones; the diagonal is what went right."""
    figure = Figure(figsize=(1.2 * len(names) + 3, 1.2 * len(names) + 2.5), layout="constrained")
    axes = figure.subplots()
    axes.imshow(matrix, cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        colour = "white" if count > matrix.max() / 2 else "black"
        axes.text(col, row, str(count), ha="center", va="center", color=colour)
    axes.set_xticks(range(len(names)), names, rotation=45, ha="right")
    axes.set_yticks(range(len(names)), names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    figure.savefig(path, dpi=120)


def boxes_of(row: dict[str, str], classes: list[str]) -> list:
    """The true boxes of one split row, or a StageError naming the label file and the fix."""
    try:
        return read_boxes(Path(row["annotation"]), len(classes))
    except (OSError, ValueError) as error:
        raise StageError(f"{error}; fix the label file and run `split` again.") from error


def ground_truth(rows: list[dict[str, str]], classes: list[str]) -> list[list[tuple]]:
    """Per test image, its true boxes as (class id, [x0, y0, x1, y1] in pixels)."""
    truth = []
    for row in rows:
        boxes = boxes_of(row, classes)
        with Image.open(row["path"]) as image:
            width, height = ImageOps.exif_transpose(image).size
        truth.append([(b.class_id, np.array(b.to_pixels(width, height))) for b in boxes])
    return truth


def detections_of(predictions: list[dict], classes: list[str]) -> list[list[tuple]]:
    """Per test image, the predicted boxes as (class id, score, [x0, y0, x1, y1])."""
    return [
        [(classes.index(b["label"]), b["score"], np.array(b["box"])) for b in p["boxes"]]
        for p in predictions
    ]


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


def precision_recall(
    truth: list[list[tuple]], detections: list[list[tuple]], class_id: int, iou_threshold: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """Precision and recall of one class after each detection, most confident first.

    Going down the list of detections, each one is a true positive if it overlaps a true box of
    its class, in its image, that no earlier detection has claimed, by at least `iou_threshold`;
    otherwise it is a false positive. Returns (precision, recall, number of true boxes).
    """
    true_boxes = [np.array([b for c, b in image if c == class_id]) for image in truth]
    claimed = [np.zeros(len(boxes), dtype=bool) for boxes in true_boxes]
    found = [(score, image, box) for image, dets in enumerate(detections)
             for c, score, box in dets if c == class_id]
    found.sort(key=lambda item: -item[0])
    hits = np.zeros(len(found), dtype=bool)
    for k, (_, image, box) in enumerate(found):
        overlaps = iou(box, true_boxes[image])
        overlaps[claimed[image]] = 0  # a true box can be found only once
        if len(overlaps) and overlaps.max() >= iou_threshold:
            claimed[image][overlaps.argmax()] = True
            hits[k] = True
    total = sum(len(boxes) for boxes in true_boxes)
    true_positives = np.cumsum(hits)
    precision = true_positives / np.arange(1, len(found) + 1)
    recall = true_positives / max(total, 1)
    return precision, recall, total


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
    truth: list[list[tuple]], detections: list[list[tuple]], classes: list[str]
) -> dict:
    """mAP@0.5, mAP@0.5:0.95 and per-class AP; a class absent from the test split is left out
    of the means (its AP is undefined), as COCO does."""
    per_class, ap50s, ap_all = {}, [], []
    for class_id, name in enumerate(classes):
        aps = []
        for threshold in IOU_THRESHOLDS:
            precision, recall, total = precision_recall(truth, detections, class_id, threshold)
            aps.append(average_precision(precision, recall))
        if total == 0:
            per_class[name] = {"ap50": None, "ap50_95": None, "support": 0}
            continue
        per_class[name] = {
            "ap50": round(aps[0], 4), "ap50_95": round(float(np.mean(aps)), 4), "support": total
        }
        ap50s.append(aps[0])
        ap_all.append(np.mean(aps))
    return {
        "metrics": {
            "map50": round(float(np.mean(ap50s)), 4) if ap50s else 0.0,
            "map50_95": round(float(np.mean(ap_all)), 4) if ap_all else 0.0,
        },
        "per_class": per_class,
    }


def confusion(
    truth: list[list[tuple]], detections: list[list[tuple]], num_classes: int, threshold: float
) -> tuple[np.ndarray, list[int]]:
    """A confusion matrix for boxes, with an extra "background" row and column.

    In each image, detections scoring >= threshold are paired, best score first, with the
    unpaired true box they overlap most (IoU >= 0.5), whatever its class. A pair counts at
    (true class, predicted class); a true box left alone was missed (true class, background);
    a detection left alone is a false alarm (background, predicted class). Also returns the
    number of errors in each image, to pick the worst ones for examples.png.
    """
    background = num_classes
    matrix = np.zeros((num_classes + 1, num_classes + 1), dtype=int)
    errors = []
    for image_truth, image_dets in zip(truth, detections, strict=True):
        true_boxes = np.array([box for _, box in image_truth]).reshape(-1, 4)
        paired = np.zeros(len(image_truth), dtype=bool)
        mistakes = 0
        for class_id, score, box in sorted(image_dets, key=lambda d: -d[1]):
            if score < threshold:
                continue
            overlaps = iou(box, true_boxes)
            overlaps[paired] = 0
            if len(overlaps) and overlaps.max() >= 0.5:
                paired[overlaps.argmax()] = True
                true_class = image_truth[overlaps.argmax()][0]
                matrix[true_class, class_id] += 1
                mistakes += int(true_class != class_id)
            else:
                matrix[background, class_id] += 1
                mistakes += 1
        for (class_id, _), was_paired in zip(image_truth, paired, strict=True):
            if not was_paired:
                matrix[class_id, background] += 1
                mistakes += 1
        errors.append(mistakes)
    return matrix, errors


def plot_pr_curves(
    truth: list[list[tuple]], detections: list[list[tuple]], classes: list[str], path: Path
) -> None:
    """Precision against recall for each class at IoU 0.5, as the score cut-off slides down."""
    figure = Figure(figsize=(6, 5), layout="constrained")
    axes = figure.subplots()
    for class_id, name in enumerate(classes):
        precision, recall, total = precision_recall(truth, detections, class_id, 0.5)
        if total:
            ap = average_precision(precision, recall)
            axes.plot(recall, precision, label=f"{name} (AP {ap:.2f})")
    axes.set_xlabel("recall")
    axes.set_ylabel("precision")
    axes.set_xlim(0, 1.02)
    axes.set_ylim(0, 1.02)
    axes.set_title("Precision-recall per class at IoU 0.5 (test split)")
    axes.legend(loc="lower left")
    figure.savefig(path, dpi=120)


def plot_examples(
    rows: list[dict[str, str]],
    truth: list[list[tuple]],
    detections: list[list[tuple]],
    errors: list[int],
    classes: list[str],
    settings: dict[str, Any],
    path: Path,
) -> None:
    """Test images, those with the most errors first: true boxes dashed white, detections
    (score >= threshold) in colour with their label and score."""
    shown = [int(i) for i in np.argsort(-np.array(errors), kind="stable")[: settings["examples"]]]
    columns = min(4, len(shown))
    lines = (len(shown) + columns - 1) // columns
    colours = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6"]
    figure = Figure(figsize=(3.5 * columns, 3.7 * lines), layout="constrained")
    for cell, index in enumerate(shown):
        axes = figure.add_subplot(lines, columns, cell + 1)
        axes.imshow(load_image(rows[index]["path"]))
        for _, (x0, y0, x1, y1) in truth[index]:
            axes.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="white", ls="--"))
        for class_id, score, (x0, y0, x1, y1) in detections[index]:
            if score < settings["threshold"]:
                continue
            colour = colours[class_id % len(colours)]
            axes.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec=colour, lw=2))
            axes.text(x0, y0, f"{classes[class_id]} {score:.2f}", color="white", fontsize=7,
                      va="bottom", bbox={"facecolor": colour, "pad": 1, "lw": 0})
        axes.set_title(f"{Path(rows[index]['path']).name}: {errors[index]} error(s)", fontsize=9,
                       color="red" if errors[index] else "green")
        axes.axis("off")
    figure.suptitle("Test images, most errors first (dashed: truth)")
    figure.savefig(path, dpi=100)


def box_counts(rows: list[dict[str, str]], classes: list[str]) -> dict[str, int]:
    """How many boxes of each class a split holds."""
    counts: Counter[int] = Counter()
    for row in rows:
        counts.update(b.class_id for b in boxes_of(row, classes))
    return {name: counts[index] for index, name in enumerate(classes)}


def dataset_summary(splits: dict[str, list[dict[str, str]]], classes: list[str]) -> dict:
    """Items per split, and boxes per class per split."""
    counts = {
        name: box_counts(rows, classes) for name, rows in splits.items()
    }
    summary: dict[str, Any] = {name: len(rows) for name, rows in splits.items()}
    summary["per_class"] = {c: {name: counts[name][c] for name in splits} for c in classes}
    return summary


def read_training_report() -> dict[str, Any]:
    """What `train` recorded: model, time, machine, commit."""
    if not TRAINING_FILE.exists():
        raise StageError(
            f"{TRAINING_FILE} not found: run `python -m surgical_tool_detector train` first."
        )
    return json.loads(TRAINING_FILE.read_text(encoding="utf-8"))


def run(args: argparse.Namespace) -> None:
    params = load_params()
    settings = dict(params.get("evaluate") or {})
    if args.threshold is not None:
        settings["threshold"] = args.threshold
    classes: list[str] = params["classes"]
    predictor = load_predictor(classes)
    training = read_training_report()
    splits = {name: read_split(name) for name in ("train", "val", "test")}
    rows = splits["test"][:SMOKE_ITEMS] if args.smoke else splits["test"]
    if not rows:
        raise StageError("the test split is empty: collect more data and run `split` again.")
    FIGURES_DIR.mkdir(parents=True, exist_ok=True)
    figures = {
        name: FIGURES_DIR / f"{name}.png" for name in ("confusion_matrix", "pr_curve", "examples")
    }
    predictions, seconds = predict_split(predictor, rows, SCORE_FLOOR)
    truth = ground_truth(rows, classes)
    detections = detections_of(predictions, classes)
    result = detection_metrics(truth, detections, classes)
    # The trivial baseline, measured the same way: a detector that never finds anything.
    baseline = detection_metrics(truth, [[] for _ in rows], classes)["metrics"]
    baseline_name = "empty prediction"
    headline = "map50"

    matrix, errors = confusion(truth, detections, len(classes), settings["threshold"])
    names = [*classes, "background"]
    title = f"Boxes at IoU 0.5, score >= {settings['threshold']}"
    plot_confusion(matrix, names, figures["confusion_matrix"], title)
    plot_pr_curves(truth, detections, classes, figures["pr_curve"])
    plot_examples(rows, truth, detections, errors, classes, settings, figures["examples"])

    metrics = {
        "schema_version": SCHEMA_VERSION,
        "task": params["task"],
        "sample_data": is_sample_data(read_manifest()),
        "smoke": args.smoke,
        "classes": classes,
        "dataset": dataset_summary(splits, classes),
        "headline": {"metric": headline, "value": result["metrics"][headline]},
        "metrics": result["metrics"],
        "baseline": {"name": baseline_name, "metrics": baseline},
        "per_class": result["per_class"],
        "latency_ms": latency_summary(seconds),
        "model": training["model"],
        "training": {
            key: training.get(key)
            for key in ("seconds", "epochs", "device", "hardware", "git_commit")
        },
        "figures": {name: path.as_posix() for name, path in figures.items()},
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    METRICS_FILE.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    console.print(
        f"[green]{headline} {result['metrics'][headline]:.3f} on {len(rows)} test items "
        f"(baseline {baseline[headline]:.3f}); {metrics['latency_ms']['mean']:.2f} ms per item. "
        f"Wrote {METRICS_FILE} and {FIGURES_DIR}/."
    )
