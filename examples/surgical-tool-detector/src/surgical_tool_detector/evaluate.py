"""Measure the exported model on the test split next to a simple baseline; write metrics, figures.

Everything here goes through `inference.Predictor` and the ONNX model, exactly as the demo does,
so the numbers describe what a visitor of the demo gets (run `export` before this stage). The
baseline is a detector that learnt only where boxes usually are: each class's average training
box, put in every test image with the class's share of training images as its score. A model is
only interesting by how far it beats that.

The headline is `evaluate.metric` in params.yaml (the metric your success target is about), with
a 95% bootstrap interval: the test set is resampled with replacement many times and the metric
recomputed, so the interval shows how much the number would move on another test set of the
same size. A small test set gets a warning, because its interval is wide.

Writes reports/metrics.json (its fields: reports/README.md) and reports/figures/:
confusion_matrix.png, pr_curve.png and examples.png (the worst errors first).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
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
    SPLITS_DIR,
    TRAINING_FILE,
    StageError,
    load_params,
    stage_settings,
)
from .dataset import Box, is_sample_data, read_boxes_or_fail, read_manifest, read_split
from .inference import Predictor
from .metrics import (
    Matches,
    average_precision,
    bootstrap_interval,
    detection_metrics,
    headline,
    headline_metric,
    iou,
    latency_summary,
    match_all,
    precision_recall,
    small_test_set_warnings,
)
from .pipeline_lock import record_stage
from .reports import read_json, write_metrics_report

console = Console()
SMOKE_ITEMS = 8  # --smoke: test items evaluated
SMOKE_ROUNDS = 100  # --smoke: bootstrap resamples (the interval of 8 items means nothing anyway)
# Keep nearly every box the model suspects: average precision is computed over all of them,
# from the most to the least confident, so a high cut-off would hide part of the curve.
SCORE_FLOOR = 0.01


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threshold",
        type=float,
        help="score from which a box counts as found (recall, confusion matrix, examples)",
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


def image_size(path: str) -> tuple[int, int]:
    """Width and height of an image as the model sees it: upright, EXIF rotation applied."""
    with Image.open(path) as image:
        return ImageOps.exif_transpose(image).size


def ground_truth(rows: list[dict[str, str]], classes: list[str]) -> list[list[tuple]]:
    """Per test image, its true boxes as (class id, [x0, y0, x1, y1] in pixels)."""
    truth = []
    for row in rows:
        width, height = image_size(row["path"])
        boxes = read_boxes_or_fail(row["annotation"], len(classes))
        truth.append([(b.class_id, np.array(b.to_pixels(width, height))) for b in boxes])
    return truth


def detections_of(predictions: list[dict], classes: list[str]) -> list[list[tuple]]:
    """Per test image, the predicted boxes as (class id, score, [x0, y0, x1, y1])."""
    return [
        [(classes.index(b["label"]), b["score"], np.array(b["box"])) for b in p["boxes"]]
        for p in predictions
    ]


def mean_box_baseline(
    train_rows: list[dict[str, str]], classes: list[str], sizes: list[tuple[int, int]]
) -> list[list[tuple]]:
    """The baseline's detections: in every test image, each class's average training box (its
    centre and size as fractions of the image), scored by the share of training images holding
    the class. It knows where objects tend to be and how common they are, and nothing else."""
    images = [read_boxes_or_fail(row["annotation"], len(classes)) for row in train_rows]
    prior = []
    for class_id in range(len(classes)):
        boxes = [
            [b.cx, b.cy, b.w, b.h] for image in images for b in image if b.class_id == class_id
        ]
        if boxes:
            share = sum(any(b.class_id == class_id for b in image) for image in images)
            prior.append((Box(class_id, *np.mean(boxes, axis=0)), share / len(images)))
    return [
        [(box.class_id, score, np.array(box.to_pixels(width, height))) for box, score in prior]
        for width, height in sizes
    ]


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


def plot_pr_curves(matches: list[list[Matches]], classes: list[str], path: Path) -> None:
    """Precision against recall for each class at IoU 0.5, as the score cut-off slides down."""
    figure = Figure(figsize=(6, 5), layout="constrained")
    axes = figure.subplots()
    for class_id, name in enumerate(classes):
        precision, recall, _, total = precision_recall(matches, class_id, np.arange(len(matches)))
        if total:
            ap = average_precision(precision[:, 0], recall[:, 0])
            axes.plot(recall[:, 0], precision[:, 0], label=f"{name} (AP {ap:.2f})")
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
            axes.text(
                x0,
                y0,
                f"{classes[class_id]} {score:.2f}",
                color="white",
                fontsize=7,
                va="bottom",
                bbox={"facecolor": colour, "pad": 1, "lw": 0},
            )
        axes.set_title(
            f"{Path(rows[index]['path']).name}: {errors[index]} error(s)",
            fontsize=9,
            color="red" if errors[index] else "green",
        )
        axes.axis("off")
    figure.suptitle("Test images, most errors first (dashed: truth)")
    figure.savefig(path, dpi=100)


def box_counts(rows: list[dict[str, str]], classes: list[str]) -> dict[str, int]:
    """How many boxes of each class a split holds."""
    counts: Counter[int] = Counter()
    for row in rows:
        counts.update(b.class_id for b in read_boxes_or_fail(row["annotation"], len(classes)))
    return {name: counts[index] for index, name in enumerate(classes)}


def dataset_summary(splits: dict[str, list[dict[str, str]]], classes: list[str]) -> dict:
    """Items per split, and boxes per class per split."""
    counts = {name: box_counts(rows, classes) for name, rows in splits.items()}
    summary: dict[str, Any] = {name: len(rows) for name, rows in splits.items()}
    summary["per_class"] = {c: {name: counts[name][c] for name in splits} for c in classes}
    return summary


def run(args: argparse.Namespace) -> None:
    params = load_params()
    settings = stage_settings(params, "evaluate", args)
    classes: list[str] = params["classes"]
    metric = headline_metric(settings, classes)

    # --- the exported model and the test split ---
    predictor = load_predictor(classes)
    training = read_json(TRAINING_FILE, "train")
    splits = {name: read_split(name) for name in ("train", "val", "test")}
    rows = splits["test"][:SMOKE_ITEMS] if args.smoke else splits["test"]
    if not rows:
        raise StageError("the test split is empty: collect more data and run `split` again.")
    FIGURES_DIR.mkdir(parents=True, exist_ok=True)
    figures = {
        name: FIGURES_DIR / f"{name}.png" for name in ("confusion_matrix", "pr_curve", "examples")
    }

    # --- predictions, the metrics with their 95% interval, the baseline measured the same way ---
    items = np.arange(len(rows))
    predictions, seconds = predict_split(predictor, rows, SCORE_FLOOR)
    truth = ground_truth(rows, classes)
    detections = detections_of(predictions, classes)
    matches = match_all(truth, detections, len(classes))
    result = detection_metrics(matches, classes, settings, items)
    # The baseline, measured the same way: boxes where objects usually are, learnt from train.
    sizes = [image_size(row["path"]) for row in rows]
    guesses = mean_box_baseline(splits["train"], classes, sizes)
    baseline = detection_metrics(match_all(truth, guesses, len(classes)), classes, settings, items)
    baseline = baseline["metrics"]
    baseline_name = "mean box per class (each class's average training box, in every image)"
    interval = bootstrap_interval(
        lambda sample: detection_metrics(matches, classes, settings, sample)["metrics"][metric],
        len(rows),
        SMOKE_ROUNDS if args.smoke else settings["bootstrap"],
        params.get("seed", 0),
    )
    test_counts = box_counts(rows, classes)

    # --- figures: what went wrong, and where to look ---
    matrix, errors = confusion(truth, detections, len(classes), settings["threshold"])
    names = [*classes, "background"]
    title = f"Boxes at IoU 0.5, score >= {settings['threshold']}"
    plot_confusion(matrix, names, figures["confusion_matrix"], title)
    plot_pr_curves(matches, classes, figures["pr_curve"])
    plot_examples(rows, truth, detections, errors, classes, settings, figures["examples"])

    # --- what gets saved: metrics.json, and what to be careful about ---
    warnings = small_test_set_warnings(len(rows), test_counts)
    summary = headline(metric, settings, result["metrics"], interval)
    latency = latency_summary(seconds)
    write_metrics_report(
        params,
        smoke=args.smoke,
        sample_data=is_sample_data(read_manifest()),
        dataset=dataset_summary(splits, classes),
        test_size=len(rows),
        headline=summary,
        result=result,
        baseline={"name": baseline_name, "metrics": baseline},
        warnings=warnings,
        latency_ms=latency,
        training=training,
        figures={name: path.as_posix() for name, path in figures.items()},
    )
    record_stage(
        "evaluate",
        args,
        params,
        settings,
        reads=[ONNX_FILE, LABELS_JSON_FILE, TRAINING_FILE]
        + [SPLITS_DIR / f"{name}.csv" for name in ("train", "val", "test")],
        writes=[METRICS_FILE, *figures.values()],
    )
    for warning in warnings:
        console.print(f"[yellow]Warning: {warning}.")
    if warnings:
        counts = ", ".join(f"{name} {n}" for name, n in test_counts.items())
        console.print(f"[yellow]Test boxes per class: {counts}.")
    console.print(
        f"[green]{metric} {shown(summary['value'])} (95% interval {shown(interval[0])} to "
        f"{shown(interval[1])}) on {len(rows)} test items; baseline {shown(baseline[metric])}; "
        f"{latency['mean']:.2f} ms per item. Wrote {METRICS_FILE} and {FIGURES_DIR}/."
    )
    if settings.get("target") is not None and summary["value"] is not None:
        # The success target of params.yaml, on this test split (quote the interval with it).
        met = "met" if summary["value"] >= settings["target"] else "not met yet"
        console.print(f"Target {metric} >= {settings['target']}: {met}.")


def shown(value: float | None) -> str:
    """A metric for the console: 3 decimals, or 'n/a' where it is undefined."""
    return "n/a" if value is None else f"{value:.3f}"
