"""The built-in checks of `pocgen check`: one function per step on the path to a convincing project.

Each check reads the project's artifacts (or runs a part of it, through `probes`) and returns a
`Verdict`: pass, fail or warn, plus one line of evidence a person or an autograder can verify. A
rubric item names a check and may pass a `threshold`; each check documents what its threshold means
and the default it uses without one.

The checks grade the work, not the files: what the built-in sample, the synthesizer or the
template produced is never credited as the user's. Items about the problem, the data, the labels
and the results fail on a demo project (`demo: true`) and on results of the built-in sample only,
and say why.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Literal

from pocgen.check import probes
from pocgen.contract import success_sentence_gap
from pocgen.errors import PocgenError
from pocgen.project import Project, project_python
from pocgen.records import SAMPLE_SOURCE, SYNTH_SOURCE, Target
from pocgen.topics import worn_topic
from pocgen.writeup.contribution import Contribution, measure
from pocgen.writeup.formatting import metric_name, number
from pocgen.writeup.markers import TODO_MARK
from pocgen.writeup.run import Plan, empty_user_sections, plan_writeup

Status = Literal["pass", "fail", "warn"]
DEPLOY_COMMAND = "pocgen deploy"  # what the Demo section waits for until the Space is online


@dataclass(frozen=True)
class Verdict:
    """A check's status, the evidence in English, and a stable reason code beside it.

    The code (`too-few-per-class`, `not-own-work`) names which branch of the check decided, so an
    autograder can count reasons across a class without parsing English; the evidence holds no
    value that changes from run to run (ports, seconds, temporary folders).
    """

    status: Status
    evidence: str
    reason: str
    output: str | None = None  # the end of a failing command's output, when one ran


class Context:
    """What every check may look at; the writeup plan is built once, on first use, and each
    check at each threshold runs once however many rubrics are graded with this context.

    `locked` holds the answers a course locked; `measure_contribution` measures the user's own
    work (a course with exercises measures it against the project as handed out, stubs included:
    see `Grading.context`); `run_code` is False under `--static`, so `reproducible` binds the
    figures by their records without running evaluate again.
    """

    def __init__(
        self,
        project: Project,
        locked: dict[str, Any] | None = None,
        measure_contribution: Callable[[Project], Contribution] = measure,
        run_code: bool = True,
    ) -> None:
        self.project = project
        self.root = project.root
        self.locked = locked or {}
        self._measure_contribution = measure_contribution
        self.run_code = run_code  # False under --static: no check runs the project's code
        self._verdicts: dict[tuple[str, float | None], Verdict] = {}

    def verdict(self, check: str, threshold: float | None) -> Verdict:
        """The built-in `check`'s verdict at `threshold`, computed on first use."""
        key = (check, threshold)
        if key not in self._verdicts:
            self._verdicts[key] = CHECKS[check](self, threshold)
        return self._verdicts[key]

    @cached_property
    def plan(self) -> Plan:
        return plan_writeup(self.root)

    @cached_property
    def contribution(self) -> Contribution:
        return self._measure_contribution(self.project)

    @cached_property
    def not_own_work(self) -> str | None:
        """Why the data and results are not the user's: a demo, or the built-in sample only."""
        borrowed = self.project.borrowed_work
        if borrowed == "demo":
            return (
                "a demo project (`demo: true` in .copier-answers.yml): the problem and data are "
                "the template's example"
            )
        if borrowed == "sample":
            return (
                "the data are only the built-in sample, not collected: bring your own with "
                f"`{self.run('collect')}` and rerun the pipeline"
            )
        return None

    @cached_property
    def copied_from(self) -> str | None:
        """Why the project's own work is a copy of the shipped flagship, or None: most of what
        is written on top of the template is the flagship's (cohort.py's winnowed fingerprints;
        the flagship itself, graded where it ships, is not a copy of itself)."""
        from pocgen.check import cohort

        flagship = cohort.flagship_root()
        if flagship is None or flagship.resolve() == self.root.resolve():
            return None
        mine = cohort.fingerprint(self.root)
        if mine.not_compared or len(mine.hashes) < cohort.MIN_FINGERPRINTS:
            return None
        theirs = cohort.fingerprint(flagship)
        share = len(mine.hashes & theirs.hashes) / len(mine.hashes)
        if share < cohort.SIMILAR:
            return None
        return (
            f"a copy of the shipped flagship (examples/surgical-tool-detector): {share:.0%} of "
            "what is written on top of the template is the flagship's"
        )

    def run(self, stage: str) -> str:
        return self.project.command(stage)


