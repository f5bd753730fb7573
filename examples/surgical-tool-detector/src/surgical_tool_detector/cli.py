"""The project's command line: `python -m surgical_tool_detector <stage> [options]`.

Each stage is one module of this package with two functions: `add_arguments(parser)` declares its
flags and `run(args)` does the work. This file only wires them up, and it imports nothing but the
stage you ask for, so `python -m surgical_tool_detector sample` never pays for importing torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .config import StageError

PROJECT_NAME = "Surgical Tool Detector"
# Stage name -> one-line summary, in pipeline order.
STAGES = {
    "sample": "write the built-in sample dataset (generated, no download)",
    "collect": "bring your own data into data/raw and record where it came from",
    "label": "push items to Label Studio and pull checked annotations back",
    "validate": "check data quality and write reports/data_quality.{json,md}",
    "split": "write leak-free train/val/test splits to data/splits/",
    "train": "train the model and save the best checkpoint in models/",
    "export": "export the model to ONNX and check it against the trained model",
    "evaluate": "measure the exported model on the test split against a baseline; write figures",
    "predict": "run the exported model on files",
    "web": "preview the in-browser demo on 127.0.0.1, or --build it as a static site",
}


def _overview_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m surgical_tool_detector",
        description=f"{PROJECT_NAME}: every stage of the pipeline, one module each.",
    )
    subparsers = parser.add_subparsers(title="stages", metavar="STAGE")
    for name, summary in STAGES.items():
        subparsers.add_parser(name, help=summary)
    return parser


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in STAGES:
        _overview_parser().parse_args(argv or ["--help"])
        return
    stage, rest = argv[0], argv[1:]
    module = importlib.import_module(f".{stage}", __package__)
    parser = argparse.ArgumentParser(  # Raw: the docstrings' example commands keep their lines
        prog=f"python -m surgical_tool_detector {stage}",
        description=module.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    module.add_arguments(parser)
    args = parser.parse_args(rest)
    try:
        module.run(args)
    except StageError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None
