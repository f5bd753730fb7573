"""Settings every stage shares: the paths of the data layout and the values in params.yaml.

Paths are relative to the project root, where you run `python -m <package> <stage>`, so the same
code runs from a laptop, CI or a notebook that changed into the project folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

PARAMS_FILE = Path("params.yaml")

DATA_DIR = Path("data")
RAW_DIR = DATA_DIR / "raw"
MANIFEST_FILE = DATA_DIR / "manifest.csv"
BOX_LABELS_DIR = DATA_DIR / "labels"  # YOLO txt per image + COCO JSON
SPLITS_DIR = DATA_DIR / "splits"

MODELS_DIR = Path("models")
CHECKPOINT_FILE = MODELS_DIR / "model.pt"  # the trained network, for export
ONNX_FILE = MODELS_DIR / "model.onnx"
LABELS_JSON_FILE = MODELS_DIR / "labels.json"

REPORTS_DIR = Path("reports")
FIGURES_DIR = REPORTS_DIR / "figures"
METRICS_FILE = REPORTS_DIR / "metrics.json"
TRAINING_FILE = REPORTS_DIR / "training.json"
QUALITY_FILE = REPORTS_DIR / "data_quality.json"


class StageError(Exception):
    """An expected failure: the CLI prints its message as one line and exits with code 1."""


def load_params(path: Path = PARAMS_FILE) -> dict[str, Any]:
    """Read params.yaml; every stage starts from these values and lets flags override them."""
    if not path.exists():
        raise StageError(f"{path} not found: run this command from the project root.")
    try:
        params = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise StageError(f"{path} is not valid YAML ({error}); fix the file and retry.") from error
    if not isinstance(params, dict) or "task" not in params or "classes" not in params:
        raise StageError(f"{path} must be a mapping with at least `task` and `classes`.")
    check_types(params, path)
    return params


# The type of every number in params.yaml, by dotted key; keys a task does not use are absent.
# A wrong type (`epochs: banana`) is refused here, naming the key, instead of failing as a
# traceback deep inside a stage.
INTEGER_KEYS = {
    "seed", "sample.count", "sample.image_size", "collect.synth_count", "collect.synth_size",
    "collect.duplicate_distance", "validate.min_image_size", "validate.near_duplicate_distance",
    "validate.min_text_length", "validate.min_per_class", "train.input_size", "train.channels",
    "train.epochs", "train.batch_size", "train.patience", "train.workers", "train.ngram_max",
    "train.min_df", "train.max_iter", "evaluate.examples", "export.opset",
}
NUMBER_KEYS = {
    "sample.negatives", "collect.fps", "collect.blur_relative", "collect.burst_seconds",
    "collect.rotation", "collect.occlusion", "validate.max_imbalance", "split.train",
    "split.val", "split.test", "train.learning_rate", "train.weight_decay",
    "evaluate.threshold", "export.tolerance",
}
NUMBER_LIST_KEYS = {"collect.objects", "collect.scale", "collect.brightness", "train.C"}


def is_number(value: Any, whole: bool = False) -> bool:
    """True for an int (or a float unless `whole`); YAML's true/false are not numbers."""
    kinds = (int,) if whole else (int, float)
    return isinstance(value, kinds) and not isinstance(value, bool)


def check_types(params: dict[str, Any], path: Path) -> None:
    """Raise StageError naming the first value of the wrong type, and the type it must be."""
    classes = params["classes"]
    if not isinstance(classes, list) or not all(isinstance(n, str) and n for n in classes):
        raise StageError(f"{path}: `classes` must be a list of names, not {classes!r}; fix it.")
    rules = [(key, "a whole number", lambda v: is_number(v, whole=True)) for key in INTEGER_KEYS]
    rules += [(key, "a number", is_number) for key in NUMBER_KEYS]
    rules += [(key, "a list of numbers", lambda v: isinstance(v, list) and all(map(is_number, v)))
              for key in NUMBER_LIST_KEYS]
    for key, expected, valid in sorted(rules, key=lambda rule: rule[0]):
        section, _, name = key.rpartition(".")
        values = params.get(section) if section else params
        if isinstance(values, dict) and name in values and not valid(values[name]):
            raise StageError(
                f"{path}: `{key}` must be {expected}, not {values[name]!r}; fix it and rerun."
            )