# Questions of the built-in template whose defaults are example problems, not the user's.
EXAMPLE_QUESTIONS = ("problem",)
# Above this share of the example's words kept (or difflib ratio), a problem is the example
# reworded: the flagship's problem keeps 97% of the object-detection example.
SAME_PROBLEM = 0.8


@cache
def _template_examples() -> tuple[str, ...]:
    """The example problems the built-in template offers (its defaults, for every task)."""
    import jinja2
    import yaml

    from pocgen.templating import registry

    examples = []
    for entry in registry.builtin_templates():
        config = yaml.safe_load((Path(entry.source) / "copier.yml").read_text(encoding="utf-8"))
        tasks = (config.get("task") or {}).get("choices") or {}
        for question in EXAMPLE_QUESTIONS:
            default = (config.get(question) or {}).get("default")
            if not isinstance(default, str):
                continue
            for task in tasks.values() if isinstance(tasks, dict) else tasks:
                for demo in (True, False):  # a default may be offered to demo projects only
                    text = jinja2.Environment().from_string(default).render(task=task, demo=demo)
                    if text.strip() and text.strip() not in examples:
                        examples.append(text.strip())
    return tuple(examples)


def _normal(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def template_example(problem: str) -> str | None:
    """The template's example problem this one repeats (closely), or None."""
    mine = _normal(problem)
    for example in _template_examples():
        theirs = _normal(example)
        matcher = difflib.SequenceMatcher(None, theirs, mine, autojunk=False)
        kept = sum(block.size for block in matcher.get_matching_blocks()) / max(len(theirs), 1)
        if mine and max(kept, matcher.ratio()) >= SAME_PROBLEM:
            return f'"{example[:60]}…"'
    return None


def data_collected(ctx: Context, threshold: float | None) -> Verdict:
    """At least `threshold` items per class (default 50), and not only the generated sample."""
    minimum = int(threshold if threshold is not None else 50)
    project = ctx.project
    sources = project.source_counts()
    if not sources:
        return Verdict("fail", f"no data/manifest.csv: run `{ctx.run('collect')}`", "no-manifest")
    total = sum(sources.values())
    if ctx.not_own_work:
        return Verdict("fail", f"{number(total)} items, but {ctx.not_own_work}", "not-own-work")
    per_class = project.per_class_counts()
    short = {name: n for name, n in per_class.items() if n < minimum}
    counts = ", ".join(f"{name} {number(n)}" for name, n in per_class.items())
    if not per_class or short:
        missing = ", ".join(f"{name} {number(n)}" for name, n in short.items()) or "no labels"
        return Verdict("fail", f"fewer than {minimum} per class: {missing}", "too-few-per-class")
    sample, synth = sources.get(SAMPLE_SOURCE, 0), sources.get(SYNTH_SOURCE, 0)
    collected = sum(project.collected_counts().values())
    made = f"{number(collected)} collected" + (f", {number(synth)} synthesized" if synth else "")
    if not collected:
        return Verdict(
            "warn",
            f"{counts} (min {minimum}), but all {number(synth)} items are synthesized by "
            "cut-and-paste, none collected",
            "all-synthesized",
        )
    if sample:
        return Verdict(
            "warn",
            f"{counts} (min {minimum}); {made}, {number(sample)} sample items mixed in",
            "sample-mixed-in",
        )
    return Verdict("pass", f"{counts} (min {minimum}), {made}", "collected")


def data_quality(ctx: Context, threshold: float | None) -> Verdict:
    """No blocking problem in the quality report; findings that are not blocking warn."""
    quality = ctx.project.quality
    if quality is None:
        return Verdict(
            "fail",
            f"no reports/data_quality.json: run `{ctx.run('validate')}`",
            "no-quality-report",
        )
    if ctx.not_own_work:
        return Verdict(
            "fail", f"quality of data that is not yours: {ctx.not_own_work}", "not-own-work"
        )
    withheld = ctx.project.withheld("quality")
    if withheld:
        return Verdict("fail", f"not credited: {withheld}", "chain-broken")
    if quality.blocking_reasons:
        return Verdict(
            "fail",
            "blocking problems: " + "; ".join(quality.blocking_reasons),
            "blocking-problems",
        )
    found = {
        "corrupt": quality.corrupt,
        "too small": quality.too_small,
        "exact duplicates": 0 if quality.copies_within_groups else quality.exact_duplicates,
        "near duplicates": 0 if quality.copies_within_groups else quality.near_duplicates,
        "bad boxes": quality.bad_boxes,
        "empty texts": quality.empty_texts,
    }
    findings = ", ".join(f"{number(n)} {name}" for name, n in found.items() if n)
    items = number(quality.items)
    if findings:
        return Verdict(
            "warn", f"{items} items checked, nothing blocking; found {findings}", "findings"
        )
    note = (
        f"; {number(quality.duplicate_groups)} duplicate groups, each inside one source group "
        "(kept in one split)"
        if quality.copies_within_groups
        else ""
    )
    return Verdict("pass", f"{items} items checked, no problems found{note}", "clean")


def labels(ctx: Context, threshold: float | None) -> Verdict:
    """Labels made by people, pulled from Label Studio, with agreement at least `threshold`
    (default 0.6). Labels from a program (the sample, the synthesizer, folder names, an import)
    are reported as such and never pass as people's."""
    minimum = threshold if threshold is not None else 0.6
    project = ctx.project
    if ctx.not_own_work:
        return Verdict(
            "fail", f"labels of data that is not yours: {ctx.not_own_work}", "not-own-work"
        )
    people = project.label_studio_people()
    if not people:
        made = project.annotation_counts()
        if project.synth_only:
            return Verdict(
                "warn",
                f"all {number(sum(project.source_counts().values()))} items made and labeled by "
                "the cut-and-paste synthesizer (boxes measured from pasted pixels); no person "
                "labeled them",
                "synthesized-labels",
            )
        if project.answers.get("labeling") != "label-studio" and made:
            who = ", ".join(f"{name} {number(n)}" for name, n in made.most_common())
            return Verdict(
                "warn",
                f"labels arrived with the data (`labeling: none`; {who}); agreement between "
                "annotators is unknown",
                "labels-from-data",
            )
        if project.labels is None:
            return Verdict(
                "fail",
                f"no reports/labels.json: label, then run `{ctx.run('label pull')}`",
                "no-labels-report",
            )
        return Verdict(
            "fail",
            "reports/labels.json names no annotator whose labels are in data/: label in Label "
            f"Studio, then run `{ctx.run('label pull')}`",
            "no-annotators",
        )
    who = f"{number(sum(people.values()))} items by {len(people)} annotator(s)"
    agreement = project.labels.agreement.per_class_measure() if project.labels else {}
    if not agreement:
        return Verdict(
            "warn",
            f"{who}, but no item has two annotations: agreement unknown",
            "agreement-unknown",
        )
    low = {name: value for name, value in agreement.items() if value < minimum}
    listed = ", ".join(f"{name} {number(v)}" for name, v in agreement.items())
    if low:
        return Verdict(
            "warn",
            f"{who}; agreement below {minimum:g}: "
            + ", ".join(f"{n} {number(v)}" for n, v in low.items()),
            "low-agreement",
        )
    return Verdict("pass", f"{who}; agreement per class: {listed}", "agreement-ok")


def model_beats_baseline(ctx: Context, threshold: float | None) -> Verdict:
    """The headline metric beats the baseline's by more than `threshold` (default 0), on results
    of the user's own data, not from a `--smoke` run, bound to the committed model, split and
    settings (reports/pipeline.lock)."""
    margin = threshold if threshold is not None else 0.0
    metrics = ctx.project.metrics
    if metrics is None or metrics.headline.value is None:
        return Verdict(
            "fail",
            f"no reports/metrics.json: run `{ctx.run('train')}` then `{ctx.run('evaluate')}`",
            "no-metrics",
        )
    key, value = metrics.headline.metric, metrics.headline.value
    if ctx.not_own_work:
        return Verdict(
            "fail",
            f"{metric_name(key)} {number(value)} measured, but {ctx.not_own_work}",
            "not-own-work",
        )
    unbound = _not_creditable(ctx)
    if unbound:
        return unbound
    base = ctx.project.baseline_value
    if base is None:
        return Verdict(
            "fail",
            f"metrics.json has no baseline {metric_name(key)}: rerun `{ctx.run('evaluate')}`",
            "no-baseline",
        )
    onnx = (ctx.root / "models" / "model.onnx").exists()
    evidence = f"{metric_name(key)} {number(value)} vs baseline {number(base)}"
    if value - base <= margin:
        return Verdict("fail", f"{evidence}: not better by more than {margin:g}", "not-better")
    if not onnx:
        return Verdict(
            "warn", f"{evidence}; no models/model.onnx: run `{ctx.run('export')}`", "no-onnx"
        )
    return Verdict("pass", evidence, "beats-baseline")


def _not_creditable(ctx: Context) -> Verdict | None:
    """The fail verdict for results that are never credited: a `--smoke` run, figures whose
    chain from the committed model, split and settings is broken (one line naming the link), or
    a model measured only on images the synthesizer made."""
    if ctx.project.smoke:
        return Verdict(
            "fail",
            f"from a --smoke run, which only tests the pipeline: run `{ctx.run('train')}`, "
            f"`{ctx.run('export')}` and `{ctx.run('evaluate')}` without it",
            "smoke-run",
        )
    withheld = ctx.project.results_withheld
    if withheld:
        return Verdict("fail", f"not credited: {withheld}", "chain-broken")
    if ctx.project.synth_only:
        return Verdict("fail", f"not credited: {SYNTHESIZED_ONLY}", "synthesized-only")
    return None


# Why results measured on cut-and-paste images alone prove the pipeline, not the model.
SYNTHESIZED_ONLY = (
    "every item was synthesized by cut-and-paste, the test split too: the model is measured on "
    "the synthesizer's scenes, not on the problem's; collect real photos, at least for the test "
    "split"
)


def success_metric(ctx: Context, threshold: float | None) -> Verdict:
    """The target metric reaches the answers' `target_value` (or `threshold` when given)."""
    goal = ctx.project.target
    if goal is None:
        return Verdict("fail", "no target_metric/target_value in .copier-answers.yml", "no-target")
    key = goal.metric
    value = threshold if threshold is not None else goal.value
    metrics = ctx.project.metrics
    if metrics is None:
        return Verdict(
            "fail", f"no reports/metrics.json: run `{ctx.run('evaluate')}`", "no-metrics"
        )
    measured = metrics.values.get(key)
    if measured is None:
        return Verdict(
            "fail", f"metrics.json has no {key}: rerun `{ctx.run('evaluate')}`", "metric-missing"
        )
    evidence = f"{metric_name(key)} {number(float(measured))}, target {value:g}"
    if ctx.not_own_work:
        return Verdict("fail", f"{evidence}, but {ctx.not_own_work}", "not-own-work")
    unbound = _not_creditable(ctx)
    if unbound:
        return unbound
    return Verdict(
        "pass" if measured >= value else "fail",
        evidence,
        "target-met" if measured >= value else "target-missed",
    )


# Notebooks that run elsewhere: train-on-colab.ipynb needs Colab's GPU and a Hugging Face token.
REMOTE_NOTEBOOKS = {"train-on-colab.ipynb"}


def notebooks_execute(ctx: Context, threshold: float | None) -> Verdict:
    """Every notebook under notebooks/ runs top to bottom in the project's kernel (nbclient),
    except those made to run on a GPU service."""
    notebooks = [
        path
        for path in sorted((ctx.root / "notebooks").glob("*.ipynb"))
        if path.name not in REMOTE_NOTEBOOKS
    ]
    if not notebooks:
        if ctx.project.answers.get("notebooks") is False:
            return Verdict(
                "warn", "the project has no notebooks (`notebooks: false`)", "notebooks-off"
            )
        return Verdict("fail", "no notebooks/*.ipynb found", "no-notebooks")
    python = project_python(ctx.root)
    where = probes.describe_python(ctx.root, python)
    outcome = probes.run_notebooks(ctx.root, notebooks, python)
    if outcome.ok:
        return Verdict(
            "pass",
            f"{len(notebooks)} notebooks ran with {where}",
            "notebooks-ran",
        )
    if outcome.missing:
        return Verdict(
            "fail",
            f"{where} lacks the package `{outcome.missing}` the notebooks need (not a fault of "
            "the notebooks): install the project's dependencies into it, e.g. "
            "`pip install -e '.[dev]'`",
            "missing-package",
        )
    return Verdict("fail", f"a notebook failed with {where}: {outcome.evidence}", "notebook-failed")


def app_starts(ctx: Context, threshold: float | None) -> Verdict:
    """Each demo app of the project serves HTTP on 127.0.0.1 with the exported model."""
    if not (ctx.root / "models" / "model.onnx").exists():
        return Verdict(
            "fail", f"no models/model.onnx for the app: run `{ctx.run('export')}`", "no-onnx"
        )
    ui = str(ctx.project.answers.get("ui", "gradio"))
    uis = ["gradio", "streamlit"] if ui == "both" else [ui]
    evidence = []
    for name in uis:
        script = ctx.root / "app" / f"{name}_app.py"
        if not script.exists():
            return Verdict("fail", f"app/{name}_app.py not found", "app-missing")
        outcome = probes.start_app(ctx.root, name)
        if not outcome.ok:
            return Verdict("fail", outcome.evidence, "app-failed")
        evidence.append(outcome.evidence)
    return Verdict("pass", "; ".join(evidence), "app-started")


def deployed(ctx: Context, threshold: float | None) -> Verdict:
    """A Space URL is recorded in reports/deploy.json by `pocgen deploy`, for a model of the
    user's own results: a demo of the template's example or the built-in sample, or of a model
    measured on synthesized images only, is online but proves nothing of the user's."""
    deploy = ctx.project.deploy
    if deploy is not None and ctx.not_own_work:
        return Verdict("fail", f"live at {deploy.url}, but {ctx.not_own_work}", "not-own-work")
    if deploy is not None and ctx.project.synth_only:
        return Verdict("fail", f"live at {deploy.url}, but {SYNTHESIZED_ONLY}", "synthesized-only")
    if deploy is not None:
        return Verdict("pass", f"live at {deploy.url}", "deployed")
    if ctx.project.answers.get("deploy") == "none":
        return Verdict(
            "warn", "`deploy: none` in the answers: the demo is not online", "deploy-none"
        )
    return Verdict(
        "fail", "no Space URL in reports/deploy.json: run `pocgen deploy`", "not-deployed"
    )


def writeup_fresh(ctx: Context, threshold: float | None) -> Verdict:
    """README sections match the artifacts; none is empty, Limitations and Next steps included."""
    try:
        plan = ctx.plan
    except PocgenError as error:  # a README the writeup cannot read: this item fails, not all
        return Verdict("fail", str(error).rstrip("."), "readme-unreadable")
    if plan.edited:
        return Verdict("fail", "edited inside the markers: " + ", ".join(plan.edited), "edited")
    if plan.stale:
        return Verdict(
            "fail", "stale sections: " + ", ".join(plan.stale) + "; run `pocgen writeup`", "stale"
        )
    # A section that waits only for the deploy says so truthfully; `deployed` grades the deploy,
    # so counting it here too would fail one missing step twice.
    waiting = {name: cmds for name, cmds in plan.waiting.items() if set(cmds) != {DEPLOY_COMMAND}}
    empty = [f"{name} (needs `{cmds[0]}`)" for name, cmds in waiting.items()]
    empty += [f"{title} (yours to write)" for title in empty_user_sections(plan.readme_before)]
    if empty:
        return Verdict("fail", "empty sections: " + ", ".join(empty), "empty-sections")
    deploy_only = [name for name in plan.waiting if name not in waiting]
    note = f"; {', '.join(deploy_only)} awaits `{DEPLOY_COMMAND}` (graded by `deployed`)"
    return Verdict(
        "pass",
        f"{len(plan.sections)} sections fresh, none empty" + (note if deploy_only else ""),
        "fresh",
    )


def resume_bullets(ctx: Context, threshold: float | None) -> Verdict:
    """reports/resume.md holds at least `threshold` bullets (default 2)."""
    minimum = int(threshold if threshold is not None else 2)
    path = ctx.root / "reports" / "resume.md"
    if ctx.project.demo:
        return Verdict(
            "fail", "a demo project (`demo: true`) gets no resume bullets", "demo-project"
        )
    if not path.exists():
        return Verdict("fail", "no reports/resume.md: run `pocgen writeup`", "no-resume")
    bullets = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith(("- ", "* "))
    ]
    if len(bullets) < minimum:
        return Verdict(
            "fail",
            f"{len(bullets)} bullets in reports/resume.md (min {minimum})",
            "too-few-bullets",
        )
    return Verdict("pass", f"{len(bullets)} bullets: {bullets[0][2:72]}…", "bullets")


