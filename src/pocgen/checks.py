"""The built-in checks of `pocgen check`: one function per step on the path to a convincing project.

Each check reads the project's artifacts (or runs a part of it, through `probes`) and returns a
`Verdict`: pass, fail or warn, plus one line of evidence a person or an autograder can verify. A
rubric item names a check and may pass a `threshold`; each check documents what its threshold means
and the default it uses without one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from pocgen import probes
from pocgen.artifacts import SAMPLE_SOURCE, Project
from pocgen.formatting import count, metric_name, number
from pocgen.sections import agreement_of, blocking_reasons, headline, target
from pocgen.topics import worn_topic
from pocgen.writeup import Plan, empty_user_sections, plan_writeup

Status = Literal["pass", "fail", "warn"]
AGREEMENT_KEYS = ("kappa", "cohen_kappa", "f1_50", "f1", "mean_iou", "iou")
DEPLOY_COMMAND = "pocgen deploy"  # what the Demo section waits for until the Space is online


@dataclass(frozen=True)
class Verdict:
    status: Status
    evidence: str


class Context:
    """What every check may look at; the writeup plan is built once, on first use."""

    def __init__(self, project: Project, locked: dict[str, Any] | None = None) -> None:
        self.project = project
        self.root = project.root
        self.locked = locked or {}

    @cached_property
    def plan(self) -> Plan:
        return plan_writeup(self.root)

    def run(self, stage: str) -> str:
        return self.project.command(stage)


def data_collected(ctx: Context, threshold: float | None) -> Verdict:
    """At least `threshold` items per class (default 50), and not only the generated sample."""
    minimum = int(threshold if threshold is not None else 50)
    project = ctx.project
    sources = project.source_counts()
    if not sources:
        return Verdict("fail", f"no data/manifest.csv: run `{ctx.run('collect')}`")
    total = sum(sources.values())
    if project.sample_only:
        return Verdict(
            "fail",
            f"all {number(total)} items are generated sample data; collect "
            f"your own with `{ctx.run('collect')}`",
        )
    per_class = _per_class_counts(project)
    short = {name: n for name, n in per_class.items() if n < minimum}
    counts = ", ".join(f"{name} {number(n)}" for name, n in per_class.items())
    if not per_class or short:
        missing = ", ".join(f"{name} {number(n)}" for name, n in short.items()) or "no labels"
        return Verdict("fail", f"fewer than {minimum} per class: {missing}")
    sample = sources.get(SAMPLE_SOURCE, 0)
    if sample:
        return Verdict("warn", f"{counts} (min {minimum}); {number(sample)} sample items mixed in")
    return Verdict("pass", f"{counts} (min {minimum}), {number(total)} own items")


def _per_class_counts(project: Project) -> dict[str, int]:
    """Items per class: the quality report's count, else the labels file, else the splits."""
    quality_counts = (project.quality or {}).get("per_class")
    if isinstance(quality_counts, dict) and quality_counts:
        return {str(k): count(v) for k, v in quality_counts.items()}
    if project.label_rows:
        return dict(Counter(row.get("label", "") for row in project.label_rows))
    return {name: sum(splits.values()) for name, splits in project.per_class_split_counts().items()}


def data_quality(ctx: Context, threshold: float | None) -> Verdict:
    """No blocking problem in the quality report; findings that are not blocking warn."""
    quality = ctx.project.quality
    if quality is None:
        return Verdict("fail", f"no reports/data_quality.json: run `{ctx.run('validate')}`")
    reasons = blocking_reasons(quality)
    if reasons:
        return Verdict("fail", "blocking problems: " + "; ".join(reasons))
    duplicates = quality.get("duplicates") or {}
    copies = count(duplicates.get("exact")) + count(duplicates.get("near"))
    # The poc template records how many copy groups span more than one source group. Copies
    # inside one group (frames of one video, scenes drawn on one table) are expected, and
    # `split` keeps each group in one split, so they cannot leak into the test score.
    copies_within_groups = quality.get("duplicates_across_groups") == 0 and copies > 0
    found = {
        "corrupt": count(quality.get("corrupt")),
        "too small": count(quality.get("too_small")),
        "exact duplicates": 0 if copies_within_groups else count(duplicates.get("exact")),
        "near duplicates": 0 if copies_within_groups else count(duplicates.get("near")),
        "bad boxes": count(quality.get("bad_boxes")),
        "empty texts": count(quality.get("empty_texts")),
    }
    findings = ", ".join(f"{number(n)} {name}" for name, n in found.items() if n)
    items = number(count(quality.get("items")))
    if findings:
        return Verdict("warn", f"{items} items checked, nothing blocking; found {findings}")
    note = (
        f"; {number(copies)} duplicate groups, each inside one source group (kept in one split)"
        if copies_within_groups
        else ""
    )
    return Verdict("pass", f"{items} items checked, no problems found{note}")


