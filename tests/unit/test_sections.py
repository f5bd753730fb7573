"""Each README section builder turns the project's records into sentences, and nothing else.

The figures are the known artifacts' (known_artifacts.py); each test names the exact text it
expects, and what the section waits for when a file is missing.
"""

from __future__ import annotations

import re

import pytest
from known_artifacts import METRICS
from project_files import ProjectFiles

from pocgen.writeup import sections
from pocgen.writeup.contribution import Contribution
from pocgen.writeup.sections import contribution_rows

pytestmark = pytest.mark.unit


def test_problem_states_the_answers_and_the_target(files: ProjectFiles) -> None:
    body = sections.problem(files.load()).body
    assert "**Problem.** Line inspectors at a small factory" in body
    assert "**Business objective.** Catch defective parts" in body
    assert (
        "**Success metric.** Accuracy of at least 0.9 on a held-out test set (`pocgen check` "
        "compares accuracy on the test split with 0.9)."
    ) in body
    assert "**Task.** Image classification with 2 classes: `ok`, `defect`." in body
    assert "Demo project" not in body


def test_problem_of_a_demo_says_so(files: ProjectFiles) -> None:
    assert "> **Demo project.**" in sections.problem(files.answers(demo=True).load()).body


def test_problem_without_a_target_states_no_comparison(files: ProjectFiles) -> None:
    body = sections.problem(files.answers(target_value=None).load()).body
    assert "`pocgen check` compares" not in body


def test_data_states_sources_splits_quality_and_labels(finished: ProjectFiles) -> None:
    section = sections.data(finished.load())
    body = section.body
    assert "**Data.** 240 images: 240 from a folder of photos;" in body
    assert "| `ok` | 90 | 19 | 19 | 128 |" in body
    assert "| **total** | 168 | 36 | 36 | 240 |" in body
    assert "| exact-duplicate groups | 1 |" in body and "| near-duplicate groups | 2 |" in body
    assert "No blocking problems." in body
    assert "Agreement over 40 doubly labeled items: Cohen's kappa 0.792." in body
    assert "| `ok` | 0.810 | 40 |" in body
    assert (
        "**Labels.** 240 items labeled in Label Studio by 2 annotators "
        "(`python -m defect_spotter label pull`): jane (200), omar (40)."
    ) in body
    assert section.waiting == []


def test_data_before_any_stage_names_the_commands(files: ProjectFiles) -> None:
    section = sections.data(files.load())
    assert section.waiting == [
        "python -m defect_spotter sample",
        "python -m defect_spotter split",
        "python -m defect_spotter validate",
        "python -m defect_spotter label pull",
    ]
    assert not re.search(r"\d\.\d", section.body)


def test_data_of_the_sample_says_so(files: ProjectFiles) -> None:
    body = sections.data(files.manifest("sample", 12).load()).body
    assert "> **Sample data.** All 12 images are the built-in sample" in body


def test_sample_items_mixed_in_are_counted(files: ProjectFiles) -> None:
    rows = "item,source,group,a,b,c\n" + "a.jpg,folder,g,1,2,3\nb.jpg,sample,h,1,2,3\n"
    files.write("data/manifest.csv", rows)
    assert "> 1 built-in sample items are still mixed in." in sections.data(files.load()).body


def test_an_unknown_source_is_named_as_such(files: ProjectFiles) -> None:
    files.write("data/manifest.csv", "item,source,group,a,b,c\na.jpg,scanner,g,1,2,3\n")
    assert "1 from source `scanner`" in sections.data(files.load()).body


def test_blocking_problems_are_listed(files: ProjectFiles) -> None:
    files.report("quality", blocking=True, blocking_reasons=["3 unreadable files", "no labels"])
    body = sections.data(files.load()).body
    assert "**Blocking problems:** 3 unreadable files; no labels." in body


def test_quality_rows_follow_the_task(files: ProjectFiles) -> None:
    files.report("quality", bad_boxes=[{"item": "a.jpg"}], empty_texts=["t"])
    detection = sections.data(files.answers(task="object-detection").load()).body
    assert "| boxes outside the image or empty | 1 |" in detection
    text = sections.data(files.answers(task="text-classification").load()).body
    assert "| empty texts | 1 |" in text and "too small" not in text


@pytest.mark.parametrize(
    ("annotator", "phrase"),
    [
        ("sample", "3 labels came with the built-in sample"),
        ("synthesizer", "3 labels measured by the cut-and-paste synthesizer"),
        ("folder name", "3 labels taken from the names of the folders the photos came in"),
        ("imported from t.csv", "3 labels imported from t.csv (`python -m defect_spotter collect"),
        ("jane", "3 labels by `jane`, not pulled from Label Studio"),
    ],
)
def test_labels_made_otherwise_say_how(files: ProjectFiles, annotator: str, phrase: str) -> None:
    files.labels([(f"{i}.jpg", "ok", annotator) for i in range(3)])
    section = sections.data(files.load())
    assert f"**Labels.** {phrase}" in section.body
    assert "python -m defect_spotter label pull" not in section.waiting


