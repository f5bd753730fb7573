"""`pocgen gpu run` on the real engines; each test runs only where its credentials are set.

They show what no stand-in can: that the CUDA image starts, the dataset is mounted, pip installs
the project there, PyTorch sees the GPU (reports/gpu.json names it), the job writes the results
repo with its secret, and the results come back into the project.

Cost. Hugging Face Jobs (HF_TOKEN): one `t4-small` job ($0.40 an hour, billed per minute) with a
15-minute timeout, so at most $0.10; a run takes a few minutes (image, pip, one tiny epoch), a
few cents. On an account without credits the right outcome is the one-line HTTP 402 message, and
the test accepts it. Kaggle (KAGGLE_API_TOKEN): free, from the weekly GPU quota; the account
must be phone-verified for a notebook with a GPU and internet. Both delete what they created.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
import yaml
from gpu_helpers import gpu, ready_to_train


def live_project(tmp_path: Path) -> Path:
    """A tiny project whose name (and so whose repos) no other run uses."""
    return ready_to_train(
        tmp_path / "live",
        task="image-classification",
        project_name=f"Pocgen Live {uuid.uuid4().hex[:8]}",
    )


def assert_trained_on_a_gpu(project: Path) -> None:
    report = json.loads((project / "reports" / "gpu.json").read_text(encoding="utf-8"))
    assert report["device"].startswith("cuda") and report["gpu"], report
    assert (project / "models" / "model.onnx").is_file()


@pytest.mark.skipif(not os.environ.get("HF_TOKEN"), reason="needs HF_TOKEN (costs up to $0.10)")
def test_a_run_on_hugging_face_jobs(tmp_path: Path):
    from huggingface_hub import HfApi

    project = live_project(tmp_path)
    result = gpu(project, "run", "--timeout", "15m")
    api = HfApi(endpoint="https://huggingface.co")
    namespace = api.whoami()["name"]
    slug = yaml.safe_load((project / ".copier-answers.yml").read_text())["project_slug"]
    try:
        if result.exit_code != 0:
            assert "HTTP 402" in result.stderr and "--engine kaggle" in result.stderr
            return
        assert_trained_on_a_gpu(project)
    finally:
        for repo_id, repo_type in (
            (f"{namespace}/{slug}-gpu-data", "dataset"),
            (f"{namespace}/{slug}-gpu-results", "model"),
        ):
            if api.repo_exists(repo_id, repo_type=repo_type):
                api.delete_repo(repo_id, repo_type=repo_type)


@pytest.mark.skipif(
    not os.environ.get("KAGGLE_API_TOKEN"), reason="needs KAGGLE_API_TOKEN (free quota)"
)
def test_a_run_on_kaggle(tmp_path: Path):
    from pocgen.gpu.kaggle import signed_in_client

    project = live_project(tmp_path)
    result = gpu(project, "run", "--engine", "kaggle", "--timeout", "30m")
    record_file = project / ".pocgen" / "gpu.json"
    try:
        assert result.exit_code == 0, result.stdout + result.stderr
        assert_trained_on_a_gpu(project)
    finally:
        if record_file.exists():
            api = signed_in_client()
            record = json.loads(record_file.read_text(encoding="utf-8"))
            api.kernels_delete(record["job_id"], no_confirm=True)
            owner, dataset = record["data_repo"].split("/")
            api.dataset_delete(owner, dataset, no_confirm=True)
