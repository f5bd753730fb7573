"""`pocgen deploy` against a local Hub: the real CLI and huggingface_hub client, real HTTP.

The fake Hub (fake_hub.py) serves the endpoints huggingface_hub 2.4 calls on 127.0.0.1 and keeps
what it receives, so each test can check what a Space would hold, or that nothing was sent.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import yaml
from conftest import run_pocgen
from deploy_helpers import (
    SPACE,
    assert_one_line_error,
    built_files,
    deploy,
    fresh_checkout,
    nothing_uploaded,
    run_redeploy_workflow,
)
from fake_hub import FakeHub, front_matter_errors

from pocgen.deploy import frontmatter
from pocgen.deploy.build import pick_examples
from pocgen.deploy.choice import choose

pytestmark = [pytest.mark.server, pytest.mark.training]

pytest_plugins = ["deploy_fixtures"]


def test_the_space_receives_exactly_the_built_files(project: Path, hub: FakeHub):
    result = deploy(project, hub)

    assert result.exit_code == 0, result.stderr
    space = hub.spaces[SPACE]
    assert space.files == built_files(project)
    assert space.sdk == "gradio"
    assert {
        "app.py",
        "demo_support.py",
        "ticket_router/inference.py",
        "models/model.onnx",
        "models/labels.json",
        "reports/metrics.json",
        "data/splits/test.csv",
        "requirements.txt",
        "README.md",
    } <= set(space.files)
    # Only inference.py of the package ships: no training code, no data beyond the examples.
    assert not any(name.startswith("ticket_router/train") for name in space.files)
    lines = space.files["requirements.txt"].decode().splitlines()
    pins = dict(line.split("==") for line in lines if not line.startswith("#"))
    assert set(pins) == {"onnxruntime", "numpy"}  # gradio comes from sdk_version; no torch
    record = json.loads((project / "reports/deploy.json").read_text())
    assert record["space_id"] == SPACE
    assert record["url"] == f"{hub.url}/spaces/{SPACE}"
    assert record["sdk"] == "gradio" and record["ui"] == "gradio" and record["deployed_at"]
    assert record["url"] in result.stdout


def test_the_front_matter_is_valid_locally_and_on_the_hub(project: Path, hub: FakeHub):
    assert deploy(project, hub).exit_code == 0

    readme = hub.spaces[SPACE].files["README.md"].decode()
    meta = frontmatter.parse(readme)
    assert frontmatter.problems(meta) == []
    assert front_matter_errors(readme) == []
    assert "POST /api/validate-yaml" in hub.requests
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py"
    assert meta["colorFrom"] in frontmatter.COLOURS and len(meta["short_description"]) <= 60
    assert meta["python_version"] == "3.11" and meta["license"] == "mit"
    assert "# Ticket Router" in readme  # the writeup follows the metadata


def test_streamlit_deploys_as_a_docker_space(project: Path, hub: FakeHub):
    assert deploy(project, hub, "--ui", "streamlit").exit_code == 0

    files = hub.spaces[SPACE].files
    assert hub.spaces[SPACE].sdk == "docker"
    dockerfile = files["Dockerfile"].decode()
    assert "--uid 1000" in dockerfile and "USER user" in dockerfile
    assert "--server.port=7860" in dockerfile and '"app.py"' in dockerfile
    assert frontmatter.parse(files["README.md"].decode())["app_port"] == 7860
    assert "streamlit==" in files["requirements.txt"].decode()


def test_a_redeploy_mirrors_the_build_and_deletes_stale_files(project: Path, hub: FakeHub):
    assert deploy(project, hub).exit_code == 0
    hub.spaces[SPACE].files["old_app.py"] = b"print('from an earlier deploy')"

    assert deploy(project, hub).exit_code == 0

    assert hub.spaces[SPACE].files == built_files(project)


def test_secrets_and_variables_come_from_the_environment_only(project: Path, hub: FakeHub):
    secret = "s3cr3t-value-never-printed"
    env = {"POCGEN_SPACE_SECRET_API_KEY": secret, "POCGEN_SPACE_VARIABLE_MODE": "demo"}

    result = deploy(project, hub, env=env)

    assert result.exit_code == 0, result.stderr
    space = hub.spaces[SPACE]
    assert space.secrets == {"API_KEY": secret} and space.variables == {"MODE": "demo"}
    assert secret not in result.stdout + result.stderr
    assert not any(secret.encode() in data for data in space.files.values())
    assert hub.token not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("route", "status", "phrases"),
    [
        ("whoami", 401, ["HTTP 401", "hf auth login"]),
        ("preupload", 403, ["HTTP 403", "read-only"]),
        ("create", 402, ["HTTP 402", "paid plan", "--ui web"]),
        ("commit", 409, ["HTTP 409", "taken", "--space"]),
    ],
)
def test_hub_errors_become_one_line_that_names_the_fix(
    project: Path, hub: FakeHub, route: str, status: int, phrases: list[str]
):
    hub.fail[route] = status

    assert_one_line_error(deploy(project, hub), *phrases)
    assert not (project / "reports/deploy.json").exists()


def test_a_read_only_token_is_refused_before_creating_anything(project: Path, hub: FakeHub):
    hub.role = "read"

    assert_one_line_error(deploy(project, hub), "read-only", "write")
    assert hub.requests == ["GET /api/whoami-v2"]


def test_a_space_in_someone_elses_namespace_is_refused(project: Path, hub: FakeHub):
    result = deploy(project, hub, "--space", "bob/ticket-router")

    assert_one_line_error(result, "bob/ticket-router is taken", "--space alice/ticket-router")
    assert hub.spaces == {}


def test_a_hub_that_is_down_is_reported(project: Path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    result = run_pocgen("deploy", project, "--endpoint", dead, env={"HF_TOKEN": "hf_" + "x" * 34})

    assert_one_line_error(result, "cannot reach the Hub", dead)


def test_no_token_says_how_to_log_in(project: Path, hub: FakeHub, tmp_path: Path):
    env = {"HF_TOKEN": "", "HUGGING_FACE_HUB_TOKEN": "", "HF_HOME": str(tmp_path / "empty-home")}
    result = run_pocgen("deploy", project, "--endpoint", hub.url, env=env)

    assert_one_line_error(result, "no Hugging Face token", "hf auth login", "HF_TOKEN")
    assert hub.requests == []


def test_dry_run_prints_the_plan_and_touches_nothing(project: Path, hub: FakeHub):
    result = deploy(project, hub, "--dry-run")

    assert result.exit_code == 0, result.stderr
    assert hub.requests == ["GET /api/whoami-v2"]  # who the token is decides the demo
    assert "Demo: gradio (alice has a paid plan" in result.stdout
    assert not (project / "reports/deploy.json").exists()
    for name in ("app.py", "models/model.onnx", "requirements.txt", "sdk: gradio", "colorFrom"):
        assert name in result.stdout
    assert "Dry run: nothing was uploaded." in result.stdout


def test_the_endpoint_is_passed_explicitly(project: Path, hub: FakeHub):
    # --endpoint wins over HF_ENDPOINT (which points nowhere here) ...
    result = deploy(project, hub, env={"HF_ENDPOINT": "http://127.0.0.1:9"})
    assert result.exit_code == 0, result.stderr
    # ... and HF_ENDPOINT alone is honoured, though huggingface_hub reads it only at import.
    result = run_pocgen("deploy", project, env={"HF_ENDPOINT": hub.url, "HF_TOKEN": hub.token})
    assert result.exit_code == 0, result.stderr
    assert all(request.startswith(("GET /api/", "POST /api/")) for request in hub.requests)


def test_wait_prints_the_build_log_on_build_error(project: Path, hub: FakeHub):
    hub.stages = ["BUILD_ERROR"]
    hub.build_log = ["Step 3/7 : RUN pip install -r requirements.txt", "ERROR: no such package"]

    result = deploy(project, hub, "--wait")

    assert_one_line_error(result, "failed to build", "BUILD_ERROR")
    assert "ERROR: no such package" in result.stdout


def test_wait_reports_the_running_space(project: Path, hub: FakeHub):
    result = deploy(project, hub, "--wait")

    assert result.exit_code == 0, result.stderr
    assert f"The Space is running: {hub.url}/spaces/{SPACE}" in result.stdout


def test_zero_gpu_hardware_is_requested_for_gradio_only(project: Path, hub: FakeHub):
    assert deploy(project, hub, "--hardware", "zero-a10g").exit_code == 0
    assert hub.spaces[SPACE].hardware == "zero-a10g"

    result = deploy(project, hub, "--ui", "streamlit", "--hardware", "zero-a10g")
    assert_one_line_error(result, "ZeroGPU", "--ui gradio")


def test_a_project_without_a_model_says_to_run_the_pipeline(project: Path, hub: FakeHub):
    (project / "models/model.onnx").unlink()

    assert_one_line_error(deploy(project, hub), "models/model.onnx is missing", "make pipeline")
    assert nothing_uploaded(hub)


def test_ui_choice_follows_the_project_and_the_plan():
    paid, free = {"name": "alice", "isPro": True}, {"name": "alice", "isPro": False}
    assert choose({"ui": "both"}, None, None, paid, "alice").ui == "gradio"
    assert choose({"ui": "streamlit"}, None, None, paid, "alice").ui == "streamlit"
    assert choose({"ui": "both"}, None, None, free, "alice").ui == "web"
    assert choose({"ui": "both"}, None, "zero-a10g", free, "alice").ui == "gradio"
    org = {"name": "alice", "orgs": [{"name": "acme", "canPay": True}]}
    assert choose({"ui": "gradio"}, None, None, org, "acme").ui == "gradio"
    assert choose({"ui": "gradio"}, None, None, None, None).ui == "web"  # Hub not asked
    with pytest.raises(Exception, match="has no gradio app"):
        choose({"ui": "streamlit"}, "gradio", None, paid, "alice")


def test_examples_cover_every_class_first():
    rows = [{"label": "a"}] * 5 + [{"label": "b"}, {"label": "c"}]
    assert [row["label"] for row in pick_examples(rows, 4)] == ["a", "b", "c", "a"]


@pytest.mark.parametrize("task", sorted(frontmatter.TASK_STYLE))
def test_front_matter_stays_valid_for_long_answers(task: str):
    answers = {
        "task": task,
        "classes": ", ".join(f"a-rather-long-class-name-{i}" for i in range(9)),
        "project_name": 'A Project Whose Name Is Long "and quoted"',
        "python_version": "3.13",
        "license": "proprietary",
    }
    meta = frontmatter.build(answers, "docker", None, "app.py")
    assert frontmatter.problems(meta) == []
    assert len(meta["short_description"]) <= 60 and meta["license"] == "other"
    assert frontmatter.parse(frontmatter.render(meta, "body")) == meta


def test_the_redeploy_workflow_updates_the_space_from_a_fresh_checkout(
    project: Path, hub: FakeHub, tmp_path: Path
):
    # The first deploy happens from the laptop, where the model exists.
    assert deploy(project, hub).exit_code == 0
    model = hub.spaces[SPACE].files["models/model.onnx"]
    checkout = fresh_checkout(project, tmp_path / "checkout")
    assert not (checkout / "models/model.onnx").exists()  # models/ is not in git
    with (checkout / "app/gradio_app.py").open("a") as handle:
        handle.write("# a change pushed to main\n")

    workflow = yaml.safe_load((project / ".github/workflows/deploy.yml").read_text())
    assert workflow[True]["push"]["branches"] == ["main"]  # YAML 1.1 reads `on` as True
    assert workflow["jobs"]["deploy"]["env"]["HF_TOKEN"] == "${{ secrets.HF_TOKEN }}"
    run_redeploy_workflow(checkout, hub, tmp_path / "bin")

    space = hub.spaces[SPACE].files
    assert space["models/model.onnx"] == model
    assert space["app.py"].endswith(b"# a change pushed to main\n")
    assert space == built_files(checkout)
