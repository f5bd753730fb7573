"""Phrases the README sections, the resume, the model card and the blog draft share.

One place decides how a task, a data source, a demo or a caveat reads, so the same fact never
reads two ways in two files. Each phrase is built from the project's records only.
"""

from __future__ import annotations

from pocgen.project import COLLECTED_SOURCES, Project
from pocgen.records import SAMPLE_SOURCE, SYNTH_SOURCE
from pocgen.writeup.formatting import number, upper_first

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
# The demo `pocgen deploy` put online (reports/deploy.json's `ui`), as a sentence names it.
UI_NAMES = {"gradio": "Gradio", "streamlit": "Streamlit", "web": "web"}


def task_words(project: Project) -> str:
    return TASK_WORDS.get(project.task, project.task)


def sources_phrase(project: Project, quote: str = "") -> str:
    """'120 from a folder of photos, 40 from the built-in sample', largest source first."""
    return ", ".join(
        f"{number(n)} {SOURCE_WORDS.get(name, f'from source {quote}{name}{quote}')}"
        for name, n in project.source_counts().most_common()
    )


def data_phrase(project: Project) -> str:
    """'240 images collected from a folder of photos', from the manifest's sources only."""
    sources = project.source_counts()
    total = sum(sources.values())
    if not total:
        return ""
    if len(sources) == 1:
        return f"{number(total)} {project.item_word} {sources_phrase(project).split(' ', 1)[1]}"
    return f"{number(total)} {project.item_word} ({sources_phrase(project)})"


def deployed_demo(project: Project) -> str | None:
    """'the Gradio demo' for the demo reports/deploy.json records; None before a deploy."""
    ui = project.deployed_ui
    return None if ui is None else f"the {UI_NAMES.get(ui, ui)} demo"


def sample_note(project: Project) -> str:
    return (
        f"> **Sample data.** These numbers come from the generated sample data, not from collected "
        f"data. Bring your own with `{project.command('collect')}` and rerun the pipeline."
    )


def demo_note() -> str:
    return (
        "> **Demo project.** Rendered with `pocgen new --defaults` (`demo: true` in "
        "`.copier-answers.yml`): the problem, the classes and the target are the template's "
        "example, not a problem chosen by the author."
    )


def synth_note(project: Project) -> str:
    return (
        "> **Synthesized data.** These numbers were measured on images synthesized by "
        f"cut-and-paste (`{project.command('collect')} synth`), not on photographs: they say how "
        "well the model learned the synthesizer's scenes. Expect lower numbers on real photos."
    )


def provenance_note(project: Project) -> str | None:
    """Where the data behind a headline came from, wherever one is shown, when it is not data
    the author collected: the built-in sample, or images synthesized by cut-and-paste."""
    provenance = project.data_provenance
    if provenance == "sample":
        return sample_note(project)
    return synth_note(project) if provenance == "synth" else None


def smoke_note(project: Project) -> str:
    return (
        f"> **Smoke run.** These numbers come from `--smoke` (a tiny slice, one short epoch): "
        f"they prove the pipeline runs, nothing more, and are never reported elsewhere. Run "
        f"`{project.command('train')}`, `{project.command('export')}` and "
        f"`{project.command('evaluate')}` without it."
    )


def withheld_note(reason: str) -> str:
    """The line that replaces figures whose chain from the committed model, split and settings
    is broken: they are not stated, and the reason says which link and the fix."""
    return f"> **Figures not stated.** {upper_first(reason)}."
