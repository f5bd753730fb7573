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

from pocgen.project import Project
from pocgen.records import (
    IMPORTED_PREFIX,
    SAMPLE_SOURCE,
    SYNTH_SOURCE,
    GpuRun,
    LabelsReport,
    Metrics,
)
from pocgen.writeup.contribution import Contribution, measure
from pocgen.writeup.formatting import (
    duration,
    metric_name,
    missing,
    ms,
    number,
    table,
    upper_first,
)
from pocgen.writeup.phrases import (
    SOURCE_WORDS,
    UI_NAMES,
    demo_note,
    provenance_note,
    smoke_note,
    sources_phrase,
    task_words,
    withheld_note,
)

SPACES_BADGE = (
    "https://huggingface.co/datasets/huggingface/badges/resolve/main/open-in-hf-spaces-md.svg"
)
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


def problem(project: Project) -> Section:
    out = _Builder()
    answers = project.answers
    out.add(f"**Problem.** {answers.text('problem')}")
    out.add(f"**Business objective.** {answers.text('business_objective')}")
    line = f"**Success metric.** {upper_first(answers.text('success_metric'))}"
    goal = project.target
    if goal:
        line += (
            f" (`pocgen check` compares {metric_name(goal.metric)} on the test split with "
            f"{goal.value:g})"
        )
    out.add(line + ".")
    classes = ", ".join(f"`{name}`" for name in project.classes)
    out.add(
        f"**Task.** {upper_first(task_words(project))} with {len(project.classes)} classes: "
        f"{classes}."
    )
    if project.demo:
        out.add(demo_note())
    return out.section()


def _quality_rows(project: Project) -> list[list[str]]:
    quality = project.quality
    assert quality is not None
    rows = [
        ["items checked", number(quality.items)],
        ["unreadable or corrupt (skipped)", number(quality.corrupt)],
    ]
    if project.image_task:
        rows.append(["too small", number(quality.too_small)])
        rows.append(["exact-duplicate groups", number(quality.exact_duplicates)])
        rows.append(["near-duplicate groups", number(quality.near_duplicates)])
        if project.task == "object-detection":
            rows.append(["boxes outside the image or empty", number(quality.bad_boxes)])
    else:
        rows.append(["exact-duplicate groups", number(quality.exact_duplicates)])
        rows.append(["empty texts", number(quality.empty_texts)])
    return rows