def tests_pass(ctx: Context, threshold: float | None) -> Verdict:
    """The project's own test suite passes (`python -m pytest` in the project's interpreter)."""
    if not (ctx.root / "tests").is_dir():
        return Verdict("fail", "no tests/ folder", "no-tests")
    python = project_python(ctx.root)
    outcome = probes.run_tests(ctx.root, python)
    where = probes.describe_python(ctx.root, python)
    return Verdict(
        "pass" if outcome.ok else "fail",
        f"{outcome.evidence} (with {where})",
        "tests-pass" if outcome.ok else "tests-fail",
    )


def fresh_topic(ctx: Context, threshold: float | None) -> Verdict:
    """The project is not a well-worn tutorial topic (Titanic, MNIST, iris, ...)."""
    answers = ctx.project.answers
    if ctx.project.demo:
        return Verdict(
            "fail",
            "a demo project (`demo: true`): the topic is the template's example",
            "demo-project",
        )
    texts = [answers.text(k) for k in ("project_name", "problem", "business_objective", "classes")]
    topic = worn_topic(*texts)
    if topic:
        return Verdict("fail", f"looks like {topic}, a well-worn tutorial topic", "worn-topic")
    example = template_example(answers.text("problem"))
    if example:
        return Verdict(
            "fail",
            f"the problem is the template's own example ({example}): choose your own",
            "template-example",
        )
    return Verdict("pass", f"not a well-worn tutorial topic: {ctx.project.name}", "fresh-topic")


