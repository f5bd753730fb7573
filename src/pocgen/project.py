"""Read a generated project once: its answers, reports, data provenance, labels and deploy record.

`pocgen writeup`, `pocgen check` and `pocgen deploy` only ever describe these files, so every
number they print and every claim they make can be traced to one of them (docs/claims.md lists
which). Each report is parsed once, validated against the template's schema
(`templates/poc/schemas/`, see `contract.py`) and turned into a typed record (`records.py`); the
facts the commands state (the headline, the target and whether it was met, the run that made the
model, the demo that was deployed) are derived here, once, from those records.

A missing file is normal (the stage has not run yet) and reads as `None`; a file that exists but
cannot be parsed, holds NaN or Infinity, or breaks its schema is one line naming the file, what is
wrong and the stage that rewrites it. The paths follow the contract in docs/architecture.md.
"""

from __future__ import annotations

import csv
import json
import math
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, TypeVar

from pocgen import contract
from pocgen.contract import recorded_answers, schema_problem
from pocgen.errors import PocgenError
from pocgen.evidence import Evidence, read_evidence
from pocgen.records import (
    SAMPLE_SOURCE,
    SYNTH_SOURCE,
    Answers,
    DataQuality,
    DeployRecord,
    GpuRun,
    Headline,
    LabelsReport,
    Metrics,
    ModelInfo,
    RunInfo,
    Target,
    TrainingRecord,
    machine_annotator,
)

# Manifest sources a person brought in with `collect`, and how the writeup names them.
COLLECTED_SOURCES = {
    "folder": "from a folder of photos",
    "video": "as frames of videos",
    "text": "from a CSV or JSON-lines file",
}
# Lock files a generated project may carry; `check` accepts any of them.
LOCK_FILES = ("requirements.lock", "uv.lock", "pylock.toml", "requirements-lock.txt")
SPLITS = ("train", "val", "test")

Record = TypeVar("Record")


@dataclass(frozen=True)
class Report:
    """One report of the contract: its path, its schema, the stage that writes it."""

    path: str
    schema: str
    stage: str  # a stage of `python -m <package>`, or a pocgen command


REPORTS = {
    "metrics": Report("reports/metrics.json", "metrics", "evaluate"),
    "training": Report("reports/training.json", "training", "train"),
    "quality": Report("reports/data_quality.json", "data_quality", "validate"),
    "labels": Report("reports/labels.json", "labels", "label pull"),
    "deploy": Report("reports/deploy.json", "deploy", "pocgen deploy"),
    "gpu": Report("reports/gpu.json", "gpu", "pocgen gpu pull"),
}


@dataclass(frozen=True)
class ManifestRow:
    """One item of data/manifest.csv: where it came from; `group` keeps copies in one split."""

    item: str
    source: str
    group: str = ""


@dataclass(frozen=True)
class LabelRow:
    """One label of data/labels.csv (or an image of the detection COCO export)."""

    item: str
    label: str
    annotator: str


