"""An update interrupted at any moment (Ctrl-C or kill -9) leaves the old tree, or the new one with
every edit: never a mix, never a lost edit, `_commit` always matching the files."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from conftest import commit_all, git, git_init, run_pocgen

POINTS = 6  # interrupt times per signal, spread evenly over one measured update
USER_EDITS = {
    "README.md": ["Line one, edited by me,", "A paragraph I added."],
    "main.py": ["# my comment on greet()"],
    "notes.md": ["my own notes"],
    "params.yaml": ["epochs: 3  # tuned by me"],
}


def _template_v2(repo: Path) -> None:
    """v2 changes a line of README.md and main.py and adds two files."""
    folder = repo / "template"
    readme = folder / "README.md.jinja"
    readme.write_text(readme.read_text().replace("Line three", "Line three, improved in v2,"))
    main = folder / "main.py.jinja"
    main.write_text(main.read_text() + "\n\nVERSION = 2\n")
    (folder / "CHANGELOG.md").write_text("Added in v2.\n")
    (folder / "docs").mkdir()
    (folder / "docs" / "guide.md").write_text("A guide, new in v2.\n")


def _project_with_edits(tmp_path: Path, repo: Path) -> Path:
    project = tmp_path / "original"
    made = run_pocgen("new", project, "-t", f"file://{repo}", "-r", "v1", "--defaults")
    assert made.exit_code == 0, made.stderr
    (project / "params.yaml").write_text("epochs: 1\n")
    git_init(project)
    commit_all(project, "generated at v1")
    readme = project / "README.md"
    readme.write_text(
        readme.read_text().replace("Line one", "A paragraph I added.\n\nLine one, edited by me,")
    )
    (project / "main.py").write_text(
        (project / "main.py").read_text().replace("def ", "# my comment on greet()\ndef ", 1)
    )
    (project / "notes.md").write_text("my own notes\n")
    (project / "params.yaml").write_text("epochs: 3  # tuned by me\n")
    commit_all(project, "my edits")
    return project


def _update(project: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pocgen", "update", str(project)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1"},
    )


def _assert_old_or_new(project: Path) -> str:
    """Every user edit is there, and the tree is wholly v1 or wholly v2; returns which."""
    for name, lines in USER_EDITS.items():
        text = (project / name).read_text()
        for line in lines:
            assert line in text, f"{name} lost the user's line {line!r}"
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    v2_files = [
        "Line three, improved in v2," in (project / "README.md").read_text(),
        "VERSION = 2" in (project / "main.py").read_text(),
        (project / "CHANGELOG.md").is_file(),
        (project / "docs" / "guide.md").is_file(),
    ]
    changed = git(project, "status", "--short", "--untracked-files=all").split("\n")
    changed = sorted(line[3:] for line in changed if line)
    if answers["_commit"] == "v1":
        assert not any(v2_files), "old version recorded, but some v2 files arrived"
        assert changed == [], changed
        return "old"
    assert answers["_commit"] == "v2"
    assert all(v2_files), "new version recorded, but some v2 files are missing"
    assert changed == [
        ".copier-answers.yml",
        "CHANGELOG.md",
        "README.md",
        "docs/guide.md",
        "main.py",
    ], changed
    return "new"


def test_update_interrupted_at_any_moment_keeps_every_edit(tmp_path: Path, versioned_template):
    repo = versioned_template("copier-mini", _template_v2)
    original = _project_with_edits(tmp_path, repo)

    measured = tmp_path / "measured"
    shutil.copytree(original, measured, symlinks=True)
    started = time.monotonic()
    assert _update(measured).wait(timeout=120) == 0
    duration = time.monotonic() - started
    assert _assert_old_or_new(measured) == "new"

    outcomes = []
    for number in (signal.SIGINT, signal.SIGKILL):
        for point in range(1, POINTS + 1):
            project = tmp_path / f"{number.name}-{point}"
            shutil.copytree(original, project, symlinks=True)
            process = _update(project)
            time.sleep(duration * point / (POINTS + 1))
            process.send_signal(number)
            process.wait(timeout=120)
            # A kill after the commit point leaves a journal in .git; the next update finishes it.
            if (project / ".git" / "pocgen-update" / "plan.json").exists():
                assert run_pocgen("update", project).exit_code == 0
            outcomes.append(_assert_old_or_new(project))
            assert not list((project / ".git").glob("pocgen-update*")) or number == signal.SIGKILL
    assert "old" in outcomes  # the interrupts did land while the update was running
