"""Projects with known artifacts, for the writeup, check and course tests.

`render` renders the real `poc` template with Copier. `write_known_artifacts` then writes the report
files a finished project would hold, with numbers chosen here, so a test can assert that exactly
these numbers (and no others) reach the README, the resume and the model card. Turning given
artifacts into text is the writeup's whole job; the pipeline stages that produce the artifacts for
real are exercised in test_check.py.
"""

from __future__ import annotations

import csv
import hashlib
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import yaml
from copier import run_copy

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = REPO_ROOT / "templates" / "poc"

METRICS: dict[str, Any] = {
    "schema_version": 1,
    "task": "image-classification",
    "sample_data": False,
    "smoke": False,
    "classes": ["ok", "defect"],
    "dataset": {
        "train": 168,
        "val": 36,
        "test": 36,
        "per_class": {
            "ok": {"train": 90, "val": 19, "test": 19},
            "defect": {"train": 78, "val": 17, "test": 17},
        },
    },
    "headline": {"metric": "accuracy", "value": 0.8731},
    "metrics": {"accuracy": 0.8731, "macro_f1": 0.8644},
    "baseline": {"name": "majority class", "metrics": {"accuracy": 0.5278, "macro_f1": 0.3456}},
    "per_class": {
        "ok": {"precision": 0.9012, "recall": 0.8421, "f1": 0.8707, "support": 19},
        "defect": {"precision": 0.8333, "recall": 0.8824, "f1": 0.8571, "support": 17},
    },
    "latency_ms": {"mean": 3.42, "p50": 3.1, "p95": 5.77, "runtime": "onnxruntime"},
    "model": {"name": "small-cnn", "pretrained": False, "parameters": 91234},
    "training": {
        "seconds": 301.4,
        "epochs": 12,
        "device": "cpu",
        "hardware": "2 CPU cores (x86_64)",
        "git_commit": "4f2c9e1",
    },
    "figures": {
        "confusion_matrix": "reports/figures/confusion_matrix.png",
        "pr_curve": "reports/figures/pr_curve.png",
        "examples": "reports/figures/examples.png",
    },
    "created_at": "2026-11-26T01:00:00+00:00",
}

TRAINING: dict[str, Any] = {
    "task": "image-classification",
    "smoke": False,
    "params": {"epochs": 12, "lr": 0.003, "batch_size": 32, "pretrained": "auto"},
    "seed": 42,
    "model": METRICS["model"],
    "history": [
        {"epoch": 1, "train_loss": 0.6931, "val_loss": 0.65},
        {"epoch": 12, "train_loss": 0.2174, "val_loss": 0.31},
    ],
    "epochs": 12,
    "device": "cpu",
    "hardware": "2 CPU cores (x86_64)",
    "seconds": 301.4,
    "git_commit": "4f2c9e1",
}

QUALITY: dict[str, Any] = {
    "task": "image-classification",
    "items": 240,
    "corrupt": [],
    "too_small": [],
    "per_class": {"ok": 128, "defect": 112},
    "duplicates": {"exact": [["a.jpg", "b.jpg"]], "near": [["c.jpg", "d.jpg"], ["e.jpg", "f.jpg"]]},
    "duplicates_across_groups": 1,  # a.jpg and b.jpg came from different sources
    "blocking_reasons": [],
    "blocking": False,
    "sample_data": False,
}

LABELS: dict[str, Any] = {  # as `label pull` writes it
    "task": "image-classification",
    "classes": ["ok", "defect"],
    "project": {"url": "http://127.0.0.1:8080", "id": 1},
    "labeled_items": 240,
    "annotators": {"jane": 200, "omar": 40},
    "agreement": {
        "pairs": 40,
        "overall": {"kappa": 0.7921},
        "per_class": {"ok": {"pairs": 40, "kappa": 0.81}, "defect": {"pairs": 40, "kappa": 0.77}},
    },
    "rejected": [],
}

DEPLOY = {
    "space_id": "jane/defect-spotter",
    "url": "https://huggingface.co/spaces/jane/defect-spotter",
    "sdk": "gradio",
    "ui": "gradio",
    "deployed_at": "2026-11-26T02:00:00+00:00",
}


# A user's own answers per task (the template asks for them; only its demo has defaults).
OWN_ANSWERS: dict[str, dict[str, str]] = {
    "object-detection": {
        "problem": "Ward nurses count supply kits by hand, and a short kit is found too late.",
        "business_objective": "Flag an incomplete supply kit before it leaves the store room.",
        "classes": "gauze, syringe, glove",
    },
    "image-classification": {
        "problem": "Line inspectors at a small factory check every part by eye, and defects "
        "still reach customers.",
        "business_objective": "Catch defective parts before shipping without slowing the line.",
        "classes": "ok, defect",
    },
    "text-classification": {
        "problem": "A support team reads every incoming ticket to route it, and urgent ones wait "
        "in the wrong queue.",
        "business_objective": "Route tickets to the right queue on arrival so urgent ones are "
        "answered sooner.",
        "classes": "billing, technical, account",
    },
}