@dataclass
class Project:
    """One generated project as pocgen sees it. Reports that do not exist yet are `None`."""

    root: Path
    answers: Answers
    metrics: Metrics | None = None
    training: TrainingRecord | None = None
    quality: DataQuality | None = None
    labels: LabelsReport | None = None
    deploy: DeployRecord | None = None
    gpu: GpuRun | None = None
    manifest: list[ManifestRow] | None = None
    label_rows: list[LabelRow] | None = None
    coco_labels: list[LabelRow] = field(default_factory=list)
    split_labels: dict[str, list[str]] = field(default_factory=dict)  # split -> label per row
    experiments: dict[str, Metrics] = field(default_factory=dict)

    # --- who the project is ------------------------------------------------------------------

    @property
    def package(self) -> str:
        return self.answers.text("package_name") or self.slug.replace("-", "_")

    @property
    def slug(self) -> str:
        return self.answers.text("project_slug") or contract.slug(self.root.name)

    @property
    def name(self) -> str:
        return self.answers.text("project_name") or self.root.name

    @property
    def task(self) -> str:
        return self.answers.text("task") or (self.metrics.task if self.metrics else "")

    @property
    def classes(self) -> list[str]:
        """The classes the model knows, as evaluate recorded them; before a run, the answer
        (params.yaml, not the answers, is what a stage reads)."""
        if self.metrics:
            return list(self.metrics.classes)
        named = self.answers.classes
        return list(named) if named is not None else []

    @property
    def image_task(self) -> bool:
        return self.task != "text-classification"

    @property
    def item_word(self) -> str:
        return "images" if self.image_task else "texts"

    @property
    def demo(self) -> bool:
        """Rendered as a demo (`pocgen new --defaults` without the user's own problem)."""
        return self.answers.demo

    def command(self, stage: str) -> str:
        """The exact command that produces something: a project stage or a pocgen command."""
        return stage if stage.startswith("pocgen") else f"python -m {self.package} {stage}"

    def report_command(self, report: str) -> str:
        return self.command(REPORTS[report].stage)

    # --- evidence: are the reports bound to what made them? --------------------------------

    @cached_property
    def evidence(self) -> Evidence:
        """The stages' records (reports/pipeline.lock, or dvc.lock), checked on first use."""
        return read_evidence(self.root, self.package)

    def withheld(self, report: str) -> str | None:
        """Why the figures of `report` ('metrics', 'training', 'quality') may not be stated: the
        first broken link of the chain from the committed model, split and settings to the
        report, in one line; None when it holds, or when the report does not exist yet."""
        if getattr(self, report) is None:
            return None
        broken = self.evidence.broken(REPORTS[report].path)
        return broken[0] if broken else None

    @property
    def results_withheld(self) -> str | None:
        """Why reports/metrics.json's figures are never stated nor credited; None when bound."""
        return self.withheld("metrics")

    # --- results -----------------------------------------------------------------------------

    @property
    def headline(self) -> Headline | None:
        """The measured headline; None before evaluate, where its value is undefined, or where
        its chain is broken (`results_withheld`): a figure nothing binds is never stated."""
        if self.metrics is None or self.metrics.headline.value is None or self.results_withheld:
            return None
        return self.metrics.headline

    @property
    def baseline_value(self) -> float | None:
        """The baseline's value of the headline metric."""
        if self.metrics is None or self.results_withheld:
            return None
        return self.metrics.baseline_headline

    @property
    def target(self) -> Target | None:
        """The success target from the answers: a metric and the value it must reach."""
        return self.answers.target

    @property
    def target_measured(self) -> float | None:
        """The target metric's value on the test split, when evaluate measured it (and its
        chain holds)."""
        if self.target is None or self.metrics is None or self.results_withheld:
            return None
        return self.metrics.values.get(self.target.metric)

    @property
    def target_met(self) -> bool | None:
        """Whether the measured target metric reaches the target; None when not measured."""
        measured = self.target_measured
        return None if measured is None or self.target is None else measured >= self.target.value

    @property
    def smoke(self) -> bool:
        """The model or its numbers come from a `--smoke` run: never reported as results."""
        return bool(
            (self.metrics and self.metrics.smoke) or (self.training and self.training.smoke)
        )

    @property
    def model_info(self) -> ModelInfo | None:
        """The model as evaluate saw it, else as train recorded it."""
        if self.metrics and self.metrics.model:
            return self.metrics.model
        return self.training.model if self.training else None

    @property
    def run(self) -> RunInfo:
        """How the model was trained: train's record, with what evaluate copied on top of it."""
        recorded = self.training.run if self.training else RunInfo()
        return recorded.merged(self.metrics.run) if self.metrics else recorded

    @property
    def seed(self) -> int | None:
        return self.training.seed if self.training else None

    def distinct_experiments(self) -> tuple[dict[str, Metrics], dict[str, str]]:
        """The experiments that count, and why each other one does not.

        An experiment counts once it has a measured headline, is not a `--smoke` run, and
        differs from every earlier one (by name) in a recorded setting: the model, its weights,
        the training settings and seed, the epochs run, the split sizes. A byte-identical copy,
        or a rerun with the same settings, is the same experiment.
        """
        counted: dict[str, Metrics] = {}
        not_counted: dict[str, str] = {}
        seen: dict[str, str] = {}
        for name, result in self.experiments.items():
            signature = result.settings_signature()
            if result.smoke:
                not_counted[name] = "a --smoke run"
            elif result.headline.value is None:
                not_counted[name] = "no headline measured"
            elif signature in seen:
                not_counted[name] = f"the same recorded settings as `{seen[signature]}`"
            else:
                seen[signature] = name
                counted[name] = result
        return counted, not_counted

    @property
    def data_provenance(self) -> Literal["sample", "synth"] | None:
        """Where the data behind the results came from when a reader must be told: the
        built-in sample, or images synthesized by cut-and-paste; None for collected data."""
        if self.sample_results:
            return "sample"
        sources = self.source_counts()
        if sources.get(SYNTH_SOURCE) or (self.metrics and self.metrics.sources.get(SYNTH_SOURCE)):
            return "synth"
        return None

    @property
    def leak_free(self) -> bool:
        """Whether "leak-free splits" is true: no item is a cut-and-paste of pieces that also
        appear in other splits (synthesized images share their cut-outs across splits), and
        no copy group spans two source groups (the quality report's count)."""
        if self.source_counts().get(SYNTH_SOURCE):
            return False
        return not (self.quality and self.quality.duplicates_across_groups)

    @property
    def deployed_ui(self) -> str | None:
        """The demo `pocgen deploy` put online (web, gradio, streamlit); None before a deploy."""
        return self.deploy.ui if self.deploy else None

    @property
    def gpu_run(self) -> GpuRun | None:
        """The GPU run (reports/gpu.json) that trained the model training.json records; None
        when the model was trained here, or trained again since the GPU run."""
        if self.gpu is None or self.training is None or not self.gpu.describes(self.training.run):
            return None
        return self.gpu

    # --- where the data came from ------------------------------------------------------------

    def source_counts(self) -> Counter[str]:
        """Manifest rows per source; `sample` marks the generated sample data."""
        return Counter(row.source or "unknown" for row in self.manifest or [])

    @property
    def sample_only(self) -> bool:
        counts = self.source_counts()
        return bool(counts) and set(counts) == {SAMPLE_SOURCE}

    @property
    def synth_only(self) -> bool:
        """Every item made by `collect synth`: images and boxes from the synthesizer, no person."""
        counts = self.source_counts()
        return bool(counts) and set(counts) == {SYNTH_SOURCE}

    @property
    def sample_results(self) -> bool:
        """The results come from the built-in sample, by the manifest or by metrics.json."""
        return self.sample_only or bool(self.metrics and self.metrics.sample_data)

    @property
    def borrowed_work(self) -> Literal["demo", "sample"] | None:
        """Why the problem, data and results are not the user's: a demo project, or the built-in
        sample only; None when they are. Each command words the reason its own way."""
        if self.demo:
            return "demo"
        return "sample" if self.sample_results else None

    def collected_counts(self) -> dict[str, int]:
        """Items a person brought in with `collect`, by source (folder, video, text)."""
        counts = self.source_counts()
        return {source: counts[source] for source in COLLECTED_SOURCES if counts.get(source)}

    @property
    def own_data(self) -> bool:
        """Some items were collected by the user, not only sampled or synthesized."""
        return bool(self.collected_counts())

    def split_sizes(self) -> dict[str, int]:
        if self.metrics and self.metrics.splits:
            return dict(self.metrics.splits)
        return {name: len(labels) for name, labels in self.split_labels.items()}

    def per_class_split_counts(self) -> dict[str, dict[str, int]]:
        """class -> split -> count, from metrics.json or, before evaluation, the split files."""
        if self.metrics and self.metrics.per_class_splits:
            return {name: dict(counts) for name, counts in self.metrics.per_class_splits.items()}
        table: dict[str, dict[str, int]] = {}
        for split, labels in self.split_labels.items():
            for label in labels:
                if label:
                    table.setdefault(label, {}).setdefault(split, 0)
                    table[label][split] += 1
        return table

    def per_class_counts(self) -> dict[str, int]:
        """Items per class: the quality report's count, else the labels file, else the splits."""
        if self.quality and self.quality.per_class:
            return dict(self.quality.per_class)
        if self.label_rows:
            return dict(Counter(row.label for row in self.label_rows))
        return {name: sum(s.values()) for name, s in self.per_class_split_counts().items()}

    # --- who labeled it ----------------------------------------------------------------------

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
                row.item: made_with_boxes[row.source]
                for row in self.manifest or []
                if row.source in made_with_boxes
            }
        by_item.update({row.item: row.annotator for row in self.label_rows or []})
        by_item.update({row.item: row.annotator for row in self.coco_labels})
        counts = Counter(by_item.values())
        del counts[""]
        return counts

    def label_studio_people(self) -> dict[str, int]:
        """Annotator -> items labeled, for people whose labels came from a real `label pull`.

        Three files must agree: reports/labels.json from a pull with labeled items, its
        `annotators`, and those same names on the labels in data/.
        """
        if self.labels is None or self.labels.labeled_items <= 0:
            return {}
        on_labels = self.annotation_counts()
        return {
            name: on_labels[name]
            for name in self.labels.annotators
            if on_labels.get(name) and not machine_annotator(name)
        }

    # --- other files -------------------------------------------------------------------------

    def figures(self) -> list[str]:
        """Figures under reports/figures/, as paths relative to the project root, sorted."""
        folder = self.root / "reports" / "figures"
        if not folder.is_dir():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in folder.glob("*.png"))

    def app_screenshots(self) -> list[str]:
        return [path for path in self.figures() if Path(path).name.startswith("app_")]

    def lock_file(self) -> str | None:
        return next((name for name in LOCK_FILES if (self.root / name).is_file()), None)


