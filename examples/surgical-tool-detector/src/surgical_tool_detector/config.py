"""Settings every stage shares: the paths of the data layout and the values in params.yaml.

Paths are relative to the project root, where you run `python -m <package> <stage>`, so the same
code runs from a laptop, CI or a notebook that changed into the project folder. params.yaml is
checked once, here, when a stage loads it: a wrong value stops the stage with one line naming
the key and the fix, instead of a traceback deep inside it.
"""

from __future__ import annotations

import argparse
import re
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

# The type of every number in params.yaml, by section ("" is the top level).
WHOLE_NUMBERS = {
    "": ["seed"],
    "sample": ["count", "image_size"],
    "collect": ["synth_count", "synth_size", "duplicate_distance"],
    "validate": ["min_per_class", "min_image_size", "near_duplicate_distance"],
    "train": ["input_size", "channels", "epochs", "batch_size", "patience", "workers"],
    "evaluate": ["bootstrap", "examples"],
    "export": ["opset"],
}
NUMBERS = {
    "sample": ["negatives"],
    "collect": ["fps", "blur_relative", "burst_seconds", "rotation", "occlusion"],
    "validate": ["max_imbalance"],
    "split": ["train", "val", "test"],
    "train": ["learning_rate", "weight_decay"],
    "evaluate": ["target", "precision", "threshold"],
    "export": ["tolerance"],
}
NUMBER_LISTS = {"collect": ["objects", "scale", "brightness"]}
# Class names become folder names (PHOTOS/<class>/) and reach the demo's web page: letters and
# digits of any script are fine ("café cup"), characters a folder name or a page would misread
# are not, nor a final dot or a device name Windows reserves. The template's question refused
# the same names.
FORBIDDEN_IN_NAMES = "<>:\"/\\|?*'`&"
RESERVED_NAMES = re.compile(r"(con|prn|aux|nul|com[1-9]|lpt[1-9])([.].*)?", re.IGNORECASE)


class StageError(Exception):
    """An expected failure: the CLI prints its message as one line and exits with code 1."""


def load_params(path: Path = PARAMS_FILE) -> dict[str, Any]:
    """Read params.yaml and check it; every stage starts from these values."""
    if not path.exists():
        raise StageError(f"{path} not found: run this command from the project root.")
    try:
        params = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise StageError(f"{path} is not valid YAML ({error}); fix the file and retry.") from error
    if not isinstance(params, dict) or "task" not in params or "classes" not in params:
        raise StageError(f"{path} must be a mapping with at least `task` and `classes`.")
    check_classes(params["classes"], path)
    check_texts(params, path)
    check_numbers(params, path)
    return params


def check_classes(classes: Any, path: Path) -> None:
    """Raise StageError unless `classes` is a list of unique, printable, non-empty names."""
    if not isinstance(classes, list) or not classes:
        raise StageError(f"{path}: `classes` must be a list of class names, not {classes!r}.")
    for name in classes:
        if not isinstance(name, str) or not name.strip():
            raise StageError(f"{path}: `classes` holds {name!r}; every class needs a name.")
        unsafe = any(char in FORBIDDEN_IN_NAMES for char in name) or RESERVED_NAMES.fullmatch(name)
        if unsafe or not name[0].isalnum() or not name.isprintable() or name[-1] in ". ":
            raise StageError(
                f"{path}: class {name!r} in `classes` must start with a letter or digit (any "
                f"script) and be safe as a folder name: none of {FORBIDDEN_IN_NAMES}, no control "
                "character, no '.' or space at the end, not CON, PRN, AUX, NUL, COM1-9 or "
                "LPT1-9; rename it."
            )
    if len(set(classes)) != len(classes):
        twice = sorted({name for name in classes if classes.count(name) > 1})
        raise StageError(f"{path}: `classes` names {twice} more than once; keep one of each.")


def check_texts(params: dict[str, Any], path: Path) -> None:
    """The project's own words, shown by the demo and the writeup, must be text."""
    for key in ("title", "problem", "objective"):
        if key in params and not isinstance(params[key], str):
            raise StageError(f"{path}: `{key}` must be a sentence in quotes, not {params[key]!r}.")


def is_number(value: Any, whole: bool = False) -> bool:
    """True for an int (or a float unless `whole`); YAML's true/false are not numbers."""
    kinds = (int,) if whole else (int, float)
    return isinstance(value, kinds) and not isinstance(value, bool)


def is_number_list(value: Any) -> bool:
    """True for a list of numbers, such as `scale: [0.15, 0.4]`."""
    return isinstance(value, list) and all(map(is_number, value))


def check_numbers(params: dict[str, Any], path: Path) -> None:
    """Raise StageError naming the first number of the wrong type, and the type it must be.

    A wrong type (`epochs: banana`) is refused here, before a stage spends any time on it.
    """
    rules = [
        (WHOLE_NUMBERS, "a whole number", lambda value: is_number(value, whole=True)),
        (NUMBERS, "a number", is_number),
        (NUMBER_LISTS, "a list of numbers", is_number_list),
    ]
    for table, expected, valid in rules:
        for section, names in table.items():
            values = params.get(section) if section else params
            for name in names:
                if isinstance(values, dict) and name in values and not valid(values[name]):
                    key = f"{section}.{name}" if section else name
                    wrong = f"`{key}` must be {expected}, not {values[name]!r}"
                    raise StageError(f"{path}: {wrong}; fix it and rerun.")


def stage_settings(
    params: dict[str, Any], section: str, args: argparse.Namespace
) -> dict[str, Any]:
    """params.yaml's `section`, with every flag given on the command line taking priority."""
    settings = dict(params.get(section) or {})
    for key, value in vars(args).items():
        if value is not None and key != "smoke":
            settings[key] = value
    return settings
