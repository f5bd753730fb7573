"""Every built-in rubric item, in process, on projects written file by file.

Each item grades the work the files record; what the sample, the synthesizer or the template
made is never the user's. The figures are the known artifacts'.
"""

from __future__ import annotations

import io
import re

import jinja2
import pytest
import yaml
from known_artifacts import METRICS, REPO_ROOT, TEMPLATE
from project_files import ProjectFiles
from rich.console import Console

from pocgen.check.grading import Grading
from pocgen.check.items import CHECKS, Context, _template_examples, template_example
from pocgen.check.rubric import rubric_from_data
from pocgen.check.run import grade as grade_rubric
from pocgen.writeup.run import run_writeup

pytestmark = pytest.mark.unit


def documented_reasons() -> dict[str, set[str]]:
    """check -> the reason codes docs/check.md's table lists for it."""
    text = (REPO_ROOT / "docs" / "check.md").read_text(encoding="utf-8")
    table = text.split("### Reason codes", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| (.+) \|$", table, flags=re.MULTILINE)
    return {check: set(re.findall(r"`([a-z0-9-]+)`", codes)) for check, codes in rows}


REASONS = documented_reasons()


def grade(files: ProjectFiles, check: str, threshold: float | None = None, **locked: object):
    """The check's status and evidence; its reason code is one docs/check.md lists for it."""
    verdict = CHECKS[check](Context(files.load(), locked), threshold)
    assert verdict.reason in REASONS[check], (check, verdict.reason, verdict.evidence)
    return verdict.status, verdict.evidence


def test_every_check_documents_its_reason_codes() -> None:
    assert set(REASONS) == set(CHECKS)


def test_data_collected(finished: ProjectFiles) -> None:
    assert grade(finished, "data_collected") == (
        "pass",
        "ok 128, defect 112 (min 50), 240 collected",
    )
    status, evidence = grade(finished, "data_collected", threshold=120)
    assert status == "fail" and evidence == "fewer than 120 per class: defect 112"


def test_data_collected_before_any_data(files: ProjectFiles) -> None:
    assert grade(files, "data_collected") == (
        "fail",
        "no data/manifest.csv: run `python -m defect_spotter collect`",
    )


def test_synthesized_data_warns_and_sample_fails(finished: ProjectFiles) -> None:
    finished.manifest("synth", 240)
    assert grade(finished, "data_collected") == (
        "warn",
        "ok 128, defect 112 (min 50), but all 240 items are synthesized by cut-and-paste, "
        "none collected",
    )
    finished.manifest("sample", 240)
    status, evidence = grade(finished, "data_collected")
    assert status == "fail" and "only the built-in sample" in evidence


def test_sample_items_mixed_into_collected_data_warn(finished: ProjectFiles) -> None:
    rows = [f"folder/{i}.jpg,folder,g{i},1,2,3" for i in range(230)]
    rows += [f"sample/{i}.jpg,sample,s{i},1,2,3" for i in range(10)]
    finished.write("data/manifest.csv", "item,source,group,a,b,c\n" + "\n".join(rows))
    assert grade(finished, "data_collected") == (
        "warn",
        "ok 128, defect 112 (min 50); 230 collected, 10 sample items mixed in",
    )


def test_data_quality(finished: ProjectFiles) -> None:
    assert grade(finished, "data_quality") == (
        "warn",
        "240 items checked, nothing blocking; found 1 exact duplicates, 2 near duplicates",
    )
    finished.report("quality", duplicates_across_groups=0)
    assert grade(finished, "data_quality") == (
        "pass",
        "240 items checked, no problems found; 3 duplicate groups, each inside one source "
        "group (kept in one split)",
    )
    finished.report("quality", blocking=True, blocking_reasons=["2 unreadable files"])
    assert grade(finished, "data_quality") == ("fail", "blocking problems: 2 unreadable files")


def test_data_quality_before_validate(files: ProjectFiles) -> None:
    assert grade(files, "data_quality")[1] == (
        "no reports/data_quality.json: run `python -m defect_spotter validate`"
    )


def test_labels(finished: ProjectFiles) -> None:
    assert grade(finished, "labels") == (
        "pass",
        "240 items by 2 annotator(s); agreement per class: ok 0.810, defect 0.770",
    )
    assert grade(finished, "labels", threshold=0.8) == (
        "warn",
        "240 items by 2 annotator(s); agreement below 0.8: defect 0.770",
    )


def test_labels_without_double_annotations_warn(finished: ProjectFiles) -> None:
    finished.report("labels", agreement={"pairs": 0, "overall": None, "per_class": {"ok": None}})
    assert grade(finished, "labels") == (
        "warn",
        "240 items by 2 annotator(s), but no item has two annotations: agreement unknown",
    )


def test_labels_of_programs_are_not_peoples(finished: ProjectFiles) -> None:
    finished.labels([(f"folder/{i}.jpg", "ok", "folder name") for i in range(3)])
    status, evidence = grade(finished, "labels")
    assert status == "fail" and "names no annotator whose labels are in data/" in evidence
    finished.answers(labeling="none")
    assert grade(finished, "labels") == (
        "warn",
        "labels arrived with the data (`labeling: none`; folder name 3); agreement between "
        "annotators is unknown",
    )


def test_labels_before_a_pull(files: ProjectFiles) -> None:
    files.manifest("folder", 3)
    assert grade(files, "labels") == (
        "fail",
        "no reports/labels.json: label, then run `python -m defect_spotter label pull`",
    )


def test_model_beats_baseline(finished: ProjectFiles) -> None:
    assert grade(finished, "model_beats_baseline") == (
        "warn",
        "accuracy 0.873 vs baseline 0.528; no models/model.onnx: run "
        "`python -m defect_spotter export`",
    )
    finished.write("models/model.onnx", "onnx")
    finished.lock()  # export and evaluate ran on it
    assert grade(finished, "model_beats_baseline") == ("pass", "accuracy 0.873 vs baseline 0.528")
    assert grade(finished, "model_beats_baseline", threshold=0.4)[0] == "fail"


def test_a_smoke_run_never_reaches_a_grade(finished: ProjectFiles) -> None:
    """Today an `evaluate --smoke` run (8 test items) warns, half the credit; now it fails."""
    for name in ("models/model.onnx", "Makefile", "pyproject.toml", "params.yaml"):
        finished.write(name, "x\n")
    finished.report("training", smoke=True)
    for check in ("model_beats_baseline", "success_metric", "reproducible"):
        status, evidence = grade(finished, check, threshold=0.5)
        assert status == "fail" and "from a --smoke run" in evidence, check


def test_edited_metrics_are_never_credited(finished: ProjectFiles) -> None:
    """Today: accuracy 0.000 -> 0.91 by hand passes the model and target items. Now: both fail,
    naming the edit, and so does reproducible."""
    for name in ("models/model.onnx", "Makefile", "pyproject.toml"):
        finished.write(name, "x\n")
    finished.write("params.yaml", "seed: 42\n")
    finished.lock()
    assert grade(finished, "success_metric", threshold=0.85)[0] == "pass"
    path = finished.root / "reports" / "metrics.json"
    path.write_text(path.read_text().replace("0.8731", "0.9100"), encoding="utf-8")
    for check in ("model_beats_baseline", "success_metric", "reproducible"):
        status, evidence = grade(finished, check)
        assert status == "fail", check
        assert evidence == (
            "not credited: reports/metrics.json was changed after `evaluate` wrote it (edited, "
            "or replaced by hand): rerun `python -m defect_spotter evaluate`"
        )


def test_model_without_baseline_or_metrics(files: ProjectFiles) -> None:
    assert grade(files, "model_beats_baseline")[0] == "fail"
    files.report("metrics", baseline={"name": "majority", "metrics": {}})
    assert grade(files, "model_beats_baseline") == (
        "fail",
        "metrics.json has no baseline accuracy: rerun `python -m defect_spotter evaluate`",
    )


def test_success_metric(finished: ProjectFiles) -> None:
    assert grade(finished, "success_metric") == ("fail", "accuracy 0.873, target 0.9")
    assert grade(finished, "success_metric", threshold=0.85) == (
        "pass",
        "accuracy 0.873, target 0.85",
    )


def test_success_metric_not_measured(finished: ProjectFiles) -> None:
    finished.answers(target_metric="class_recall", target_class="defect")
    assert grade(finished, "success_metric")[1] == (
        "metrics.json has no class_recall: rerun `python -m defect_spotter evaluate`"
    )
    finished.answers(target_value=None)
    assert grade(finished, "success_metric")[0] == "fail"


@pytest.mark.parametrize(
    "check",
    [
        "problem_described",
        "fresh_topic",
        "data_collected",
        "labels",
        "model_beats_baseline",
        "success_metric",
        "resume_bullets",
        "placeholders",
        "data_quality",
        "eda",
    ],
)
def test_a_demo_project_passes_no_item_about_its_problem_or_data(
    finished: ProjectFiles, check: str
) -> None:
    finished.answers(demo=True)
    status, evidence = grade(finished, check)
    assert status == "fail" and "a demo project" in evidence


def test_deployed(finished: ProjectFiles) -> None:
    assert grade(finished, "deployed") == (
        "pass",
        "live at https://huggingface.co/spaces/jane/defect-spotter",
    )
    (finished.root / "reports" / "deploy.json").unlink()
    assert grade(finished, "deployed")[0] == "fail"
    finished.answers(deploy="none")
    assert grade(finished, "deployed")[0] == "warn"


def test_problem_described(finished: ProjectFiles) -> None:
    status, evidence = grade(finished, "problem_described")
    assert status == "pass" and evidence.endswith("… target accuracy ≥ 0.9")


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (
            {"success_metric": "recall of at least 0.95 on defective parts"},
            "but `check` measures accuracy (target_metric: accuracy)",
        ),
        (
            {"success_metric": "accuracy of at least 0.8 on held-out parts"},
            "the target is accuracy ≥ 0.9 (target_value)",
        ),
        (
            {
                "target_metric": "class_recall",
                "target_class": "defect",
                "success_metric": "recall of at least 0.9",
            },
            "the target is about the class 'defect' (target_class): name the class",
        ),
        ({"target_value": None}, "no measurable target"),
    ],
)
def test_problem_described_checks_the_sentence(
    finished: ProjectFiles, answers: dict, expected: str
) -> None:
    status, evidence = grade(finished.answers(**answers), "problem_described")
    assert status == "warn" and expected in evidence


