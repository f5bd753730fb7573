"""The text of each README writeup section, built only from the project's own files.

Each function takes a loaded `Project` and returns a `Section`: the Markdown to put between the
section's markers, and the commands still needed for the parts it could not fill. A section never
shows a number that is not in an artifact; where the artifact is missing it names the command that
writes it, so the README tells its reader (and `pocgen check`) exactly what is left to do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pocgen.project import (
    COLLECTED_SOURCES,
    IMPORTED_PREFIX,
    SAMPLE_SOURCE,
    SYNTH_SOURCE,
    Project,
)
from pocgen.writeup.contribution import CODE_FOLDERS, Contribution, measure
from pocgen.writeup.formatting import (
    count,
    duration,
    metric_name,
    missing,
    ms,
    number,
    table,
    upper_first,
)

SPACES_BADGE = (
    "https://huggingface.co/datasets/huggingface/badges/resolve/main/open-in-hf-spaces-md.svg"
)
TASK_WORDS = {
    "object-detection": "object detection",
    "image-classification": "image classification",
    "text-classification": "text classification",
}
# How each manifest source reads in a sentence: "120 from a folder of photos".
SOURCE_WORDS = {
    SAMPLE_SOURCE: "from the built-in sample",
    SYNTH_SOURCE: "synthesized by cut-and-paste",
    **COLLECTED_SOURCES,
}
# How the labels of each program annotator came about; people are named by `label pull`.
ANNOTATOR_WORDS = {
    "sample": "came with the built-in sample",
    "synthesizer": "measured by the cut-and-paste synthesizer from the pixels it pasted",
    "folder name": "taken from the names of the folders the photos came in",
}
FILES_LISTED = 8  # names shown before "and N more"
FIGURE_CAPTIONS = {
    "confusion_matrix": "Confusion matrix on the test split",
    "pr_curve": "Precision-recall curve on the test split",
    "examples": "Example predictions on the test split, worst errors included",
}


@dataclass
class Section:
    """Markdown for one marker region, and the commands that would complete it."""

    body: str
    waiting: list[str] = field(default_factory=list)


class _Builder:
    """Collects paragraphs and the commands a section is still waiting for."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.waiting: list[str] = []

    def add(self, text: str) -> None:
        self.parts.append(text.strip("\n"))

    def wait(self, what: str, command: str) -> None:
        self.parts.append(missing(what, command))
        if command not in self.waiting:
            self.waiting.append(command)

    def section(self) -> Section:
        return Section("\n\n".join(self.parts), self.waiting)


def headline(project: Project) -> tuple[str, float, float | None] | None:
    """(metric key, model value, baseline value) of the headline metric, or None before evaluate."""
    metrics = project.metrics
    if not metrics or not isinstance(metrics.get("headline"), dict):
        return None
    key = str(metrics["headline"].get("metric"))
    value = metrics["headline"].get("value", (metrics.get("metrics") or {}).get(key))
    if not isinstance(value, int | float):
        return None
    baseline = ((metrics.get("baseline") or {}).get("metrics") or {}).get(key)
    return key, float(value), float(baseline) if isinstance(baseline, int | float) else None


def confidence_interval(metrics: dict[str, Any]) -> tuple[float, float] | None:
    """The headline's bootstrap 95% interval from metrics.json, when evaluate recorded one."""
    interval = (metrics.get("headline") or {}).get("ci95")
    if (
        isinstance(interval, list)
        and len(interval) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in interval)
    ):
        return float(interval[0]), float(interval[1])
    return None


def target(project: Project) -> tuple[str, float] | None:
    """The success target from the answers: (metric key, value)."""
    key, value = project.answers.get("target_metric"), project.answers.get("target_value")
    if not key or not isinstance(value, int | float):
        return None
    return str(key), float(value)


def target_value_measured(project: Project) -> float | None:
    goal = target(project)
    if goal is None or not project.metrics:
        return None
    value = (project.metrics.get("metrics") or {}).get(goal[0])
    return float(value) if isinstance(value, int | float) else None