def test_labels_without_label_studio_await_nothing(files: ProjectFiles) -> None:
    section = sections.data(files.answers(labeling="none").load())
    assert "**Labels.** No labels recorded yet (`data/labels.csv`)." in section.body


def test_agreement_without_double_annotations(files: ProjectFiles) -> None:
    files.finished().report(
        "labels",
        agreement={"pairs": 0, "overall": None, "per_class": {"ok": None}},
        rejected=[{"task": 1, "item": "a.jpg", "reason": "label 'x'"}],
    )
    body = sections.data(files.load()).body
    assert "1 annotations rejected (labels outside the classes)." in body
    assert "Agreement: no item has two annotations yet" in body


def test_model_states_the_record(finished: ProjectFiles) -> None:
    body = sections.model(finished.load()).body
    assert "| architecture | `small-cnn` |" in body and "| parameters | 91,234 |" in body
    assert "| training time | 5 min 1 s, 12 epochs |" in body
    assert "| hardware | 2 CPU cores (x86_64) / cpu |" in body
    assert "| weights | trained from scratch |" in body and "| git commit | `4f2c9e1` |" in body
    assert "Training loss (`train_loss`) went from 0.693 (epoch 1) to 0.217 (epoch 12)" in body
    assert "`lr=0.003`" in body and "Smoke run" not in body


def test_model_before_training(files: ProjectFiles) -> None:
    assert sections.model(files.load()).waiting == ["python -m defect_spotter train"]


def test_model_of_a_smoke_run_says_so(files: ProjectFiles) -> None:
    files.report("training", smoke=True, history=[{"epoch": 1, "train_loss": 0.7}])
    body = sections.model(files.load()).body
    assert (
        "> **Smoke run.**" in body and "Training loss (`train_loss`) after epoch 1: 0.700." in body
    )


def test_model_from_metrics_alone_awaits_the_training_log(files: ProjectFiles) -> None:
    section = sections.model(files.report("metrics").load())
    assert "| architecture | `small-cnn` |" in section.body
    assert section.waiting == ["python -m defect_spotter train"]


def test_results_table(finished: ProjectFiles) -> None:
    body = sections.results(finished.load()).body
    assert "| accuracy (headline) | **0.873** | 0.528 | ≥ 0.9: **not met** |" in body
    assert "| macro-F1 | **0.864** | 0.346 |  |" in body
    assert "| `ok` | 0.901 | 0.842 | 0.871 | 19 |" in body
    assert "On the held-out test split (36 items)" in body
    assert "3.4 ms per item on average, p95 5.8 ms, with onnxruntime on 2 CPU cores" in body
    assert "![Confusion matrix on the test split](reports/figures/confusion_matrix.png)" in body
    assert "app_gradio" not in body


def test_results_with_interval_warnings_and_a_met_target(files: ProjectFiles) -> None:
    files.report(
        "metrics",
        headline={"metric": "accuracy", "value": 0.95, "ci95": [0.9, 0.99]},
        metrics={"accuracy": 0.95, "macro_f1": None},
        warnings=["only 36 test items"],
        sample_data=True,
    )
    body = sections.results(files.load()).body
    assert "| accuracy (headline) | **0.950** | 0.528 | ≥ 0.9: **met** |" in body
    assert "| macro-F1 | – | 0.346 |  |" in body
    assert "95% bootstrap interval of the accuracy: 0.900 to 0.990" in body
    assert "> **Caution.** Only 36 test items" in body
    assert body.startswith("> **Sample data.**")


def test_results_before_evaluate(files: ProjectFiles) -> None:
    section = sections.results(files.load())
    assert section.waiting == ["python -m defect_spotter evaluate"]


def test_results_without_figures_await_evaluate(files: ProjectFiles) -> None:
    section = sections.results(files.report("metrics").load())
    assert section.waiting == ["python -m defect_spotter evaluate"]


@pytest.mark.parametrize(
    ("ui", "sdk", "named"),
    [
        ("gradio", "gradio", "Gradio"),
        ("web", "static", "web"),
        ("streamlit", "docker", "Streamlit"),
    ],
)
def test_demo_names_the_demo_that_was_deployed(
    files: ProjectFiles, ui: str, sdk: str, named: str
) -> None:
    """The answers say gradio; what counts is reports/deploy.json."""
    files.answers(ui="gradio").report("deploy", ui=ui, sdk=sdk)
    body = sections.demo(files.load()).body
    url = "https://huggingface.co/spaces/jane/defect-spotter"
    assert f"**Live demo:** {url} (the {named} demo, sdk {sdk}" in body
    assert "open-in-hf-spaces" in body


