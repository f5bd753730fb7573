"""Resume bullets, the model card and the blog draft: each sentence backed by a file.

The demo they name is the one reports/deploy.json records (`ui`), never the answers' choice.
"""

from __future__ import annotations

import pytest
import yaml
from project_files import LIMITATIONS_PLACEHOLDER, ProjectFiles, readme

from pocgen.writeup import outputs

pytestmark = pytest.mark.unit

README = readme()
URL = "https://huggingface.co/spaces/jane/defect-spotter"


def bullets(files: ProjectFiles) -> list[str]:
    return outputs.resume_bullets(files.load())


def test_three_bullets_from_the_known_artifacts(finished: ProjectFiles) -> None:
    found = bullets(finished)
    assert found[0] == (
        "Built an image classification model for ok, defect on 240 images from a folder of "
        "photos; accuracy 0.873 against 0.528 for a majority class baseline, aimed to catch "
        "defective parts before shipping without slowing the line."
    )
    assert found[1] == (
        f"Shipped a live Gradio demo on Hugging Face Spaces ({URL}), served by the exported "
        "ONNX model (3.4 ms per image, no PyTorch)."
    )
    assert found[2] == (
        "Ran labeling in Label Studio: 240 items by 2 annotators (Cohen's kappa 0.792 over 40 "
        "doubly labeled items); checked 240 items for broken files and duplicates (3 duplicate "
        "groups caught)."
    )


@pytest.mark.parametrize(
    ("answer", "deployed", "sdk", "expected"),
    [
        ("gradio", "web", "static", "Shipped a live web demo on Hugging Face Spaces"),
        ("both", "streamlit", "docker", "Shipped a live Streamlit demo on Hugging Face Spaces"),
        ("streamlit", "gradio", "gradio", "Shipped a live Gradio demo on Hugging Face Spaces"),
    ],
)
def test_the_resume_names_the_demo_deployed_not_the_answer(
    finished: ProjectFiles, answer: str, deployed: str, sdk: str, expected: str
) -> None:
    finished.answers(ui=answer).report("deploy", ui=deployed, sdk=sdk)
    demo = bullets(finished)[1]
    assert demo.startswith(expected)
    others = {"gradio": "Gradio", "streamlit": "Streamlit", "web": "web"}
    assert all(name not in demo for ui, name in others.items() if ui != deployed)


def test_the_web_demo_claims_no_server_latency(finished: ProjectFiles) -> None:
    finished.report("deploy", ui="web", sdk="static")
    demo = bullets(finished)[1]
    assert "runs in the visitor's browser" in demo and "ms per" not in demo


def test_before_a_deploy_only_the_export_is_claimed(finished: ProjectFiles) -> None:
    (finished.root / "reports" / "deploy.json").unlink()
    demo = bullets(finished)[1]
    assert demo == "Exported the model to ONNX for the demo (3.4 ms per image, no PyTorch)."


def test_the_target_met_and_the_interval(finished: ProjectFiles) -> None:
    finished.report(
        "metrics",
        headline={"metric": "accuracy", "value": 0.95, "ci95": [0.9, 0.99]},
        metrics={"accuracy": 0.95, "macro_f1": 0.9},
    )
    first = bullets(finished)[0]
    assert "accuracy 0.950 (95% CI 0.900–0.990) against 0.528" in first
    assert ", meeting the accuracy ≥ 0.9 target, aimed to" in first


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda f: f.answers(demo=True), "rendered as a demo"),
        (lambda f: (f.root / "reports" / "metrics.json").unlink(), "they need measured results"),
        (lambda f: f.manifest("sample", 10), "the results come from the built-in sample data"),
        (lambda f: f.report("metrics", sample_data=True), "built-in sample data"),
        (lambda f: f.report("metrics", smoke=True), "from a `--smoke` run"),
        (lambda f: f.report("training", smoke=True), "from a `--smoke` run"),
    ],
    ids=["demo", "no-metrics", "sample-manifest", "sample-metrics", "smoke-eval", "smoke-train"],
)
def test_no_bullets_without_own_measured_results(
    finished: ProjectFiles, setup, reason: str
) -> None:
    setup(finished)
    project = finished.load()
    assert outputs.resume_bullets(project) == []
    assert reason in (outputs.no_resume_reason(project) or "")


def test_the_resume_file_says_why_it_is_empty(files: ProjectFiles) -> None:
    text = outputs.resume(files.load())
    assert text is not None and "_No bullets yet: they need measured results" in text
    assert outputs.resume(files.answers(demo=True).load()) is None


def test_labels_bullet_without_people_keeps_the_quality_check(finished: ProjectFiles) -> None:
    (finished.root / "reports" / "labels.json").unlink()
    assert bullets(finished)[2] == (
        "Checked 240 items for broken files and duplicates (3 duplicate groups caught)."
    )


