"""Typed records of a generated project's files, each built once from a validated report.

`project.py` reads a report, validates it against the template's schema (`contract.py`) and hands
the mapping to the record's `parse`; from then on every command reads attributes, never raw keys,
so a fact (the headline, the run that made the model, the demo that was deployed) has exactly one
definition. The records mirror the schemas in `templates/poc/schemas/`: a field the schema makes
optional is `None` (or empty) here when the report leaves it out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pocgen.contract import hub_license

SAMPLE_SOURCE = "sample"
SYNTH_SOURCE = "synth"  # `collect synth`: images and boxes made by the cut-and-paste synthesizer
# Label annotators that are a program, not a person (`imported from <file>` is one too).
MACHINE_ANNOTATORS = {"sample", "synthesizer", "folder name"}
IMPORTED_PREFIX = "imported from "
# What `label pull` measures agreement with, in the order `check` prefers them, and the counts
# recorded beside them.
AGREEMENT_MEASURES = ("kappa", "cohen_kappa", "f1_50", "f1", "mean_iou", "iou")
AGREEMENT_COUNTS = ("pairs", "boxes")


def _score(value: Any) -> float | None:
    """A measured number as the report wrote it (1 stays 1, 0.5 stays 0.5), or None where the
    report records none (null, or left out)."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str) and value else None


def _scores(values: Any) -> dict[str, float | None]:
    return {str(key): _score(value) for key, value in (values or {}).items()}


@dataclass(frozen=True)
class ModelInfo:
    """The trained model: what the writeup calls it, and how it started."""

    name: str | None = None
    pretrained: bool | None = None
    parameters: int | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any] | None) -> ModelInfo | None:
        if not data:
            return None
        pretrained = data.get("pretrained")
        return cls(
            _text(data.get("name")),
            pretrained if isinstance(pretrained, bool) else None,
            _count(data.get("parameters")),
        )


@dataclass(frozen=True)
class RunInfo:
    """How long, where and at which commit the model was trained."""

    seconds: float | None = None
    epochs: int | None = None
    device: str | None = None
    hardware: str | None = None
    git_commit: str | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any] | None) -> RunInfo:
        data = data or {}
        return cls(
            _score(data.get("seconds")),
            _count(data.get("epochs")),
            _text(data.get("device")),
            _text(data.get("hardware")),
            _text(data.get("git_commit")),
        )

    def merged(self, newer: RunInfo) -> RunInfo:
        """This run's facts, each replaced by `newer`'s where that one records it."""
        return RunInfo(
            *(
                theirs if theirs is not None else mine
                for mine, theirs in zip(self._values(), newer._values(), strict=True)
            )
        )

    def _values(self) -> tuple[Any, ...]:
        return (self.seconds, self.epochs, self.device, self.hardware, self.git_commit)


@dataclass(frozen=True)
class Headline:
    """The metric the success target is about, as measured on the test split."""

    metric: str
    value: float | None  # None: undefined on this test split (its class absent)
    ci95: tuple[float, float] | None = None  # None: not recorded, or never defined
    target_class: str | None = None
    precision: float | None = None


@dataclass(frozen=True)
class Baseline:
    name: str
    values: dict[str, float | None]


@dataclass(frozen=True)
class Latency:
    mean: float
    p50: float | None = None
    p95: float | None = None
    runtime: str | None = None