def test_demo_not_deployed(files: ProjectFiles) -> None:
    section = sections.demo(files.load())
    assert section.waiting == ["pocgen deploy"] and "Gradio" not in section.body
    body = sections.demo(files.answers(deploy="none").load()).body
    assert "Not deployed (`deploy: none`)" in body


def test_demo_shows_screenshots(finished: ProjectFiles) -> None:
    body = sections.demo(finished.load()).body
    assert "![The Gradio demo making a prediction](reports/figures/app_gradio.png)" in body
    assert "saves a screenshot" not in body


def test_reproduce_names_commit_seed_and_the_data_command(finished: ProjectFiles) -> None:
    body = sections.reproduce(finished.load()).body
    assert (
        "The results above are consistent with the committed model, split and settings, seed "
        "42 and code at commit `4f2c9e1`;" in body
    )
    assert "python -m defect_spotter collect --help   # bring your own data" in body
    assert "python -m defect_spotter label pull   # after labeling" in body


def test_reproduce_before_anything_ran(files: ProjectFiles) -> None:
    body = sections.reproduce(files.answers(labeling="none").load()).body
    assert "python -m defect_spotter sample   # the generated sample data" in body
    assert "label pull" not in body and body.endswith(
        "Every setting lives in `params.yaml`, and each stage records the files it read and "
        "wrote and the settings it used in `reports/pipeline.lock`."
    )


def test_decisions_against_the_baseline(finished: ProjectFiles) -> None:
    body = sections.decisions(finished.load()).body
    assert "`small-cnn`: accuracy 0.873 | majority class: 0.528" in body
    assert "`defect` is the weakest class (F1 0.857)" in body
    assert 'what does that gap mean for the goal, "Catch defective parts' in body
    assert "_No variants measured yet" in body


def test_decisions_when_the_baseline_wins(files: ProjectFiles) -> None:
    files.report("metrics", headline={"metric": "accuracy", "value": 0.5})
    body = sections.decisions(files.load()).body
    assert "`small-cnn` does not beat the majority class baseline yet (0.500 against 0.528" in body


def test_decisions_with_variants(files: ProjectFiles) -> None:
    files.report("metrics")
    files.write("reports/experiments/scratch.json", METRICS)
    pretrained = dict(METRICS, model={"name": "resnet18", "pretrained": True})
    files.write("reports/experiments/pretrained.json", pretrained)
    body = sections.decisions(files.load()).body
    assert "| `pretrained` | `resnet18` | pretrained | accuracy 0.873 | 5 min 1 s |" in body
    assert "| pretrained against from scratch | from scratch | both measured" in body


def test_decisions_before_evaluate(files: ProjectFiles) -> None:
    assert sections.decisions(files.load()).waiting == ["python -m defect_spotter evaluate"]


def test_contribution_rows_list_each_kind_of_change() -> None:
    found = Contribution(
        template="poc",
        files_added=[f"src/f{i}.py" for i in range(10)],
        lines={"src/a.py": (3, 1)},
        settings={"train.epochs": (10, 20)},
        experiments=["a", "b"],
        collected={"folder": 30},
        labeled_by_people={"jane": 20},
    )
    rows = dict((what, measured) for what, measured in contribution_rows(found))
    assert rows["files added"].startswith("10: `src/f0.py`") and rows["files added"].endswith(
        "and 2 more"
    )
    assert rows["code lines changed (spacing and blank lines not counted)"] == (
        "+3 −1 in 1 files: `src/a.py (+3 −1)`"
    )
    assert rows["settings changed in `params.yaml` and used by a recorded run"] == (
        "`train.epochs: 10 → 20`"
    )
    assert rows["data collected (`data/manifest.csv`)"] == "30: 30 from a folder of photos"
    assert rows["labels made by people (Label Studio, `reports/labels.json`)"] == (
        "20 items: jane 20"
    )


def test_contribution_of_nothing_measured_says_so() -> None:
    assert contribution_rows(Contribution(template="poc")) == []


def test_contribution_when_the_template_is_not_recorded(files: ProjectFiles) -> None:
    body = sections.contribution(files.load()).body
    assert body.startswith(
        "Files and code are not compared: the answers file does not say which template"
    )
    assert "_Say in your own words" in body


def test_every_section_is_registered() -> None:
    assert list(sections.SECTIONS) == [
        "problem",
        "data",
        "model",
        "results",
        "demo",
        "reproduce",
        "decisions",
        "contribution",
    ]
