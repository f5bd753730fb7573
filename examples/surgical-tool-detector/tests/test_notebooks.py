"""The notebooks run top to bottom on the smoke-trained sample project and are stored clean."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

PROJECT_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))


def test_all_three_notebooks_are_there():
    names = [path.name for path in NOTEBOOKS]
    assert names == ["01-explore-data.ipynb", "02-train-evaluate.ipynb", "03-error-analysis.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_stored_without_outputs(path):
    # Outputs in git are noise in diffs and can leak data; nbstripout (pre-commit) removes them.
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_on_the_sample(path, exported_workdir, monkeypatch):
    monkeypatch.setenv("POC_SMOKE", "1")  # every stage in smoke mode: seconds, not minutes
    monkeypatch.setenv("MPLBACKEND", "Agg")  # no window to open
    # The kernel is a separate process: it finds the package through PYTHONPATH even when the
    # project is not pip-installed.
    monkeypatch.setenv("PYTHONPATH", str(PROJECT_ROOT / "src"))
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3",
        resources={"metadata": {"path": str(exported_workdir)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, if a cell fails