def sample_note(project: Project) -> str:
    return (
        f"> **Sample data.** These numbers come from the generated sample data, not from collected "
        f"data. Bring your own with `{project.command('collect')}` and rerun the pipeline."
    )


def blocking_reasons(quality: dict[str, Any]) -> list[str]:
    """Why `validate` would refuse to go on: its listed reasons, or a bare flag."""
    reasons = quality.get("blocking_reasons")
    if isinstance(reasons, list) and reasons:
        return [str(reason) for reason in reasons]
    blocking = quality.get("blocking")
    if isinstance(blocking, list):
        return [str(reason) for reason in blocking]
    return ["see reports/data_quality.md"] if blocking else []


def problem(project: Project) -> Section:
    out = _Builder()
    answers = project.answers
    out.add(f"**Problem.** {answers.get('problem', '').strip()}")
    out.add(f"**Business objective.** {answers.get('business_objective', '').strip()}")
    stated = str(answers.get("success_metric", "")).strip()
    line = f"**Success metric.** {stated[:1].upper()}{stated[1:]}"
    goal = target(project)
    if goal:
        line += (
            f" (`pocgen check` compares {metric_name(goal[0])} on the test split with {goal[1]:g})"
        )
    out.add(line + ".")
    classes = ", ".join(f"`{name}`" for name in project.classes)
    task = TASK_WORDS.get(project.task, project.task)
    out.add(f"**Task.** {upper_first(task)} with {len(project.classes)} classes: {classes}.")
    if project.demo:
        out.add(demo_note())
    return out.section()


def demo_note() -> str:
    return (
        "> **Demo project.** Rendered with `pocgen new --defaults` (`demo: true` in "
        "`.copier-answers.yml`): the problem, the classes and the target are the template's "
        "example, not a problem chosen by the author."
    )


def _quality_rows(project: Project) -> list[list[str]]:
    quality = project.quality or {}
    duplicates = quality.get("duplicates") or {}
    rows = [
        ["items checked", number(count(quality.get("items")))],
        ["unreadable or corrupt (skipped)", number(count(quality.get("corrupt")))],
    ]
    if project.image_task:
        rows.append(["too small", number(count(quality.get("too_small")))])
        rows.append(["exact-duplicate groups", number(count(duplicates.get("exact")))])
        rows.append(["near-duplicate groups", number(count(duplicates.get("near")))])
        if project.task == "object-detection":
            rows.append(
                ["boxes outside the image or empty", number(count(quality.get("bad_boxes")))]
            )
    else:
        rows.append(["exact-duplicate groups", number(count(duplicates.get("exact")))])
        rows.append(["empty texts", number(count(quality.get("empty_texts")))])
    return rows


def agreement_of(labels: dict[str, Any]) -> dict[str, Any]:
    """The `agreement` block of reports/labels.json: pairs compared, overall, per class."""
    block = labels.get("agreement")
    return block if isinstance(block, dict) else {}


def _agreement(labels: dict[str, Any]) -> str:
    """What `label pull` measured: rejected annotations, then agreement overall and per class."""
    lines = []
    rejected = count(labels.get("rejected"))
    if rejected:
        lines.append(f"{number(rejected)} annotations rejected (labels outside the classes).")
    block = agreement_of(labels)
    pairs = block.get("pairs") or 0
    if not pairs:
        lines.append(
            "Agreement: no item has two annotations yet; have a second person label a "
            "few dozen items to measure it."
        )
        return "\n\n".join(lines)
    overall = block.get("overall") or {}
    measured = ", ".join(
        f"{metric_name(k)} {number(v)}" for k, v in overall.items() if isinstance(v, float)
    )
    lines.append(f"Agreement over {number(pairs)} doubly labeled items: {measured}.")
    per_class = {name: v for name, v in (block.get("per_class") or {}).items()}
    keys = sorted({k for v in per_class.values() if isinstance(v, dict) for k in v})
    if keys:
        rows = [
            [f"`{name}`"]
            + [number(values.get(k, "–")) if isinstance(values, dict) else "–" for k in keys]
            for name, values in per_class.items()
        ]
        lines.append(table(["class"] + [metric_name(k) for k in keys], rows))
    return "\n\n".join(lines)


