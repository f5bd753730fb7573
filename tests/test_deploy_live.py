"""`pocgen deploy` against the real Hugging Face Hub; runs only where HF_TOKEN is set.

It deploys a smoke-trained text project to a new private Space, checks that the Space holds
exactly the built files, and deletes the Space again. New Gradio Spaces need a paid plan, so on a
free account the correct outcome is the one-line HTTP 402 message, and the test accepts that.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from conftest import run_pocgen
from smoke_project import smoke_project

from pocgen.deploy.paths import SPACE_DIR

pytestmark = pytest.mark.skipif(
    not os.environ.get("HF_TOKEN"), reason="needs HF_TOKEN with write access to the real Hub"
)


def test_deploy_to_the_real_hub(tmp_path: Path):
    from huggingface_hub import HfApi

    project = smoke_project(tmp_path / "live", task="text-classification", ui="gradio")
    api = HfApi(endpoint="https://huggingface.co")
    space_id = f"{api.whoami()['name']}/pocgen-live-test-{uuid.uuid4().hex[:8]}"

    result = run_pocgen("deploy", project, "--space", space_id, "--private")
    try:
        if result.exit_code != 0:
            assert "HTTP 402" in result.stderr and "--ui web" in result.stderr
            return
        built = {
            p.relative_to(project / SPACE_DIR).as_posix()
            for p in (project / SPACE_DIR).rglob("*")
            if p.is_file()
        }
        remote = set(api.list_repo_files(space_id, repo_type="space")) - {".gitattributes"}
        assert remote == built
        assert f"https://huggingface.co/spaces/{space_id}" in result.stdout
    finally:
        if api.repo_exists(space_id, repo_type="space"):
            api.delete_repo(space_id, repo_type="space")
