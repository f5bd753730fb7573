"""reports/pipeline.lock: what each stage read and wrote, by content, and the settings it used.

A number in reports/metrics.json is only as good as the chain behind it: which model was
measured, on which test split, trained on which data with which settings. Each stage that makes
a result (validate, split, train, export, evaluate) writes its link of that chain here as it
finishes, however it was started (make, `python -m`, a notebook): the md5 of every file it read
and wrote, the settings it really used (params.yaml with any command-line flag applied) and its
command. A rerun of a stage replaces its entry.

The format is DVC's dvc.lock, so it reads like one; DVC is not needed. A file's hash is its
plain md5; a folder's is the md5 of the sorted JSON list of its files' paths and md5s, with
`.dir` appended. `pocgen check` and `pocgen writeup` compute the hashes again and refuse to state
a figure whose chain is broken: metrics edited by hand, settings changed since the run, a model
replaced, a stage run without its record.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
from pathlib import Path
from typing import Any

import yaml

from .config import REPORTS_DIR

LOCK_FILE = REPORTS_DIR / "pipeline.lock"
CODE_DIR = Path("src") / "surgical_tool_detector"  # the package: the code of every stage
SKIPPED = {"__pycache__", ".ipynb_checkpoints"}  # compiled or cached, not written by anyone
HEADER = (
    "# What each stage read and wrote (md5) and the settings it used; written by the stages.\n"
    "# Commit it with reports/: `pocgen check` verifies your figures against it.\n"
)


def file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def entry(path: Path) -> dict[str, Any]:
    """One file (or folder) as dvc.lock lists it: its path, md5 and size."""
    if not path.is_dir():
        return {
            "path": path.as_posix(),
            "hash": "md5",
            "md5": file_md5(path),
            "size": path.stat().st_size,
        }
    files = sorted(
        item
        for item in path.rglob("*")
        if item.is_file() and not SKIPPED.intersection(item.relative_to(path).parts)
    )
    listing = sorted(
        ({"md5": file_md5(item), "relpath": item.relative_to(path).as_posix()} for item in files),
        key=lambda item: item["relpath"],
    )
    digest = hashlib.md5(json.dumps(listing, sort_keys=True).encode()).hexdigest()
    return {
        "path": path.as_posix(),
        "hash": "md5",
        "md5": digest + ".dir",
        "size": sum(item.stat().st_size for item in files),
        "nfiles": len(files),
    }


def command(stage: str, args: argparse.Namespace) -> str:
    """The command that runs `stage` with the flags it was given (`pocgen check` reruns it)."""
    parts = ["python", "-m", "surgical_tool_detector", stage]
    for key, value in vars(args).items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            parts.append(flag)
        else:
            parts += [flag, *map(str, value if isinstance(value, list) else [value])]
    return shlex.join(parts)


def record_stage(
    stage: str,
    args: argparse.Namespace,
    params: dict[str, Any],
    settings: dict[str, Any],
    *,
    reads: list[Path],
    writes: list[Path],
) -> None:
    """Write `stage`'s entry: what it read (plus the package's code), what it wrote, and the
    settings it ran with: `settings` (its section of params.yaml, flags applied), the seed and
    the classes. Paths are relative to the project root; a path that does not exist is left out.
    """
    lock = yaml.safe_load(LOCK_FILE.read_text(encoding="utf-8")) if LOCK_FILE.exists() else None
    if not isinstance(lock, dict) or not isinstance(lock.get("stages"), dict):
        lock = {"schema": "2.0", "stages": {}}
    used = {"seed": params.get("seed", 0), "task": params["task"], "classes": params["classes"]}
    lock["stages"][stage] = {
        "cmd": command(stage, args),
        "deps": [entry(path) for path in [*reads, CODE_DIR] if path.exists()],
        "params": {"params.yaml": {**used, stage: settings}},
        "outs": [entry(path) for path in writes if path.exists()],
    }
    LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(lock, sort_keys=False, allow_unicode=True)
    LOCK_FILE.write_text(HEADER + text, encoding="utf-8")