def data(project: Project) -> Section:
    out = _Builder()
    sources = project.source_counts()
    if not sources:
        out.wait("No data yet", project.command("sample"))
        out.add(f"Or bring your own with `{project.command('collect')}`.")
    else:
        total = sum(sources.values())
        by_source = ", ".join(
            f"{number(n)} {SOURCE_WORDS.get(name, f'from source `{name}`')}"
            for name, n in sources.most_common()
        )
        out.add(
            f"**Data.** {number(total)} {project.item_word}: {by_source}; each is recorded "
            "in `data/manifest.csv` with its source, time and licence note."
        )
        if project.sample_only:
            out.add(
                f"> **Sample data.** All {number(total)} {project.item_word} are the built-in "
                f"sample (`{project.command('sample')}`), not collected data. Collect your own "
                f"with `{project.command('collect')}`."
            )
        elif sources.get(SAMPLE_SOURCE):
            out.add(f"> {number(sources[SAMPLE_SOURCE])} built-in sample items are still mixed in.")

    per_class = project.per_class_split_counts()
    sizes = project.split_sizes()
    if per_class:
        splits = [s for s in ("train", "val", "test") if any(s in v for v in per_class.values())]
        rows = [
            [f"`{name}`"]
            + [number(v.get(s, 0)) for s in splits]
            + [number(sum(v.get(s, 0) for s in splits))]
            for name, v in per_class.items()
        ]
        rows.append(
            ["**total**"]
            + [number(sum(v.get(s, 0) for v in per_class.values())) for s in splits]
            + [number(sum(sum(v.get(s, 0) for s in splits) for v in per_class.values()))]
        )
        out.add(
            "**Splits** (leak-free: frames and copies of one source stay in one split):\n\n"
            + table(["class"] + splits + ["total"], rows)
        )
    elif sizes:
        out.add(
            "**Splits:** " + ", ".join(f"{name} {number(n)}" for name, n in sizes.items()) + "."
        )
    else:
        out.wait("Not split yet", project.command("split"))

    if project.quality is None:
        out.wait("No data-quality report yet", project.report_command("quality"))
    else:
        reasons = blocking_reasons(project.quality)
        verdict = (
            "**Blocking problems:** " + "; ".join(reasons) + "."
            if reasons
            else "No blocking problems."
        )
        out.add(
            "**Quality** (`reports/data_quality.json`):\n\n"
            + table(["check", "found"], _quality_rows(project))
            + "\n\n"
            + verdict
        )

    _labels_paragraph(project, out)
    return out.section()


def _labels_paragraph(project: Project, out: _Builder) -> None:
    """Who labeled the data, from the annotator recorded on each label; nothing else."""
    people = project.label_studio_people()
    if people:
        named = ", ".join(f"{name} ({number(n)})" for name, n in people.items())
        out.add(
            f"**Labels.** {number(sum(people.values()))} items labeled in Label Studio by "
            f"{len(people)} annotator{'s' if len(people) != 1 else ''} (`"
            f"{project.command('label pull')}`): {named}."
        )
        out.add(_agreement(project.labels or {}))
    others = [
        (name, n) for name, n in project.annotation_counts().most_common() if name not in people
    ]
    phrases = []
    for name, n in others:
        labels = f"{number(n)} label{'s' if n != 1 else ''}"
        if name in ANNOTATOR_WORDS:
            phrases.append(f"{labels} {ANNOTATOR_WORDS[name]}")
        elif name.startswith(IMPORTED_PREFIX):
            phrases.append(f"{labels} {name} (`{project.command('collect')} text`)")
        else:
            phrases.append(f"{labels} by `{name}`, not pulled from Label Studio")
    if phrases:
        lead = "Other labels:" if people else "**Labels.**"
        out.add(f"{lead} " + "; ".join(phrases) + ".")
    if people or phrases:
        return
    if project.answers.get("labeling") == "label-studio":
        out.wait("No labels pulled yet", project.report_command("labels"))
    else:
        out.add("**Labels.** No labels recorded yet (`data/labels.csv`).")


