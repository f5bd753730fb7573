"""`pocgen check` grades the work, not the files.

What the template, the built-in sample or the synthesizer produced is never credited as the
user's: an untouched `--defaults` project scores at most a quarter on both built-in rubrics, and
each check names why an item fails. Projects come from the real template with known artifacts
(known_artifacts.py); the untouched one runs its real smoke pipeline.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from conftest import REPO_ROOT, run_pocgen
from known_artifacts import METRICS, render, write_json, write_known_artifacts
from rich.console import Console
from smoke_project import SMOKE_STAGES, run_stage
from test_check import grade, project_importable, stages, write_tickets

from pocgen.check.grading import Grading
from pocgen.check.rubric import builtin_rubrics, load_rubric
from pocgen.check.run import grade as grade_context
from pocgen.project import load_project
from pocgen.writeup.run import run_writeup

OWN_PROBLEM = (
    "A bakery bins a tray of sourdough every week because nobody can tell by eye when the dough "
    "has finished proofing."
)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("work") / "defect-spotter", problem=OWN_PROBLEM)


@pytest.fixture
def finished(rendered: Path, tmp_path: Path) -> Path:
    project = Path(shutil.copytree(rendered, tmp_path / "defect-spotter"))
    write_known_artifacts(project)
    return project


def rubric_of(tmp_path: Path, *checks: str, threshold: float | None = None) -> Path:
    """A rubric with one item per check, named like the check."""
    extra = f", threshold: {threshold}" if threshold is not None else ""
    path = tmp_path / "rubric.yaml"
    path.write_text(
        "items:\n"
        + "".join(
            f"  - {{id: {name}, title: {name}, weight: 1, check: {name}{extra}}}\n"
            for name in checks
        ),
        encoding="utf-8",
    )
    return path


def verdicts(project: Path, rubric: Path) -> dict[str, tuple[str, str]]:
    _, report = grade(project, str(rubric))
    return {item["check"]: (item["status"], item["evidence"]) for item in report["items"]}


def set_answer(project: Path, key: str, value: object) -> None:
    path = project / ".copier-answers.yml"
    answers = yaml.safe_load(path.read_text(encoding="utf-8"))
    answers[key] = value
    path.write_text(yaml.safe_dump(answers), encoding="utf-8")


def write_manifest(project: Path, source: str, n: int = 240) -> None:
    rows = "".join(f"{source}/{i}.jpg,{source},g{i},2026,x,own\n" for i in range(n))
    (project / "data" / "manifest.csv").write_text(
        "item,source,group,collected_at,original_path,license_note\n" + rows, encoding="utf-8"
    )


def editable_install(project: Path) -> None:
    """What `pip install -e .` leaves in the project: setuptools' egg-info, written by setuptools
    itself (src/<package>.egg-info/, five files), nothing installed anywhere."""
    script = "import setuptools, sys; sys.argv = ['setup.py', 'egg_info']; setuptools.setup()"
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=project, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert list((project / "src").glob("*.egg-info/PKG-INFO"))


@pytest.mark.training
def test_untouched_defaults_project_scores_at_most_a_quarter(tmp_path: Path) -> None:
    """`pocgen new --defaults`, `pip install -e .`, its smoke pipeline and `pocgen writeup`: every
    shipped rubric gives <= 25%. Today the egg-info alone was "5 files added" and lifted the path
    rubric to 6/22 (27%); now git's view of the files leaves it out.

    One context grades both, so the project's tests, notebooks and app run once."""
    project = tmp_path / "untouched"
    assert run_pocgen("new", project, "--defaults").exit_code == 0
    editable_install(project)
    for stage in SMOKE_STAGES:
        run_stage(project, *stage)
    run_writeup(project)
    gradings = [Grading(load_rubric(rubric)) for rubric in sorted(builtin_rubrics())]
    context = gradings[0].context(load_project(project))
    assert context.contribution.untouched and not context.contribution.files_added
    for grading in gradings:
        with project_importable():
            report = grade_context(context, grading, console=Console(file=io.StringIO()))
        share = report.score / report.max_score
        passing = [item.id for item in report.items if item.status != "fail"]
        assert not report.passed and share <= 0.25, (grading.rubric.name, report.score, passing)