def _agreement_values(labels: dict) -> dict[str, float]:
    """class -> agreement, taking the first agreement measure the labels report carries."""
    values: dict[str, float] = {}
    for name, entry in (agreement_of(labels).get("per_class") or {}).items():
        if isinstance(entry, dict):
            key = next((k for k in AGREEMENT_KEYS if isinstance(entry.get(k), int | float)), None)
            if key is not None:
                values[str(name)] = float(entry[key])
    return values


def labels(ctx: Context, threshold: float | None) -> Verdict:
    """Labels pulled and agreement known; agreement below `threshold` (default 0.6) warns."""
    minimum = threshold if threshold is not None else 0.6
    project = ctx.project
    if project.labels is None:
        if project.synth_only:
            items = number(sum(project.source_counts().values()))
            # `collect synth` measures each box from the pixels it pasted: exact by construction,
            # with no person whose labels could disagree. Mixed with photos, those need labels.
            return Verdict(
                "pass",
                f"all {items} items made and labeled by the "
                "cut-and-paste synthesizer (boxes measured from pasted pixels); no human labels",
            )
        if project.answers.get("labeling") != "label-studio":
            return Verdict(
                "warn",
                "labels arrived with the data (`labeling: none`); agreement "
                "between annotators is unknown",
            )
        return Verdict("fail", f"no reports/labels.json: label, then run `{ctx.run('label pull')}`")
    agreement = _agreement_values(project.labels)
    if not agreement:
        return Verdict("warn", "labels pulled, but no item has two annotations: agreement unknown")
    low = {name: value for name, value in agreement.items() if value < minimum}
    listed = ", ".join(f"{name} {number(v)}" for name, v in agreement.items())
    if low:
        return Verdict(
            "warn",
            f"agreement below {minimum:g}: "
            + ", ".join(f"{n} {number(v)}" for n, v in low.items()),
        )
    return Verdict("pass", f"agreement per class: {listed}")


def model_beats_baseline(ctx: Context, threshold: float | None) -> Verdict:
    """The headline metric beats the baseline's by more than `threshold` (default 0)."""
    margin = threshold if threshold is not None else 0.0
    best = headline(ctx.project)
    if best is None:
        return Verdict(
            "fail",
            f"no reports/metrics.json: run `{ctx.run('train')}` then `{ctx.run('evaluate')}`",
        )
    key, value, base = best
    if base is None:
        return Verdict(
            "fail",
            f"metrics.json has no baseline {metric_name(key)}: rerun `{ctx.run('evaluate')}`",
        )
    onnx = (ctx.root / "models" / "model.onnx").exists()
    evidence = f"{metric_name(key)} {number(value)} vs baseline {number(base)}"
    if value - base <= margin:
        return Verdict("fail", f"{evidence}: not better by more than {margin:g}")
    if not onnx:
        return Verdict("warn", f"{evidence}; no models/model.onnx: run `{ctx.run('export')}`")
    if (ctx.project.metrics or {}).get("smoke") or (ctx.project.training or {}).get("smoke"):
        return Verdict("warn", f"{evidence}, from a --smoke run: run `{ctx.run('train')}`")
    return Verdict("pass", evidence)


def success_metric(ctx: Context, threshold: float | None) -> Verdict:
    """The target metric reaches the answers' `target_value` (or `threshold` when given)."""
    goal = target(ctx.project)
    if goal is None:
        return Verdict("fail", "no target_metric/target_value in .copier-answers.yml")
    key, value = goal
    value = threshold if threshold is not None else value
    metrics = ctx.project.metrics
    if metrics is None:
        return Verdict("fail", f"no reports/metrics.json: run `{ctx.run('evaluate')}`")
    measured = (metrics.get("metrics") or {}).get(key)
    if not isinstance(measured, int | float):
        return Verdict("fail", f"metrics.json has no {key}: rerun `{ctx.run('evaluate')}`")
    on = " (on sample data)" if metrics.get("sample_data") else ""
    evidence = f"{metric_name(key)} {number(float(measured))}, target {value:g}{on}"
    return Verdict("pass" if measured >= value else "fail", evidence)