def _flat_params(params: dict[str, Any], prefix: str = "") -> list[str]:
    items: list[str] = []
    for key, value in params.items():
        if isinstance(value, dict):
            items += _flat_params(value, f"{prefix}{key}.")
        elif isinstance(value, str | int | float | bool) or value is None:
            items.append(f"`{prefix}{key}={value}`")
    return items


def _loss_line(history: Any) -> str:
    if not isinstance(history, list) or not history or not isinstance(history[0], dict):
        return ""
    key = next((k for k in history[0] if "loss" in k and "val" not in k), None)
    if key is None:
        return ""
    first, last = history[0].get(key), history[-1].get(key)
    if not isinstance(first, int | float) or not isinstance(last, int | float):
        return ""
    start, end = history[0].get("epoch", 1), history[-1].get("epoch", len(history))
    if len(history) == 1:
        return f"Training loss (`{key}`) after epoch {end}: {number(float(last))}."
    return (
        f"Training loss (`{key}`) went from {number(float(first))} (epoch {start}) to "
        f"{number(float(last))} (epoch {end})."
    )


def model(project: Project) -> Section:
    out = _Builder()
    metrics = project.metrics or {}
    record = project.training or {}
    info = metrics.get("model") or record.get("model") or {}
    training = {**record, **(metrics.get("training") or {})}
    if not info and not record:
        out.wait("Not trained yet", project.command("train"))
        return out.section()
    rows: list[list[str]] = []
    if info.get("name"):
        rows.append(["architecture", f"`{info['name']}`"])
    if "pretrained" in info:
        rows.append(
            [
                "weights",
                "pretrained, fine-tuned here" if info["pretrained"] else "trained from scratch",
            ]
        )
    if isinstance(info.get("parameters"), int):
        rows.append(["parameters", number(info["parameters"])])
    if isinstance(training.get("seconds"), int | float):
        epochs = training.get("epochs")
        suffix = f", {epochs} epoch{'s' if epochs != 1 else ''}" if isinstance(epochs, int) else ""
        rows.append(["training time", duration(training["seconds"]) + suffix])
    if training.get("hardware") or training.get("device"):
        rows.append(
            [
                "hardware",
                " / ".join(str(training[k]) for k in ("hardware", "device") if training.get(k)),
            ]
        )
    if training.get("git_commit"):
        rows.append(["git commit", f"`{training['git_commit']}`"])
    out.add(table(["", ""], rows))
    params = record.get("params")
    if isinstance(params, dict) and params:
        out.add(
            "Settings (`params.yaml`, logged in `reports/training.json`): "
            + ", ".join(_flat_params(params))
            + "."
        )
    loss = _loss_line(record.get("history"))
    if loss:
        out.add(loss)
    if record.get("smoke"):
        out.add(
            f"> **Smoke run.** This model was trained with `--smoke` (a tiny slice, one short "
            f"epoch) to test the pipeline; run `{project.command('train')}` for real numbers."
        )
    if not record:
        out.wait("Training log not found", project.command("train"))
    return out.section()


def _figure_lines(project: Project) -> list[str]:
    present = set(project.figures())
    named = (project.metrics or {}).get("figures") or {}
    lines = []
    for key, path in named.items():
        if path in present:
            caption = FIGURE_CAPTIONS.get(key, key.replace("_", " ").capitalize())
            lines.append(f"![{caption}]({path})")
    listed = set(named.values())
    for path in sorted(present - listed):
        if not path.split("/")[-1].startswith("app_"):
            stem = path.split("/")[-1][:-4]
            caption = FIGURE_CAPTIONS.get(stem, stem.replace("_", " ").capitalize())
            lines.append(f"![{caption}]({path})")
    return lines


