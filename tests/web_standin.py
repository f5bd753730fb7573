"""TEST DOUBLE: a stand-in for a generated project's `src/<package>/web.py`.

It obeys the static-site contract that pocgen's deploy codes against (`python -m <package> web
--build DIR` writes index.html, page scripts, ort/, models/, reports/metrics.json, examples.json
and up to 8 examples into an empty DIR; one line on stderr and a non-zero exit when the model is
missing), but the page does nothing and the "runtime" files are placeholders: the deploy tests
check what pocgen uploads, not whether the page runs (the template's own web tests do that).
Tests copy it into a project as `src/<package>/web.py`. Environment knobs for bad-input tests:
WEB_STANDIN_OMIT (comma-separated paths to leave out), WEB_STANDIN_EXTRA (a path to add),
WEB_STANDIN_LINK (a path to write as a symlink to the project's README instead of a file),
WEB_STANDIN_WASM_BYTES (the size of the placeholder .wasm; the real one is about 14 MB).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
from pathlib import Path

from .config import StageError

RUNTIME = (
    "ort/ort.wasm.min.js",
    "ort/ort-wasm-simd-threaded.mjs",
    "ort/ort-wasm-simd-threaded.wasm",
)
PAGE = {
    "index.html": '<!doctype html><script type="module" src="app.js"></script>\n',
    "app.js": "// stand-in page script\n",
    "style.css": "body { margin: 0; }\n",
}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--build", type=Path, required=True, help="an empty or absent folder")


def run(args: argparse.Namespace) -> None:
    out: Path = args.build
    if not Path("models/model.onnx").is_file():
        raise StageError("models/model.onnx is missing: run the export stage first.")
    if out.exists() and any(out.iterdir()):
        raise StageError(f"{out} is not empty.")
    files: dict[str, bytes | Path] = {name: text.encode() for name, text in PAGE.items()}
    files.update({name: b"stand-in runtime\n" for name in RUNTIME})
    wasm_bytes = int(os.environ.get("WEB_STANDIN_WASM_BYTES") or 0)
    if wasm_bytes:
        files[RUNTIME[2]] = os.urandom(wasm_bytes)
    for name in ("models/model.onnx", "models/labels.json", "reports/metrics.json"):
        if Path(name).is_file():
            files[name] = Path(name)
    examples = []
    split = Path("data/splits/test.csv")
    rows = list(csv.DictReader(split.open(encoding="utf-8"))) if split.is_file() else []
    for row in rows[:8]:
        if row.get("path", "").lower().endswith(IMAGE_SUFFIXES):
            files[f"examples/{Path(row['path']).name}"] = Path(row["path"])
            examples.append({"file": f"examples/{Path(row['path']).name}"})
        elif "text" in row:
            examples.append({"text": row["text"]})
    files["examples.json"] = json.dumps(examples).encode()
    omit = set(filter(None, os.environ.get("WEB_STANDIN_OMIT", "").split(",")))
    extra = os.environ.get("WEB_STANDIN_EXTRA")
    if extra:
        files[extra] = b"not part of the contract\n"
    link = os.environ.get("WEB_STANDIN_LINK")
    for name, content in files.items():
        if name in omit:
            continue
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if name == link:
            target.symlink_to(Path("README.md").resolve())
        elif isinstance(content, Path):
            shutil.copyfile(content, target)
        else:
            target.write_bytes(content)