def problem_described(ctx: Context, threshold: float | None) -> Verdict:
    """Problem, business objective and a measurable success target are all stated."""
    answers = ctx.project.answers
    if ctx.project.demo:
        return Verdict(
            "fail",
            "a demo project (`demo: true`): the problem is the template's example",
            "demo-project",
        )
    stated = ("problem", "business_objective", "success_metric")
    missing = [key for key in stated if not answers.text(key)]
    if missing:
        return Verdict("fail", "not stated: " + ", ".join(missing), "not-stated")
    example = template_example(answers.text("problem"))
    if example:
        return Verdict(
            "fail", f"the problem is the template's own example ({example})", "template-example"
        )
    goal = ctx.project.target
    if goal is None:
        return Verdict("warn", "no measurable target (target_metric/target_value)", "no-target")
    mismatch = _sentence_mismatch(answers.text("success_metric"), goal)
    if mismatch:
        return Verdict("warn", mismatch, "metric-sentence-mismatch")
    return Verdict(
        "pass",
        f"{answers.text('problem')[:60]}… target {metric_name(goal.metric)} ≥ {goal.value:g}",
        "described",
    )


def _sentence_mismatch(sentence: str, goal: Target) -> str | None:
    """Why the success-metric sentence does not say what `check` measures, or None. The rule is
    the template's own (schemas/success_metric.json), which copier.yml's validator applies too."""
    said = f"the success metric says {sentence!r}"
    gap = success_sentence_gap(sentence, goal.metric, goal.value, goal.target_class)
    if gap == "metric":
        return (
            f"{said}, but `check` measures {metric_name(goal.metric)} (target_metric: "
            f"{goal.metric}): make them the same"
        )
    if gap == "class":
        return (
            f"{said}, but the target is about the class {goal.target_class!r} (target_class): "
            "name the class"
        )
    if gap == "target":
        return (
            f"{said}, but the target is {metric_name(goal.metric)} ≥ {goal.value:g} "
            "(target_value): make them the same"
        )
    return None