def best_possible_share(project: Path, rubric: str) -> tuple[float, dict[str, str]]:
    """The most `project` can score on `rubric`: graded with --static, every item that runs the
    project's code (its tests, notebooks, demo apps) counted as passed. A bound, so a project
    held under it is held under it by the real grade too, without running its test suite."""
    grading = Grading(load_rubric(rubric), static=True)
    report = grade_context(
        grading.context(load_project(project)), grading, console=Console(file=io.StringIO())
    )
    skipped = sum(item.weight for item in report.items if item.status == "skip")
    best = (report.score + skipped) / (report.max_score + skipped)
    return best, {item.id: f"{item.status}: {item.evidence}" for item in report.items}


@pytest.mark.training
def test_a_lazy_project_on_the_sample_scores_at_most_two_fifths(tmp_path: Path) -> None:
    """Own answers, the built-in sample, no code, nothing written by hand: `make pipeline` (a
    text project: the whole pipeline trains in seconds) and `pocgen writeup`."""
    project = render(tmp_path / "ticket-router", task="text-classification")
    completed = subprocess.run(
        ["make", "pipeline", f"PYTHON={sys.executable}"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": "src"},
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    run_writeup(project)
    for rubric in sorted(builtin_rubrics()):
        share, items = best_possible_share(project, rubric)
        assert share <= 0.4, (rubric, share, items)


def draw_cutouts_and_backgrounds(folder: Path, classes: list[str]) -> tuple[Path, Path]:
    """What a lazy user pastes: one flat shape per class on transparency, plain noisy tables."""
    from PIL import Image, ImageDraw

    cutouts, backgrounds = folder / "cutouts", folder / "backgrounds"
    for index, name in enumerate(classes):
        (cutouts / name).mkdir(parents=True)
        for variant in range(3):
            image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
            shape = ImageDraw.Draw(image).ellipse if index % 2 else ImageDraw.Draw(image).rectangle
            shape((8, 8 + variant * 4, 56, 56), fill=(200, 40 * index, 60 * variant, 255))
            image.save(cutouts / name / f"{variant}.png")
    backgrounds.mkdir(parents=True)
    for index in range(6):
        colour = (30 * index, 120, 200 - 20 * index)
        Image.new("RGB", (256, 256), colour).save(backgrounds / f"table{index}.jpg")
    return cutouts, backgrounds


@pytest.mark.training
def test_a_lazy_project_on_synthesized_data_scores_at_most_two_fifths(tmp_path: Path) -> None:
    """Own answers, images synthesized by cut-and-paste (`collect synth`), the whole pipeline
    (not --smoke) and `pocgen writeup`, no code: the model is measured on the synthesizer's
    scenes only, which proves the pipeline, not the model."""
    project = render(tmp_path / "defect-spotter")
    cutouts, backgrounds = draw_cutouts_and_backgrounds(tmp_path / "drawn", ["ok", "defect"])
    collect = ["collect", "synth", "--cutouts", str(cutouts), "--backgrounds", str(backgrounds)]
    run_stage(project, *collect, "--count", "60")
    for stage in ("validate", "split", "train", "export", "evaluate"):
        run_stage(project, stage)
    run_writeup(project)
    loaded = load_project(project)
    assert loaded.synth_only and loaded.results_withheld is None and not loaded.smoke
    for rubric in sorted(builtin_rubrics()):
        share, items = best_possible_share(project, rubric)
        assert share <= 0.4, (rubric, share, items)


@pytest.mark.parametrize(
    ("check", "reason"),
    [
        ("problem_described", "a demo project"),
        ("fresh_topic", "a demo project"),
        ("data_collected", "a demo project"),
        ("labels", "a demo project"),
        ("model_beats_baseline", "a demo project"),
        ("success_metric", "a demo project"),
        ("resume_bullets", "a demo project"),
        ("placeholders", "a demo project"),
    ],
)
def test_a_demo_project_passes_no_item_about_the_problem_or_data(
    finished: Path, tmp_path: Path, check: str, reason: str
) -> None:
    set_answer(finished, "demo", True)
    status, evidence = verdicts(finished, rubric_of(tmp_path, check))[check]
    assert status == "fail" and reason in evidence


def test_sample_data_fails_data_labels_and_results_saying_why(
    finished: Path, tmp_path: Path
) -> None:
    write_manifest(finished, "sample")
    (finished / "data" / "splits").mkdir(parents=True, exist_ok=True)
    (finished / "data" / "splits" / "train.csv").write_text("path,label,group\n")
    checks = (
        "data_collected",
        "data_quality",
        "labels",
        "model_beats_baseline",
        "success_metric",
        "eda",
        "reproducible",
    )
    found = verdicts(finished, rubric_of(tmp_path, *checks))
    for check in checks:
        status, evidence = found[check]
        assert status == "fail" and "only the built-in sample" in evidence, (check, evidence)


def test_synthesized_data_counts_only_as_synthesized(finished: Path, tmp_path: Path) -> None:
    write_manifest(finished, "synth")
    status, evidence = verdicts(finished, rubric_of(tmp_path, "data_collected"))["data_collected"]
    assert status == "warn"
    assert evidence == (
        "ok 128, defect 112 (min 50), but all 240 items are synthesized by cut-and-paste, "
        "none collected"
    )


def test_the_templates_own_example_is_a_worn_topic(tmp_path: Path) -> None:
    """The template's example problems (its defaults, for any task) fail, reworded or not."""
    from pocgen.check.items import _template_examples

    example = _template_examples()[0]
    rubric = rubric_of(tmp_path, "fresh_topic")
    project = render(tmp_path / "example", problem=example)
    status, evidence = verdicts(project, rubric)["fresh_topic"]
    assert status == "fail" and "the template's own example" in evidence
    reworded = render(tmp_path / "reworded", problem=f"In short: {example} It costs money.")
    assert verdicts(reworded, rubric)["fresh_topic"][0] == "fail"
    own = render(tmp_path / "own", problem=OWN_PROBLEM)
    assert verdicts(own, rubric)["fresh_topic"][0] == "pass"


def test_own_contribution_has_a_threshold(finished: Path, tmp_path: Path) -> None:
    """Collected data and labels by people count one each; a file added makes three."""
    (finished / "src" / "defect_spotter" / "augment.py").write_text("FLIP = True\n")
    found = verdicts(finished, rubric_of(tmp_path, "own_contribution", threshold=3))
    assert found["own_contribution"] == (
        "pass",
        "3 changes (1 files added, 1 code files changed (+1 −0), 0 settings changed, "
        "0 experiments, 240 items collected, 240 labeled by people; against poc), min 3",
    )
    found = verdicts(finished, rubric_of(tmp_path, "own_contribution", threshold=4))
    assert found["own_contribution"][0] == "fail"


def test_placeholders_in_model_card_and_blog_fail_until_written(
    finished: Path, tmp_path: Path
) -> None:
    rubric = rubric_of(tmp_path, "placeholders")
    assert verdicts(finished, rubric)["placeholders"] == (
        "fail",
        "no reports/model_card.md: run `pocgen writeup`",
    )
    run_writeup(finished)
    status, evidence = verdicts(finished, rubric)["placeholders"]
    assert status == "fail" and "reports/model_card.md line" in evidence
    assert "reports/blog_post.md line" in evidence
    readme = finished / "README.md"
    readme.write_text(
        readme.read_text(encoding="utf-8").replace(
            "_Write what this model does not do well, and where its data falls short._",
            "Scratches under 1 mm are missed.",
        )
        + "\n## What I learned\n\nLighting mattered more than the model.\n",
        encoding="utf-8",
    )
    run_writeup(finished)
    assert verdicts(finished, rubric)["placeholders"][0] == "pass"
    card = (finished / "reports" / "model_card.md").read_text(encoding="utf-8")
    assert "Scratches under 1 mm are missed." in card


def test_at_least_two_experiments_compared(finished: Path, tmp_path: Path) -> None:
    rubric = rubric_of(tmp_path, "experiments_compared")
    experiments = finished / "reports" / "experiments"
    write_json(experiments / "scratch.json", METRICS)
    assert verdicts(finished, rubric)["experiments_compared"][0] == "fail"
    # The second run differs in a recorded setting (the weights it started from): it counts.
    pretrained = {**METRICS["model"], "pretrained": True}
    write_json(
        experiments / "pretrained.json",
        dict(METRICS, headline={"metric": "accuracy", "value": 0.9}, model=pretrained),
    )
    assert verdicts(finished, rubric)["experiments_compared"] == (
        "pass",
        "2 experiments compared: pretrained accuracy 0.900, scratch accuracy 0.873",
    )
    wider = {**METRICS["model"], "name": "wider-cnn"}
    write_json(
        experiments / "other.json",
        dict(METRICS, headline={"metric": "macro_f1", "value": 0.8}, model=wider),
    )
    assert verdicts(finished, rubric)["experiments_compared"][0] == "warn"


def test_environment_locked_needs_a_lock_file_that_ci_uses(finished: Path, tmp_path: Path) -> None:
    rubric = rubric_of(tmp_path, "environment_locked")
    for name in ("requirements.lock", "uv.lock"):
        (finished / name).unlink(missing_ok=True)
    assert verdicts(finished, rubric)["environment_locked"][0] == "fail"
    (finished / "uv.lock").write_text("version = 1\n", encoding="utf-8")
    workflow = next((finished / ".github" / "workflows").glob("*.yml"))
    text = workflow.read_text(encoding="utf-8").replace("uv.lock", "")
    workflow.write_text(text, encoding="utf-8")
    assert verdicts(finished, rubric)["environment_locked"][0] == "warn"
    workflow.write_text(text + "# uv sync --locked (uv.lock)\n", encoding="utf-8")
    assert verdicts(finished, rubric)["environment_locked"] == (
        "pass",
        f"uv.lock, used by CI ({workflow.name})",
    )


def docker_works() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    probe = subprocess.run([docker, "info"], capture_output=True, timeout=30)
    return probe.returncode == 0


def test_container_runs_the_demo(finished: Path, tmp_path: Path) -> None:
    """A valid Dockerfile passes; a broken one fails, naming the line. Where Docker runs, the
    valid one is also built; elsewhere it is validated with Docker's own parser only."""
    rubric = rubric_of(tmp_path, "container")
    dockerfile = finished / "Dockerfile"
    (finished / "requirements.lock").write_text("onnxruntime\n", encoding="utf-8")
    dockerfile.write_text(
        "FROM python:3.11-slim\nWORKDIR /app\nCOPY requirements.lock ./\n"
        "RUN pip install -r requirements.lock\nCOPY app/ app/\n"
        'CMD ["python", "app/gradio_app.py"]\n',
        encoding="utf-8",
    )
    status, evidence = verdicts(finished, rubric)["container"]
    assert status == "pass" and "FROM python:3.11-slim, runs `python app/gradio_app.py`" in evidence
    if docker_works():
        build = subprocess.run(
            ["docker", "build", "-q", str(finished)], capture_output=True, text=True
        )
        assert build.returncode == 0, build.stderr
    dockerfile.write_text("FROM python:3.11-slim\nCOPY missing.txt /app/\nRUNN x\n")
    status, evidence = verdicts(finished, rubric)["container"]
    assert status == "fail"
    assert "line 3: unknown instruction RUNN" in evidence
    assert "line 2: COPY source missing.txt does not exist" in evidence
    assert "no CMD or ENTRYPOINT" in evidence


def explore_notebook(project: Path, printed: str | None) -> None:
    """notebooks/01-explore-data.ipynb as saved after a run printing `printed` (None: never run)."""
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(summary)")
    if printed is not None:
        cell.execution_count = 1
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)]
    notebook.cells = [cell]
    (project / "notebooks").mkdir(exist_ok=True)
    nbformat.write(notebook, project / "notebooks" / "01-explore-data.ipynb")


