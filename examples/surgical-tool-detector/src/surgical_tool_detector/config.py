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
LABELS_FILE = DATA_DIR / "labels.csv"  # classification and text labels
BOX_LABELS_DIR = DATA_DIR / "labels"  # detection labels, YOLO txt + COCO JSON
SPLITS_DIR = DATA_DIR / "splits"

MODELS_DIR = Path("models")
CHECKPOINT_FILE = MODELS_DIR / "model.pt"
TEXT_MODEL_FILE = MODELS_DIR / "model.pkl"  # text task: the fitted scikit-learn pipeline
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
    return params
