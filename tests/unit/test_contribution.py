"""What the user built on top of the template, measured against a pristine copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pocgen.writeup.contribution import Contribution, compare

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