@pytest.mark.parametrize(
    ("printed", "status", "evidence"),
    [
        (None, "fail", "notebooks/01-explore-data.ipynb was never run"),
        ("24 items, sample data: True\n", "fail", "was last run on the built-in sample"),
        ("12 items\n", "warn", "none shows the project's 240 items"),
        (
            "240 items, sample data: False\n",
            "pass",
            "reports/data_quality.json and notebooks/01-explore-data.ipynb, run on the "
            "project's 240 items",
        ),
    ],
)
def test_eda_needs_a_notebook_run_on_the_users_data(
    finished: Path, tmp_path: Path, printed: str | None, status: str, evidence: str
) -> None:
    for old in (finished / "notebooks").glob("*.ipynb"):
        old.unlink()
    explore_notebook(finished, printed)
    found = verdicts(finished, rubric_of(tmp_path, "eda"))["eda"]
    assert found[0] == status and evidence in found[1], found


def test_notebooks_run_with_the_projects_venv_which_lacks_a_package(
    finished: Path, tmp_path: Path
) -> None:
    """A project .venv without Jupyter: named as the environment's gap, not the notebook's."""
    for old in (finished / "notebooks").glob("*.ipynb"):
        old.unlink()
    explore_notebook(finished, None)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(finished / ".venv")])
    status, evidence = verdicts(finished, rubric_of(tmp_path, "notebooks_execute"))[
        "notebooks_execute"
    ]
    assert status == "fail"
    assert evidence.startswith(
        "the project's .venv/bin/python lacks the package `nbformat` the notebooks need "
        "(not a fault of the notebooks)"
    )


