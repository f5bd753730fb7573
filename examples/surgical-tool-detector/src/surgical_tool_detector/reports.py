"""The records stages leave in reports/: the data's quality, the training run, the metrics.

reports/data_quality.json, training.json and metrics.json are the evidence behind every number
you quote, and `pocgen writeup` and `pocgen check` read them (reports/README.md lists their
fields). What every task's version of a record shares is built here, in one place, so it has
the same shape whichever stage or task writes it.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from .config import METRICS_FILE, QUALITY_FILE, TRAINING_FILE, StageError
from .dataset import group_of, now, read_manifest

SCHEMA_VERSION = 1  # of metrics.json
SHOWN = 20  # longest list per problem in data_quality.md (the JSON has them all)


def git_commit() -> str | None:
    """The current commit, so a result can be traced to the code that produced it."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:  # not a git repository, or no commit yet
        return None
    return result.stdout.strip() or None


def write_json(path: Path, record: dict[str, Any]) -> None:
    """Write a record as indented JSON: these files are meant to be read by people too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def read_json(path: Path, stage: str) -> dict[str, Any]:
    """A record an earlier stage wrote, or a StageError naming the stage that writes it."""
    if not path.exists():
        command = f"python -m surgical_tool_detector {stage}"
        raise StageError(f"{path} not found: run `{command}` first.")
    return json.loads(path.read_text(encoding="utf-8"))


def write_training_report(
    params: dict[str, Any],
    *,
    settings: dict[str, Any],
    smoke: bool,
    model: dict[str, Any],
    dataset: dict[str, int],
    history: list[dict[str, Any]],
    seconds: float,
    device: str,
    hardware: str,
    **details: Any,
) -> None:
    """reports/training.json: the settings used, the model, every epoch (or try), the machine.

    `details` are what only this task's training has (the best epoch, the best C). The machine
    is recorded because a training time means little without it.
    """
    record = {
        "task": params["task"],
        "smoke": smoke,
        "params": settings,
        "seed": params.get("seed", 0),
        "model": model,
        "dataset": dataset,
        "history": history,
        **details,
        "device": device,
        "hardware": hardware,
        "seconds": round(seconds, 1),
        "git_commit": git_commit(),
        "created_at": now(),
    }
    write_json(TRAINING_FILE, record)


def write_metrics_report(
    params: dict[str, Any],
    *,
    smoke: bool,
    sample_data: bool,
    dataset: dict[str, Any],
    test_size: int,
    headline: dict[str, Any],
    result: dict[str, Any],
    baseline: dict[str, Any],
    warnings: list[str],
    latency_ms: dict[str, Any],
    training: dict[str, Any],
    figures: dict[str, str],
) -> None:
    """reports/metrics.json (schema version 1; its fields: reports/README.md).

    `result` holds `metrics` and `per_class` on the test split, `baseline` the baseline's `name`
    and `metrics`, measured the same way. The model and how it was trained (settings and seed
    included, so a copy in reports/experiments/ says what it varied) are copied from
    reports/training.json (`training`), so the two files cannot disagree. `data_sources` counts
    data/manifest.csv's items per source: the demos' About panels say where the data came from.
    """
    record = {
        "schema_version": SCHEMA_VERSION,
        "task": params["task"],
        "sample_data": sample_data,
        "data_sources": dict(Counter(row["source"] for row in read_manifest().values())),
        "smoke": smoke,
        "classes": params["classes"],
        "dataset": dataset,
        "test_size": test_size,
        "headline": headline,
        "metrics": result["metrics"],
        "baseline": baseline,
        "per_class": result["per_class"],
        "warnings": warnings,
        "latency_ms": latency_ms,
        "model": training["model"],
        "training": {
            key: training.get(key)
            for key in ("seconds", "epochs", "device", "hardware", "git_commit", "params", "seed")
        },
        "figures": figures,
        "created_at": now(),
    }
    write_json(METRICS_FILE, record)


def duplicate_summary(
    exact: list[list[str]], near: list[list[str]], manifest: dict[str, dict[str, str]]
) -> dict[str, Any]:
    """The quality report's copies: groups of exact and of near copies, and how many of those
    groups span several manifest groups. Copies are fine once `split` keeps them together, but
    across groups they hint at a leak."""
    exact = [group for group in exact if len(group) > 1]
    return {
        "duplicates": {"exact": exact, "near": near},
        "duplicates_across_groups": sum(
            len({group_of(item, manifest) for item in group}) > 1 for group in exact + near
        ),
    }


def class_balance(
    per_class: dict[str, int], settings: dict[str, Any]
) -> tuple[float | None, list[str]]:
    """The largest/smallest class ratio, and the warnings it and tiny classes call for."""
    counts = {name: count for name, count in per_class.items() if count}
    imbalance = round(max(counts.values()) / min(counts.values()), 2) if counts else None
    found = []
    max_imbalance = settings.get("max_imbalance", 3)
    if imbalance and imbalance > max_imbalance:
        shown = ", ".join(f"{name} {count}" for name, count in counts.items())
        found.append(
            f"classes are imbalanced ({shown}: {imbalance}x, above "
            f"validate.max_imbalance {max_imbalance}); collect more of "
            f"{min(counts, key=counts.__getitem__)}, the model will lean towards "
            f"{max(counts, key=counts.__getitem__)}"
        )
    min_per_class = settings.get("min_per_class", 20)
    tiny = [f"{name} ({count})" for name, count in counts.items() if count < min_per_class]
    if tiny:
        found.append(
            f"tiny class(es): {', '.join(tiny)} labeled, fewer than validate.min_per_class "
            f"{min_per_class}; their test scores will rest on a handful of items"
        )
    return imbalance, found


def label_problems(report: dict[str, Any], classes: list[str]) -> list[str]:
    """The labeling problems that block training in every task, each with its fix."""
    reasons = []
    if report["labeled"] == 0:
        reasons.append(
            "nothing is labeled yet: label your items, or collect them again from class "
            "folders or a file with a label column (nothing is copied twice; see `collect "
            "--help`); `sample` only adds the built-in demo data"
        )
    missing = [name for name in classes if report["per_class"][name] == 0]
    if report["labeled"] and missing:
        reasons.append(f"no labeled example of {missing}: label some, or drop them from classes")
    if report["unknown_labels"]:
        reasons.append(
            f"{len(report['unknown_labels'])} item(s) have labels outside classes: fix the "
            "labels or add the class to params.yaml"
        )
    return reasons


def write_quality_report(report: dict[str, Any], checks: dict[str, list]) -> Path:
    """Write reports/data_quality.json and, for people, data_quality.md; return the latter.

    `checks` names each list of problems the Markdown version summarises and shows.
    """
    write_json(QUALITY_FILE, report)
    lines = ["# Data quality", ""]
    if report["sample_data"]:
        lines += [
            "> **Sample data.** This dataset contains generated sample items (`source` = `sample`"
            " in data/manifest.csv). Numbers measured on it prove the pipeline runs, nothing more.",
            "",
        ]
    status = "BLOCKING problems found" if report["blocking"] else "no blocking problems"
    lines += [f"**{report['items']} items, {report['labeled']} labeled: {status}.**", ""]
    lines += [f"- {reason}" for reason in report["blocking_reasons"]]
    lines += [f"- warning: {warning}" for warning in report["warnings"]]
    lines += ["", "## Classes", "", "| class | count |", "| --- | --- |"]
    lines += [f"| {name} | {count} |" for name, count in report["per_class"].items()]
    if report["imbalance"]:
        lines += ["", f"Largest class / smallest class: {report['imbalance']}."]
    lines += ["", "## Checks", "", "| check | found |", "| --- | --- |"]
    lines += [f"| {name} | {len(found)} |" for name, found in checks.items()]
    for name, found in checks.items():
        if found:
            lines += ["", f"### {name}", ""]
            lines += [f"- `{json.dumps(entry)}`" for entry in found[:SHOWN]]
            if len(found) > SHOWN:
                lines.append(f"- ... and {len(found) - SHOWN} more in {QUALITY_FILE}")
    markdown_file = QUALITY_FILE.with_suffix(".md")
    markdown_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return markdown_file
