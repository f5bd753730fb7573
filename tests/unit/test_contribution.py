"""What the user built on top of the template, measured against a pristine copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from project_files import ProjectFiles

from pocgen.writeup.contribution import Contribution, compare, credit_settings

pytestmark = pytest.mark.unit


def write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


PRISTINE = {
    "src/pkg/train.py": "a = 1\nb = 2\nc = 3\n",
    "params.yaml": "train:\n  epochs: 10\n  lr: 0.01\n",
    "README.md": "# readme\n",
    ".copier-answers.yml": "task: x\n",
}


def test_an_untouched_copy_has_no_contribution(tmp_path: Path) -> None:
    pristine = write(tmp_path / "pristine", PRISTINE)
    mine = write(tmp_path / "mine", PRISTINE)
    found = compare(mine, pristine)
    assert (found.files_added, found.lines, found.settings) == ([], {}, {})


def test_files_code_and_settings_are_measured(tmp_path: Path) -> None:
    pristine = write(tmp_path / "pristine", PRISTINE)
    mine = write(
        tmp_path / "mine",
        {
            **PRISTINE,
            "src/pkg/train.py": "a = 1\nb = 20\nc = 3\nd = 4\n",
            "src/pkg/augment.py": "FLIP = True\n",
            "params.yaml": "train:\n  epochs: 20\n  lr: 0.01\n  seed: 1\n",
            "docs/notes.md": "notes\n",
            ".copier-answers.yml": "task: y\n",
        },
    )
    found = compare(mine, pristine)
    assert found.files_added == ["src/pkg/augment.py", "docs/notes.md"]  # own code first
    assert found.lines == {"src/pkg/augment.py": (1, 0), "src/pkg/train.py": (2, 1)}
    assert found.settings == {"train.epochs": (10, 20), "train.seed": (None, 1)}


def test_tool_output_is_never_an_added_file(tmp_path: Path) -> None:
    pristine = write(tmp_path / "pristine", PRISTINE)
    extra = {
        f"{folder}/x.txt": "x"
        for folder in (".venv", "__pycache__", "data", "models", "reports", ".pocgen", "dist")
    }
    assert compare(write(tmp_path / "mine", {**PRISTINE, **extra}), pristine).files_added == []


def test_notebook_cells_count_their_source_not_their_outputs(tmp_path: Path) -> None:
    def notebook(source: str, output: str) -> str:
        cell = {"cell_type": "code", "source": source, "outputs": [{"text": output}]}
        return json.dumps({"cells": [cell]})

    pristine = write(tmp_path / "pristine", {"notebooks/n.ipynb": notebook("x = 1", "1")})
    rerun = write(tmp_path / "rerun", {"notebooks/n.ipynb": notebook("x = 1", "2\n3")})
    assert compare(rerun, pristine).lines == {}
    edited = write(tmp_path / "edited", {"notebooks/n.ipynb": notebook("x = 1\ny = 2", "1")})
    assert compare(edited, pristine).lines == {"notebooks/n.ipynb": (1, 0)}


def test_the_count_counts_each_change_once() -> None:
    found = Contribution(
        template="poc",
        files_added=["src/a.py"],
        lines={"src/a.py": (3, 0), "src/b.py": (1, 1)},
        settings={"lr": (0.1, 0.2)},
        experiments=["x"],
        collected={"folder": 3},
        labeled_by_people={"jane": 3},
    )
    assert found.count == 2 + 1 + 1 + 1 + 1 and not found.untouched
    assert (found.lines_added, found.lines_removed) == (4, 1)
    assert Contribution(template="poc").untouched and Contribution(template=None).count == 0


def test_only_what_git_would_track_is_a_file_added(tmp_path: Path) -> None:
    """Today: `pip install -e .` writes src/*.egg-info/, listed as 5 files and +226 code lines,
    and passes the contribution item. Now: the project's .gitignore decides, as git does."""
    ignored = "*.egg-info/\n__pycache__/\n.venv/\n"
    pristine = write(tmp_path / "pristine", {**PRISTINE, ".gitignore": ignored})
    egg = {
        f"src/pkg.egg-info/{name}": "Metadata-Version: 2.1\nName: pkg\n" * 40
        for name in ("PKG-INFO", "SOURCES.txt", "top_level.txt", "requires.txt", "entry.py")
    }
    mine = write(tmp_path / "mine", {**PRISTINE, ".gitignore": ignored, **egg})
    found = compare(mine, pristine)
    assert (found.files_added, found.lines) == ([], {})


def test_empty_files_copies_renames_and_spacing_earn_nothing(tmp_path: Path) -> None:
    pristine = write(tmp_path / "pristine", PRISTINE)
    mine = write(
        tmp_path / "mine",
        {
            "params.yaml": PRISTINE["params.yaml"],
            "README.md": PRISTINE["README.md"],
            ".copier-answers.yml": PRISTINE[".copier-answers.yml"],
            "src/pkg/training.py": PRISTINE["src/pkg/train.py"],  # renamed, nothing else
            "src/pkg/train_copy.py": "a = 1\n\nb  =  2\nc = 3   \n",  # a copy, respaced
            "src/pkg/empty.py": "\n  \n",
            "scripts/notes.txt": "",
        },
    )
    found = compare(mine, pristine)
    assert (found.files_added, found.lines) == ([], {})
    assert found.not_credited == {
        "scripts/notes.txt": "empty",
        "src/pkg/empty.py": "empty",
        "src/pkg/train_copy.py": "renamed from the template's src/pkg/train.py",
        "src/pkg/training.py": "a copy of the template's src/pkg/train.py",
    }
    respaced = write(
        tmp_path / "respaced", {**PRISTINE, "src/pkg/train.py": "a = 1\n\n b = 2\nc = 3  \n"}
    )
    found = compare(respaced, pristine)
    assert found.lines == {} and found.not_credited == {"src/pkg/train.py": "whitespace only"}


def test_a_renamed_and_edited_file_counts_only_its_edit(tmp_path: Path) -> None:
    pristine = write(tmp_path / "pristine", PRISTINE)
    mine = dict(PRISTINE)
    del mine["src/pkg/train.py"]
    mine["src/pkg/fit.py"] = "a = 1\nb = 2\nc = 3\nd = 4\n"
    found = compare(write(tmp_path / "mine", mine), pristine)
    assert found.lines == {"src/pkg/fit.py": (1, 0)}


def test_the_users_own_scripts_are_code_and_come_before_images(tmp_path: Path) -> None:
    pristine = write(tmp_path / "pristine", PRISTINE)
    mine = write(
        tmp_path / "mine",
        {**PRISTINE, "scripts/draw.py": "print('draw')\n", "tools/run.sh": "echo run\n"},
    )
    for index in range(3):
        (mine / "docs").mkdir(exist_ok=True)
        (mine / "docs" / f"a{index}.png").write_bytes(bytes([137, 80, 78, 71, index]))
    found = compare(mine, pristine)
    assert found.files_added == [
        "scripts/draw.py",
        "tools/run.sh",
        "docs/a0.png",
        "docs/a1.png",
        "docs/a2.png",
    ]
    assert found.lines == {"scripts/draw.py": (1, 0), "tools/run.sh": (1, 0)}
    found.template = "poc"
    assert found.count == 2 + 1  # two scripts, and the pictures as one piece of work


def test_settings_count_once_a_recorded_run_used_them(files: ProjectFiles) -> None:
    """A value typed into params.yaml and never run, or one that changes neither the model nor
    its measurement, earns nothing."""
    files.finished().write("params.yaml", "seed: 42\ntrain:\n  epochs: 20\n  workers: 4\n")
    files.lock()
    files.write("params.yaml", "seed: 42\ntrain:\n  epochs: 20\n  workers: 4\n  lr: 0.1\n")
    changed = {
        "train.epochs": (10, 20),
        "train.workers": (0, 4),
        "train.lr": (0.01, 0.1),
        "sample.count": (100, 200),
    }
    credited, not_credited = credit_settings(changed, files.load())
    assert credited == {"train.epochs": (10, 20)}
    assert not_credited == {
        "train.workers": "changes neither the model nor its measurement",
        "train.lr": "no recorded run used it yet",
        "sample.count": "a setting of the built-in sample, which is never your data",
    }