def eda(ctx: Context, threshold: float | None) -> Verdict:
    """The user's data was explored: a quality report, and an exploration notebook that was run
    (its saved outputs are there) on the project's data, not on the built-in sample."""
    if ctx.not_own_work:
        return Verdict("fail", f"nothing of yours to explore: {ctx.not_own_work}", "not-own-work")
    if ctx.project.quality is None:
        return Verdict(
            "fail",
            f"no reports/data_quality.json: run `{ctx.run('validate')}`",
            "no-quality-report",
        )
    notebooks = sorted((ctx.root / "notebooks").glob("*explore*.ipynb"))
    if not notebooks:
        return Verdict(
            "fail", "no exploration notebook (notebooks/*explore*.ipynb)", "no-exploration-notebook"
        )
    total = number(sum(ctx.project.source_counts().values()))
    for path in notebooks:
        outputs = probes.notebook_outputs(path)
        name = f"notebooks/{path.name}"
        if not outputs:
            return Verdict(
                "fail",
                f"{name} was never run: run it and save it with its outputs",
                "notebook-never-run",
            )
        if "sample data: True" in outputs:
            return Verdict(
                "fail", f"{name} was last run on the built-in sample: run it again", "run-on-sample"
            )
        if total in outputs or total.replace(",", "") in outputs:
            return Verdict(
                "pass",
                f"reports/data_quality.json and {name}, run on the project's {total} items",
                "explored",
            )
    return Verdict(
        "warn",
        f"{name} has outputs, but none shows the project's {total} items: run it on your data",
        "not-run-on-own-data",
    )


