"""The writeup's other outputs: resume bullets, a Hugging Face model card and a blog-post draft.

Like the README sections they are built only from the project's files (docs/claims.md lists the
evidence each claim needs). Each is a whole file, returned as text, or None when the project gets
no such file (a demo gets no resume and no blog draft); `run.py` decides whether it may be
written. Paragraphs only the author can write are copied from the author's own README sections,
or left as a marked TODO that `pocgen check` flags.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pocgen.project import Project
from pocgen.writeup.formatting import (
    article,
    metric_name,
    missing,
    ms,
    number,
    upper_first,
)
from pocgen.writeup.markers import TODO_MARK, user_section
from pocgen.writeup.phrases import (
    UI_NAMES,
    data_phrase,
    demo_note,
    deployed_demo,
    provenance_note,
    task_words,
    withheld_note,
)

MODEL_CARD_TEMPLATE = """---
{{ card_data }}
---

# {{ title }}

{{ summary }}

## Intended use

{{ intended_use }}

## Out-of-scope use

{{ out_of_scope }}

## Training data

{{ training_data }}

## Evaluation

{{ evaluation }}

## How to use

{{ usage }}

## Limitations

{{ limitations }}
"""


def _lower_first(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[:1].lower() + text[1:] if text else text


def no_resume_reason(project: Project) -> str | None:
    """Why the project gets no resume bullets yet, or None when its files back them."""
    if project.demo:
        return (
            "this project was rendered as a demo (`demo: true` in `.copier-answers.yml`); "
            "bullets are for a problem and data of your own"
        )
    if project.smoke:
        return (
            "the model or its numbers come from a `--smoke` run, which only tests the pipeline: "
            f"run `{project.command('train')}`, `{project.command('export')}` and "
            f"`{project.command('evaluate')}` without --smoke"
        )
    if project.results_withheld:
        return f"the results are not bound to what made them: {project.results_withheld}"
    if project.headline is None:
        return f"they need measured results: run `{project.report_command('metrics')}`"
    if project.sample_results:
        return (
            "the results come from the built-in sample data; collect your own with "
            f"`{project.command('collect')}` and rerun the pipeline"
        )
    if project.synth_only:
        return (
            "every item was synthesized by cut-and-paste, the test split too, so the results "
            "measure the synthesizer's scenes; collect real photos (at least for the test split) "
            f"with `{project.command('collect')} folder` and rerun the pipeline"
        )
    return None


def _labels_bullet(project: Project) -> str | None:
    """Labeling and data checks, each named only when its file records it."""
    people = project.label_studio_people()
    done = []
    if people and project.labels is not None:
        agreement = project.labels.agreement
        measured = (
            f" ({', '.join(f'{metric_name(k)} {number(v)}' for k, v in agreement.overall.items())}"
            f" over {number(agreement.pairs)} doubly labeled items)"
            if agreement.overall and agreement.pairs
            else ""
        )
        done.append(
            f"ran labeling in Label Studio: {number(sum(people.values()))} items by "
            f"{len(people)} annotator{'s' if len(people) != 1 else ''}{measured}"
        )
    quality = project.quality
    if quality is not None and not project.withheld("quality"):
        found = quality.duplicate_groups
        done.append(
            f"checked {number(quality.items)} items for broken files and duplicates"
            + (f" ({number(found)} duplicate groups caught)" if found else "")
        )
    if not done:
        return None
    return upper_first("; ".join(done)) + "."


def _results_bullet(project: Project) -> str:
    """What was built, on which data, measured how well against what, for which goal."""
    best, metrics = project.headline, project.metrics
    assert best is not None and best.value is not None and metrics is not None
    task = task_words(project)
    built = f"Built {article(task)} {task} model for {', '.join(project.classes)}"
    phrase = data_phrase(project)
    built += f" on {phrase}" if phrase else ""
    built += f"; {metric_name(best.metric)} {number(float(best.value))}"
    if best.ci95:
        built += f" (95% CI {number(best.ci95[0])}–{number(best.ci95[1])})"
    base, baseline = project.baseline_value, metrics.baseline.name
    if base is not None:
        built += f" against {number(float(base))} for {article(baseline)} {baseline} baseline"
    goal = project.target
    if goal and project.target_met:
        built += f", meeting the {metric_name(goal.metric)} ≥ {goal.value:g} target"
    objective = _lower_first(project.answers.text("business_objective"))
    return built + (f", aimed to {objective}." if objective else ".")


def _demo_bullet(project: Project) -> str | None:
    """The demo reports/deploy.json records as online; before a deploy, only the export."""
    latency = project.metrics.latency if project.metrics else None
    speed = (
        f" ({ms(latency.mean)} per {project.item_word[:-1]}, no PyTorch)"
        if latency is not None
        else ""
    )
    deploy = project.deploy
    if deploy is None:
        return f"Exported the model to ONNX for the demo{speed}." if speed else None
    if deploy.ui == "web":
        return (
            f"Shipped a live web demo on Hugging Face Spaces ({deploy.url}): the exported ONNX "
            "model runs in the visitor's browser, no server needed."
        )
    return (
        f"Shipped a live {UI_NAMES.get(deploy.ui, deploy.ui)} demo on Hugging Face Spaces "
        f"({deploy.url}), served by the exported ONNX model{speed}."
    )


def resume_bullets(project: Project) -> list[str]:
    """Up to three bullets, each sentence backed by a file (docs/claims.md lists which)."""
    if no_resume_reason(project):
        return []
    bullets = [_results_bullet(project)]
    for bullet in (_demo_bullet(project), _labels_bullet(project)):
        if bullet:
            bullets.append(bullet)
    return bullets[:3]


def resume(project: Project) -> str | None:
    """The bullets, or None for a demo project: it gets no resume file at all."""
    if project.demo:
        return None
    bullets = resume_bullets(project)
    lines = [f"# Resume bullets: {project.name}", ""]
    if bullets:
        lines += [f"- {bullet}" for bullet in bullets]
        lines += [
            "",
            "Every figure comes from `reports/` and `data/`; rerun `pocgen writeup` after "
            "retraining.",
        ]
    else:
        lines.append(f"_No bullets yet: {no_resume_reason(project)}._")
    return "\n".join(lines)


def todo(what: str, section: str) -> str:
    """A gap only the author can fill, marked so `pocgen check` flags it until it is filled."""
    return (
        f"{TODO_MARK} {what} Write it in README.md's `## {section}` section and rerun "
        "`pocgen writeup`: it is copied here."
    )


def _authors_words(readme: str, title: str, what: str) -> str:
    """The author's own section of README.md, or a marked TODO while it is still empty."""
    return user_section(readme, title) or todo(what, title)


