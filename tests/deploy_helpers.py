"""What the deploy test files share: running `pocgen deploy` against the fake Hub, reading what
it built, and giving a project the web demo builder (the stand-in until the template has one)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import Result, run_pocgen
from fake_hub import FakeHub
from PIL import Image
from smoke_project import package_of

from pocgen.deploy.paths import SPACE_DIR

SPACE = "alice/ticket-router"
STANDIN = Path(__file__).parent / "web_standin.py"
# Requests that carry a project's files or create something on the Hub.
WRITES = re.compile(r"POST /api/(repos/create|spaces/.+/(preupload|commit|secrets|variables))")


def deploy(project: Path, hub: FakeHub, *args: str, env: dict | None = None) -> Result:
    return run_pocgen(
        "deploy", project, "--endpoint", hub.url, *args, env={"HF_TOKEN": hub.token, **(env or {})}
    )


def built_files(project: Path) -> dict[str, bytes]:
    folder = project / SPACE_DIR
    files = [path for path in folder.rglob("*") if path.is_file()]
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in files}


def assert_one_line_error(result: Result, *phrases: str) -> None:
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    error = result.stderr.strip()
    assert error.startswith("error:") and error.count("\n") == 0, error
    for phrase in phrases:
        assert phrase in error, error


def nothing_uploaded(hub: FakeHub) -> bool:
    """No Space created, no file offered or committed, no secret or variable set."""
    return hub.spaces == {} and not any(WRITES.fullmatch(request) for request in hub.requests)


def use_web_standin(project: Path) -> None:
    """TEST DOUBLE: install tests/web_standin.py as the project's web builder, and register the
    `web` stage in the project's CLI where the template does not have it yet."""
    package = project / "src" / package_of(project)
    shutil.copyfile(STANDIN, package / "web.py")
    cli = package / "cli.py"
    text = cli.read_text(encoding="utf-8")
    if '"web":' not in text:
        text = text.replace("STAGES = {", 'STAGES = {\n    "web": "build the static web demo",', 1)
        cli.write_text(text, encoding="utf-8")


def has_own_web_builder(project: Path) -> bool:
    """Whether the template gave this project its web demo (src/<package>/web.py)."""
    return (project / "src" / package_of(project) / "web.py").is_file()


def fresh_checkout(project: Path, dest: Path) -> Path:
    """The files `git clone` would give: what the project's .gitignore lets into git."""
    subprocess.run(["git", "init", "--quiet", str(project)], check=True)
    listed = subprocess.run(
        ["git", "-C", str(project), "ls-files", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in listed:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(project / name, dest / name)
    return dest


def run_redeploy_workflow(checkout: Path, hub: FakeHub, bin_dir: Path, ui: str = "") -> None:
    """Run the `run:` steps of the project's deploy workflow in `checkout`, as GitHub would, with
    this pocgen standing in for the pip-installed one and `ui` as the POCGEN_UI variable."""
    workflow = yaml.safe_load((checkout / ".github/workflows/deploy.yml").read_text())
    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / "pocgen"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m pocgen "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    env = {
        **os.environ,
        "HF_TOKEN": hub.token,
        "HF_ENDPOINT": hub.url,
        "POCGEN_UI": ui,
        "PATH": os.pathsep.join(
            [str(bin_dir), str(Path(sys.executable).parent), os.environ["PATH"]]
        ),
    }
    for step in workflow["jobs"]["deploy"]["steps"]:
        if "run" in step and step["name"] != "Install pocgen":  # pocgen is installed here
            done = subprocess.run(
                ["bash", "-e", "-c", step["run"]],
                cwd=checkout,
                env=env,
                capture_output=True,
                text=True,
            )
            assert done.returncode == 0, f"{step['name']}:\n{done.stdout}\n{done.stderr}"


IMAGE_ANSWERS = {
    "package_name": "parts",
    "task": "image-classification",
    "project_name": "Parts",
    "classes": "bolt, nut",
    "python_version": "3.11",
    "license": "MIT",
    "ui": "gradio",
}


def image_project(root: Path, rows: list[str], examples: dict[str, bytes] | None = None) -> Path:
    """The files an image project's Space build reads (IMAGE_ANSWERS), with placeholder code and
    model: the checks on paths and sizes run before anything is executed, so no trained model is
    needed. `examples` are the files under data/raw/ (default: one small real image, since the
    build writes images again without their metadata); `rows` the test split's rows."""
    for name in ("app/gradio_app.py", "app/demo_support.py", "src/parts/inference.py"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("# placeholder\n")
    (root / "models").mkdir()
    (root / "models/model.onnx").write_bytes(b"onnx")
    (root / "models/labels.json").write_text('{"classes": ["bolt", "nut"]}')
    (root / "data/raw").mkdir(parents=True)
    if examples is None:
        Image.new("RGB", (4, 4), "grey").save(root / "data/raw/bolt.png")
    for name, data in (examples or {}).items():
        (root / "data/raw" / name).write_bytes(data)
    (root / "data/splits").mkdir()
    (root / "data/splits/test.csv").write_text("path,label,group\n" + "\n".join(rows) + "\n")
    (root / "configs").mkdir()
    (root / "configs/aws.yaml").write_text("region: eu-west-1\n")
    return root