# A metric evaluate gives again may differ by float noise (another CPU, another BLAS): no more.
RERUN_TOLERANCE = 1e-3


def reproducible(ctx: Context, threshold: float | None) -> Verdict:
    """The results are bound to what made them: settings, commands and the records of every stage
    are in the repository, and reports/pipeline.lock ties the figures to the committed model,
    split and settings. Where the data are present (and the check may run the project's code),
    evaluate runs again on the committed ONNX model and test split and must give the same
    metrics."""
    needed = ["params.yaml", "Makefile", "pyproject.toml", "reports/training.json"]
    absent = [name for name in needed if not (ctx.root / name).exists()]
    if absent:
        return Verdict("fail", "missing: " + ", ".join(absent), "files-missing")
    if ctx.not_own_work:
        return Verdict(
            "fail", f"the results reproduced are not yours: {ctx.not_own_work}", "not-own-work"
        )
    if ctx.project.metrics is None:
        return Verdict(
            "fail", f"no results to reproduce: run `{ctx.run('evaluate')}`", "no-metrics"
        )
    unbound = _not_creditable(ctx)
    if unbound:
        return unbound
    bound = "consistent with the committed model, split and settings (reports/pipeline.lock)"
    commit = ctx.project.run.git_commit
    stage = ctx.project.evidence.maker("reports/metrics.json")
    inputs = [dep.path for dep in stage.deps] if stage else []
    here = inputs and all((ctx.root / path).exists() for path in inputs)
    if not ctx.run_code or not here or stage is None:
        why = "--static runs no code" if here else "the data are not in this copy"
        status: Status = "pass" if commit else "warn"
        tail = f"; code at commit {commit}" if commit else "; not tied to a git commit"
        return Verdict(
            status,
            f"{bound}; evaluate not run again ({why}){tail}",
            "reproducible" if commit else "no-commit",
        )
    rerun = probes.rerun_evaluation(ctx.root, stage.cmd, project_python(ctx.root))
    if rerun.metrics is None:
        return Verdict(
            "fail",
            f"`{stage.cmd}` could not run again: {rerun.outcome.evidence}",
            "rerun-failed",
            rerun.outcome.tail,
        )
    differs = _differences(ctx.project.metrics.values, rerun.metrics.get("metrics") or {})
    if differs:
        return Verdict(
            "fail",
            f"evaluate run again gives {differs}: the figures do not come from this model and "
            "split",
            "rerun-differs",
        )
    measured = len(ctx.project.metrics.values)
    return Verdict(
        "pass",
        f"{bound}; evaluate run again on the committed model and test split gave the same "
        f"{measured} metrics" + (f"; code at commit {commit}" if commit else ""),
        "reproduced",
    )