@pytest.mark.parametrize("name", ["path", "ml-course"])
def test_built_in_rubrics_carry_the_new_items(name: str) -> None:
    from pocgen.check.rubric import load_rubric

    items = {item.check: item for item in load_rubric(name).items}
    assert items["own_contribution"].threshold == 3
    assert items["experiments_compared"].threshold == 2
    assert {"environment_locked", "container"} <= set(items)


def test_success_metric_sentence_is_checked_against_the_chosen_metric(
    finished: Path, tmp_path: Path
) -> None:
    rubric = rubric_of(tmp_path, "problem_described")
    assert verdicts(finished, rubric)["problem_described"][0] == "pass"
    set_answer(finished, "success_metric", "recall of at least 0.95 on defective parts")
    status, evidence = verdicts(finished, rubric)["problem_described"]
    assert status == "warn"
    assert "but `check` measures accuracy (target_metric: accuracy)" in evidence
    set_answer(finished, "success_metric", "accuracy of at least 0.8 on held-out parts")
    status, evidence = verdicts(finished, rubric)["problem_described"]
    assert status == "warn" and "the target is accuracy ≥ 0.9 (target_value)" in evidence


@pytest.mark.training
def test_fake_diligence_passes_neither_contribution_nor_experiments(tmp_path: Path) -> None:
    """Own tickets and the whole pipeline, then diligence faked: an editable install, a
    cosmetic setting run, another never run, a renamed test file, empty files, a file
    respaced, and three copies of one run as "experiments". Today that passes both items; now
    each fake is listed as not counted."""
    project = render(
        tmp_path / "ticket-router", task="text-classification", project_name="Ticket Router"
    )
    tickets = write_tickets(tmp_path / "tickets.csv")
    collect = ["collect", "text", str(tickets), "--label-column", "label"]
    pipeline = [["validate"], ["split"], ["train"], ["export"], ["evaluate"]]
    stages(project, [*collect, "--license-note", "written for this test"], *pipeline)
    editable_install(project)
    params = project / "params.yaml"
    settings = yaml.safe_load(params.read_text(encoding="utf-8"))
    settings["evaluate"]["examples"] += 4  # a bigger figure: the metrics do not move
    params.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    stages(project, ["evaluate"])
    settings["train"]["max_iter"] += 1000  # typed in, never run
    params.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    tests = project / "tests"
    (tests / "test_predict.py").rename(tests / "test_prediction.py")
    (project / "src" / "ticket_router" / "helpers.py").write_text("\n", encoding="utf-8")
    (project / "NOTES.md").write_text("", encoding="utf-8")
    train = project / "src" / "ticket_router" / "train.py"
    train.write_text(train.read_text(encoding="utf-8").replace("\n\n", "\n\n\n"), "utf-8")
    experiments = project / "reports" / "experiments"
    experiments.mkdir()
    metrics = (project / "reports" / "metrics.json").read_text(encoding="utf-8")
    for name in ("baseline-run", "tuned-run"):
        (experiments / f"{name}.json").write_text(metrics, encoding="utf-8")
    (experiments / "final-run.json").write_text(
        metrics.replace('"created_at": "', '"created_at": "1'), encoding="utf-8"
    )
    found = verdicts(project, rubric_of(tmp_path, "own_contribution", "experiments_compared"))
    status, evidence = found["own_contribution"]
    assert status == "fail", evidence
    assert evidence.startswith(
        "2 changes (0 files added, 0 code files changed (+0 −0), 0 settings changed, "
        "1 experiments, 180 items collected, 0 labeled by people, 8 not counted"
    )
    status, evidence = found["experiments_compared"]
    assert status == "fail" and evidence.startswith(
        "1 distinct experiments in reports/experiments/ (min 2); not counted: final-run (the "
        "same recorded settings as `baseline-run`), tuned-run (the same recorded settings as "
        "`baseline-run`)"
    )
    run_writeup(project)
    contribution = (project / "README.md").read_text(encoding="utf-8")
    for fake in (
        "`NOTES.md` (empty)",
        "`src/ticket_router/helpers.py` (empty)",
        "`tests/test_prediction.py` (renamed from the template's tests/test_predict.py)",
        "`src/ticket_router/train.py` (whitespace only)",
        "`evaluate.examples` (changes neither the model nor its measurement)",
        "`train.max_iter` (the recorded run used 2000: rerun the pipeline)",
    ):
        assert fake in contribution, fake


def test_a_renamed_copy_of_the_flagship_is_recognised(tmp_path: Path) -> None:
    """Today a copy of the flagship under another name and author grades as that author's work.
    Now `own_contribution` recognises it by cohort.py's fingerprints; the flagship itself, graded
    where it ships, is not a copy of itself."""
    flagship = REPO_ROOT / "examples" / "surgical-tool-detector"
    copy = Path(shutil.copytree(flagship, tmp_path / "instrument-finder"))
    set_answer(copy, "project_name", "Instrument Finder")
    set_answer(copy, "author_name", "Someone Else")
    rubric = rubric_of(tmp_path, "own_contribution")
    status, evidence = verdicts(copy, rubric)["own_contribution"]
    assert status == "fail" and evidence.startswith(
        "a copy of the shipped flagship (examples/surgical-tool-detector): "
    )
    assert verdicts(flagship, rubric)["own_contribution"][0] == "pass"