@pytest.mark.parametrize(
    "sentence",
    [
        "all objects found in at least 80% of held-out generated pictures",
        "all objects found in at least 0.8 of held-out generated pictures",
    ],
)
def test_the_templates_own_wording_passes(finished: ProjectFiles, sentence: str) -> None:
    """copier.yml's demo wording for all_found_rate is a success sentence `check` accepts."""
    finished.answers(
        task="object-detection",
        target_metric="all_found_rate",
        target_value=0.8,
        success_metric=sentence,
    )
    assert grade(finished, "problem_described")[0] == "pass"


def demo_wordings() -> list[tuple[str, str, float]]:
    """(target_metric, target_value, the sentence copier.yml writes for a demo project), for
    every metric the template offers and two targets: the wording students start from."""
    config = yaml.safe_load((TEMPLATE / "copier.yml").read_text(encoding="utf-8"))
    metrics = re.findall(r":\s*(\w+)\s*$", config["target_metric"]["choices"], re.MULTILINE)
    default = jinja2.Environment().from_string(config["success_metric"]["default"])
    return [
        (
            metric,
            value,
            default.render(
                demo=True,
                target_metric=metric,
                target_value=value,
                target_class="defect",
                target_precision=0.8,
            ),
        )
        for metric in dict.fromkeys(metrics)
        for value in (0.9, 0.85)
    ]