def notebooks_execute(ctx: Context, threshold: float | None) -> Verdict:
    """Every notebook under notebooks/ runs top to bottom in the project's kernel (nbclient)."""
    notebooks = sorted((ctx.root / "notebooks").glob("*.ipynb"))
    if not notebooks:
        if ctx.project.answers.get("notebooks") is False:
            return Verdict("warn", "the project has no notebooks (`notebooks: false`)")
        return Verdict("fail", "no notebooks/*.ipynb found")
    outcome = probes.run_notebooks(ctx.root, notebooks)
    if outcome.ok:
        return Verdict("pass", f"{len(notebooks)} notebooks ran in {outcome.seconds:.0f} s")
    return Verdict("fail", f"a notebook failed: {outcome.evidence}")


def app_starts(ctx: Context, threshold: float | None) -> Verdict:
    """Each demo app of the project serves HTTP on 127.0.0.1 with the exported model."""
    if not (ctx.root / "models" / "model.onnx").exists():
        return Verdict("fail", f"no models/model.onnx for the app: run `{ctx.run('export')}`")
    ui = str(ctx.project.answers.get("ui", "gradio"))
    uis = ["gradio", "streamlit"] if ui == "both" else [ui]
    evidence = []
    for name in uis:
        script = ctx.root / "app" / f"{name}_app.py"
        if not script.exists():
            return Verdict("fail", f"app/{name}_app.py not found")
        outcome = probes.start_app(ctx.root, name)
        if not outcome.ok:
            return Verdict("fail", outcome.evidence)
        evidence.append(outcome.evidence)
    return Verdict("pass", "; ".join(evidence))


def deployed(ctx: Context, threshold: float | None) -> Verdict:
    """A Space URL is recorded in reports/deploy.json by `pocgen deploy`."""
    url = (ctx.project.deploy or {}).get("url")
    if url:
        return Verdict("pass", f"live at {url}")
    if ctx.project.answers.get("deploy") == "none":
        return Verdict("warn", "`deploy: none` in the answers: the demo is not online")
    return Verdict("fail", "no Space URL in reports/deploy.json: run `pocgen deploy`")


def writeup_fresh(ctx: Context, threshold: float | None) -> Verdict:
    """README sections match the artifacts; none is empty, Limitations and Next steps included."""
    plan = ctx.plan
    if plan.edited:
        return Verdict("fail", "edited inside the markers: " + ", ".join(plan.edited))
    if plan.stale:
        return Verdict(
            "fail", "stale sections: " + ", ".join(plan.stale) + "; run `pocgen writeup`"
        )
    # A section that waits only for the deploy says so truthfully; `deployed` grades the deploy,
    # so counting it here too would fail one missing step twice.
    waiting = {name: cmds for name, cmds in plan.waiting.items() if set(cmds) != {DEPLOY_COMMAND}}
    empty = [f"{name} (needs `{cmds[0]}`)" for name, cmds in waiting.items()]
    empty += [f"{title} (yours to write)" for title in empty_user_sections(plan.readme_before)]
    if empty:
        return Verdict("fail", "empty sections: " + ", ".join(empty))
    deploy_only = [name for name in plan.waiting if name not in waiting]
    note = f"; {', '.join(deploy_only)} awaits `{DEPLOY_COMMAND}` (graded by `deployed`)"
    return Verdict(
        "pass", f"{len(plan.sections)} sections fresh, none empty" + (note if deploy_only else "")
    )


def resume_bullets(ctx: Context, threshold: float | None) -> Verdict:
    """reports/resume.md holds at least `threshold` bullets (default 2)."""
    minimum = int(threshold if threshold is not None else 2)
    path = ctx.root / "reports" / "resume.md"
    if not path.exists():
        return Verdict("fail", "no reports/resume.md: run `pocgen writeup`")
    bullets = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith(("- ", "* "))
    ]
    if len(bullets) < minimum:
        return Verdict("fail", f"{len(bullets)} bullets in reports/resume.md (min {minimum})")
    return Verdict("pass", f"{len(bullets)} bullets: {bullets[0][2:72]}…")


