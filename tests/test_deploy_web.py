"""`pocgen deploy` chooses the demo the account can run, and ships the web demo as a static Space.

The fake Hub answers whoami as a free or a PRO account and, like the Hub, refuses a free account
new Gradio and Docker Spaces with HTTP 402. Until the template's own `src/<package>/web.py`
exists, the project builds its page with tests/web_standin.py (a test double that obeys the same
contract); the bad-input tests always use the stand-in, whose knobs break the build on purpose.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from conftest import run_pocgen
from deploy_helpers import (
    SPACE,
    assert_one_line_error,
    built_files,
    deploy,
    fresh_checkout,
    has_own_web_builder,
    nothing_uploaded,
    run_redeploy_workflow,
    use_web_standin,
)
from fake_hub import FakeHub

from pocgen.deploy import frontmatter
from pocgen.deploy.paths import MODEL_MAX_BYTES, SPACE_DIR
from pocgen.deploy.web import RUNTIME_LAYOUTS, RUNTIME_WASM

pytestmark = [pytest.mark.server, pytest.mark.training]

pytest_plugins = ["deploy_fixtures"]


@pytest.fixture
def web_project(project: Path) -> Path:
    """The project with a web builder: the template's own if it has one, else the stand-in."""
    if not has_own_web_builder(project):
        use_web_standin(project)
    return project


@pytest.fixture
def standin_project(project: Path) -> Path:
    """The project with the stand-in builder, whatever the template ships, for its knobs."""
    use_web_standin(project)
    return project


@pytest.fixture
def free_hub(hub: FakeHub) -> FakeHub:
    hub.is_pro = False
    return hub


def test_a_free_account_gets_the_web_demo_as_a_static_space(web_project: Path, free_hub: FakeHub):
    result = deploy(web_project, free_hub)

    assert result.exit_code == 0, result.stderr
    assert "Demo: web (alice is on the free plan" in result.stdout
    space = free_hub.spaces[SPACE]
    assert space.sdk == "static" and space.hardware is None
    assert space.files == built_files(web_project)
    assert {"index.html", "models/model.onnx"} <= set(space.files)
    assert any(set(layout) <= set(space.files) for layout in RUNTIME_LAYOUTS)
    assert "models/labels.json" in space.files and "reports/metrics.json" in space.files
    assert not any(name.endswith(".py") for name in space.files)  # no Python runs on it
    meta = frontmatter.parse(space.files["README.md"].decode())
    assert meta["sdk"] == "static" and meta["app_file"] == "index.html"
    assert frontmatter.problems(meta) == []
    record = json.loads((web_project / "reports/deploy.json").read_text())
    assert record["sdk"] == "static" and record["ui"] == "web"
    assert record["space_id"] == SPACE and record["url"] == f"{free_hub.url}/spaces/{SPACE}"


def test_a_free_account_asking_for_gradio_is_pointed_to_the_web_demo(
    project: Path, free_hub: FakeHub
):
    result = deploy(project, free_hub, "--ui", "gradio")

    assert_one_line_error(result, "HTTP 402", "paid plan", "--ui web")
    assert free_hub.spaces == {}
    assert not (project / "reports/deploy.json").exists()


def test_a_free_account_may_still_run_gradio_on_zero_gpu(project: Path, free_hub: FakeHub):
    result = deploy(project, free_hub, "--ui", "gradio", "--hardware", "zero-a10g")

    assert result.exit_code == 0, result.stderr
    assert free_hub.spaces[SPACE].sdk == "gradio"
    assert free_hub.spaces[SPACE].hardware == "zero-a10g"


def test_a_pro_account_gets_the_gradio_app_as_today(web_project: Path, hub: FakeHub):
    result = deploy(web_project, hub)

    assert result.exit_code == 0, result.stderr
    assert "Demo: gradio (alice has a paid plan" in result.stdout
    assert hub.spaces[SPACE].sdk == "gradio" and "app.py" in hub.spaces[SPACE].files


def test_a_dry_run_without_a_token_says_what_each_account_gets(
    web_project: Path, hub: FakeHub, tmp_path: Path
):
    env = {"HF_TOKEN": "", "HUGGING_FACE_HUB_TOKEN": "", "HF_HOME": str(tmp_path / "no-login")}
    result = run_pocgen("deploy", web_project, "--endpoint", hub.url, "--dry-run", env=env)

    assert result.exit_code == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("Demo:"))
    assert line.startswith("Demo: web (the account's plan is unknown (no token)")
    assert "a free account gets the web demo" in line and "PRO account" in line
    assert "sdk: static" in result.stdout and "index.html" in result.stdout
    assert hub.requests == []