def test_synthesized_data_is_named_as_such(finished: ProjectFiles) -> None:
    """Mixed in with collected photos, synthesized items are named; synthesized only, the model
    was measured on the synthesizer's scenes: no bullet claims it, the card and blog say so."""
    finished.manifest("synth", 3)
    assert bullets(finished) == []
    project = finished.load()
    assert "synthesized by cut-and-paste, the test split too" in (
        outputs.no_resume_reason(project) or ""
    )
    assert "**Synthesized data.**" in outputs.model_card(project, README)
    assert "**Synthesized data.**" in (outputs.blog_post(project, README) or "")
    assert "Real photographs, before it is measured on them" in outputs.model_card(project, README)
    rows = [
        [f"{s}/{i}.jpg", s, f"g{s}{i}", "2026", "x", "own"]
        for s in ("synth", "folder")
        for i in range(3)
    ]
    finished._csv("data/manifest.csv", ["item", "source", "group", "collected_at", "x", "y"], rows)
    assert (
        "on 6 images (3 synthesized by cut-and-paste, 3 from a folder of photos)"
        in bullets(finished)[0]
    )


def card(files: ProjectFiles, text: str = README) -> tuple[dict, str]:
    written = outputs.model_card(files.load(), text)
    return yaml.safe_load(written.split("---")[1]), written


def test_the_model_card_carries_eval_results_and_licence(finished: ProjectFiles) -> None:
    front, text = card(finished)
    metrics = front["model-index"][0]["results"][0]["metrics"]
    assert {m["type"]: m["value"] for m in metrics} == {"accuracy": 0.8731, "macro_f1": 0.8644}
    assert front["license"] == "mit" and front["pipeline_tag"] == "image-classification"
    assert "accuracy 0.873 on the held-out test split, against 0.528 for the majority" in text
    assert f"Try the Gradio demo on Hugging Face Spaces: {URL}" in text


@pytest.mark.parametrize(
    ("licence", "expected"), [("Apache-2.0", "apache-2.0"), ("proprietary", "other")]
)
def test_the_card_licence_follows_the_answer(
    finished: ProjectFiles, licence: str, expected: str
) -> None:
    assert card(finished.answers(license=licence))[0]["license"] == expected


def test_the_card_names_the_deployed_web_demo(finished: ProjectFiles) -> None:
    _, text = card(finished.report("deploy", ui="web", sdk="static"))
    assert f"Try the web demo on Hugging Face Spaces: {URL}" in text and "Gradio" not in text


def test_the_card_before_any_stage(files: ProjectFiles) -> None:
    front, text = card(files)
    assert "model-index" not in front
    assert "_Not trained yet: run `python -m defect_spotter train`._" in text
    assert "_No results yet: run `python -m defect_spotter evaluate`._" in text
    assert "Try the" not in text


def test_the_card_copies_the_authors_limitations(finished: ProjectFiles) -> None:
    text = README.replace(LIMITATIONS_PLACEHOLDER, "Scratches under 1 mm are missed.")
    assert "## Limitations\n\nScratches under 1 mm are missed." in card(finished, text)[1]
    assert "## Limitations\n\n**TODO (author):**" in card(finished)[1]


def test_the_card_of_a_demo_project_says_so(finished: ProjectFiles) -> None:
    assert "**Demo project.**" in card(finished.answers(demo=True))[1]


def test_the_blog_draft(finished: ProjectFiles) -> None:
    text = outputs.blog_post(finished.load(), README)
    assert text is not None
    assert "accuracy 0.873, against 0.528 for a majority class baseline" in text
    assert "My success target was accuracy ≥ 0.9: not met yet (0.873)." in text
    assert f"The Gradio demo is online: {URL}" in text
    assert "## What I learned\n\n**TODO (author):**" in text
    # One copy group of the known quality report spans two sources: the split is not leak-free,
    # so the draft does not say it is.
    assert "checked them for duplicates and broken files." in text
    assert "no source leaks" not in text


def test_the_blog_claims_leak_free_splits_only_where_true(finished: ProjectFiles) -> None:
    finished.report("quality", duplicates_across_groups=0)
    text = outputs.blog_post(finished.load(), README) or ""
    assert "split them so no source leaks between training and test" in text


def test_no_blog_for_a_demo(finished: ProjectFiles) -> None:
    assert outputs.blog_post(finished.answers(demo=True).load(), README) is None


def test_the_blog_before_any_stage(files: ProjectFiles) -> None:
    text = outputs.blog_post(files.load(), README)
    assert text is not None and "_No data yet: run `python -m defect_spotter collect`._" in text
    assert "_Not online yet: run `pocgen deploy`._" in text


def test_outputs_are_registered_by_path() -> None:
    assert list(outputs.OUTPUTS) == [
        "reports/resume.md",
        "reports/model_card.md",
        "reports/blog_post.md",
    ]
