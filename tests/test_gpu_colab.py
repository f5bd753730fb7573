"""The Colab route: `notebooks/train-on-colab.ipynb` in every image project, run top to bottom with
nbclient on the CPU against the stand-in Hub, between `pocgen gpu run --engine colab` (which
uploads the project) and `pocgen gpu pull` (which brings the results back).

The notebook's kernel runs in the test "image" (a virtualenv that sees this environment's
packages), so the notebook's own `pip install -e .` installs the project there, as on Colab.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import git, git_init, run_pocgen
from deploy_helpers import assert_one_line_error
from fake_hub import FakeHub
from gpu_helpers import gpu, ready_to_train, record_of
from known_artifacts import render
from nbclient import NotebookClient

pytest_plugins = ["gpu_fixtures"]

NOTEBOOK = Path("notebooks/train-on-colab.ipynb")
RESULTS_REPO = "alice/defect-spotter-gpu-results"


@pytest.fixture(scope="module")
def image_kernel(image_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A Jupyter kernel named `image` that runs the image's python; returns JUPYTER_PATH."""
    folder = tmp_path_factory.mktemp("jupyter")
    spec = folder / "kernels" / "image"
    spec.mkdir(parents=True)
    argv = [str(image_bin / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "image", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    return {"JUPYTER_PATH": str(folder)}


def execute(
    notebook: nbformat.NotebookNode,
    folder: Path,
    hub: FakeHub,
    kernel_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Run the notebook in `folder`, with the token in the environment (Colab's Secrets panel
    is what the notebook tries first; outside Colab it falls back to HF_TOKEN)."""
    for key, value in {**kernel_env, "HF_TOKEN": hub.token, "HF_ENDPOINT": hub.url}.items():
        monkeypatch.setenv(key, value)
    folder.mkdir(parents=True, exist_ok=True)
    client = NotebookClient(
        notebook,
        timeout=600,
        startup_timeout=300,
        kernel_name="image",
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute()


def set_parameter(notebook: nbformat.NotebookNode, name: str, value: str) -> None:
    """Change one assignment in the parameters cell, as a user would (or papermill)."""
    cell = next(cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", []))
    lines = cell.source.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(f"{name} = "))
    lines[index] = f"{name} = {value!r}"
    cell.source = "\n".join(lines)


def test_image_projects_get_the_notebook_and_the_badge(tmp_path: Path):
    image = render(tmp_path / "spotter", task="object-detection", hf_username="alice")
    text = render(tmp_path / "router", task="text-classification")
    bare = render(tmp_path / "bare", task="image-classification", notebooks=False)

    notebook = nbformat.read(image / NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["accelerator"] == "GPU"  # Colab opens it on a GPU runtime
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    parameters = notebook.cells[1].source
    assert 'PROJECT = "defect-spotter"' in parameters and 'NAMESPACE = "alice"' in parameters
    assert 'userdata.get("HF_TOKEN")' in notebook.cells[2].source
    readme = (image / "README.md").read_text(encoding="utf-8")
    assert "## Train on a GPU" in readme and "colab-badge.svg" in readme
    assert "/defect-spotter/blob/main/notebooks/train-on-colab.ipynb" in readme
    # The project's own lint passes on it, and its notebook tests leave it to pocgen's.
    for command in (["check"], ["format", "--check"]):
        lint = subprocess.run(
            [sys.executable, "-m", "ruff", *command, str(NOTEBOOK)], cwd=image, capture_output=True
        )
        assert lint.returncode == 0, lint.stdout.decode() + lint.stderr.decode()
    project_test = (image / "tests" / "test_notebooks.py").read_text(encoding="utf-8")
    assert 'glob("[0-9]*.ipynb")' in project_test

    assert (
        not (text / NOTEBOOK).exists()
        and "## Train on a GPU" not in (text / "README.md").read_text()
    )
    assert not (bare / NOTEBOOK).exists()
    bare_readme = (bare / "README.md").read_text(encoding="utf-8")
    assert "## Train on a GPU" in bare_readme and "colab-badge" not in bare_readme


def test_the_colab_route_from_upload_to_pull(
    classifier: Path,
    image_bin: Path,
    image_kernel: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    with FakeHub(job_image_bin=image_bin) as hub:
        env = {"HF_TOKEN": hub.token, "HF_ENDPOINT": hub.url}
        uploaded = gpu(classifier, "run", "--engine", "colab", env=env)
        assert uploaded.exit_code == 0, uploaded.stderr
        assert "Next, in Colab" in uploaded.stdout and "HF_TOKEN" in uploaded.stdout
        assert hub.jobs == {}  # nothing runs until the user runs the notebook
        record = record_of(classifier)
        assert record["engine"] == "colab" and record["status"] == "UPLOADED"
        early = gpu(classifier, "pull", env=env)
        assert_one_line_error(early, "no results of this upload yet", "train-on-colab.ipynb")

        notebook = nbformat.read(classifier / NOTEBOOK, as_version=4)
        execute(notebook, tmp_path / "colab", hub, image_kernel, monkeypatch)

        sent = hub.models[RESULTS_REPO]
        assert "models/model.onnx" in sent.files and sent.private
        pulled = gpu(classifier, "pull", env=env)
        assert pulled.exit_code == 0, pulled.stderr
    assert (classifier / "models" / "model.onnx").read_bytes() == sent.files["models/model.onnx"]
    report = json.loads((classifier / "reports" / "gpu.json").read_text(encoding="utf-8"))
    assert report["engine"] == "colab" and report["run_id"] == record["run_id"]
    training = json.loads((classifier / "reports" / "training.json").read_text(encoding="utf-8"))
    assert report["train_seconds"] == training["seconds"]
    assert set(report["stage_seconds"]) == {"train", "export", "evaluate"}
    outputs = "".join(
        output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", [])
    )
    assert "No GPU: choose Runtime > Change runtime type" in outputs  # said, not hidden
    assert f"Sent {len(sent.files)} files to {RESULTS_REPO}" in outputs
    assert "\x1b[" not in outputs  # the stages' output is plain text, not redrawn bars


def test_the_notebook_can_take_the_code_from_git(
    tmp_path: Path,
    image_bin: Path,
    image_kernel: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
):
    """With REPO_URL, the code comes from a clone and only data/ from the dataset: a commit
    made after the upload is what the notebook gets."""
    project = ready_to_train(tmp_path / "defect-spotter", task="image-classification")
    git_init(project)
    with FakeHub(job_image_bin=image_bin) as hub:
        env = {"HF_TOKEN": hub.token, "HF_ENDPOINT": hub.url}
        assert gpu(project, "run", "--engine", "colab", env=env).exit_code == 0
        params = project / "params.yaml"
        params.write_text(params.read_text().replace("seed: 42", "seed: 7"), encoding="utf-8")
        git(project, "add", "--all")
        git(project, "commit", "--quiet", "-m", "after the upload")
        notebook = nbformat.read(project / NOTEBOOK, as_version=4)
        set_parameter(notebook, "REPO_URL", str(project))
        until_install = next(i for i, cell in enumerate(notebook.cells) if "pip" in cell.source)
        notebook.cells = notebook.cells[:until_install]  # get the project, do not train
        execute(notebook, tmp_path / "colab", hub, image_kernel, monkeypatch)
    copy = tmp_path / "colab" / "project"
    assert "seed: 7" in (copy / "params.yaml").read_text()  # the code: from git
    raw = sorted(path.name for path in (copy / "data" / "raw").rglob("*.jpg"))
    assert raw and raw == sorted(path.name for path in (project / "data" / "raw").rglob("*.jpg"))
    assert (copy / "data" / "splits" / "train.csv").read_bytes() == (
        project / "data" / "splits" / "train.csv"
    ).read_bytes()


def test_pocgen_check_leaves_the_colab_notebook_to_colab(tmp_path: Path):
    """`pocgen check` runs a project's notebooks; this one needs a GPU and a Hub token."""
    project = render(tmp_path / "spotter", task="image-classification")
    for numbered in (project / "notebooks").glob("[0-9]*.ipynb"):
        numbered.unlink()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('ran')")])
    nbformat.write(notebook, project / "notebooks" / "01-explore-data.ipynb")
    rubric = tmp_path / "notebooks.yaml"
    rubric.write_text(
        "items:\n  - {id: notebooks, title: Notebooks, weight: 1, check: notebooks_execute}\n",
        encoding="utf-8",
    )
    result = run_pocgen("check", project, "--rubric", rubric, "--json")
    (item,) = json.loads(result.stdout)["items"]
    assert item["status"] == "pass" and item["evidence"].startswith("1 notebooks ran"), item