def project_python(root: Path) -> str:
    """The interpreter that has the project's dependencies: its own `.venv` when it has one,
    else the Python running pocgen. The project's code (tests, notebooks, apps, its web build)
    always runs with this one, never with an interpreter guessed elsewhere."""
    for candidate in (root / ".venv" / "bin" / "python", root / ".venv" / "Scripts" / "python.exe"):
        if candidate.is_file():
            return str(candidate)
    return sys.executable


# --- reading ----------------------------------------------------------------------------------


def _refuse_constant(name: str) -> float:
    """json.loads calls this for NaN and Infinity, which no report may hold."""
    raise ValueError(f"it holds {name}, which is not a measurement")


def _finite(text: str) -> float:
    """A JSON number; one too large for a float (1e999) reads as Infinity and is refused too."""
    value = float(text)
    if not math.isfinite(value):
        _refuse_constant(text)
    return value


def read_json(path: Path, relative: str, command: str) -> Any:
    """A JSON file's content, or None when it does not exist; one line when it is not JSON."""
    if not path.exists():
        return None
    try:
        return json.loads(
            path.read_text(encoding="utf-8"),
            parse_constant=_refuse_constant,
            parse_float=_finite,
        )
    except (ValueError, UnicodeDecodeError, OSError) as error:
        raise PocgenError(
            f"{relative} is not valid JSON ({error}); rerun `{command}` to rewrite it."
        ) from error