def render(dest: Path, template: Path = TEMPLATE, **answers: Any) -> Path:
    """Render the built-in template (or another copy of it, such as an older version)
    non-interactively with a user's own answers (not the demo)."""
    task = answers.get("task", "image-classification")
    metric = "mAP@0.5" if task == "object-detection" else "accuracy"
    target = answers.get("target_value", 0.9)
    data = {
        "task": task,
        "project_name": "Defect Spotter",
        **OWN_ANSWERS[task],
        "success_metric": f"{metric} of at least {target:g} on a held-out test set",
        **answers,
    }
    run_copy(str(template), str(dest), data=data, defaults=True, unsafe=True, quiet=True)
    return dest


def tiny_png() -> bytes:
    """A valid 1x1 PNG: the writeup only links figures, it never reads their pixels."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def write_known_artifacts(root: Path) -> None:
    """Every report a finished image-classification project holds, with the numbers above."""
    reports = root / "reports"
    write_json(reports / "metrics.json", METRICS)
    write_json(reports / "training.json", TRAINING)
    write_json(reports / "data_quality.json", QUALITY)
    write_json(reports / "labels.json", LABELS)
    write_json(reports / "deploy.json", DEPLOY)
    figures = reports / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    for name in ("confusion_matrix", "pr_curve", "examples", "app_gradio"):
        (figures / f"{name}.png").write_bytes(tiny_png())
    rows = [
        {
            "item": f"{label}/{i:03d}.jpg",
            "source": "folder",
            "group": f"g{i}",
            "collected_at": "2026-11-20T10:00:00+00:00",
            "original_path": f"/photos/{i}.jpg",
            "license_note": "own photos",
        }
        for label, n in QUALITY["per_class"].items()
        for i in range(n)
    ]
    (root / "data").mkdir(exist_ok=True)
    with (root / "data" / "manifest.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with (root / "data" / "labels.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item", "label", "annotator", "labeled_at"])
        for number, row in enumerate(rows):  # as LABELS says: omar labeled 40 items, jane 200
            who = "omar" if number % 6 == 5 else "jane"
            writer.writerow([row["item"], row["item"].split("/")[0], who, "2026-11-21"])
    write_lock(root)


# The stages a finished project ran, as reports/pipeline.lock records them: stage -> (what it
# read, what it wrote). Written here independently of the template's own writer, so a drift
# between the two formats fails the tests that read both.
STAGES = {
    "validate": (["data/manifest.csv"], ["reports/data_quality.json"]),
    "split": (
        ["data/manifest.csv"],
        [f"data/splits/{name}.csv" for name in ("train", "val", "test")],
    ),
    "train": (
        ["data/splits/train.csv", "data/splits/val.csv"],
        ["models/model.pt", "reports/training.json"],
    ),
    "export": (
        ["models/model.pt", "data/splits/val.csv"],
        ["models/model.onnx", "models/labels.json"],
    ),
    "evaluate": (
        [
            "models/model.onnx",
            "models/labels.json",
            "reports/training.json",
            "data/splits/test.csv",
        ],
        [
            "reports/metrics.json",
            *(f"reports/figures/{n}.png" for n in ("confusion_matrix", "pr_curve", "examples")),
        ],
    ),
}


def md5_entry(root: Path, relative: str) -> dict[str, Any]:
    """dvc.lock's entry for a file; a file the test project does not hold (a checkpoint) gets a
    stand-in hash that every record naming it shares, as one real file would."""
    path = root / relative
    data = path.read_bytes() if path.is_file() else f"absent {relative}".encode()
    return {
        "path": relative,
        "hash": "md5",
        "md5": hashlib.md5(data).hexdigest(),
        "size": len(data),
    }


def write_lock(root: Path, stages: tuple[str, ...] = tuple(STAGES)) -> None:
    """reports/pipeline.lock as if `stages` had just run with params.yaml as it is (an empty one
    when the test project has none): every report in place is bound to its inputs."""
    params_file = root / "params.yaml"
    params = yaml.safe_load(params_file.read_text(encoding="utf-8")) if params_file.exists() else {}
    params = params if isinstance(params, dict) else {}
    recorded = {}
    for stage in stages:
        reads, writes = STAGES[stage]
        used = {key: params[key] for key in ("seed", "task", "classes") if key in params}
        recorded[stage] = {
            "cmd": f"python -m defect_spotter {stage}",
            "deps": [md5_entry(root, path) for path in reads],
            "params": {"params.yaml": {**used, stage: params.get(stage) or {}}},
            "outs": [md5_entry(root, path) for path in writes],
        }
    lock = root / "reports" / "pipeline.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(
        yaml.safe_dump({"schema": "2.0", "stages": recorded}, sort_keys=False), encoding="utf-8"
    )