@pytest.mark.parametrize(("metric", "value", "sentence"), demo_wordings())
def test_the_templates_demo_wording_passes_its_own_rubric(
    finished: ProjectFiles, metric: str, value: float, sentence: str
) -> None:
    """A student who keeps the template's own success sentence (with their own problem) is not
    warned that it names another metric or target (issue #23: all_found_rate's wording did)."""
    finished.answers(
        target_metric=metric, target_value=value, target_class="defect", success_metric=sentence
    )
    status, evidence = grade(finished, "problem_described")
    assert status == "pass", (sentence, evidence)


def test_problem_not_stated(finished: ProjectFiles) -> None:
    finished.answers(business_objective="  ", success_metric=None)
    assert grade(finished, "problem_described") == (
        "fail",
        "not stated: business_objective, success_metric",
    )


def test_fresh_topic(finished: ProjectFiles) -> None:
    assert grade(finished, "fresh_topic") == (
        "pass",
        "not a well-worn tutorial topic: Defect Spotter",
    )
    finished.answers(project_name="Titanic Survival")
    assert grade(finished, "fresh_topic") == (
        "fail",
        "looks like Titanic survival, a well-worn tutorial topic",
    )


def test_the_templates_example_problem_is_not_the_users(finished: ProjectFiles) -> None:
    example = _template_examples()[0]
    assert template_example(example) and template_example(f"In short: {example}")
    assert template_example("A bakery bins a tray of sourdough every week.") is None
    finished.answers(problem=example)
    status, evidence = grade(finished, "fresh_topic")
    assert status == "fail" and "the template's own example" in evidence
    assert grade(finished, "problem_described")[0] == "fail"