def _eval_results(project: Project) -> list[Any]:
    from huggingface_hub import EvalResult

    if project.metrics is None or project.headline is None or project.smoke:
        return []
    slug = project.answers.get("project_slug", project.root.name)
    return [
        EvalResult(
            task_type=project.task,
            dataset_type=str(slug),
            dataset_name=f"{project.name} test split",
            dataset_split="test",
            metric_type=key,
            metric_name=metric_name(key),
            metric_value=float(value),
        )
        for key, value in project.metrics.values.items()
        if value is not None
    ]


def _evaluation(project: Project) -> str:
    """The headline against the baseline, with the sample-data caveat where it applies."""
    best, metrics = project.headline, project.metrics
    withheld = _not_stated(project)
    if withheld:
        return withheld
    if best is None or best.value is None or metrics is None:
        return missing("No results yet", project.report_command("metrics"))
    base = project.baseline_value
    evaluation = (
        f"{metric_name(best.metric)} {number(float(best.value))} on the held-out test split, "
        f"against {number(float(base)) if base is not None else '–'} for the "
        f"{metrics.baseline.name} baseline."
    )
    note = provenance_note(project)
    return evaluation + ("\n\n" + note if note else "")


def _not_stated(project: Project) -> str | None:
    """Why a publication (model card, blog) states no result: a smoke run, or figures whose
    chain from the committed model, split and settings is broken."""
    if project.metrics is None:
        return None
    if project.smoke:
        return (
            "> **No results.** The model or its numbers come from a `--smoke` run, which only "
            "tests the pipeline."
        )
    return withheld_note(project.results_withheld) if project.results_withheld else None


def _out_of_scope(project: Project) -> str:
    """What the model must not be used for, from what it was trained and measured on."""
    classes = ", ".join(f"`{name}`" for name in project.classes)
    if project.task == "object-detection":
        lines = [f"- Objects other than {classes}: it does not look for them."]
    else:
        lines = [
            f"- Inputs that are none of {classes}: it always answers one of them, with no "
            "'none of these'."
        ]
    phrase = data_phrase(project)
    if phrase:
        lines.append(
            f"- Data unlike its own ({phrase}): it was measured only on a held-out split of "
            "the same data."
        )
    if project.data_provenance == "synth":
        lines.append(
            "- Real photographs, before it is measured on them: every image it saw was "
            "synthesized by cut-and-paste."
        )
    elif project.data_provenance == "sample":
        lines.append("- Anything real: it was trained on the generated sample data only.")
    lines.append(
        "- Decisions without a person checking: the evaluation above counts the errors it "
        "still makes."
    )
    return "\n".join(lines)


