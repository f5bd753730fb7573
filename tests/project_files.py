"""Projects written file by file for the unit tests: no render, no training, no server.

`ProjectFiles` writes exactly the files a test names (answers, README, reports, data files) into a
temporary folder, so each test states its evidence and reads what pocgen makes of it in process.
The reports are the known artifacts of known_artifacts.py (as a finished image-classification
project holds them), so the figures asserted here are the ones the end-to-end tests assert.
"""

from __future__ import annotations

import copy
import csv
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from known_artifacts import (
    DEPLOY,
    LABELS,
    METRICS,
    QUALITY,
    TRAINING,
    write_known_artifacts,
    write_lock,
)

from pocgen.project import Project, load_project

# What Copier records for a user's own image-classification project (no `_src_path`: the
# contribution is then not compared, so no test here renders the template).
ANSWERS: dict[str, Any] = {
    "project_name": "Defect Spotter",
    "project_slug": "defect-spotter",
    "package_name": "defect_spotter",
    "task": "image-classification",
    "problem": "Line inspectors at a small factory check every part by eye, and defects still "
    "reach customers.",
    "business_objective": "Catch defective parts before shipping without slowing the line.",
    "classes": "ok, defect",
    "target_metric": "accuracy",
    "target_value": 0.9,
    "success_metric": "accuracy of at least 0.9 on a held-out test set",
    "ui": "gradio",
    "labeling": "label-studio",
    "deploy": "hf-spaces",
    "license": "MIT",
    "notebooks": True,
    "python_version": "3.11",
}
LIMITATIONS_PLACEHOLDER = (
    "_Write what this model does not do well, and where its data falls short._"
)
NEXT_STEPS_PLACEHOLDER = "_Write what you would do with another week._"
SECTIONS = ("problem", "data", "model", "results", "demo", "decisions", "contribution", "reproduce")
REPORT_PATHS = {
    "metrics": "reports/metrics.json",
    "training": "reports/training.json",
    "quality": "reports/data_quality.json",
    "labels": "reports/labels.json",
    "deploy": "reports/deploy.json",
}
KNOWN = {
    "metrics": METRICS,
    "training": TRAINING,
    "quality": QUALITY,
    "labels": LABELS,
    "deploy": DEPLOY,
}


def readme(sections: tuple[str, ...] = SECTIONS) -> str:
    """A README as the template ships it: each section's markers, blank, then the author's own."""
    parts = ["# Defect Spotter", ""]
    for name in sections:
        parts += [f"## {name.capitalize()}", "", f"<!-- pocgen:{name} -->"]
        parts += [f"<!-- /pocgen:{name} -->", ""]
    parts += [
        "## Limitations",
        "",
        LIMITATIONS_PLACEHOLDER,
        "",
        "## Next steps",
        "",
        NEXT_STEPS_PLACEHOLDER,
        "",
    ]
    return "\n".join(parts)


class ProjectFiles:
    """A project folder a test fills file by file, then loads as pocgen does."""

    def __init__(self, root: Path, **answers: Any) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.answers(**answers)
        (root / "README.md").write_text(readme(), encoding="utf-8")

    def answers(self, **changes: Any) -> ProjectFiles:
        """Write .copier-answers.yml: the defaults above with `changes` (None drops a key)."""
        path = self.root / ".copier-answers.yml"
        current = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else ANSWERS
        merged = {**current, **changes}
        merged = {key: value for key, value in merged.items() if value is not None}
        path.write_text(yaml.safe_dump(merged, sort_keys=False), encoding="utf-8")
        return self

    def report(self, name: str, data: Any = None, **changes: Any) -> ProjectFiles:
        """Write one report as its stage would: `data` as given, or the known artifact with
        `changes` (None drops); reports/pipeline.lock then records it, as the stage does."""
        if data is None:
            data = copy.deepcopy(KNOWN[name])
            data.update(changes)
            data = {key: value for key, value in data.items() if value is not None}
        self.write(REPORT_PATHS.get(name, name), data)
        return self.lock()

    def lock(self) -> ProjectFiles:
        """reports/pipeline.lock as if every stage had just run on the files in place."""
        write_lock(self.root)
        return self

    def write(self, relative: str, content: Any) -> Path:
        """Write a file: text as given, anything else as JSON."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else json.dumps(content, indent=2)
        path.write_text(text, encoding="utf-8")
        return path

    def authors_sections(
        self, limitations: str, next_steps: str | None = None, learned: str | None = None
    ) -> ProjectFiles:
        """Write the README's sections that only the author writes, in place of the template's
        placeholder lines (`learned`: a `## What I learned` section appended)."""
        path = self.root / "README.md"
        text = path.read_text(encoding="utf-8").replace(LIMITATIONS_PLACEHOLDER, limitations)
        if next_steps is not None:
            text = text.replace(NEXT_STEPS_PLACEHOLDER, next_steps)
        if learned is not None:
            text += f"\n## What I learned\n\n{learned}\n"
        path.write_text(text, encoding="utf-8")
        return self

    def finished(self) -> ProjectFiles:
        """Every report, figure and data file of the known finished project."""
        write_known_artifacts(self.root)
        return self

    def manifest(self, source: str, n: int, label: str | None = None) -> ProjectFiles:
        rows = [[f"{source}/{i}.jpg", source, f"g{i}", "2026", "x", "own"] for i in range(n)]
        self._csv("data/manifest.csv", ["item", "source", "group", "collected_at", "x", "y"], rows)
        if label is not None:
            labels = [[f"{source}/{i}.jpg", label, "jane", "2026"] for i in range(n)]
            self._csv("data/labels.csv", ["item", "label", "annotator", "labeled_at"], labels)
        return self

    def labels(self, rows: list[tuple[str, str, str]]) -> ProjectFiles:
        """data/labels.csv from (item, label, annotator) rows."""
        self._csv(
            "data/labels.csv",
            ["item", "label", "annotator", "labeled_at"],
            [[*row, "2026"] for row in rows],
        )
        return self

    def splits(self, **labels: list[str]) -> ProjectFiles:
        """data/splits/<split>.csv with one row per label given (recorded as `split` does)."""
        for split, names in labels.items():
            rows = [[f"{split}/{i}.jpg", name, f"g{i}"] for i, name in enumerate(names)]
            self._csv(f"data/splits/{split}.csv", ["path", "label", "group"], rows)
        return self.lock()

    def _csv(self, relative: str, header: list[str], rows: list[list[str]]) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)

    def load(self) -> Project:
        return load_project(self.root)


def refuse_renaming_onto(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Make every rename onto a file called `name` fail as on an immutable file (chattr +i)."""
    from pocgen import files

    real_replace = os.replace

    def replace(source: object, target: object) -> None:
        if Path(str(target)).name == name:
            raise PermissionError(1, "Operation not permitted", str(target))
        real_replace(source, target)

    monkeypatch.setattr(files.os, "replace", replace)
