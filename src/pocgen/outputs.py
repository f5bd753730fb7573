"""The writeup's other outputs: resume bullets, a Hugging Face model card and a blog-post draft.

Like the README sections they are built only from the project's artifacts. Each is a whole file,
returned as text; `writeup.py` decides whether it may be written.
"""

from __future__ import annotations

from typing import Any

from pocgen.artifacts import Project
from pocgen.formatting import (
    article,
    count,
    duration,
    metric_name,
    missing,
    ms,
    number,
    upper_first,
)
from pocgen.sections import TASK_WORDS, headline, sample_note, target, target_value_measured

LICENSES = {"MIT": "mit", "Apache-2.0": "apache-2.0", "BSD-3-Clause": "bsd-3-clause"}
UI_NAMES = {"gradio": "Gradio", "streamlit": "Streamlit", "both": "Gradio and Streamlit"}

MODEL_CARD_TEMPLATE = """---
{{ card_data }}
---

# {{ title }}

{{ summary }}

## Intended use

{{ intended_use }}

## Training data

{{ training_data }}

## Evaluation

{{ evaluation }}

## How to use

{{ usage }}

## Limitations

_Write what this model does not do well, and where its data falls short._
"""


def _lower_first(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[:1].lower() + text[1:] if text else text


def _data_phrase(project: Project) -> str:
    """'1,200 images I collected and labeled myself', or the honest sample-data version."""
    total = sum(project.source_counts().values())
    if not total:
        return ""
    if project.sample_only:
        return f"{number(total)} generated sample {project.item_word}"
    labeled = " and labeled" if project.answers.get("labeling") == "label-studio" else ""
    return f"{number(total)} {project.item_word} I collected{labeled} myself"


def resume_bullets(project: Project) -> list[str]:
    """Two or three bullets: what was built, the metric and its business meaning, your own part."""
    best = headline(project)
    if best is None:
        return []
    key, value, base = best
    metrics = project.metrics or {}
    task = TASK_WORDS.get(project.task, project.task)
    data_phrase = _data_phrase(project)
    built = f"Built {article(task)} {task} model for {', '.join(project.classes)}"
    built += f" from {data_phrase}" if data_phrase else ""
    baseline = (metrics.get("baseline") or {}).get("name", "baseline")
    built += f"; {metric_name(key)} {number(value)}"
    if base is not None:
        built += f" against {number(base)} for a {baseline} baseline"
    goal, measured = target(project), target_value_measured(project)
    if goal and measured is not None and measured >= goal[1]:
        built += f", meeting the {metric_name(goal[0])} ≥ {goal[1]:g} target"
    objective = _lower_first(str(project.answers.get("business_objective", "")))
    bullets = [built + (f", aimed to {objective}." if objective else ".")]

    latency = (metrics.get("latency_ms") or {}).get("mean")
    speed = (
        f" ({ms(latency)} per {project.item_word[:-1]}, no PyTorch)"
        if isinstance(latency, int | float)
        else ""
    )
    url = (project.deploy or {}).get("url")
    ui = UI_NAMES.get(str(project.answers.get("ui")), "web")
    if url:
        bullets.append(
            f"Shipped a live {ui} demo on Hugging Face Spaces ({url}), served by the "
            f"exported ONNX model{speed}."
        )
    elif speed:
        bullets.append(f"Exported the model to ONNX and served it in a {ui} demo{speed}.")

    own = ["data collection" if not project.sample_only else "the data pipeline"]
    if project.answers.get("labeling") == "label-studio":
        own.append("labeling in Label Studio")
    quality = project.quality or {}
    duplicates = quality.get("duplicates") or {}
    found = count(duplicates.get("exact")) + count(duplicates.get("near"))
    checked = f"{number(count(quality.get('items')))} items" if quality else ""
    own.append(
        f"quality checks ({number(found)} duplicate groups caught in {checked})"
        if found
        else f"quality checks ({checked}, no duplicates)"
        if quality
        else "quality checks"
    )
    training = metrics.get("training") or project.training or {}
    if isinstance(training.get("seconds"), int | float):
        where = f" on {training['hardware']}" if training.get("hardware") else ""
        own.append(f"training in {duration(training['seconds'])}{where}")
    own.append("leak-free splits and tests that rerun every stage")
    bullets.append("Did every step myself: " + ", ".join(own) + ".")
    return bullets[:3]


def resume(project: Project) -> str:
    bullets = resume_bullets(project)
    lines = [f"# Resume bullets: {project.name}", ""]
    if bullets:
        lines += [f"- {bullet}" for bullet in bullets]
        lines += [
            "",
            "Every figure comes from `reports/`; rerun `pocgen writeup` after retraining.",
        ]
    else:
        lines.append(
            missing("No bullets yet, they need measured results", project.report_command("metrics"))
        )
    return "\n".join(lines)


def _eval_results(project: Project) -> list[Any]:
    from huggingface_hub import EvalResult

    metrics = project.metrics or {}
    task = project.task
    slug = project.answers.get("project_slug", project.root.name)
    return [
        EvalResult(
            task_type=task,
            dataset_type=str(slug),
            dataset_name=f"{project.name} test split",
            dataset_split="test",
            metric_type=key,
            metric_name=metric_name(key),
            metric_value=float(value),
        )
        for key, value in (metrics.get("metrics") or {}).items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    ]


def model_card(project: Project) -> str:
    """A model card with eval-results metadata (model-index), rendered offline."""
    from huggingface_hub import ModelCard, ModelCardData

    answers = project.answers
    task = TASK_WORDS.get(project.task, project.task)
    card_data = ModelCardData(
        model_name=project.name,
        license=LICENSES.get(str(answers.get("license")), "other"),
        pipeline_tag=project.task or None,
        library_name="onnx",
        tags=["onnx", "pocgen", project.task],
        eval_results=_eval_results(project) or None,
    )
    metrics = project.metrics or {}
    info = metrics.get("model") or {}
    weights = "pretrained and fine-tuned" if info.get("pretrained") else "trained from scratch"
    summary = (
        f"{upper_first(article(task))} {task} model (`{info.get('name', '?')}`, "
        f"{weights}) for {', '.join(project.classes)}."
        if info
        else missing("Not trained yet", project.command("train"))
    )
    splits = project.split_sizes()
    training_data = (
        upper_first(_data_phrase(project))
        + ". Splits: "
        + ", ".join(f"{k} {number(v)}" for k, v in splits.items())
        + "."
        if splits and _data_phrase(project)
        else missing("No split data yet", project.command("split"))
    )
    best = headline(project)
    if best:
        key, value, base = best
        evaluation = (
            f"{metric_name(key)} {number(value)} on the held-out test split, against "
            f"{number(base) if base is not None else '–'} for the "
            f"{(metrics.get('baseline') or {}).get('name', 'baseline')} baseline."
        )
        if metrics.get("sample_data"):
            evaluation += "\n\n" + sample_note(project)
    else:
        evaluation = missing("No results yet", project.report_command("metrics"))
    package = project.package
    usage = (
        "```python\n"
        f"from {package}.inference import Predictor\n\n"
        'predictor = Predictor("models/model.onnx", "models/labels.json")\n'
        "predictor.predict(item)\n```"
    )
    card = ModelCard.from_template(
        card_data,
        template_str=MODEL_CARD_TEMPLATE,
        title=project.name,
        summary=summary,
        intended_use=f"{answers.get('problem', '').strip()} Goal: "
        f"{answers.get('business_objective', '').strip()}",
        training_data=training_data,
        evaluation=evaluation,
        usage=usage,
    )
    return str(card)


def blog_post(project: Project) -> str:
    """A short draft for learning in public; the reflective paragraphs stay the author's."""
    answers = project.answers
    best = headline(project)
    url = (project.deploy or {}).get("url")
    parts = [
        f"# {project.name}: a proof of concept, end to end",
        "",
        f"{answers.get('problem', '').strip()} I wanted to see whether a small model could "
        f"help: {_lower_first(str(answers.get('business_objective', '')))}.",
        "",
    ]
    data_phrase = _data_phrase(project)
    parts += [
        "## The data",
        "",
        (
            f"I worked from {data_phrase}, checked them for duplicates and broken files, and "
            "split them so no source leaks between training and test."
            if data_phrase
            else missing("No data yet", project.command("sample"))
        ),
        "",
    ]
    parts += ["## The result", ""]
    if best:
        key, value, base = best
        baseline = ((project.metrics or {}).get("baseline") or {}).get("name", "baseline")
        line = f"On held-out data the model reaches {metric_name(key)} {number(value)}"
        line += f", against {number(base)} for a {baseline} baseline." if base is not None else "."
        goal, measured = target(project), target_value_measured(project)
        if goal and measured is not None:
            verdict = "met" if measured >= goal[1] else "not met yet"
            line += (
                f" My success target was {metric_name(goal[0])} ≥ {goal[1]:g}: {verdict} "
                f"({number(measured)})."
            )
        parts.append(line)
        if (project.metrics or {}).get("sample_data"):
            parts += ["", sample_note(project)]
    else:
        parts.append(missing("No results yet", project.report_command("metrics")))
    parts += [
        "",
        "## Try it",
        "",
        f"The demo is online: {url}" if url else missing("Not online yet", "pocgen deploy"),
        "",
        "## What I learned",
        "",
        "_Write what surprised you, what broke, and what you would do differently._",
    ]
    return "\n".join(parts)


OUTPUTS = {
    "reports/resume.md": resume,
    "reports/model_card.md": model_card,
    "reports/blog_post.md": blog_post,
}