@dataclass(frozen=True)
class Metrics:
    """reports/metrics.json (or an experiment's copy of it)."""

    task: str
    sample_data: bool
    smoke: bool
    classes: tuple[str, ...]
    headline: Headline
    values: dict[str, float | None]
    baseline: Baseline
    splits: dict[str, int] = field(default_factory=dict)  # items per split
    per_class_splits: dict[str, dict[str, int]] = field(default_factory=dict)
    test_size: int | None = None
    per_class: dict[str, dict[str, float | None]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    latency: Latency | None = None
    model: ModelInfo | None = None
    run: RunInfo = field(default_factory=RunInfo)
    figures: dict[str, str] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)  # manifest items per source
    settings: dict[str, Any] = field(default_factory=dict)  # `train` settings used, and seed

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Metrics:
        head = data["headline"]
        interval = head.get("ci95")
        ci95 = None
        if isinstance(interval, list) and all(_score(v) is not None for v in interval):
            ci95 = (float(interval[0]), float(interval[1]))
        dataset = data.get("dataset") or {}
        latency = data.get("latency_ms")
        return cls(
            task=str(data["task"]),
            sample_data=bool(data["sample_data"]),
            smoke=bool(data["smoke"]),
            classes=tuple(str(name) for name in data["classes"]),
            headline=Headline(
                str(head["metric"]),
                _score(head["value"]),
                ci95,
                _text(head.get("class")),
                _score(head.get("precision")),
            ),
            values=_scores(data["metrics"]),
            baseline=Baseline(str(data["baseline"]["name"]), _scores(data["baseline"]["metrics"])),
            splits={
                str(name): size
                for name, size in dataset.items()
                if name != "per_class" and _count(size) is not None
            },
            per_class_splits={
                str(name): {str(split): int(n) for split, n in counts.items()}
                for name, counts in (dataset.get("per_class") or {}).items()
            },
            test_size=_count(data.get("test_size")),
            per_class={
                str(name): _scores(values) for name, values in (data.get("per_class") or {}).items()
            },
            warnings=tuple(str(w).strip() for w in data.get("warnings") or [] if str(w).strip()),
            latency=Latency(
                float(latency["mean"]),
                _score(latency.get("p50")),
                _score(latency.get("p95")),
                _text(latency.get("runtime")),
            )
            if latency
            else None,
            model=ModelInfo.parse(data.get("model")),
            run=RunInfo.parse(data.get("training")),
            figures={str(k): str(v) for k, v in (data.get("figures") or {}).items()},
            sources={str(k): int(v) for k, v in (data.get("data_sources") or {}).items()},
            settings={
                key: value
                for key, value in (data.get("training") or {}).items()
                if key in ("params", "seed")
            },
        )

    def settings_signature(self) -> str:
        """What a run varied, as recorded: the model and its weights, the training settings and
        seed (new records), the epochs run and the split sizes. Two experiments with the same
        signature are the same experiment."""
        model = self.model or ModelInfo()
        recorded = {
            "model": [model.name, model.pretrained],
            "epochs": self.run.epochs,
            "splits": self.splits,
            **self.settings,
        }
        return json.dumps(recorded, sort_keys=True, default=str)

    def weakest_class(self) -> tuple[str, str, float] | None:
        """(class, measure, score) of the class scoring lowest on F1, else AP@0.5, else recall;
        None unless at least two classes have that measure."""
        for key in ("f1", "ap50", "recall"):
            scored = [
                (name, key, value)
                for name, values in self.per_class.items()
                if (value := values.get(key)) is not None
            ]
            if len(scored) > 1:
                return min(scored, key=lambda entry: entry[2])
        return None

    @property
    def baseline_headline(self) -> float | None:
        """The baseline's value of the headline metric."""
        return self.baseline.values.get(self.headline.metric)


@dataclass(frozen=True)
class TrainingRecord:
    """reports/training.json: what `train` used and recorded."""

    task: str
    smoke: bool
    params: dict[str, Any]
    seed: int
    model: ModelInfo | None
    history: tuple[dict[str, float | None], ...]
    run: RunInfo
    selected_by: str | None = None  # `val_<metric>` that picked the kept epoch or C

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> TrainingRecord:
        return cls(
            task=str(data["task"]),
            smoke=bool(data["smoke"]),
            params=dict(data["params"]),
            seed=int(data["seed"]),
            model=ModelInfo.parse(data["model"]),
            history=tuple(dict(entry) for entry in data["history"]),
            run=RunInfo.parse(data),
            selected_by=data.get("selected_by"),
        )


@dataclass(frozen=True)
class DataQuality:
    """reports/data_quality.json, each finding counted."""

    items: int
    per_class: dict[str, int]
    exact_duplicates: int  # groups of identical items
    near_duplicates: int
    duplicates_across_groups: int | None  # None: not recorded
    corrupt: int = 0
    too_small: int = 0
    bad_boxes: int = 0
    empty_texts: int = 0
    blocking_reasons: tuple[str, ...] = ()
    sample_data: bool = False

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> DataQuality:
        reasons = tuple(str(reason) for reason in data["blocking_reasons"])
        if data["blocking"] and not reasons:
            reasons = ("see reports/data_quality.md",)
        return cls(
            items=int(data["items"]),
            per_class={str(name): int(n) for name, n in data["per_class"].items()},
            exact_duplicates=len(data["duplicates"]["exact"]),
            near_duplicates=len(data["duplicates"]["near"]),
            duplicates_across_groups=_count(data.get("duplicates_across_groups")),
            corrupt=len(data.get("corrupt") or []),
            too_small=len(data.get("too_small") or []),
            bad_boxes=len(data.get("bad_boxes") or []),
            empty_texts=len(data.get("empty_texts") or []),
            blocking_reasons=reasons,
            sample_data=bool(data["sample_data"]),
        )

    @property
    def duplicate_groups(self) -> int:
        return self.exact_duplicates + self.near_duplicates

    @property
    def copies_within_groups(self) -> bool:
        """Every copy group stays inside one source group (frames of one video, scenes drawn on
        one table): `split` keeps each group in one split, so the copies cannot leak."""
        return self.duplicates_across_groups == 0 and self.duplicate_groups > 0


