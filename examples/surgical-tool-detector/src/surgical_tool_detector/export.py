"""Export the trained model to ONNX, write models/labels.json, and prove the two agree.

The demo apps and `evaluate` run models/model.onnx with onnxruntime only (no torch: a Hugging
Face Space starts in seconds instead of installing gigabytes). An export can go subtly wrong, so
before anything is replaced this stage runs a few validation items through both runtimes (PyTorch
and onnxruntime) and refuses to save when their outputs differ by more than `export.tolerance`.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import onnxruntime as ort
import torch
from PIL import Image
from rich.console import Console
from torch import nn

from .config import (
    CHECKPOINT_FILE,
    LABELS_JSON_FILE,
    ONNX_FILE,
    SPLITS_DIR,
    StageError,
    load_params,
    stage_settings,
)
from .dataset import read_split
from .inference import preprocess
from .model import build_model
from .pipeline_lock import record_stage
from .reports import write_json

console = Console()
CHECK_ITEMS = 8  # validation items compared between the two runtimes (2 with --smoke)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tolerance", type=float, help="largest allowed output difference")
    parser.add_argument("--smoke", action="store_true", help="check fewer items (for tests)")


class WithSigmoid(nn.Module):
    """The detector with a sigmoid on its heatmap, so the ONNX model outputs probabilities."""

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        heatmap, box = self.detector(images)
        return heatmap.sigmoid(), box


def run(args: argparse.Namespace) -> None:
    params = load_params()
    settings = stage_settings(params, "export", args)
    check_rows = read_split("val")[: 2 if args.smoke else CHECK_ITEMS]
    if not check_rows:
        raise StageError("the val split is empty, so the export cannot be checked: run `split`.")
    if not CHECKPOINT_FILE.exists():
        command = "python -m surgical_tool_detector train"
        raise StageError(f"{CHECKPOINT_FILE} not found: run `{command}` first.")
    checkpoint = torch.load(CHECKPOINT_FILE, map_location="cpu")
    config = checkpoint["config"]
    if config["classes"] != params["classes"]:
        raise StageError(
            f"the model was trained on classes {config['classes']} but params.yaml has "
            f"{params['classes']}; run `train` again."
        )
    model = build_model(config)
    model.load_state_dict(checkpoint["state_dict"])
    model = WithSigmoid(model)
    output_names = ["heatmap", "box"]
    model.eval()  # batch norm uses its running statistics, dropout is off
    size = config["input_size"]

    # Write next to the final file and move it into place only once it has passed the check,
    # so a failed export never replaces a model that worked.
    draft = ONNX_FILE.with_suffix(".draft.onnx")
    with warnings.catch_warnings():
        # torch 2.9+ prefers its new torch.export-based exporter (which needs onnxscript);
        # the classic TorchScript exporter handles this plain convolutional network fine.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (torch.zeros(1, 3, size, size),),
            str(draft),
            input_names=["image"],
            output_names=output_names,
            # Any batch size: the apps send one image, evaluate may send more.
            dynamic_axes={name: {0: "batch"} for name in ["image", *output_names]},
            opset_version=settings["opset"],
            dynamo=False,
        )

    # --- check: the same pictures through PyTorch and through onnxruntime ---
    pixels = np.stack(
        [
            preprocess(Image.open(row["path"]), size, config["mean"], config["std"])
            for row in check_rows
        ]
    )
    with torch.no_grad():
        expected = [output.numpy() for output in model(torch.from_numpy(pixels))]
    session = ort.InferenceSession(str(draft), providers=["CPUExecutionProvider"])
    actual = session.run(None, {"image": pixels})
    difference = max(float(np.abs(a - e).max()) for a, e in zip(actual, expected, strict=True))
    if difference > settings["tolerance"]:
        draft.unlink()
        raise StageError(
            f"ONNX Runtime and PyTorch disagree by {difference:.2g} "
            f"(tolerance {settings['tolerance']}); "
            "the export is not trustworthy, so the previous model was kept."
        )
    draft.replace(ONNX_FILE)

    # labels.json: everything the apps need to prepare an input, read the output and say what the
    # model is for (params.yaml's words, so a demo needs nothing but models/ and reports/).
    labels = {
        "task": params["task"],
        "classes": params["classes"],
        "model": config["name"],
        "input_size": size,
        "mean": config["mean"],
        "std": config["std"],
        "decode": {"stride": config["stride"], "max_detections": 100, "nms_iou": 0.5},
        "about": {key: params.get(key, "") for key in ("title", "problem", "objective")},
    }
    write_json(LABELS_JSON_FILE, labels)
    record_stage(
        "export",
        args,
        params,
        settings,
        reads=[CHECKPOINT_FILE, SPLITS_DIR / "val.csv"],
        writes=[ONNX_FILE, LABELS_JSON_FILE],
    )
    console.print(
        f"[green]Exported {ONNX_FILE} and {LABELS_JSON_FILE}; largest difference from "
        f"PyTorch on {len(check_rows)} val items: {difference:.2g}. Next: `python -m "
        "surgical_tool_detector evaluate`."
    )
