"""`pocgen new` killed, interrupted or handed odd names: one line, and nothing left behind
(issue 18).

A `new` killed with SIGKILL cannot clean up, so the next `new` beside it removes the staging
folder of a process it can prove dead (its lock is free), and finishes a `--force` write the
dead one had committed to. Ctrl-C says truthfully whether the project was written. Names a user
or a template chose (`[/x]`, an escape sequence) are printed as text.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import FIXTURES, run_pocgen
from containment_harness import assert_one_line_refusal, write_template

from pocgen.errors import Interrupted, PocgenError
from pocgen.templating import RenderOptions, create_project, staging

MINI = FIXTURES / "copier-mini"


def slow_template(root: Path) -> Path:
    """A Copier template whose task sleeps, so a test can kill `new` while it renders."""
    (root / "template").mkdir(parents=True)
    (root / "copier.yml").write_text("_subdirectory: template\n_tasks:\n  - sleep 60\n")
    (root / "template" / "big.txt").write_text("rendered before the kill\n")
    return root


def start_new(dest: Path, template: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pocgen",
            "new",
            str(dest),
            "-t",
            str(template),
            "--defaults",
            *args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for(folder: Path, name: str) -> None:
    deadline = time.monotonic() + 60
    while not list(folder.rglob(name)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(folder.rglob(name)), f"{name} never appeared"


def test_a_killed_new_leaves_a_staging_folder_the_next_new_removes(tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    process = start_new(out / "p", slow_template(tmp_path / "slow"), "--trust")
    wait_for(out, "big.txt")
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert [path.name.startswith(".pocgen-staging-") for path in out.iterdir()] == [True]

    result = run_pocgen("new", out / "q", "-t", MINI, "--defaults")

    assert result.exit_code == 0, result.stderr
    assert sorted(path.name for path in out.iterdir()) == ["q"]


def test_the_staging_folder_of_a_running_new_is_left_alone(tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    process = start_new(out / "p", slow_template(tmp_path / "slow"), "--trust")
    try:
        wait_for(out, "big.txt")
        result = run_pocgen("new", out / "q", "-t", MINI, "--defaults")
        assert result.exit_code == 0, result.stderr
        assert list(out.rglob("big.txt")), "the running render's folder was removed"
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def test_a_killed_force_write_leaves_the_folder_as_it_was(tmp_path: Path):
    dest = tmp_path / "mine"
    dest.mkdir()
    (dest / "README.md").write_text("my own notes\n")
    process = start_new(dest, slow_template(tmp_path / "slow"), "--trust", "--force")
    wait_for(tmp_path, "big.txt")
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert sorted(path.name for path in dest.iterdir()) == ["README.md"]
    assert (dest / "README.md").read_text() == "my own notes\n"


def test_a_force_write_stopped_after_its_commit_point_is_finished_by_the_next_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The state a kill between two renames leaves (here a rename that fails): the plan is
    committed, some files moved. The next `new` beside it moves the rest, then renders."""
    dest = tmp_path / "mine"
    dest.mkdir()
    (dest / "notes.md").write_text("kept\n")
    real_replace, calls = os.replace, []

    def replace_then_fail(source, target):
        calls.append(target)
        if len(calls) == 3:  # the plan's commit rename, one file, then the failure
            raise OSError(5, "Input/output error", str(target))
        real_replace(source, target)

    monkeypatch.setattr(staging.os, "replace", replace_then_fail)
    with pytest.raises(PocgenError, match="only partly written .* run the same `pocgen new`"):
        create_project(dest, str(MINI), options=RenderOptions(defaults=True), force=True)
    monkeypatch.setattr(staging.os, "replace", real_replace)
    assert len([p for p in tmp_path.iterdir() if p.name.startswith(".pocgen-staging-")]) == 1

    result = run_pocgen("new", tmp_path / "other", "-t", MINI, "--defaults")

    assert result.exit_code == 0, result.stderr
    assert f"finished writing {dest}" in result.stderr
    assert {"README.md", "main.py", ".copier-answers.yml", "notes.md"} <= {
        path.name for path in dest.iterdir()
    }
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".pocgen-staging-")]


def test_a_planted_staging_folder_moves_nothing(tmp_path: Path):
    """A staging folder with a plan that arrived in an archive: this machine never wrote it,
    so the next `new` leaves it (and the file it aims at) alone."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    planted = tmp_path / ".pocgen-staging-planted"
    (planted / "render" / "p").mkdir(parents=True)
    (planted / "render" / "p" / "victim.txt").write_text("overwritten\n")
    (planted / "pocgen.lock").write_text("1\n")
    plan = f'{{"dest": "{tmp_path}", "rendered": "p", "names": ["victim.txt"]}}'
    (planted / "plan.json").write_text(plan)

    result = run_pocgen("new", tmp_path / "q", "-t", MINI, "--defaults")

    assert result.exit_code == 0, result.stderr
    assert victim.read_text() == "precious\n"
    assert planted.is_dir()


@pytest.mark.unit
def test_ctrl_c_after_the_project_was_written_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    real_move = staging.move_into_place

    def moved_then_interrupted(*args):
        real_move(*args)
        raise KeyboardInterrupt

    monkeypatch.setattr(staging, "move_into_place", moved_then_interrupted)
    dest = tmp_path / "mine"
    dest.mkdir()
    (dest / "notes.md").write_text("kept\n")
    with pytest.raises(Interrupted, match="after .* was written: the project is complete"):
        create_project(dest, str(MINI), options=RenderOptions(defaults=True), force=True)
    assert (dest / "README.md").is_file()


@pytest.mark.unit
def test_ctrl_c_before_anything_was_written_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(staging, "move_into_place", interrupted)
    with pytest.raises(Interrupted, match="nothing was written"):
        create_project(tmp_path / "p", str(MINI), options=RenderOptions(defaults=True))
    assert list(tmp_path.iterdir()) == []


# --- names printed as text -----------------------------------------------------------------------


def test_a_destination_that_looks_like_markup_is_printed_as_text(tmp_path: Path):
    dest = tmp_path / "[/x]"
    result = run_pocgen("new", dest, "-t", MINI, "--defaults")
    assert result.exit_code == 0, result.stderr
    assert f"Created {dest}" in result.stdout

    refused = run_pocgen("new", tmp_path / "[/y]", "-t", tmp_path / "[/nowhere]")
    assert_one_line_refusal(refused, "[/nowhere]")


def test_a_file_name_with_an_escape_sequence_is_printed_escaped(tmp_path: Path):
    template = write_template(
        tmp_path / "t",
        {"project_slug": "p", "name": "red\x1b[31mtext"},
        {"{{cookiecutter.project_slug}}/{{cookiecutter.name}}.md": "x\n"},
    )
    result = run_pocgen("new", tmp_path / "p", "-t", template, "--defaults", "--pretend")
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout and "red\\x1b[31mtext.md" in result.stdout


def test_a_data_file_that_is_not_utf8_is_one_line(tmp_path: Path):
    answers = tmp_path / "answers.yml"
    answers.write_bytes("project_name: Caf\xe9\n".encode("latin-1"))
    result = run_pocgen("new", tmp_path / "p", "--data-file", answers, "--defaults")
    assert_one_line_refusal(result, "is not UTF-8 text", "save it as UTF-8")
    assert not (tmp_path / "p").exists()


def test_the_printed_cd_is_shell_quoted(tmp_path: Path):
    dest = tmp_path / "Mon Projet"
    result = run_pocgen("new", dest, "-t", MINI, "--defaults")
    assert result.exit_code == 0, result.stderr
    assert f"cd '{dest}'" in result.stdout