def test_reproducible(finished: ProjectFiles) -> None:
    status, evidence = grade(finished, "reproducible")
    assert status == "fail" and evidence.startswith("missing: params.yaml, Makefile")
    for name in ("Makefile", "pyproject.toml"):
        finished.write(name, "x\n")
    finished.write("params.yaml", "seed: 42\n")
    finished.lock()
    # The data are not here (as in a clone): bound by the records, evaluate not run again.
    assert grade(finished, "reproducible") == (
        "pass",
        "consistent with the committed model, split and settings (reports/pipeline.lock); "
        "evaluate not run again (the data are not in this copy); code at commit 4f2c9e1",
    )
    finished.report("training", git_commit=None).report("metrics", training={})
    assert grade(finished, "reproducible")[0] == "warn"
    (finished.root / "reports" / "pipeline.lock").unlink()
    status, evidence = grade(finished, "reproducible")
    assert status == "fail" and evidence.startswith("not credited: no reports/pipeline.lock")


def test_own_contribution_without_a_recorded_template(finished: ProjectFiles) -> None:
    status, evidence = grade(finished, "own_contribution", threshold=2)
    assert status == "pass" and evidence.startswith("2 changes (0 files added")
    assert "files and code not compared" in evidence
    assert grade(finished, "own_contribution")[0] == "fail"  # default threshold 3


def test_experiments_compared(finished: ProjectFiles) -> None:
    finished.write("reports/experiments/scratch.json", METRICS)
    assert grade(finished, "experiments_compared")[0] == "fail"
    head = {"metric": "accuracy", "value": 0.9}
    pretrained = {**METRICS["model"], "pretrained": True}
    finished.write(
        "reports/experiments/pretrained.json", dict(METRICS, headline=head, model=pretrained)
    )
    assert grade(finished, "experiments_compared") == (
        "pass",
        "2 experiments compared: pretrained accuracy 0.900, scratch accuracy 0.873",
    )
    other = {"metric": "macro_f1", "value": 0.8}
    epochs = {**METRICS["training"], "epochs": 30}
    finished.write("reports/experiments/other.json", dict(METRICS, headline=other, training=epochs))
    assert grade(finished, "experiments_compared")[0] == "warn"


