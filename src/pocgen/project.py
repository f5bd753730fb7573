"""Read a generated project: its answers, reports, data provenance, labels and deploy record.

`pocgen writeup` and `pocgen check` only ever describe these files, so every number they print
and every claim they make can be traced to one of them (docs/claims.md lists which). A missing
file is normal (the stage has not run yet) and reads as `None`; a file that exists but cannot be
parsed, or holds NaN or Infinity, is an error naming the stage that rewrites it. The paths follow
the contract in docs/architecture.md.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pocgen.errors import PocgenError

METRICS_SCHEMA_VERSION = 1
SAMPLE_SOURCE = "sample"
SYNTH_SOURCE = "synth"  # `collect synth`: images and boxes made by the cut-and-paste synthesizer
# Manifest sources a person brought in with `collect`, and how the writeup names them.
COLLECTED_SOURCES = {
    "folder": "from a folder of photos",
    "video": "as frames of videos",
    "text": "from a CSV or JSON-lines file",
}
# Label annotators that are a program, not a person (`imported from <file>` is one too).
MACHINE_ANNOTATORS = {"sample", "synthesizer", "folder name"}
IMPORTED_PREFIX = "imported from "
# Lock files a generated project may carry; `check` accepts any of them.
LOCK_FILES = ("requirements.lock", "uv.lock", "pylock.toml", "requirements-lock.txt")

# Which stage (of `python -m <package> ...`, or pocgen itself) writes each report.
REPORTS = {
    "metrics": ("reports/metrics.json", "evaluate"),
    "training": ("reports/training.json", "train"),
    "quality": ("reports/data_quality.json", "validate"),
    "labels": ("reports/labels.json", "label pull"),
    "deploy": ("reports/deploy.json", "pocgen deploy"),
}


@dataclass
class Project:
    """One generated project as pocgen sees it. Reports that do not exist yet are `None`."""

    root: Path
    answers: dict[str, Any]
    metrics: dict[str, Any] | None = None
    training: dict[str, Any] | None = None
    quality: dict[str, Any] | None = None
    labels: dict[str, Any] | None = None
    deploy: dict[str, Any] | None = None
    manifest: list[dict[str, str]] | None = None
    label_rows: list[dict[str, str]] | None = None
    splits: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    experiments: dict[str, dict[str, Any]] = field(default_factory=dict)
    coco_images: list[dict[str, Any]] = field(default_factory=list)

    @property
    def package(self) -> str:
        return str(self.answers.get("package_name") or self.root.name.replace("-", "_"))

    @property
    def name(self) -> str:
        return str(self.answers.get("project_name") or self.root.name)

    @property
    def task(self) -> str:
        return str(self.answers.get("task") or (self.metrics or {}).get("task") or "")

    @property
    def classes(self) -> list[str]:
        raw = self.answers.get("classes")
        if isinstance(raw, str):
            return [name.strip() for name in raw.split(",") if name.strip()]
        return [str(name) for name in (self.metrics or {}).get("classes", [])]

    @property
    def image_task(self) -> bool:
        return self.task != "text-classification"

    @property
    def item_word(self) -> str:
        return "images" if self.image_task else "texts"

    def command(self, stage: str) -> str:
        """The exact command that produces something: a project stage or a pocgen command."""
        return stage if stage.startswith("pocgen") else f"python -m {self.package} {stage}"

    def report_command(self, report: str) -> str:
        return self.command(REPORTS[report][1])

    def figures(self) -> list[str]:
        """Figures under reports/figures/, as paths relative to the project root, sorted."""
        folder = self.root / "reports" / "figures"
        if not folder.is_dir():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in folder.glob("*.png"))

    def app_screenshots(self) -> list[str]:
        return [path for path in self.figures() if Path(path).name.startswith("app_")]

    def source_counts(self) -> Counter[str]:
        """Manifest rows per source; `sample` marks the generated sample data."""
        return Counter(row.get("source", "") or "unknown" for row in self.manifest or [])

    @property
    def sample_only(self) -> bool:
        counts = self.source_counts()
        return bool(counts) and set(counts) == {SAMPLE_SOURCE}

    @property
    def synth_only(self) -> bool:
        """Every item made by `collect synth`: images and boxes from the synthesizer, no person."""
        counts = self.source_counts()
        return bool(counts) and set(counts) == {SYNTH_SOURCE}

    def split_sizes(self) -> dict[str, int]:
        if self.metrics and isinstance(self.metrics.get("dataset"), dict):
            sizes = {k: v for k, v in self.metrics["dataset"].items() if isinstance(v, int)}
            if sizes:
                return sizes
        return {name: len(rows) for name, rows in self.splits.items()}

    def per_class_split_counts(self) -> dict[str, dict[str, int]]:
        """class -> split -> count, from metrics.json or, before evaluation, the split files."""
        dataset = (self.metrics or {}).get("dataset") or {}
        if isinstance(dataset.get("per_class"), dict) and dataset["per_class"]:
            return {str(k): dict(v) for k, v in dataset["per_class"].items()}
        table: dict[str, dict[str, int]] = {}
        for split, rows in self.splits.items():
            for row in rows:
                if row.get("label"):
                    table.setdefault(row["label"], {}).setdefault(split, 0)
                    table[row["label"]][split] += 1
        return table

    def annotation_counts(self) -> Counter[str]:
        """Labeled items per annotator, from data/labels.csv and the detection COCO export.

        An item listed in both counts once, with the COCO export's (newer) annotator. Detection
        boxes written by `sample` or `collect synth` (YOLO files, which record no annotator) are
        the sample's or the synthesizer's, by the item's source in the manifest.
        """
        by_item: dict[str, str] = {}
        if self.task == "object-detection":
            made_with_boxes = {SAMPLE_SOURCE: "sample", SYNTH_SOURCE: "synthesizer"}
            by_item = {
                row.get("item", ""): made_with_boxes[row.get("source", "")]
                for row in self.manifest or []
                if row.get("source") in made_with_boxes
            }
        by_item.update(
            {row.get("item", ""): row.get("annotator", "") for row in self.label_rows or []}
        )
        by_item.update(
            {str(i.get("file_name", "")): str(i.get("annotator") or "") for i in self.coco_images}
        )
        counts = Counter(by_item.values())
        del counts[""]
        return counts

    @property
    def demo(self) -> bool:
        """Rendered as a demo (`pocgen new --defaults` without the user's own problem)."""
        return self.answers.get("demo") is True

    def collected_counts(self) -> dict[str, int]:
        """Items a person brought in with `collect`, by source (folder, video, text)."""
        counts = self.source_counts()
        return {source: counts[source] for source in COLLECTED_SOURCES if counts.get(source)}

    @property
    def own_data(self) -> bool:
        """Some items were collected by the user, not only sampled or synthesized."""
        return bool(self.collected_counts())

    def label_studio_people(self) -> dict[str, int]:
        """Annotator -> items labeled, for people whose labels came from a real `label pull`.

        Three files must agree: reports/labels.json from a pull with labeled items, its
        `annotators`, and those same names on the labels in data/.
        """
        report = self.labels or {}
        pulled = report.get("annotators")
        if not isinstance(pulled, dict) or not _positive(report.get("labeled_items")):
            return {}
        on_labels = self.annotation_counts()
        return {
            str(name): on_labels[str(name)]
            for name in pulled
            if on_labels.get(str(name)) and not machine_annotator(str(name))
        }

    def lock_file(self) -> str | None:
        return next((name for name in LOCK_FILES if (self.root / name).is_file()), None)


def machine_annotator(name: str) -> bool:
    """True for the annotators that stand for a program: the sample, the synthesizer, imports."""
    return name in MACHINE_ANNOTATORS or name.startswith(IMPORTED_PREFIX)


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _refuse_constant(name: str) -> float:
    """json.loads calls this for NaN and Infinity, which no report may hold."""
    raise ValueError(f"it holds {name}, which is not a measurement")


def _finite(text: str) -> float:
    """A JSON number; one too large for a float (1e999) reads as Infinity and is refused too."""
    value = float(text)
    if not math.isfinite(value):
        _refuse_constant(text)
    return value


def _read_json(root: Path, relative: str, command: str) -> dict[str, Any] | None:
    path = root / relative
    if not path.exists():
        return None
    try:
        data = json.loads(
            path.read_text(encoding="utf-8"),
            parse_constant=_refuse_constant,
            parse_float=_finite,
        )
    except (ValueError, UnicodeDecodeError, OSError) as error:
        raise PocgenError(
            f"{relative} is not valid JSON ({error}); rerun `{command}` to rewrite it."
        ) from error
    if not isinstance(data, dict):
        raise PocgenError(f"{relative} must hold a JSON object; rerun `{command}` to rewrite it.")
    return data


def _read_csv(path: Path) -> list[dict[str, str]] | None:
    if not path.exists():
        return None
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    except (UnicodeDecodeError, csv.Error, OSError) as error:
        raise PocgenError(
            f"{path.name} cannot be read as UTF-8 CSV ({error}); restore it from git or rerun the "
            "stage that writes it."
        ) from error


def _read_answers(root: Path) -> dict[str, Any]:
    """Copier's answers file, or the record pocgen keeps for Cookiecutter projects."""
    for name, key in ((".copier-answers.yml", None), (".pocgen.yml", "context")):
        path = root / name
        if not path.exists():
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise PocgenError(
                f"{path} is not valid YAML ({error}); restore it from git."
            ) from error
        if key is not None:
            data = data.get(key) or {}
        if not isinstance(data, dict):
            raise PocgenError(f"{path} must be a mapping of answers; restore it from git.")
        return data
    raise PocgenError(
        f"{root} is not a pocgen project (no .copier-answers.yml): pass the project folder, "
        "or create one with `pocgen new`."
    )


def load_project(root: Path) -> Project:
    """Everything the writeup and the check need, read once."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise PocgenError(f"{root} is not a folder: pass the project folder.")
    project = Project(root=root, answers=_read_answers(root))
    package = project.package
    for attribute, (relative, stage) in REPORTS.items():
        command = stage if stage.startswith("pocgen") else f"python -m {package} {stage}"
        setattr(project, attribute, _read_json(root, relative, command))
    metrics = project.metrics
    if metrics is not None and metrics.get("schema_version") != METRICS_SCHEMA_VERSION:
        raise PocgenError(
            f"reports/metrics.json has schema_version {metrics.get('schema_version')!r}; this "
            f"pocgen reads version {METRICS_SCHEMA_VERSION}: rerun "
            f"`python -m {package} evaluate` or upgrade pocgen."
        )
    project.manifest = _read_csv(root / "data" / "manifest.csv")
    coco = _read_json(root, "data/labels/coco.json", f"python -m {package} label pull")
    images = (coco or {}).get("images")
    if isinstance(images, list):
        project.coco_images = [image for image in images if isinstance(image, dict)]
    project.label_rows = _read_csv(root / "data" / "labels.csv")
    for split in ("train", "val", "test"):
        rows = _read_csv(root / "data" / "splits" / f"{split}.csv")
        if rows is not None:
            project.splits[split] = rows
    experiments = root / "reports" / "experiments"
    if experiments.is_dir():
        for path in sorted(experiments.glob("*.json")):
            relative = path.relative_to(root).as_posix()
            data = _read_json(root, relative, f"python -m {package} evaluate")
            if data is not None:
                project.experiments[path.stem] = data
    return project