def _differences(recorded: dict[str, float | None], again: dict[str, Any]) -> str:
    """'accuracy 0.812 (metrics.json: 0.873)' for each metric that moved, or ''."""
    moved = []
    for key, value in recorded.items():
        new = again.get(key)
        same = value is None and new is None
        if not same and (value is None or new is None or abs(float(new) - value) > RERUN_TOLERANCE):
            moved.append(f"{metric_name(key)} {number(new)} (metrics.json: {number(value)})")
    return ", ".join(moved)


def own_contribution(ctx: Context, threshold: float | None) -> Verdict:
    """At least `threshold` (default 3) measured changes on top of the template, as git sees the
    files: each file added (images together count once), each code file changed, each setting a
    recorded run used, each distinct experiment, plus one for collected data and one for labels
    made by people (the writeup's "What I built on top of the template"). Empty files, copies,
    renames, spacing, settings never run and duplicate experiments earn nothing; a copy of the
    shipped flagship earns nothing at all."""
    minimum = int(threshold if threshold is not None else 3)
    found = ctx.contribution
    parts = [
        f"{len(found.files_added)} files added",
        f"{len(found.lines)} code files changed (+{found.lines_added} −{found.lines_removed})",
        f"{len(found.settings)} settings changed",
        f"{len(found.experiments)} experiments",
        f"{number(sum(found.collected.values()))} items collected",
        f"{number(sum(found.labeled_by_people.values()))} labeled by people",
    ]
    ignored = (
        len(found.not_credited)
        + len(found.settings_not_credited)
        + len(found.experiments_not_credited)
    )
    if ignored:
        parts.append(f"{ignored} not counted: empty, copied, renamed, spacing only or never run")
    basis = (
        f"against {found.template}"
        if found.template
        else f"files and code not compared: {found.not_rendered}"
    )
    evidence = f"{found.count} changes ({', '.join(parts)}; {basis}), min {minimum}"
    if ctx.copied_from:
        return Verdict("fail", f"{ctx.copied_from}: only work of your own counts", "copied")
    if found.untouched and found.template:
        nothing = f"nothing on top of the template yet ({basis})"
        if ignored:
            nothing = (
                f"nothing counted on top of the template yet ({', '.join(parts[-1:])}; {basis})"
            )
        return Verdict("fail", nothing, "untouched")
    return Verdict(
        "pass" if found.count >= minimum else "fail",
        evidence,
        "enough-changes" if found.count >= minimum else "too-few-changes",
    )


# Placeholders earlier pocgen versions left in the model card and blog draft as if they were text.
LEGACY_PLACEHOLDERS = ("_Write what", "_Write what surprised you")


