"""Run the exported model on your own pictures from the command line.

    python -m surgical_tool_detector predict photo.jpg more_photos/ --threshold 0.5

It uses models/model.onnx through `inference.Predictor`, like the demo, and prints a table, or
JSON with `--json` (for scripts). A file that cannot be read is reported and skipped; the others
are still predicted. Pictures are normalised by the rules `collect` applied to the training data
(images.py): EXIF rotation, 8-bit, transparency on white, sRGB.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from .config import LABELS_JSON_FILE, ONNX_FILE, StageError
from .dataset import IMAGE_SUFFIXES, read_split
from .images import HEIF_SUFFIXES, ImageProblem, open_image
from .inference import Predictor

console = Console()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="*", help="image files or folders of images")
    parser.add_argument(
        "--threshold",
        type=float,
        default=0.5,
        help="lowest box score shown",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--smoke", action="store_true", help="with no inputs, predict 2 items of the test split"
    )


def expand(inputs: list[str]) -> list[Path]:
    """The image files named, and the images inside the folders named (sorted, any depth)."""
    paths = []
    for name in inputs:
        path = Path(name)
        if path.is_dir():
            suffixes = IMAGE_SUFFIXES | HEIF_SUFFIXES
            paths += sorted(p for p in path.rglob("*") if p.suffix.lower() in suffixes)
        else:
            paths.append(path)
    return paths


def predict_files(
    predictor: Predictor, paths: list[Path], threshold: float
) -> list[dict[str, Any]]:
    """One result per file: {"input", "prediction"}, or {"input", "error"} when unreadable."""
    results = []
    for path in paths:
        try:
            picture = open_image(path).image  # the same rules as the training data
        except (ImageProblem, OSError) as error:
            results.append({"input": str(path), "error": f"cannot read image: {error}"})
            continue
        prediction = predictor.predict(picture, threshold)
        results.append({"input": str(path), "prediction": prediction})
    return results


def print_table(results: list[dict[str, Any]]) -> None:
    """A readable table: one row per box."""
    # Names in full (wrapped), as they are: a name may hold [brackets], which rich would style.
    table = Table(Column("input", overflow="fold"), "label", "score", "box (x0, y0, x1, y1)")
    for result in results:
        name = Text(result["input"])
        if "error" in result:
            table.add_row(name, Text(result["error"], style="red"), "", "")
            continue
        prediction = result["prediction"]
        if not prediction["boxes"]:
            table.add_row(name, "[dim]nothing found[/dim]", "", "")
        for box in prediction["boxes"]:
            corners = ", ".join(f"{v:.0f}" for v in box["box"])
            table.add_row(name, Text(box["label"]), f"{box['score']:.2f}", corners)
    console.print(table)


def run(args: argparse.Namespace) -> None:
    if not ONNX_FILE.exists() or not LABELS_JSON_FILE.exists():
        command = "python -m surgical_tool_detector export"
        raise StageError(f"{ONNX_FILE} not found: run `{command}` first.")
    inputs = list(args.inputs)
    if not inputs and args.smoke:
        inputs = [row["path"] for row in read_split("test")[:2]]
    if not inputs:
        raise StageError("nothing to predict: name image files or folders.")
    predictor = Predictor(ONNX_FILE, LABELS_JSON_FILE)
    paths = expand(inputs)
    if not paths:
        raise StageError(f"no images found in {', '.join(inputs)}.")
    results = predict_files(predictor, paths, args.threshold)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_table(results)
    failed = [r for r in results if "error" in r]
    if failed and len(failed) == len(results):
        raise StageError("none of the inputs could be read; see the messages above.")