def results(project: Project) -> Section:
    out = _Builder()
    metrics = project.metrics
    if not metrics:
        out.wait("No results yet", project.report_command("metrics"))
        return out.section()
    if metrics.get("sample_data"):
        out.add(sample_note(project))
    values = metrics.get("metrics") or {}
    baseline = metrics.get("baseline") or {}
    base_values = baseline.get("metrics") or {}
    best = headline(project)
    goal = target(project)
    rows = []
    for key, value in values.items():
        base = base_values.get(key)
        aim = ""
        if goal and key == goal[0] and isinstance(value, int | float):
            aim = f"≥ {goal[1]:g}: " + ("**met**" if value >= goal[1] else "**not met**")
        label = metric_name(key) + (" (headline)" if best and key == best[0] else "")
        shown = f"**{number(value)}**" if isinstance(value, int | float) else "–"
        rows.append([label, shown, number(base) if isinstance(base, int | float) else "–", aim])
    name = baseline.get("name", "baseline")
    dataset = metrics.get("dataset") or {}
    test_items = dataset.get("test", metrics.get("test_size"))
    test_size = f" ({number(test_items)} items)" if isinstance(test_items, int) else ""
    out.add(
        f"On the held-out test split{test_size}, from `reports/metrics.json`:\n\n"
        + table(["metric", "model", f"baseline: {name}", "success target"], rows)
    )
    interval = confidence_interval(metrics)
    if best and interval:
        out.add(
            f"95% bootstrap interval of the {metric_name(best[0])}: "
            f"{number(interval[0])} to {number(interval[1])} (`reports/metrics.json`)."
        )
    warnings = [str(w) for w in metrics.get("warnings") or [] if str(w).strip()]
    if warnings:
        out.add("\n\n".join(f"> **Caution.** {upper_first(w.strip())}" for w in warnings))
    per_class = metrics.get("per_class") or {}
    if per_class:
        keys = [
            k
            for k in ("precision", "recall", "f1", "ap50", "support")
            if any(k in v for v in per_class.values())
        ]
        class_rows = [
            [f"`{cls}`"] + [number(v.get(k, "")) for k in keys] for cls, v in per_class.items()
        ]
        out.add("Per class:\n\n" + table(["class"] + [metric_name(k) for k in keys], class_rows))
    latency = metrics.get("latency_ms") or {}
    if isinstance(latency.get("mean"), int | float):
        runtime = latency.get("runtime", "the exported model")
        hardware = (metrics.get("training") or {}).get("hardware")
        where = f" on {hardware}" if hardware else ""
        p95 = f", p95 {ms(latency['p95'])}" if "p95" in latency else ""
        out.add(f"Latency: {ms(latency['mean'])} per item on average{p95}, with {runtime}{where}.")
    figures = _figure_lines(project)
    if figures:
        out.add("\n\n".join(figures))
    else:
        out.wait("No figures yet", project.report_command("metrics"))
    return out.section()


def demo(project: Project) -> Section:
    out = _Builder()
    deploy = project.deploy or {}
    url = deploy.get("url")
    if url:
        out.add(f"[![Open in Spaces]({SPACES_BADGE})]({url})")
        detail = ", ".join(
            f"{k.replace('_', ' ')} {deploy[k]}" for k in ("sdk", "deployed_at") if deploy.get(k)
        )
        out.add(f"**Live demo:** {url}" + (f" ({detail})" if detail else ""))
    elif project.answers.get("deploy") == "none":
        out.add("Not deployed (`deploy: none`); run it locally with `make demo`.")
    else:
        out.wait("Not online yet", "pocgen deploy")
    for path in project.app_screenshots():
        ui = path.split("/")[-1][4:-4].capitalize()
        out.add(f"![The {ui} demo making a prediction]({path})")
    # A screenshot is a bonus, not a gap: the section is complete without one.
    hint = (
        ""
        if project.app_screenshots()
        else (
            " The demo's browser test saves a screenshot to `reports/figures/app_<ui>.png`; the "
            "next `pocgen writeup` shows it here."
        )
    )
    out.add("Run it locally with `make demo`." + hint)
    return out.section()