def placeholders(ctx: Context, threshold: float | None) -> Verdict:
    """The model card and the blog draft hold no paragraph still left for the author to write."""
    if ctx.project.demo:
        return Verdict("fail", "a demo project (`demo: true`) gets no blog draft", "demo-project")
    found = []
    for relative in ("reports/model_card.md", "reports/blog_post.md"):
        path = ctx.root / relative
        if not path.is_file():
            return Verdict("fail", f"no {relative}: run `pocgen writeup`", "no-generated-file")
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        found += [
            f"{relative} line {number}"
            for number, line in enumerate(lines, start=1)
            if TODO_MARK in line or line.lstrip().startswith(LEGACY_PLACEHOLDERS)
        ]
    if found:
        return Verdict(
            "fail",
            "left for you to write: " + ", ".join(found) + " (write README.md's Limitations and "
            "What I learned sections, then rerun `pocgen writeup`)",
            "placeholders-left",
        )
    return Verdict("pass", "model card and blog draft hold no placeholder", "no-placeholders")


def experiments_compared(ctx: Context, threshold: float | None) -> Verdict:
    """At least `threshold` (default 2) experiments in reports/experiments/*.json that count:
    measured, not `--smoke` runs, each differing from the others in a recorded setting (a copy or
    a rerun counts once), with headlines on the same metric, so they can be compared."""
    minimum = int(threshold if threshold is not None else 2)
    counted, not_counted = ctx.project.distinct_experiments()
    scored = {name: result.headline for name, result in counted.items()}
    metrics = {head.metric for head in scored.values()}
    listed = ", ".join(
        f"{name} {metric_name(h.metric)} {number(h.value)}" for name, h in scored.items()
    )
    skipped = "; not counted: " + ", ".join(f"{n} ({why})" for n, why in not_counted.items())
    skipped = skipped if not_counted else ""
    if len(scored) < minimum:
        return Verdict(
            "fail",
            f"{len(scored)} distinct experiments in reports/experiments/ (min {minimum}){skipped}: "
            "copy reports/metrics.json there after each variant you train",
            "too-few-experiments",
        )
    if len(metrics) > 1:
        return Verdict(
            "warn",
            f"experiments measured on different metrics: {listed}{skipped}",
            "different-metrics",
        )
    return Verdict("pass", f"{len(scored)} experiments compared: {listed}{skipped}", "compared")


def environment_locked(ctx: Context, threshold: float | None) -> Verdict:
    """A lock file pins every dependency, and CI installs from it."""
    lock = ctx.project.lock_file()
    if lock is None:
        return Verdict(
            "fail", "no lock file (requirements.lock, uv.lock, pylock.toml)", "no-lock-file"
        )
    workflows = sorted((ctx.root / ".github" / "workflows").glob("*.y*ml"))
    users = [
        path.name
        for path in workflows
        if lock in path.read_text(encoding="utf-8", errors="replace")
    ]
    if not users:
        return Verdict(
            "warn", f"{lock} exists, but no CI workflow installs from it", "lock-unused-by-ci"
        )
    return Verdict("pass", f"{lock}, used by CI ({', '.join(users)})", "locked")


def container(ctx: Context, threshold: float | None) -> Verdict:
    """A Dockerfile that runs the demo: it parses, starts FROM an image, copies only files that
    exist and has a CMD or ENTRYPOINT. Building it is left to a machine with Docker."""
    path = ctx.root / "Dockerfile"
    if not path.is_file():
        return Verdict("fail", "no Dockerfile", "no-dockerfile")
    problems, summary = probes.validate_dockerfile(path)
    if problems:
        return Verdict("fail", "Dockerfile: " + "; ".join(problems), "dockerfile-invalid")
    return Verdict(
        "pass", f"Dockerfile valid ({summary}); validated, not built", "dockerfile-valid"
    )


def course_answers(ctx: Context, threshold: float | None) -> Verdict:
    """The answers a course pack locked still hold the course's values in the project."""
    if not ctx.locked:
        return Verdict("pass", "no answers locked", "nothing-locked")
    changed = [
        f"{key}={ctx.project.answers.get(key)!r} (course: {value!r})"
        for key, value in ctx.locked.items()
        if ctx.project.answers.get(key) != value
    ]
    if changed:
        return Verdict(
            "fail", "locked answers changed: " + ", ".join(changed), "locked-answers-changed"
        )
    return Verdict(
        "pass", "locked answers unchanged: " + ", ".join(ctx.locked), "locked-answers-kept"
    )


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
        own_contribution,
        placeholders,
        experiments_compared,
        environment_locked,
        container,
    )
}
