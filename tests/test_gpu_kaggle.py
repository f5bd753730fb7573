"""`pocgen gpu run --engine kaggle` against the Kaggle stand-in: the real kaggle client (2.2),
reaching fake_kaggle.py through an HTTP proxy, and a notebook that really runs the project's
stages (on the CPU, in seconds)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import Result
from deploy_helpers import assert_one_line_error
from fake_kaggle import FakeKaggle
from gpu_helpers import gpu, record_of

pytest_plugins = ["gpu_fixtures"]

DATASET = "alice/defect-spotter-gpu-data"
KERNEL = "alice/defect-spotter-gpu"


@pytest.fixture
def kaggle(image_bin: Path):
    with FakeKaggle(job_image_bin=image_bin) as server:
        yield server


def kaggle_env(kaggle: FakeKaggle, tmp_path: Path) -> dict[str, str]:
    """The stand-in's variables, and a config folder of the test's own (no real credentials)."""
    config = tmp_path / "kaggle-config"
    config.mkdir(exist_ok=True)
    return {**kaggle.env(), "KAGGLE_CONFIG_DIR": str(config)}


def test_a_kaggle_run_trains_in_a_private_notebook_and_brings_the_results_home(
    classifier: Path, kaggle: FakeKaggle, tmp_path: Path
):
    (classifier / ".env").write_text("HF_TOKEN=hf_never_uploaded\n", encoding="utf-8")
    env = kaggle_env(kaggle, tmp_path)

    result = gpu(classifier, "run", "--engine", "kaggle", "--timeout", "2h", env=env)

    assert result.exit_code == 0, result.stdout + result.stderr
    kernel = kaggle.kernels[KERNEL]
    assert kernel.status == "COMPLETE"
    request = kernel.request
    # Every setting that matters is sent explicitly, internet included (the client's default
    # for it differs from Kaggle's documentation).
    assert request["enableGpu"] is True and request["enableInternet"] is True
    assert request["isPrivate"] is True
    assert request["kernelType"] == "script" and request["language"] == "python"
    assert request["datasetDataSources"] == [DATASET]
    assert request["machineShape"] == "NvidiaTeslaT4"
    assert request["sessionTimeoutSeconds"] == 7200
    assert "def main(argv" in request["text"]  # the job program is the notebook's code
    dataset = kaggle.datasets[DATASET]
    assert dataset.private and dataset.licence == "copyright-authors"
    assert set(dataset.files) == {"project.zip"}
    archived = zipfile.ZipFile(io.BytesIO(dataset.files["project.zip"])).namelist()
    assert "data/splits/train.csv" in archived and ".pocgen/gpu_job.json" in archived
    assert not any(name.startswith((".env", "models/", ".venv/")) for name in archived)
    # The notebook's output came home: models/ and reports/, and the facts of the run.
    assert (classifier / "models" / "model.onnx").is_file()
    report = json.loads((classifier / "reports" / "gpu.json").read_text(encoding="utf-8"))
    assert report["engine"] == "kaggle" and report["flavor"] == "NvidiaTeslaT4"
    assert report["run_id"] == record_of(classifier)["run_id"]
    assert report["job_id"] == KERNEL and report["cost_usd"] == 0.0
    assert "(free)" in result.stdout
    assert not (classifier / "defect-spotter-gpu.log").exists()  # the log stays out of the project

    status = gpu(classifier, "status", env=env)
    assert f"kaggle {KERNEL}: COMPLETED" in status.stdout
    canceled = gpu(classifier, "cancel", env=env)  # a finished run: nothing to cancel
    assert canceled.exit_code == 0 and "nothing to cancel" in canceled.stdout

    # A second run uploads a new version of the same dataset and pushes the notebook again.
    first_run = kernel
    again = gpu(classifier, "run", "--engine", "kaggle", "--detach", env=env)
    assert again.exit_code == 0, again.stderr
    assert kaggle.datasets[DATASET].versions == 2
    assert kaggle.kernels[KERNEL] is not first_run
    assert record_of(classifier)["run_id"] != report["run_id"]


def test_a_failing_notebook_shows_its_log_and_exits_1(
    classifier: Path, kaggle: FakeKaggle, tmp_path: Path
):
    pyproject = classifier / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\nthis is not toml\n", encoding="utf-8")

    result = gpu(classifier, "run", "--engine", "kaggle", env=kaggle_env(kaggle, tmp_path))

    assert_one_line_error(result, f"kaggle job {KERNEL} ended ERROR", "exited with code")
    assert "pip install" in result.stdout  # the tail of the notebook's log


def test_a_refused_notebook_names_phone_verification(
    classifier: Path, kaggle: FakeKaggle, tmp_path: Path
):
    kaggle.fail["SaveKernel"] = 403
    result = gpu(classifier, "run", "--engine", "kaggle", env=kaggle_env(kaggle, tmp_path))
    assert_one_line_error(result, "HTTP 403", "phone-verified")
    assert kaggle.kernels == {}


def test_without_credentials_the_error_says_where_to_get_them(classifier: Path, tmp_path: Path):
    with FakeKaggle() as kaggle:
        env = {**kaggle_env(kaggle, tmp_path), "KAGGLE_API_TOKEN": "", "KAGGLE_USERNAME": ""}
        result = gpu(classifier, "run", "--engine", "kaggle", env=env)
        assert kaggle.datasets == {}
    assert_one_line_error(result, "no Kaggle credentials", "KAGGLE_API_TOKEN")


def test_without_the_kaggle_package_the_error_names_the_extra(classifier: Path):
    """As if `pip install pocgen` had been run without the `kaggle` extra."""
    code = (
        "import sys; sys.modules['kaggle'] = None; sys.argv[0] = 'pocgen'; "
        "from pocgen.cli import main; main()"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code, "gpu", "run", "--engine", "kaggle", str(classifier)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )
    result = Result(completed.returncode, completed.stdout, completed.stderr)
    assert_one_line_error(result, "Kaggle client is not installed", "pocgen[kaggle]")
