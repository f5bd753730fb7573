"""Grading an instructor can trust: `--static` runs nothing of the student's, a failing command
shows the end of its output, evidence does not change between runs, and a class copied from the
flagship or left untouched is flagged by the cohort report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import yaml
from conftest import run_pocgen
from known_artifacts import REPO_ROOT, render

SCHEMA = json.loads((REPO_ROOT / "src/pocgen/check/schemas/check.schema.json").read_text())
FLAGSHIP = REPO_ROOT / "examples" / "surgical-tool-detector"
RUBRIC = """
name: trust
items:
  - {id: topic, title: Fresh topic, weight: 1, check: fresh_topic}
  - {id: tests, title: Tests pass, weight: 2, check: tests_pass}
  - {id: notebooks, title: Notebooks run, weight: 1, check: notebooks_execute}
  - {id: marker, title: Runs a command, weight: 1, command: "touch ran-by-the-grader"}
  - id: noisy
    title: A command that fails loudly
    weight: 1
    required: false
    command: >-
      python -c "import sys; [print('step', i) for i in range(30)];
      print('boom: the model file is missing', file=sys.stderr); sys.exit(2)"
"""


def grade(*args: str | Path) -> tuple[int, dict]:
    result = run_pocgen("check", *args, "--json", env={"PYTHONPATH": "src"})
    assert "Traceback" not in result.stderr, result.stderr
    report = json.loads(result.stdout)
    jsonschema.validate(report, SCHEMA)
    return result.exit_code, report


def by_id(report: dict) -> dict[str, dict]:
    return {item["id"]: item for item in report["items"]}


def test_static_grading_runs_nothing_of_the_project(tmp_path: Path) -> None:
    project = render(tmp_path / "ticket-router", task="text-classification", notebooks=False)
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text(RUBRIC, encoding="utf-8")
    code, report = grade(project, "--rubric", rubric, "--static")
    items = by_id(report)
    assert code == 0 and report["static"] is True
    assert {i: items[i]["status"] for i in items} == {
        "topic": "pass",
        "tests": "skip",
        "notebooks": "skip",
        "marker": "skip",
        "noisy": "skip",
    }
    assert items["tests"]["reason"] == "static" and items["tests"]["score"] == 0
    assert report["max_score"] == 1 and report["counts"]["skip"] == 4
    assert not (project / "ran-by-the-grader").exists()


def test_a_failing_command_shows_its_output_and_evidence_is_stable(tmp_path: Path) -> None:
    project = render(tmp_path / "ticket-router", task="text-classification", notebooks=False)
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text(RUBRIC.replace("check: tests_pass", "check: fresh_topic"))
    code, first = grade(project, "--rubric", rubric)
    items = by_id(first)
    assert (project / "ran-by-the-grader").exists()
    noisy = items["noisy"]
    assert (noisy["status"], noisy["reason"]) == ("fail", "command-failed")
    assert noisy["evidence"] == "exit code 2: boom: the model file is missing"
    tail = noisy["output_tail"].splitlines()
    assert tail[-1] == "boom: the model file is missing" and tail[-2] == "step 29"
    assert len(tail) == 20  # the last lines, not the whole output
    assert (items["notebooks"]["status"], items["notebooks"]["reason"]) == (
        "warn",
        "notebooks-off",
    )
    assert items["marker"]["output_tail"] is None and items["marker"]["reason"] == "command-passed"
    # Graded again: the same verdicts, word for word.
    _, second = grade(project, "--rubric", rubric)
    assert second["items"] == first["items"]
    assert second["rubric"]["sha256"] == first["rubric"]["sha256"]
    table = run_pocgen("check", project, "--rubric", rubric)
    assert "step 29" in table.stdout and "boom" in table.stdout


def test_copies_of_the_flagship_and_untouched_projects_are_flagged(tmp_path: Path) -> None:
    # The flagship handed in under another author's name, and a project nobody worked on.
    copycat = tmp_path / "surgical-tool-detector"
    shutil.copytree(FLAGSHIP, copycat, ignore=shutil.ignore_patterns("data", "models"))
    answers_file = copycat / ".copier-answers.yml"
    answers = yaml.safe_load(answers_file.read_text(encoding="utf-8"))
    answers |= {"author_name": "Casey Copier", "author_email": "casey@example.edu"}
    answers_file.write_text(yaml.safe_dump(answers), encoding="utf-8")
    untouched = tmp_path / "bread-proofing"
    data = ["--data", "problem=Bakers guess when sourdough has proofed and bake flat loaves"]
    data += ["--data", "business_objective=Bake every loaf at the right moment"]
    data += ["--data", "success_metric=accuracy of at least 0.9 on held-out photos"]
    data += ["--data", "classes=underproofed, proofed", "--data", "task=image-classification"]
    assert run_pocgen("new", untouched, "--defaults", *data).exit_code == 0
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text(
        "items:\n  - {id: topic, title: Fresh topic, weight: 1, check: fresh_topic}\n"
    )

    code, batch = grade("--rubric", rubric, copycat, untouched, "--static", "--workers", "2")
    cohort = batch["cohort"]
    matches = {(Path(m["project"]).name, m["reference"]): m for m in cohort["matches"]}
    assert set(matches) == {(copycat.name, "flagship"), (untouched.name, "template")}, matches
    assert matches[(copycat.name, "flagship")]["similarity"] >= 0.9
    assert not cohort["flagged_pairs"] and cohort["flagship_not_compared"] is None
    written = {Path(p["project"]).name: p["written_lines"] for p in cohort["projects"]}
    assert written[untouched.name] == 0 and written[copycat.name] > 100
    assert code == 0 and batch["passed"] is True  # the rubric itself does not look at copies
