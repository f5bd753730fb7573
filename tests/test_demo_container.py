"""The generated project's Dockerfile runs the demo, and `make lock` pins what CI installs.

Docker is used when its daemon answers (`docker info`). Where it does not, as on this test
machine, the Dockerfile is carried out by hand instead: every COPY source must exist and pass
.dockerignore, each import of the copied code must come from requirements-demo.txt or the copied
files, and the CMD, run with the ENV in a folder laid out as the COPY lines say, must serve the
demo with the trained model.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from gradio_client import Client
from known_artifacts import render
from smoke_project import smoke_project

pytestmark = [pytest.mark.server, pytest.mark.training]

# Import names whose package has another name on PyPI.
DISTRIBUTIONS = {"PIL": "pillow"}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A text project (the fastest to train) with a smoke-trained, exported, evaluated model."""
    return smoke_project(
        tmp_path_factory.mktemp("container") / "ticket-sorter", task="text-classification"
    )


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined, comments dropped."""
    text = dockerfile.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = "\n".join(lines).replace("\\\n", " ")
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
        for line in joined.splitlines()
        if line.strip()
    ]


def sent_to_docker(path: str, ignore: list[str]) -> bool:
    """Whether .dockerignore lets `path` into the build context (the last matching rule wins)."""
    sent = True
    for rule in ignore:
        pattern = rule.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
            sent = rule.startswith("!")
    return sent


def docker_works() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


def lay_out_image(project: Path, steps: list[tuple[str, str]], root: Path) -> dict[str, str]:
    """Do the Dockerfile's COPY steps into `root`; return its ENV. Checks each source on the way."""
    ignore = [
        line.strip()
        for line in (project / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    env: dict[str, str] = {}
    for instruction, arguments in steps:
        if instruction == "COPY":
            *sources, dest = shlex.split(arguments)
            for source in sources:
                assert (project / source).exists(), f"COPY {source}: not in the project"
                assert sent_to_docker(source.rstrip("/"), ignore), f"{source}: .dockerignore'd"
                target = root / dest / Path(source).name if dest.endswith("/") else root / dest
                if (project / source).is_dir():
                    shutil.copytree(project / source, root / dest, dirs_exist_ok=True)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(project / source, target)
        elif instruction == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(arguments))
    return env


def optional_imports(tree: ast.AST) -> set[int]:
    """Nodes inside `try: ... except ImportError:` (such as `spaces`, present only on a Space)."""
    optional = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(handler.type, ast.Name)
            and handler.type.id in {"ImportError", "ModuleNotFoundError"}
            for handler in node.handlers
        ):
            optional |= {id(inner) for statement in node.body for inner in ast.walk(statement)}
    return optional


def imported_packages(root: Path) -> set[str]:
    """Top-level modules the copied Python files import, other than stdlib, their own and the
    optional ones."""
    local = {path.stem for path in root.rglob("*.py")} | {p.name for p in root.iterdir()}
    found = set()
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        optional = optional_imports(tree)
        for node in ast.walk(tree):
            if id(node) in optional:
                continue
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - local


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_dockerfile_runs_the_demo(project: Path, tmp_path: Path):
    steps = instructions(project / "Dockerfile")
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert steps[0] == ("FROM", f"python:{answers['python_version']}-slim")
    assert ("RUN", "pip install --no-cache-dir -r requirements-demo.txt") in steps
    if docker_works():
        build = subprocess.run(
            ["docker", "build", "-t", "pocgen-test-demo", "."], cwd=project, capture_output=True
        )
        assert build.returncode == 0, build.stderr.decode()[-3000:]
        return

    root = tmp_path / "image"
    workdir = root / dict(steps)["WORKDIR"].lstrip("/")
    env = lay_out_image(project, steps, workdir)
    # What the image installs covers what the copied code imports, and torch is not in it.
    requirements = (workdir / "requirements-demo.txt").read_text(encoding="utf-8").splitlines()
    wanted = {re.split("[<>=~ ]", line)[0].lower() for line in requirements if line[:1].isalpha()}
    for module in imported_packages(workdir):
        assert DISTRIBUTIONS.get(module, module).lower() in wanted, f"{module} not installed"
    assert "torch" not in wanted and not (workdir / "models" / "model.pkl").exists()

    # The CMD, in the laid-out folder: PYTHONPATH points into it, so nothing comes from src/.
    command = json.loads(dict(steps)["CMD"])
    assert command == ["python", "app/gradio_app.py"]
    port = free_port()
    env = {
        **os.environ,
        **env,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "PYTHONPATH": str(workdir),
    }
    server = subprocess.Popen(
        [sys.executable, *command[1:]],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(1200):
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                time.sleep(0.1)
        label, *_ = Client(url, verbose=False).predict(
            "My invoice was charged twice", 0.5, api_name="/predict"
        )
        classes = yaml.safe_load((project / "params.yaml").read_text())["classes"]
        assert label["label"] in classes
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_make_lock_pins_what_ci_installs(tmp_path: Path):
    project = render(tmp_path / "locked", task="text-classification", ui="gradio")
    lock = subprocess.run(
        ["make", "lock", f"PYTHON={sys.executable}"], cwd=project, capture_output=True, text=True
    )
    assert lock.returncode == 0, lock.stderr[-2000:]
    pinned = {
        line.split("==")[0].lower()
        for line in (project / "requirements.lock").read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.startswith("#")
    }
    assert {"numpy", "scikit-learn", "onnxruntime", "gradio", "pytest", "ruff"} <= pinned
    ci = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    steps = ci["jobs"]["test"]["steps"]
    install = next(step["run"] for step in steps if step.get("name") == "Install")
    assert "pip install -r requirements.lock" in install
    assert install.index("requirements.lock") < install.index("pip install -e")