def tests_pass(ctx: Context, threshold: float | None) -> Verdict:
    """The project's own test suite passes (`python -m pytest` in the project's interpreter)."""
    if not (ctx.root / "tests").is_dir():
        return Verdict("fail", "no tests/ folder")
    outcome = probes.run_tests(ctx.root)
    return Verdict("pass" if outcome.ok else "fail", outcome.evidence)


def fresh_topic(ctx: Context, threshold: float | None) -> Verdict:
    """The project is not a well-worn tutorial topic (Titanic, MNIST, iris, ...)."""
    answers = ctx.project.answers
    texts = [
        str(answers.get(k, ""))
        for k in ("project_name", "problem", "business_objective", "classes")
    ]
    topic = worn_topic(*texts)
    if topic:
        return Verdict("fail", f"looks like {topic}, a well-worn tutorial topic")
    return Verdict("pass", f"not a well-worn tutorial topic: {ctx.project.name}")


def problem_described(ctx: Context, threshold: float | None) -> Verdict:
    """Problem, business objective and a measurable success target are all stated."""
    answers = ctx.project.answers
    missing = [
        k
        for k in ("problem", "business_objective", "success_metric")
        if not str(answers.get(k, "")).strip()
    ]
    if missing:
        return Verdict("fail", "not stated: " + ", ".join(missing))
    goal = target(ctx.project)
    if goal is None:
        return Verdict("warn", "no measurable target (target_metric/target_value)")
    return Verdict(
        "pass",
        f"{str(answers['problem']).strip()[:60]}… target {metric_name(goal[0])} ≥ {goal[1]:g}",
    )


def eda(ctx: Context, threshold: float | None) -> Verdict:
    """The data was explored: a quality report and an exploration notebook."""
    has_report = ctx.project.quality is not None
    notebooks = [p.name for p in (ctx.root / "notebooks").glob("*explore*.ipynb")]
    if has_report and notebooks:
        return Verdict("pass", f"reports/data_quality.json and notebooks/{notebooks[0]}")
    if has_report or notebooks:
        have = "reports/data_quality.json" if has_report else f"notebooks/{notebooks[0]}"
        return Verdict("warn", f"only {have}")
    return Verdict(
        "fail", f"no quality report or exploration notebook: run `{ctx.run('validate')}`"
    )


def reproducible(ctx: Context, threshold: float | None) -> Verdict:
    """Settings, commands, splits and the commit behind the results are all in the repository."""
    needed = [
        "params.yaml",
        "Makefile",
        "pyproject.toml",
        "data/splits/train.csv",
        "reports/training.json",
    ]
    absent = [name for name in needed if not (ctx.root / name).exists()]
    if absent:
        return Verdict("fail", "missing: " + ", ".join(absent))
    training = (ctx.project.metrics or {}).get("training") or ctx.project.training or {}
    if not training.get("git_commit"):
        return Verdict("warn", "results not tied to a git commit (commit before training)")
    return Verdict(
        "pass", f"params.yaml, Makefile, splits; results from commit {training['git_commit']}"
    )


def course_answers(ctx: Context, threshold: float | None) -> Verdict:
    """The answers a course pack locked still hold the course's values in the project."""
    if not ctx.locked:
        return Verdict("pass", "no answers locked")
    changed = [
        f"{key}={ctx.project.answers.get(key)!r} (course: {value!r})"
        for key, value in ctx.locked.items()
        if ctx.project.answers.get(key) != value
    ]
    if changed:
        return Verdict("fail", "locked answers changed: " + ", ".join(changed))
    return Verdict("pass", "locked answers unchanged: " + ", ".join(ctx.locked))


CHECKS: dict[str, Callable[[Context, float | None], Verdict]] = {
    check.__name__: check
    for check in (
        data_collected,
        data_quality,
        labels,
        model_beats_baseline,
        success_metric,
        notebooks_execute,
        app_starts,
        deployed,
        writeup_fresh,
        resume_bullets,
        tests_pass,
        fresh_topic,
        problem_described,
        eda,
        reproducible,
        course_answers,
    )
}