def reproduce(project: Project) -> Section:
    run = project.command
    own_data = bool(project.manifest) and not project.sample_only
    lines = [
        "python -m venv .venv && . .venv/bin/activate",
        "pip install -e '.[dev]'",
        f"{run('collect')} --help   # bring your own data"
        if own_data
        else f"{run('sample')}   # the generated sample data",
    ]
    if project.answers.get("labeling") == "label-studio":
        lines += [
            "make label-serve   # Label Studio (installed apart), in a second terminal",
            run("label push"),
            f"{run('label pull')}   # after labeling",
        ]
    # evaluate measures the exported ONNX model (the one the demo serves), so export comes first.
    lines += [run(stage) for stage in ("validate", "split", "train", "export", "evaluate")]
    lines += ["python -m pytest"]
    text = "```bash\n" + "\n".join(lines) + "\n```"
    training = (project.metrics or {}).get("training") or project.training or {}
    facts = []
    if training.get("git_commit"):
        facts.append(f"commit `{training['git_commit']}`")
    record = project.training or {}
    seed = record.get("seed", (record.get("params") or {}).get("seed"))
    if seed is not None:
        facts.append(f"seed {seed}")
    tail = "The results above came from " + ", ".join(facts) + "; " if facts else ""
    tail += "every setting lives in `params.yaml`, and each stage logs the values it used."
    return Section(text + "\n\n" + tail[0].upper() + tail[1:])


def _experiment_rows(project: Project) -> list[list[str]]:
    rows = []
    for name, result in project.experiments.items():
        info = result.get("model") or {}
        head = result.get("headline") or {}
        seconds = (result.get("training") or {}).get("seconds")
        rows.append(
            [
                f"`{name}`",
                f"`{info.get('name', '?')}`",
                "pretrained" if info.get("pretrained") else "from scratch",
                f"{metric_name(str(head.get('metric')))} {number(head.get('value'))}",
                duration(seconds) if isinstance(seconds, int | float) else "–",
            ]
        )
    return rows


def decisions(project: Project) -> Section:
    out = _Builder()
    best = headline(project)
    if best is None:
        out.wait("Nothing measured yet", project.report_command("metrics"))
        return out.section()
    key, value, base = best
    metrics = project.metrics or {}
    info = metrics.get("model") or {}
    baseline_name = (metrics.get("baseline") or {}).get("name", "baseline")
    rows = [
        [
            "model against the baseline",
            f"`{info.get('name', 'model')}`: {metric_name(key)} {number(value)}",
            f"{baseline_name}: {number(base) if base is not None else '–'}",
            "`reports/metrics.json`",
        ]
    ]
    pretrained_seen = {
        bool((r.get("model") or {}).get("pretrained")) for r in project.experiments.values()
    }
    if len(pretrained_seen) == 2:
        rows.append(
            [
                "pretrained against from scratch",
                "pretrained" if info.get("pretrained") else "from scratch",
                "both measured, see the variants below",
                "`reports/experiments/`",
            ]
        )
    out.add(table(["decision", "chosen", "alternative measured", "evidence"], rows))
    variants = _experiment_rows(project)
    if variants:
        out.add(
            "Variants measured (`reports/experiments/*.json`):\n\n"
            + table(["run", "model", "weights", "headline", "training time"], variants)
        )
    else:
        out.add(
            "_No variants measured yet: train one (e.g. change the model or `pretrained` in "
            f"`params.yaml`), run `{project.command('evaluate')}`, and copy "
            "`reports/metrics.json` to `reports/experiments/<name>.json`._"
        )
    weakest = _weakest_class(metrics)
    goal_text = str(project.answers.get("business_objective", "")).strip().rstrip(".")
    versus = f"{number(value)} against {number(base) if base is not None else '–'}"
    if base is not None and value <= base:
        first = (
            f"`{info.get('name', 'The model')}` does not beat the {baseline_name} baseline "
            f"yet ({versus} on {metric_name(key)}): what would you change first, and why?"
        )
    else:
        first = (
            f"Why `{info.get('name', 'this model')}` over the {baseline_name} baseline? It "
            f"scores {versus} on {metric_name(key)}: what does that gap mean for the goal, "
            f'"{goal_text}"?'
        )
    prompts = [first]
    if weakest:
        prompts.append(
            f"`{weakest[0]}` is the weakest class ({weakest[1]} {number(weakest[2])}): "
            "what do its worst errors in the examples figure have in common?"
        )
    prompts += [
        "What broke along the way, and how did you find out?",
        "Which alternative would you try next, and what would you measure to decide?",
        "What would you change with another week, and how would you know the model fails "
        "in production?",
    ]
    out.add("**Questions to prepare for an interview:**\n\n" + "\n".join(f"- {p}" for p in prompts))
    return out.section()