def test_duplicate_and_smoke_experiments_do_not_count(finished: ProjectFiles) -> None:
    """Today two byte-identical copies of one run pass "at least 2 experiments". Now they are
    one experiment; a rerun with the same settings and a smoke run do not count either."""
    finished.write("reports/experiments/a.json", METRICS)
    finished.write("reports/experiments/b.json", METRICS)
    finished.write("reports/experiments/c.json", dict(METRICS, created_at="2027-01-01"))
    finished.write("reports/experiments/d.json", dict(METRICS, smoke=True, test_size=8))
    status, evidence = grade(finished, "experiments_compared")
    assert status == "fail"
    assert evidence.startswith(
        "1 distinct experiments in reports/experiments/ (min 2); not counted: b (the same "
        "recorded settings as `a`), c (the same recorded settings as `a`), d (a --smoke run)"
    )


def test_environment_locked(finished: ProjectFiles) -> None:
    assert grade(finished, "environment_locked")[0] == "fail"
    finished.write("uv.lock", "version = 1\n")
    assert grade(finished, "environment_locked")[0] == "warn"
    finished.write(".github/workflows/ci.yml", "run: uv sync --locked  # uv.lock\n")
    assert grade(finished, "environment_locked") == ("pass", "uv.lock, used by CI (ci.yml)")


def test_container(finished: ProjectFiles) -> None:
    assert grade(finished, "container") == ("fail", "no Dockerfile")
    finished.write("requirements.lock", "onnxruntime\n")
    finished.write(
        "Dockerfile",
        "FROM python:3.11-slim\nCOPY requirements.lock ./\nRUN pip install -r requirements.lock\n"
        'CMD ["python", "app/gradio_app.py"]\n',
    )
    status, evidence = grade(finished, "container")
    assert status == "pass" and "FROM python:3.11-slim, runs `python app/gradio_app.py`" in evidence
    finished.write("Dockerfile", "FROM python:3.11-slim\nCOPY models/ /app/\nRUNN x\n")
    status, evidence = grade(finished, "container")
    assert "line 3: unknown instruction RUNN" in evidence
    assert "line 2: COPY source models/ does not exist yet (run the pipeline)" in evidence


def test_course_answers(finished: ProjectFiles) -> None:
    assert grade(finished, "course_answers") == ("pass", "no answers locked")
    assert grade(finished, "course_answers", task="image-classification") == (
        "pass",
        "locked answers unchanged: task",
    )
    assert grade(finished, "course_answers", task="text-classification") == (
        "fail",
        "locked answers changed: task='image-classification' (course: 'text-classification')",
    )


def notebook(files: ProjectFiles, printed: str | None) -> None:
    cell = {"cell_type": "code", "source": "print(summary)", "metadata": {}, "outputs": []}
    if printed is not None:
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": printed}]
    files.write("notebooks/01-explore-data.ipynb", {"cells": [cell], "nbformat": 4})


@pytest.mark.parametrize(
    ("printed", "status", "evidence"),
    [
        (None, "fail", "notebooks/01-explore-data.ipynb was never run"),
        ("24 items, sample data: True\n", "fail", "was last run on the built-in sample"),
        ("12 items\n", "warn", "none shows the project's 240 items"),
        ("240 items, sample data: False\n", "pass", "run on the project's 240 items"),
    ],
)
def test_eda(finished: ProjectFiles, printed: str | None, status: str, evidence: str) -> None:
    assert grade(finished, "eda") == ("fail", "no exploration notebook (notebooks/*explore*.ipynb)")
    notebook(finished, printed)
    found = grade(finished, "eda")
    assert found[0] == status and evidence in found[1]


def test_placeholders(finished: ProjectFiles) -> None:
    assert grade(finished, "placeholders") == (
        "fail",
        "no reports/model_card.md: run `pocgen writeup`",
    )
    run_writeup(finished.root)
    status, evidence = grade(finished, "placeholders")
    assert status == "fail" and "reports/model_card.md line" in evidence
    finished.authors_sections("Scratches under 1 mm are missed.", learned="Lighting mattered.")
    run_writeup(finished.root)
    assert grade(finished, "placeholders") == (
        "pass",
        "model card and blog draft hold no placeholder",
    )