def read_report(
    root: Path, relative: str, schema: str, command: str, parse: Callable[[Any], Record]
) -> Record | None:
    """A report validated against its schema and parsed into its record; None when absent."""
    data = read_json(root / relative, relative, command)
    if data is None:
        return None
    if not isinstance(data, dict):
        raise PocgenError(f"{relative} must hold a JSON object; rerun `{command}` to rewrite it.")
    if schema == "metrics" and data.get("schema_version") != 1:
        raise PocgenError(
            f"{relative} has schema_version {data.get('schema_version')!r}; this pocgen reads "
            f"version 1: rerun `{command}` or upgrade pocgen."
        )
    problem = schema_problem(data, schema)
    if problem:
        raise PocgenError(f"{relative} is malformed: {problem}; rerun `{command}` to rewrite it.")
    return parse(data)


def _read_csv(path: Path) -> list[dict[str, str]] | None:
    """A CSV a stage wrote, read as the stages read it: a cell written with an apostrophe in front
    (so that a spreadsheet shows a value starting with = + - @ as text) without it."""
    if not path.exists():
        return None
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return [
                {k: (v or "").removeprefix("'") for k, v in row.items() if k}
                for row in csv.DictReader(handle)
            ]
    except (UnicodeDecodeError, csv.Error, OSError) as error:
        raise PocgenError(
            f"{path.name} cannot be read as UTF-8 CSV ({error}); restore it from git or rerun the "
            "stage that writes it."
        ) from error


def _coco_labels(root: Path, command: str) -> list[LabelRow]:
    """The images of the detection COCO export, with the annotator `label pull` recorded."""
    coco = read_json(root / "data/labels/coco.json", "data/labels/coco.json", command)
    images = coco.get("images") if isinstance(coco, dict) else None
    return [
        LabelRow(str(image.get("file_name") or ""), "", str(image.get("annotator") or ""))
        for image in images or []
        if isinstance(image, dict)
    ]


def load_project(root: Path) -> Project:
    """Everything the writeup, the check and the deploy need, read and validated once."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise PocgenError(f"{root} is not a folder: pass the project folder.")
    answers = recorded_answers(root)
    if answers is None:
        raise PocgenError(
            f"{root} is not a pocgen project (no .copier-answers.yml): pass the project folder, "
            "or create one with `pocgen new`."
        )
    project = Project(root=root, answers=Answers(answers))
    parsers: dict[str, Callable[[Any], Any]] = {
        "metrics": Metrics.parse,
        "training": TrainingRecord.parse,
        "quality": DataQuality.parse,
        "labels": LabelsReport.parse,
        "deploy": DeployRecord.parse,
        "gpu": GpuRun.parse,
    }
    for attribute, report in REPORTS.items():
        command = project.command(report.stage)
        parsed = read_report(root, report.path, report.schema, command, parsers[attribute])
        setattr(project, attribute, parsed)
    manifest = _read_csv(root / "data" / "manifest.csv")
    if manifest is not None:
        project.manifest = [
            ManifestRow(row.get("item", ""), row.get("source", ""), row.get("group", ""))
            for row in manifest
        ]
    labels = _read_csv(root / "data" / "labels.csv")
    if labels is not None:
        project.label_rows = [
            LabelRow(row.get("item", ""), row.get("label", ""), row.get("annotator", ""))
            for row in labels
        ]
    project.coco_labels = _coco_labels(root, project.command("label pull"))
    for split in SPLITS:
        rows = _read_csv(root / "data" / "splits" / f"{split}.csv")
        if rows is not None:
            project.split_labels[split] = [row.get("label", "") for row in rows]
    folder = root / "reports" / "experiments"
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        relative = path.relative_to(root).as_posix()
        command = project.command("evaluate")
        experiment = read_report(root, relative, "experiments", command, Metrics.parse)
        if experiment is not None:
            project.experiments[path.stem] = experiment
    return project