@dataclass(frozen=True)
class Agreement:
    """How far annotators agree on the doubly labeled items."""

    pairs: int
    overall: dict[str, float]  # measures only (kappa, mean_iou, f1_50), no counts
    per_class: dict[str, dict[str, float] | None]  # as recorded, counts (pairs, boxes) included

    def per_class_measure(self) -> dict[str, float]:
        """class -> agreement, taking the first agreement measure each class records."""
        values = {}
        for name, entry in self.per_class.items():
            if entry is None:
                continue
            measured = [entry[k] for k in AGREEMENT_MEASURES if _score(entry.get(k)) is not None]
            if measured:
                values[name] = measured[0]
        return values


@dataclass(frozen=True)
class LabelsReport:
    """reports/labels.json, from `label pull`."""

    labeled_items: int
    annotators: dict[str, int]
    agreement: Agreement
    rejected: int

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> LabelsReport:
        block = data["agreement"]
        return cls(
            labeled_items=int(data["labeled_items"]),
            annotators={str(name): int(n) for name, n in data["annotators"].items()},
            agreement=Agreement(
                int(block["pairs"]),
                {
                    str(k): v
                    for k, v in (block["overall"] or {}).items()
                    if k not in AGREEMENT_COUNTS
                },
                {
                    str(name): dict(values) if values is not None else None
                    for name, values in block["per_class"].items()
                },
            ),
            rejected=len(data["rejected"]),
        )


@dataclass(frozen=True)
class DeployRecord:
    """reports/deploy.json, from `pocgen deploy`: where the demo lives and which one it is."""

    space_id: str
    url: str
    sdk: str
    ui: str
    deployed_at: str

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> DeployRecord:
        return cls(*(str(data[key]) for key in ("space_id", "url", "sdk", "ui", "deployed_at")))


@dataclass(frozen=True)
class GpuRun:
    """reports/gpu.json, from `pocgen gpu run` and `pull`: which engine and GPU trained the
    model, for how long, at what cost."""

    engine: str  # hf, kaggle or colab
    device: str
    flavor: str | None = None
    gpu: str | None = None
    train_seconds: float | None = None
    job_seconds: float | None = None
    cost_usd: float | None = None
    job_url: str | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> GpuRun:
        return cls(
            engine=str(data["engine"]),
            device=str(data["device"]),
            flavor=_text(data.get("flavor")),
            gpu=_text(data.get("gpu")),
            train_seconds=_score(data.get("train_seconds")),
            job_seconds=_score(data.get("job_seconds")),
            cost_usd=_score(data.get("cost_usd")),
            job_url=_text(data.get("job_url")),
        )

    def describes(self, run: RunInfo) -> bool:
        """Whether this GPU run trained the model reports/training.json records: the same
        device and training time. A later training run elsewhere leaves gpu.json stale."""
        if run.device != self.device or run.seconds is None or self.train_seconds is None:
            return False
        return abs(run.seconds - self.train_seconds) < 0.5


@dataclass(frozen=True)
class Target:
    """The success target from the answers: `metric` must reach `value` on the test split."""

    metric: str
    value: float
    target_class: str | None = None


class Answers(Mapping[str, Any]):
    """The answers the project was rendered with: typed for pocgen's own readers, and still a
    read-only mapping of every recorded answer (deploy and course locks read keys by name)."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self._raw = dict(raw)

    def __getitem__(self, key: str) -> Any:
        return self._raw[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __repr__(self) -> str:
        return f"Answers({self._raw!r})"

    def text(self, key: str) -> str:
        """An answer as stripped text; '' when it is not given."""
        value = self._raw.get(key)
        return "" if value is None else str(value).strip()

    @property
    def classes(self) -> tuple[str, ...] | None:
        """The comma-separated `classes` answer as names; None when the answers lack it."""
        raw = self._raw.get("classes")
        if not isinstance(raw, str):
            return None
        return tuple(name.strip() for name in raw.split(",") if name.strip())

    @property
    def target(self) -> Target | None:
        metric, value = self._raw.get("target_metric"), self._raw.get("target_value")
        if not metric or _score(value) is None:
            return None
        return Target(str(metric), float(value), _text(self._raw.get("target_class")))

    @property
    def demo(self) -> bool:
        """Rendered as a demo (`pocgen new --defaults` without the user's own problem)."""
        return self._raw.get("demo") is True

    @property
    def hub_license(self) -> str:
        return hub_license(self._raw.get("license"))

    @property
    def template_source(self) -> str | None:
        """Where the project's template came from (`_src_path`: `pocgen:poc`, a URL, a folder)."""
        source = self._raw.get("_src_path")
        return str(source) if source else None

    @property
    def template_version(self) -> str | None:
        """The template version the project was rendered at (`_commit`)."""
        version = self._raw.get("_commit")
        return str(version) if version else None


def machine_annotator(name: str) -> bool:
    """True for the annotators that stand for a program: the sample, the synthesizer, imports."""
    return name in MACHINE_ANNOTATORS or name.startswith(IMPORTED_PREFIX)