def _weakest_class(metrics: dict[str, Any]) -> tuple[str, str, float] | None:
    per_class = metrics.get("per_class") or {}
    for key in ("f1", "ap50", "recall"):
        scored = [
            (cls, float(v[key]))
            for cls, v in per_class.items()
            if isinstance(v, dict) and isinstance(v.get(key), int | float)
        ]
        if len(scored) > 1:
            cls, score = min(scored, key=lambda pair: pair[1])
            return cls, metric_name(key), score
    return None


def _names(paths: list[str]) -> str:
    shown = ", ".join(f"`{path}`" for path in paths[:FILES_LISTED])
    rest = len(paths) - FILES_LISTED
    return shown + (f" and {rest} more" if rest > 0 else "")


def contribution_rows(found: Contribution) -> list[list[str]]:
    """One row per kind of change that was measured and is not nothing."""
    rows = []
    if found.files_added:
        rows.append(["files added", f"{len(found.files_added)}: {_names(found.files_added)}"])
    if found.lines:
        per_file = [f"{path} (+{a} −{r})" for path, (a, r) in found.lines.items()]
        rows.append(
            [
                "code lines changed in " + ", ".join(f"`{f}/`" for f in CODE_FOLDERS),
                f"+{number(found.lines_added)} −{number(found.lines_removed)} in "
                f"{len(found.lines)} files: {_names(per_file)}",
            ]
        )
    if found.settings:
        changed = [f"{key}: {old!r} → {new!r}" for key, (old, new) in found.settings.items()]
        rows.append(["settings changed in `params.yaml`", _names(changed)])
    if found.experiments:
        rows.append(
            [
                "experiments recorded in `reports/experiments/`",
                f"{len(found.experiments)}: {_names(found.experiments)}",
            ]
        )
    if found.collected:
        total = sum(found.collected.values())
        by_source = ", ".join(
            f"{number(n)} {SOURCE_WORDS[source]}" for source, n in found.collected.items()
        )
        rows.append(["data collected (`data/manifest.csv`)", f"{number(total)}: {by_source}"])
    if found.labeled_by_people:
        people = ", ".join(f"{name} {number(n)}" for name, n in found.labeled_by_people.items())
        rows.append(
            [
                "labels made by people (Label Studio, `reports/labels.json`)",
                f"{number(sum(found.labeled_by_people.values()))} items: {people}",
            ]
        )
    return rows


def contribution(project: Project) -> Section:
    found = measure(project)
    compared = (
        f"Measured against a fresh render of the template ({found.template}) with this "
        "project's answers"
        if found.template
        else f"Files and code are not compared: {found.not_rendered}"
    )
    if found.untouched and found.template:
        return Section(
            f"**Nothing yet.** {compared}: no files added, no code or settings changed, no "
            "experiments recorded, no data collected and no labels made by people. This "
            "project is still the template."
        )
    rows = contribution_rows(found)
    parts = [compared + ":"]
    if rows:
        parts.append(table(["what", "measured"], rows))
    else:
        parts.append("No experiments, collected data or labels made by people recorded yet.")
    parts.append(
        "_Say in your own words, below this section, what you changed and why: the figures "
        "above are only what pocgen can measure._"
    )
    return Section("\n\n".join(parts))


SECTIONS: dict[str, Callable[[Project], Section]] = {
    "problem": problem,
    "data": data,
    "model": model,
    "results": results,
    "demo": demo,
    "reproduce": reproduce,
    "decisions": decisions,
    "contribution": contribution,
}
