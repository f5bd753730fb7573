"""The notebooks run top to bottom on the smoke-trained sample project and are stored clean."""

import asyncio
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The numbered notebooks run here; train-on-colab.ipynb needs a GPU and the Hugging Face Hub.
NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("[0-9]*.ipynb"))


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


@pytest.fixture(scope="module")
def notebook_errors(
    exported_project: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, BaseException | None]:
    """Run every notebook top to bottom, each in its own kernel and its own copy of the project.

    A kernel is a separate process, so the three run side by side: the wait is about that of the
    slowest notebook, not of all three. Returns, per notebook, the error it raised (or None).
    """

    async def execute(path: Path) -> None:
        folder = tmp_path_factory.mktemp(path.stem)
        shutil.copytree(exported_project, folder, dirs_exist_ok=True)
        notebook = nbformat.read(path, as_version=4)
        # Three kernels share the machine: on 2 busy cores one can take over a minute just to
        # answer its first message, so it gets the same patience as a cell (nbclient's is 60 s).
        client = NotebookClient(
            notebook,
            timeout=300,
            startup_timeout=300,
            kernel_name="python3",
            resources={"metadata": {"path": str(folder)}},
        )
        await client.async_execute()

    async def execute_all() -> list[BaseException | None]:
        return await asyncio.gather(*map(execute, NOTEBOOKS), return_exceptions=True)

    with pytest.MonkeyPatch.context() as patch:  # the kernels inherit this environment
        patch.setenv("POC_SMOKE", "1")  # every stage in smoke mode: seconds, not minutes
        patch.setenv("MPLBACKEND", "Agg")  # no window to open
        # The kernel finds the package through PYTHONPATH even when the project is not
        # pip-installed.
        patch.setenv("PYTHONPATH", str(PROJECT_ROOT / "src"))
        errors = asyncio.run(execute_all())
    return {path.stem: error for path, error in zip(NOTEBOOKS, errors, strict=True)}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_on_the_sample(path, notebook_errors):
    error = notebook_errors[path.stem]
    if error is not None:
        raise error  # a CellExecutionError names the failing cell and shows its traceback