def test_resume_bullets(finished: ProjectFiles) -> None:
    assert grade(finished, "resume_bullets") == (
        "fail",
        "no reports/resume.md: run `pocgen writeup`",
    )
    run_writeup(finished.root)
    status, evidence = grade(finished, "resume_bullets")
    assert status == "pass" and evidence.startswith("3 bullets: Built an image classification")
    assert grade(finished, "resume_bullets", threshold=4)[0] == "fail"


def test_writeup_fresh(finished: ProjectFiles) -> None:
    status, evidence = grade(finished, "writeup_fresh")
    assert status == "fail" and evidence.startswith("stale sections: problem, data")
    run_writeup(finished.root)
    assert grade(finished, "writeup_fresh") == (
        "fail",
        "empty sections: Limitations (yours to write), Next steps (yours to write)",
    )


def test_writeup_fresh_waiting_only_for_the_deploy(finished: ProjectFiles) -> None:
    (finished.root / "reports" / "deploy.json").unlink()
    finished.authors_sections("Few.", next_steps="More photos.")
    run_writeup(finished.root)
    assert grade(finished, "writeup_fresh") == (
        "pass",
        "8 sections fresh, none empty; demo awaits `pocgen deploy` (graded by `deployed`)",
    )


def test_an_unreadable_readme_fails_its_item_not_the_whole_check(finished: ProjectFiles) -> None:
    (finished.root / "README.md").write_bytes(b"# Caf\xe9\n")
    status, evidence = grade(finished, "writeup_fresh")
    assert status == "fail" and "README.md is not UTF-8 text (byte 5)" in evidence


def test_probes_that_need_nothing_to_run(files: ProjectFiles) -> None:
    """The items that start the project's code fail at once when there is nothing to start."""
    assert grade(files, "app_starts") == (
        "fail",
        "no models/model.onnx for the app: run `python -m defect_spotter export`",
    )
    assert grade(files, "tests_pass") == ("fail", "no tests/ folder")
    assert grade(files, "notebooks_execute") == ("fail", "no notebooks/*.ipynb found")
    files.answers(notebooks=False)
    assert grade(files, "notebooks_execute")[0] == "warn"


def test_an_exploration_notebook_that_is_not_json_reads_as_never_run(
    finished: ProjectFiles,
) -> None:
    finished.write("notebooks/01-explore-data.ipynb", "not json")
    assert "was never run" in grade(finished, "eda")[1]


def test_one_context_runs_each_check_once_for_several_rubrics(
    finished: ProjectFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Grading one project against two rubrics starts its probes once (the untouched project's
    test grades both built-in rubrics this way)."""
    calls: list[float | None] = []
    deployed = CHECKS["deployed"]
    monkeypatch.setitem(CHECKS, "deployed", lambda ctx, t: calls.append(t) or deployed(ctx, t))
    context = Context(finished.load())
    for name in ("one", "two"):
        rubric = rubric_from_data(
            {"name": name, "items": [{"id": "d", "title": "D", "weight": 1, "check": "deployed"}]},
            f"{name}.yaml",
        )
        report = grade_rubric(context, Grading(rubric), console=Console(file=io.StringIO()))
        assert report.passed and report.score == 1
    assert calls == [None]


def test_synthesized_only_results_prove_the_pipeline_not_the_model(finished: ProjectFiles) -> None:
    """Every item made by `collect synth`, the test split too: the results, the deploy and the
    resume earn nothing (the data and labels items warn, as synthesized)."""
    for name in ("models/model.onnx", "Makefile", "pyproject.toml", "params.yaml"):
        finished.write(name, "x\n")
    finished.manifest("synth", 240).lock()
    for check in ("model_beats_baseline", "success_metric", "reproducible", "deployed"):
        status, evidence = grade(finished, check, threshold=0.5)
        assert status == "fail", check
        assert "every item was synthesized by cut-and-paste, the test split too" in evidence


def test_a_deployed_demo_of_the_sample_earns_nothing(finished: ProjectFiles) -> None:
    finished.manifest("sample", 20)
    status, evidence = grade(finished, "deployed")
    assert status == "fail" and evidence.startswith(
        "live at https://huggingface.co/spaces/jane/defect-spotter, but the data are only the "
        "built-in sample"
    )