def _usage(project: Project) -> str:
    """The few lines that run the model, and the live demo reports/deploy.json records."""
    usage = (
        "```python\n"
        f"from {project.package}.inference import Predictor\n\n"
        'predictor = Predictor("models/model.onnx", "models/labels.json")\n'
        "predictor.predict(item)\n```"
    )
    demo = deployed_demo(project)
    if demo and project.deploy:
        usage += f"\n\nTry {demo} on Hugging Face Spaces: {project.deploy.url}"
    return usage


def model_card(project: Project, readme: str) -> str:
    """A model card with eval-results metadata (model-index), rendered offline."""
    from huggingface_hub import ModelCard, ModelCardData

    answers = project.answers
    task = task_words(project)
    card_data = ModelCardData(
        model_name=project.name,
        license=answers.hub_license,
        pipeline_tag=project.task or None,
        library_name="onnx",
        tags=["onnx", "pocgen", project.task],
        eval_results=_eval_results(project) or None,
    )
    info = project.model_info
    weights = "pretrained and fine-tuned" if info and info.pretrained else "trained from scratch"
    summary = (
        f"{upper_first(article(task))} {task} model (`{info.name or '?'}`, "
        f"{weights}) for {', '.join(project.classes)}."
        if info
        else missing("Not trained yet", project.command("train"))
    )
    splits = project.split_sizes()
    phrase = data_phrase(project)
    training_data = (
        upper_first(phrase)
        + ". Splits: "
        + ", ".join(f"{k} {number(v)}" for k, v in splits.items())
        + "."
        if splits and phrase
        else missing("No split data yet", project.command("split"))
    )
    if project.demo:
        training_data += "\n\n" + demo_note()
    card = ModelCard.from_template(
        card_data,
        template_str=MODEL_CARD_TEMPLATE,
        title=project.name,
        summary=summary,
        intended_use=f"{answers.text('problem')} Goal: {answers.text('business_objective')}",
        out_of_scope=_out_of_scope(project),
        training_data=training_data,
        evaluation=_evaluation(project),
        usage=_usage(project),
        limitations=_authors_words(
            readme,
            "Limitations",
            "What this model does not do well, and where its data falls short.",
        ),
    )
    return str(card)


def _result_paragraph(project: Project) -> list[str]:
    """The blog's result: the headline, the baseline and the target, each from metrics.json."""
    best, metrics = project.headline, project.metrics
    withheld = _not_stated(project)
    if withheld:
        return [withheld]
    if best is None or best.value is None or metrics is None:
        return [missing("No results yet", project.report_command("metrics"))]
    base, baseline = project.baseline_value, metrics.baseline.name
    reached = f"{metric_name(best.metric)} {number(float(best.value))}"
    line = f"On held-out data the model reaches {reached}"
    line += (
        f", against {number(float(base))} for {article(baseline)} {baseline} baseline."
        if base is not None
        else "."
    )
    goal, measured = project.target, project.target_measured
    if goal and measured is not None:
        verdict = "met" if project.target_met else "not met yet"
        line += (
            f" My success target was {metric_name(goal.metric)} ≥ {goal.value:g}: {verdict} "
            f"({number(measured)})."
        )
    note = provenance_note(project)
    return [line, "", note] if note else [line]


def blog_post(project: Project, readme: str) -> str | None:
    """A short draft for learning in public; the reflective paragraphs stay the author's.

    A demo project gets none: there is no problem of the author's to write about.
    """
    if project.demo:
        return None
    answers = project.answers
    parts = [
        f"# {project.name}: a proof of concept, end to end",
        "",
        f"{answers.text('problem')} I wanted to see whether a small model could "
        f"help: {_lower_first(answers.text('business_objective'))}.",
        "",
        "## The data",
        "",
    ]
    phrase = data_phrase(project)
    if phrase:
        checked = (
            ", checked them for duplicates and broken files" if project.quality is not None else ""
        )
        split = (
            " and split them so no source leaks between training and test"
            if project.split_sizes() and project.leak_free
            else ""
        )
        parts.append(f"I worked from {phrase}{checked}{split}.")
    else:
        parts.append(missing("No data yet", project.command("collect")))
    parts += ["", "## The result", "", *_result_paragraph(project)]
    demo = deployed_demo(project)
    parts += [
        "",
        "## Try it",
        "",
        f"{upper_first(demo)} is online: {project.deploy.url}"
        if demo and project.deploy
        else missing("Not online yet", "pocgen deploy"),
        "",
        "## What I learned",
        "",
        _authors_words(
            readme, "What I learned", "What surprised you, what broke, what you would change."
        ),
    ]
    return "\n".join(parts)


# Each builder takes the project and its README's text (where the author's own paragraphs are),
# and returns the file's text, or None when the project gets no such file.
OUTPUTS: dict[str, Callable[[Project, str], str | None]] = {
    "reports/resume.md": lambda project, readme: resume(project),
    "reports/model_card.md": model_card,
    "reports/blog_post.md": blog_post,
}
