"""The built-in template's identity questions: a project is the user's, or a marked demo.

`pocgen new --defaults` renders the runnable demo and records `demo: true`; anything else needs
the user's own problem, objective, success metric and classes, which have no pre-filled answer.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from conftest import run_pocgen

OWN = {
    "problem": "Bike-share dispatchers re-read every damage photo to decide which bikes to pull",
    "business_objective": "Pull damaged bikes the same day instead of at the weekly check",
    "success_metric": "recall of flat tyre of at least 0.95 on held-out photos",
    "classes": "flat tyre, broken chain",
    "task": "image-classification",
    "target_metric": "class_recall",
    "target_class": "flat tyre",
    "target_value": 0.95,
}


def answers_of(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))


def test_defaults_render_a_demo_that_says_so(tmp_path: Path):
    result = run_pocgen("new", tmp_path / "p", "--defaults")
    assert result.exit_code == 0, result.stderr
    answers = answers_of(tmp_path / "p")
    assert answers["demo"] is True
    assert answers["problem"].startswith("DEMO:")
    # Not the flagship's surgical instruments: shapes the sample data really draws.
    assert answers["classes"] == "ellipse, square, triangle"
    params = yaml.safe_load((tmp_path / "p" / "params.yaml").read_text(encoding="utf-8"))
    assert params["evaluate"]["metric"] == answers["target_metric"] == "map50"


def test_own_answers_make_an_own_project(tmp_path: Path):
    data = tmp_path / "answers.yml"
    data.write_text(yaml.safe_dump(OWN), encoding="utf-8")
    result = run_pocgen("new", tmp_path / "p", "--defaults", "--data-file", data)
    assert result.exit_code == 0, result.stderr
    answers = answers_of(tmp_path / "p")
    assert answers["demo"] is False
    assert {key: answers[key] for key in OWN} == OWN
    params = yaml.safe_load((tmp_path / "p" / "params.yaml").read_text(encoding="utf-8"))
    assert params["evaluate"]["metric"] == "class_recall"
    assert params["evaluate"]["target_class"] == "flat tyre"


@pytest.mark.parametrize("missing", ["business_objective", "success_metric", "classes"])
def test_a_data_file_missing_a_required_answer_fails_in_one_line(tmp_path: Path, missing: str):
    data = tmp_path / "answers.yml"
    data.write_text(yaml.safe_dump({k: v for k, v in OWN.items() if k != missing}))
    result = run_pocgen("new", tmp_path / "p", "--defaults", "--data-file", data)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f'"{missing}" is required' in result.stderr and "--data" in result.stderr
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"success_metric": "accuracy of at least 0.95"}, "must name the chosen metric"),
        ({"success_metric": "recall of broken chain of at least 0.95"}, "the class flat tyre"),
        ({"success_metric": "recall of flat tyre of at least 0.9"}, "the target 0.95"),
        ({"target_class": "puncture"}, "'puncture' is not in"),
    ],
)
def test_the_success_metric_sentence_must_match_the_chosen_metric(
    tmp_path: Path, changes: dict, message: str
):
    data = tmp_path / "answers.yml"
    data.write_text(yaml.safe_dump({**OWN, **changes}), encoding="utf-8")
    result = run_pocgen("new", tmp_path / "p", "--defaults", "--data-file", data)
    assert result.exit_code == 1 and message in result.stderr, result.stderr
    assert not (tmp_path / "p").exists()


def test_a_percentage_states_the_target_too(tmp_path: Path):
    data = tmp_path / "answers.yml"
    sentence = "recall of flat tyre of at least 95% on held-out photos"
    data.write_text(yaml.safe_dump({**OWN, "success_metric": sentence}), encoding="utf-8")
    result = run_pocgen("new", tmp_path / "p", "--defaults", "--data-file", data)
    assert result.exit_code == 0, result.stderr


def test_interactive_prompts_have_no_prefilled_identity(tmp_path: Path):
    """In a terminal, Enter alone on problem, objective, classes or success metric is refused:
    there is no pre-filled answer to keep. The help warns against well-worn topics."""
    import pexpect

    child = pexpect.spawn(
        sys.executable,
        ["-m", "pocgen", "new", str(tmp_path / "p")],
        encoding="utf-8",
        timeout=60,  # the first prompt waits for the template's snapshot
        dimensions=(50, 200),
    )

    def answer(prompt: str, text: str = "", refused: str | None = None) -> None:
        """Wait for `prompt`; when `refused` is given, first press Enter and expect it."""
        child.expect(prompt)
        if refused:
            child.sendline("")
            child.expect(refused)
        if text:
            child.send("\x15")  # clear a pre-filled default first, as a user would with Ctrl-U
        child.sendline(text)

    answer("Project name")
    answer("Repository and folder name")
    answer("Python package name")
    answer("runnable DEMO project")  # Enter: no, my own project
    answer("Your name", "Ana")
    answer("Your email", "ana@example.org")
    answer("What the model does")  # object detection
    child.expect("whose problem is this")
    answer("Titanic", OWN["problem"], refused="Describe the problem in one sentence")
    answer("What the company gains", OWN["business_objective"], refused="State the business")
    answer("Class names", "dent, scratch", refused="classes has an empty name")
    answer("decides success")  # mAP@0.5, the first choice
    answer("The value of that metric")  # 0.9
    answer(
        "The success metric in words",
        "mAP@0.5 of at least 0.9 on held-out photos",
        refused="State the success metric in words",
    )
    for prompt in (
        "Demo app framework",
        "How you label",
        "Where the demo goes online",
        "Hugging Face user",
        "Name of the Space",
        "Jupyter notebooks",
        "Continuous integration",
        "License of the code",
        "Python version",
    ):
        answer(prompt)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    answers = answers_of(tmp_path / "p")
    assert answers["demo"] is False and answers["classes"] == "dent, scratch"
    assert answers["problem"] == OWN["problem"] and answers["author_name"] == "Ana"


def test_name_and_email_default_to_the_git_identity(tmp_path: Path):
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text("[user]\n\tname = Ana Díaz\n\temail = ana@example.org\n")
    env = {"GIT_CONFIG_GLOBAL": str(gitconfig), "GIT_CONFIG_NOSYSTEM": "1"}
    result = run_pocgen("new", tmp_path / "p", "--defaults", cwd=tmp_path, env=env)
    assert result.exit_code == 0, result.stderr
    answers = answers_of(tmp_path / "p")
    assert (answers["author_name"], answers["author_email"]) == ("Ana Díaz", "ana@example.org")
    # No git identity: the placeholders stay, for the user to replace.
    env["GIT_CONFIG_GLOBAL"] = str(tmp_path / "none")
    assert run_pocgen("new", tmp_path / "q", "--defaults", cwd=tmp_path, env=env).exit_code == 0
    assert answers_of(tmp_path / "q")["author_name"] == "Your Name"