def _agreement(labels: LabelsReport) -> str:
    """What `label pull` measured: rejected annotations, then agreement overall and per class."""
    lines = []
    if labels.rejected:
        rejected = number(labels.rejected)
        lines.append(f"{rejected} annotations rejected (labels outside the classes).")
    block = labels.agreement
    if not block.pairs:
        lines.append(
            "Agreement: no item has two annotations yet; have a second person label a "
            "few dozen items to measure it."
        )
        return "\n\n".join(lines)
    measured = ", ".join(f"{metric_name(k)} {number(v)}" for k, v in block.overall.items())
    lines.append(f"Agreement over {number(block.pairs)} doubly labeled items: {measured}.")
    keys = sorted({k for values in block.per_class.values() if values for k in values})
    if keys:
        rows = [
            [f"`{name}`"]
            + [number(values.get(k, "–")) if values is not None else "–" for k in keys]
            for name, values in block.per_class.items()
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
        out.add(
            f"**Data.** {number(total)} {project.item_word}: {sources_phrase(project, '`')}; "
            "each is recorded in `data/manifest.csv` with its source, time and licence note."
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
            f"**Splits** ({_split_claim(project)}):\n\n"
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
    elif project.withheld("quality"):
        out.add(withheld_note(project.withheld("quality") or ""))
    else:
        reasons = project.quality.blocking_reasons
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


def _split_claim(project: Project) -> str:
    """What the splits keep apart, claimed only as far as the records show it."""
    kept = "frames and copies of one source stay in one split"
    if project.source_counts().get(SYNTH_SOURCE):
        return (
            f"{kept}, but synthesized images reuse the same cut-outs across splits: the test "
            "images are new scenes of objects the model has seen, not new objects"
        )
    across = project.quality.duplicates_across_groups if project.quality else None
    if across:
        return (
            f"{kept}, but {number(across)} copy groups span two sources "
            "(`reports/data_quality.json`): not leak-free"
        )
    return f"leak-free: {kept}"


def _labels_paragraph(project: Project, out: _Builder) -> None:
    """Who labeled the data, from the annotator recorded on each label; nothing else."""
    people = project.label_studio_people()
    if people and project.labels is not None:
        named = ", ".join(f"{name} ({number(n)})" for name, n in people.items())
        out.add(
            f"**Labels.** {number(sum(people.values()))} items labeled in Label Studio by "
            f"{len(people)} annotator{'s' if len(people) != 1 else ''} (`"
            f"{project.command('label pull')}`): {named}."
        )
        out.add(_agreement(project.labels))
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


def _loss_line(history: tuple[dict[str, float | None], ...]) -> str:
    if not history:
        return ""
    key = next((k for k in history[0] if "loss" in k and "val" not in k), None)
    if key is None:
        return ""
    first, last = history[0].get(key), history[-1].get(key)
    if first is None or last is None:
        return ""
    start, end = history[0].get("epoch", 1), history[-1].get("epoch", len(history))
    if len(history) == 1:
        return f"Training loss (`{key}`) after epoch {end}: {number(float(last))}."
    return (
        f"Training loss (`{key}`) went from {number(float(first))} (epoch {start}) to "
        f"{number(float(last))} (epoch {end})."
    )


# How the writeup names each `pocgen gpu` engine.
GPU_ENGINES = {"hf": "Hugging Face Jobs", "kaggle": "Kaggle", "colab": "Colab"}


def gpu_run_text(gpu: GpuRun) -> str:
    """ "Hugging Face Jobs, `t4-small`; the job ran 6 min 2 s, $0.04 (reports/gpu.json)"."""
    where = GPU_ENGINES.get(gpu.engine, gpu.engine)
    if gpu.flavor:
        where += f", `{gpu.flavor}`"
    job = []
    if gpu.job_seconds is not None:
        job.append(f"the job ran {duration(gpu.job_seconds)}")
    if gpu.cost_usd is not None:
        cost = gpu.cost_usd
        job.append("no charge" if cost == 0 else f"${cost:.2f}" if cost >= 0.01 else "under $0.01")
    return where + (f"; {', '.join(job)}" if job else "") + " (`reports/gpu.json`)"


def model(project: Project) -> Section:
    out = _Builder()
    info, record, run = project.model_info, project.training, project.run
    if info is None and record is None:
        out.wait("Not trained yet", project.command("train"))
        return out.section()
    withheld = project.withheld("training") if not project.smoke else None
    if withheld:
        out.add(withheld_note(withheld))
        return out.section()
    rows: list[list[str]] = []
    if info and info.name:
        rows.append(["architecture", f"`{info.name}`"])
    if info and info.pretrained is not None:
        weights = "pretrained, fine-tuned here" if info.pretrained else "trained from scratch"
        rows.append(["weights", weights])
    if info and info.parameters is not None:
        rows.append(["parameters", number(info.parameters)])
    if run.seconds is not None:
        epochs = run.epochs
        suffix = f", {epochs} epoch{'s' if epochs != 1 else ''}" if epochs is not None else ""
        rows.append(["training time", duration(run.seconds) + suffix])
    if run.hardware or run.device:
        rows.append(["hardware", " / ".join(part for part in (run.hardware, run.device) if part)])
    gpu = project.gpu_run
    if gpu:
        rows.append(["trained on", gpu_run_text(gpu)])
    if run.git_commit:
        rows.append(["git commit", f"`{run.git_commit}`"])
    if record and record.selected_by:
        rows.append(["model kept", f"the best `{record.selected_by}` on the validation split"])
    out.add(table(["", ""], rows))
    if record is None:
        out.wait("Training log not found", project.command("train"))
        return out.section()
    if record.params:
        out.add(
            "Settings (`params.yaml`, logged in `reports/training.json`): "
            + ", ".join(_flat_params(record.params))
            + "."
        )
    loss = _loss_line(record.history)
    if loss:
        out.add(loss)
    if record.smoke:
        out.add(smoke_note(project))
    return out.section()


def _figure_lines(project: Project) -> list[str]:
    present = set(project.figures())
    named = project.metrics.figures if project.metrics else {}
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


def _results_rows(project: Project) -> list[list[str]]:
    """One row per metric: the model's value, the baseline's, and the target where it is one."""
    metrics = project.metrics
    assert metrics is not None
    best, goal = metrics.headline, project.target
    rows = []
    for key, value in metrics.values.items():
        base = metrics.baseline.values.get(key)
        aim = ""
        if goal and key == goal.metric and value is not None:
            aim = f"≥ {goal.value:g}: " + ("**met**" if value >= goal.value else "**not met**")
        label = metric_name(key) + (" (headline)" if key == best.metric else "")
        shown = f"**{number(value)}**" if value is not None else "–"
        rows.append([label, shown, number(base) if base is not None else "–", aim])
    return rows


def results(project: Project) -> Section:
    out = _Builder()
    metrics = project.metrics
    if metrics is None:
        out.wait("No results yet", project.report_command("metrics"))
        return out.section()
    if project.smoke:
        out.add(smoke_note(project))
    elif project.results_withheld:
        out.add(withheld_note(project.results_withheld))
        return out.section()
    note = provenance_note(project)
    if note:
        out.add(note)
    test_items = metrics.splits.get("test", metrics.test_size)
    test_size = f" ({number(test_items)} items)" if test_items is not None else ""
    header = ["metric", "model", f"baseline: {metrics.baseline.name}", "success target"]
    out.add(
        f"On the held-out test split{test_size}, from `reports/metrics.json`:\n\n"
        + table(header, _results_rows(project))
    )
    best = metrics.headline
    if best.ci95:
        low, high = best.ci95
        out.add(
            f"95% bootstrap interval of the {metric_name(best.metric)}: "
            f"{number(low)} to {number(high)} (`reports/metrics.json`)."
        )
    if metrics.warnings:
        out.add("\n\n".join(f"> **Caution.** {upper_first(w)}" for w in metrics.warnings))
    per_class = metrics.per_class
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
    latency = metrics.latency
    if latency is not None:
        runtime = latency.runtime or "the exported model"
        where = f" on {metrics.run.hardware}" if metrics.run.hardware else ""
        p95 = f", p95 {ms(latency.p95)}" if latency.p95 is not None else ""
        out.add(f"Latency: {ms(latency.mean)} per item on average{p95}, with {runtime}{where}.")
    figures = _figure_lines(project)
    if figures:
        out.add("\n\n".join(figures))
    else:
        out.wait("No figures yet", project.report_command("metrics"))
    return out.section()


def demo(project: Project) -> Section:
    out = _Builder()
    deploy = project.deploy
    if deploy is not None:
        out.add(f"[![Open in Spaces]({SPACES_BADGE})]({deploy.url})")
        which = UI_NAMES.get(deploy.ui, deploy.ui)
        out.add(
            f"**Live demo:** {deploy.url} (the {which} demo, sdk {deploy.sdk}, deployed at "
            f"{deploy.deployed_at})"
        )
    elif project.answers.get("deploy") == "none":
        out.add("Not deployed (`deploy: none`); run it locally with `make demo`.")
    else:
        out.wait("Not online yet", "pocgen deploy")
    screenshots = project.app_screenshots()
    for path in screenshots:
        ui = path.split("/")[-1][4:-4].capitalize()
        out.add(f"![The {ui} demo making a prediction]({path})")
    # A screenshot is a bonus, not a gap: the section is complete without one.
    hint = (
        ""
        if screenshots
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
    return Section(text + "\n\n" + _bound_to(project))


def _bound_to(project: Project) -> str:
    """What the results are bound to, as far as reports/pipeline.lock shows it."""
    record = "every setting lives in `params.yaml`, and each stage records the files it read and "
    record += "wrote and the settings it used in `reports/pipeline.lock`."
    if project.metrics is None or project.smoke:
        return upper_first(record)
    if project.results_withheld:
        return f"The results are not reproducible as they stand: {project.results_withheld}."
    facts = ["the committed model, split and settings"]
    if project.seed is not None:
        facts.append(f"seed {project.seed}")
    if project.run.git_commit:
        facts.append(f"code at commit `{project.run.git_commit}`")
    drift = project.evidence.drift("reports/metrics.json")
    since = (
        f" ({'; '.join(drift)}: rerun the pipeline to reproduce them from here)" if drift else ""
    )
    return (
        f"The results above are consistent with {', '.join(facts[:-1])} and {facts[-1]}"
        f"{since}; {record}"
        if len(facts) > 1
        else f"The results above are consistent with {facts[0]}{since}; {record}"
    )


def _experiment_rows(experiments: dict[str, Metrics]) -> list[list[str]]:
    rows = []
    for name, result in experiments.items():
        info = result.model
        seconds = result.run.seconds
        rows.append(
            [
                f"`{name}`",
                f"`{(info.name if info else None) or '?'}`",
                "pretrained" if info and info.pretrained else "from scratch",
                f"{metric_name(result.headline.metric)} {number(result.headline.value)}",
                duration(seconds) if seconds is not None else "–",
            ]
        )
    return rows


def decisions(project: Project) -> Section:
    out = _Builder()
    best, metrics = project.headline, project.metrics
    if metrics is not None and (project.smoke or project.results_withheld):
        out.add(smoke_note(project) if project.smoke else withheld_note(project.results_withheld))
        return out.section()
    if best is None or metrics is None or best.value is None:
        out.wait("Nothing measured yet", project.report_command("metrics"))
        return out.section()
    key, value, base = best.metric, best.value, project.baseline_value
    model_name = metrics.model.name if metrics.model else None
    baseline_name = metrics.baseline.name
    rows = [
        [
            "model against the baseline",
            f"`{model_name or 'model'}`: {metric_name(key)} {number(value)}",
            f"{baseline_name}: {number(base) if base is not None else '–'}",
            "`reports/metrics.json`",
        ]
    ]
    counted, not_counted = project.distinct_experiments()
    pretrained_seen = {bool(r.model and r.model.pretrained) for r in counted.values()}
    if len(pretrained_seen) == 2:
        pretrained = bool(metrics.model and metrics.model.pretrained)
        rows.append(
            [
                "pretrained against from scratch",
                "pretrained" if pretrained else "from scratch",
                "both measured, see the variants below",
                "`reports/experiments/`",
            ]
        )
    out.add(table(["decision", "chosen", "alternative measured", "evidence"], rows))
    variants = _experiment_rows(counted)
    if variants:
        out.add(
            "Variants measured (`reports/experiments/*.json`):\n\n"
            + table(["run", "model", "weights", "headline", "training time"], variants)
        )
        if not_counted:
            out.add("Not counted: " + "; ".join(f"`{n}` ({why})" for n, why in not_counted.items()))
    else:
        out.add(
            "_No variants measured yet: train one (e.g. change the model or `pretrained` in "
            f"`params.yaml`), run `{project.command('evaluate')}`, and copy "
            "`reports/metrics.json` to `reports/experiments/<name>.json`._"
        )
    out.add("**Questions to prepare for an interview:**\n\n" + _interview_questions(project))
    return out.section()


def _interview_questions(project: Project) -> str:
    """Questions about this project's own numbers, then the ones every project gets asked."""
    best, metrics = project.headline, project.metrics
    assert best is not None and best.value is not None and metrics is not None
    base = project.baseline_value
    model_name = metrics.model.name if metrics.model else None
    baseline_name = metrics.baseline.name
    goal_text = project.answers.text("business_objective").rstrip(".")
    versus = f"{number(best.value)} against {number(base) if base is not None else '–'}"
    if base is not None and best.value <= base:
        first = (
            f"`{model_name or 'The model'}` does not beat the {baseline_name} baseline "
            f"yet ({versus} on {metric_name(best.metric)}): what would you change first, and why?"
        )
    else:
        first = (
            f"Why `{model_name or 'this model'}` over the {baseline_name} baseline? It "
            f"scores {versus} on {metric_name(best.metric)}: what does that gap mean for the "
            f'goal, "{goal_text}"?'
        )
    prompts = [first]
    weakest = metrics.weakest_class()
    if weakest:
        name, measure, score = weakest
        prompts.append(
            f"`{name}` is the weakest class ({metric_name(measure)} {number(score)}): "
            "what do its worst errors in the examples figure have in common?"
        )
    prompts += [
        "What broke along the way, and how did you find out?",
        "Which alternative would you try next, and what would you measure to decide?",
        "What would you change with another week, and how would you know the model fails "
        "in production?",
    ]
    return "\n".join(f"- {p}" for p in prompts)


def _names(paths: list[str], quoted: bool = True) -> str:
    shown = ", ".join(f"`{path}`" if quoted else path for path in paths[:FILES_LISTED])
    rest = len(paths) - FILES_LISTED
    return shown + (f" and {rest} more" if rest > 0 else "")


def contribution_rows(found: Contribution) -> list[list[str]]:
    """One row per kind of change that was measured and is not nothing, then what changed but
    earns nothing (empty files, copies, renames, spacing, settings never run, duplicates)."""
    rows = []
    if found.files_added:
        rows.append(["files added", f"{len(found.files_added)}: {_names(found.files_added)}"])
    if found.lines:
        per_file = [f"{path} (+{a} −{r})" for path, (a, r) in found.lines.items()]
        rows.append(
            [
                "code lines changed (spacing and blank lines not counted)",
                f"+{number(found.lines_added)} −{number(found.lines_removed)} in "
                f"{len(found.lines)} files: {_names(per_file)}",
            ]
        )
    if found.settings:
        changed = [f"{key}: {old!r} → {new!r}" for key, (old, new) in found.settings.items()]
        rows.append(
            ["settings changed in `params.yaml` and used by a recorded run", _names(changed)]
        )
    if found.experiments:
        rows.append(
            [
                "experiments recorded in `reports/experiments/`, each with its own settings",
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
    ignored = [
        *(f"`{path}` ({why})" for path, why in found.not_credited.items()),
        *(f"`{key}` ({why})" for key, why in found.settings_not_credited.items()),
        *(f"experiment `{name}` ({why})" for name, why in found.experiments_not_credited.items()),
    ]
    if ignored:
        rows.append(["changed, not counted", _names(ignored, quoted=False)])
    return rows


def contribution(project: Project) -> Section:
    found = measure(project)
    compared = (
        f"Measured against a fresh render of the template ({found.template}) with this "
        "project's answers"
        if found.template
        else f"Files and code are not compared: {found.not_rendered}"
    )
    rows = contribution_rows(found)
    if found.untouched and found.template:
        nothing = (
            f"**Nothing yet.** {compared}: no files added, no code or settings changed, no "
            "experiments recorded, no data collected and no labels made by people. This "
            "project is still the template."
        )
        # Only what earns nothing can be listed here: say so, so the author knows why.
        return Section(nothing + ("\n\n" + table(["what", "measured"], rows) if rows else ""))
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