def test_an_offline_dry_run_still_shows_the_plan(web_project: Path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    env = {"HF_TOKEN": "hf_" + "x" * 34}
    result = run_pocgen("deploy", web_project, "--endpoint", dead, "--dry-run", env=env)

    assert result.exit_code == 0, result.stderr
    assert "Demo: web (the account's plan is unknown (dry run: cannot reach the Hub" in (
        result.stdout
    )
    assert "Dry run: nothing was uploaded." in result.stdout


def test_web_with_hardware_is_refused_before_anything(project: Path, hub: FakeHub):
    result = deploy(project, hub, "--ui", "web", "--hardware", "zero-a10g")

    assert_one_line_error(result, "--ui web", "static Space", "--hardware")
    assert nothing_uploaded(hub)


def test_web_without_an_exported_model_says_to_run_the_pipeline(web_project: Path, hub: FakeHub):
    (web_project / "models/model.onnx").unlink()

    result = deploy(web_project, hub, "--ui", "web")

    assert_one_line_error(result, "models/model.onnx is missing", "make pipeline")
    assert nothing_uploaded(hub)


def test_a_model_over_the_cap_is_refused(web_project: Path, hub: FakeHub):
    cap = MODEL_MAX_BYTES["web"]
    os.truncate(web_project / "models/model.onnx", cap + 1)  # sparse: no real 100 MiB written

    result = deploy(web_project, hub, "--ui", "web")

    assert_one_line_error(result, "models/model.onnx", "over the 100 MiB cap for models")
    assert nothing_uploaded(hub)


def test_a_page_missing_its_runtime_files_is_refused(standin_project: Path, hub: FakeHub):
    env = {"WEB_STANDIN_OMIT": RUNTIME_WASM}
    result = deploy(standin_project, hub, "--ui", "web", env=env)

    assert_one_line_error(result, "missing its runtime files", RUNTIME_WASM)
    assert nothing_uploaded(hub)
    assert not (standin_project / SPACE_DIR).exists()


@pytest.mark.parametrize("extra", [".env", "ort/ort-wasm-simd-threaded.jsep.wasm", "a/b.js"])
def test_a_file_outside_the_static_contract_is_refused(
    standin_project: Path, hub: FakeHub, extra: str
):
    result = deploy(standin_project, hub, "--ui", "web", env={"WEB_STANDIN_EXTRA": extra})

    assert_one_line_error(result, f"refusing to upload {SPACE_DIR / extra}", "static Space")
    assert nothing_uploaded(hub)


def test_a_symlink_in_the_web_build_is_refused(standin_project: Path, hub: FakeHub):
    env = {"WEB_STANDIN_LINK": "models/labels.json"}
    result = deploy(standin_project, hub, "--ui", "web", env=env)

    assert_one_line_error(result, f"{SPACE_DIR}/models/labels.json: it is a symlink")
    assert nothing_uploaded(hub)


def test_a_runtime_over_10_mb_goes_up_through_lfs(standin_project: Path, hub: FakeHub):
    hub.lfs_over = 10 * 1000 * 1000  # the Hub's limit for plain git files
    # The Hub would take it through Xet; the fake Hub speaks the plain LFS batch API.
    env = {"WEB_STANDIN_WASM_BYTES": str(14_239_897), "HF_HUB_DISABLE_XET": "1"}

    result = deploy(standin_project, hub, "--ui", "web", env=env)

    assert result.exit_code == 0, result.stderr
    space = hub.spaces[SPACE]
    assert space.lfs_paths == {RUNTIME_WASM}
    assert space.files == built_files(standin_project)


def test_a_failing_web_build_passes_its_own_line_through(standin_project: Path, hub: FakeHub):
    (standin_project / "src/ticket_router/web.py").write_text(
        "import sys\n\ndef add_arguments(parser):\n    parser.add_argument('--build')\n\n"
        "def run(args):\n    sys.exit('error: cannot fetch onnxruntime-web 1.30.0: offline')\n"
    )

    result = deploy(standin_project, hub, "--ui", "web")

    assert_one_line_error(result, "building the web demo failed", "cannot fetch onnxruntime-web")
    assert nothing_uploaded(hub)


def test_a_project_without_a_web_demo_says_how_to_get_one(project: Path, hub: FakeHub):
    (project / "src/ticket_router/web.py").unlink(missing_ok=True)

    result = deploy(project, hub, "--ui", "web")

    assert_one_line_error(result, "no web demo", "pocgen update", "--ui gradio")
    assert nothing_uploaded(hub)


def test_the_redeploy_workflow_deploys_the_web_demo_too(
    web_project: Path, free_hub: FakeHub, tmp_path: Path
):
    assert deploy(web_project, free_hub).exit_code == 0  # the first deploy, from the laptop
    model = free_hub.spaces[SPACE].files["models/model.onnx"]
    checkout = fresh_checkout(web_project, tmp_path / "checkout")
    assert not (checkout / "models/model.onnx").exists()

    run_redeploy_workflow(checkout, free_hub, tmp_path / "bin")

    space = free_hub.spaces[SPACE]
    assert space.sdk == "static" and space.files["models/model.onnx"] == model
    assert space.files == built_files(checkout)
    assert json.loads((checkout / "reports/deploy.json").read_text())["ui"] == "web"
