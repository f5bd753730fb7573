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
    count,
    metric_name,
    missing,
    ms,
    number,
    upper_first,
)
from pocgen.writeup.markers import TODO_MARK, user_section
from pocgen.writeup.sections import (
    SOURCE_WORDS,
    TASK_WORDS,
    agreement_of,
    confidence_interval,
    demo_note,
    headline,
    sample_note,
    target,
    target_value_measured,
)

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

{{ limitations }}
"""


def _lower_first(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[:1].lower() + text[1:] if text else text


def data_phrase(project: Project) -> str:
    """'240 images collected from a folder of photos', from the manifest's sources only."""
    sources = project.source_counts()
    total = sum(sources.values())
    if not total:
        return ""
    parts = [
        f"{number(n)} {SOURCE_WORDS.get(name, f'from source {name}')}"
        for name, n in sources.most_common()
    ]
    if len(parts) == 1:
        return f"{number(total)} {project.item_word} {parts[0].split(' ', 1)[1]}"
    return f"{number(total)} {project.item_word} ({', '.join(parts)})"


def no_resume_reason(project: Project) -> str | None:
    """Why the project gets no resume bullets yet, or None when its files back them."""
    if project.demo:
        return (
            "this project was rendered as a demo (`demo: true` in `.copier-answers.yml`); "
            "bullets are for a problem and data of your own"
        )
    if headline(project) is None:
        return f"they need measured results: run `{project.report_command('metrics')}`"
    if project.sample_only or (project.metrics or {}).get("sample_data"):
        return (
            "the results come from the built-in sample data; collect your own with "
            f"`{project.command('collect')}` and rerun the pipeline"
        )
    return None


def _labels_bullet(project: Project) -> str | None:
    """Labeling and data checks, each named only when its file records it."""
    people = project.label_studio_people()
    done = []
    if people:
        agreement = agreement_of(project.labels or {})
        overall = {
            k: v for k, v in (agreement.get("overall") or {}).items() if isinstance(v, float)
        }
        measured = (
            f" ({', '.join(f'{metric_name(k)} {number(v)}' for k, v in overall.items())} over "
            f"{number(agreement.get('pairs'))} doubly labeled items)"
            if overall and agreement.get("pairs")
            else ""
        )
        done.append(
            f"ran labeling in Label Studio: {number(sum(people.values()))} items by "
            f"{len(people)} annotator{'s' if len(people) != 1 else ''}{measured}"
        )
    quality = project.quality or {}
    if quality:
        duplicates = quality.get("duplicates") or {}
        found = count(duplicates.get("exact")) + count(duplicates.get("near"))
        checked = number(count(quality.get("items")))
        done.append(
            f"checked {checked} items for broken files and duplicates"
            + (f" ({number(found)} duplicate groups caught)" if found else "")
        )
    if not done:
        return None
    return upper_first("; ".join(done)) + "."


def resume_bullets(project: Project) -> list[str]:
    """Up to three bullets, each sentence backed by a file (docs/claims.md lists which)."""
    best = headline(project)
    if best is None or no_resume_reason(project):
        return []
    key, value, base = best
    metrics = project.metrics or {}
    task = TASK_WORDS.get(project.task, project.task)
    built = f"Built {article(task)} {task} model for {', '.join(project.classes)}"
    phrase = data_phrase(project)
    built += f" on {phrase}" if phrase else ""
    baseline = (metrics.get("baseline") or {}).get("name", "baseline")
    built += f"; {metric_name(key)} {number(value)}"
    interval = confidence_interval(metrics)
    if interval:
        built += f" (95% CI {number(interval[0])}–{number(interval[1])})"
    if base is not None:
        built += f" against {number(base)} for {article(baseline)} {baseline} baseline"
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
        bullets.append(f"Exported the model to ONNX for a {ui} demo{speed}.")
    labels_bullet = _labels_bullet(project)
    if labels_bullet:
        bullets.append(labels_bullet)
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


def _authors_words(project: Project, title: str, what: str) -> str:
    """The author's own section of README.md, or a marked TODO while it is still empty."""
    readme = project.root / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    return user_section(text, title) or todo(what, title)


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
        limitations=_authors_words(
            project,
            "Limitations",
            "What this model does not do well, and where its data falls short.",
        ),
    )
    return str(card)


def blog_post(project: Project) -> str | None:
    """A short draft for learning in public; the reflective paragraphs stay the author's.

    A demo project gets none: there is no problem of the author's to write about.
    """
    if project.demo:
        return None
    answers = project.answers
    best = headline(project)
    url = (project.deploy or {}).get("url")
    parts = [
        f"# {project.name}: a proof of concept, end to end",
        "",
        f"{answers.get('problem', '').strip()} I wanted to see whether a small model could "
        f"help: {_lower_first(str(answers.get('business_objective', '')))}.",
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
            if project.split_sizes()
            else ""
        )
        parts.append(f"I worked from {phrase}{checked}{split}.")
    else:
        parts.append(missing("No data yet", project.command("collect")))
    parts += ["", "## The result", ""]
    if best:
        key, value, base = best
        baseline = ((project.metrics or {}).get("baseline") or {}).get("name", "baseline")
        line = f"On held-out data the model reaches {metric_name(key)} {number(value)}"
        line += (
            f", against {number(base)} for {article(baseline)} {baseline} baseline."
            if base is not None
            else "."
        )
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
        _authors_words(
            project, "What I learned", "What surprised you, what broke, what you would change."
        ),
    ]
    return "\n".join(parts)


# Each builder returns the file's text, or None when the project gets no such file.
OUTPUTS: dict[str, Callable[[Project], str | None]] = {
    "reports/resume.md": resume,
    "reports/model_card.md": model_card,
    "reports/blog_post.md": blog_post,
}
