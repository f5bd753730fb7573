"""Run parts of a generated project for `pocgen check`: its tests, its notebooks, its demo app.

These run in the project's own interpreter (`.venv/bin/python` inside the project when there is
one, otherwise the Python running pocgen), because the project's dependencies (torch, onnxruntime,
gradio) belong to it and not to pocgen. Every child process is started here, waited for with a
timeout, and stopped by its own PID.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pocgen.project import project_python

# Executes every notebook in the project's kernel, from the notebook's folder, as a reader would.
# A package missing from the project's environment is reported as such (last line
# `missing-package: NAME`), never as a fault of the notebook. A stage that stops prints its
# one-line error and exits (SystemExit); that line, not "SystemExit: 1", is the evidence.
_NOTEBOOK_SCRIPT = """
import re
import sys
from pathlib import Path
def stage_error(notebook):
    for cell in reversed(notebook.cells):
        outputs = cell.get("outputs", [])
        if any(output.get("output_type") == "error" for output in outputs):
            printed = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
            lines = [line.strip() for line in printed.splitlines()]
            return next((line for line in reversed(lines) if line.startswith("error: ")), "")
    return ""
try:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    import ipykernel  # noqa: F401  (the kernel the notebooks run in)
except ModuleNotFoundError as error:
    print(f"missing-package: {error.name}")
    sys.exit(1)
for name in sys.argv[1:]:
    notebook = nbformat.read(name, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(Path(name).parent)}})
    try:
        client.execute()
    except CellExecutionError as error:
        missing = re.search(r"No module named '([^']+)'", str(error.evalue))
        if error.ename == "ModuleNotFoundError" and missing:
            print(f"missing-package: {missing.group(1)}")
        elif error.ename == "SystemExit" and stage_error(notebook):
            print(f"{name}: {stage_error(notebook)}")
        else:
            print(f"{name}: {error.ename}: {error.evalue}")
        sys.exit(1)
    except Exception as error:  # the kernel did not start, the file is not a notebook, ...
        print(f"{name}: {type(error).__name__}: {(str(error).splitlines() or [''])[0]}")
        sys.exit(1)
    print("ran", name, flush=True)
"""
MISSING_PACKAGE = "missing-package: "


@dataclass
class Outcome:
    """Whether a probe succeeded, and the one line of evidence to show for it."""

    ok: bool
    evidence: str
    seconds: float
    missing: str | None = None  # a package the project's environment lacks
    tail: str | None = None  # the last lines of its output, to show why it failed
    returncode: int | None = None  # None when it never ran to an end (timeout, not started)


def describe_python(root: Path, python: str) -> str:
    """Which interpreter ran the project's code, in words a user can act on."""
    if Path(python).is_relative_to(root):
        return f"the project's {Path(python).relative_to(root).as_posix()}"
    return f"pocgen's own Python ({python}; the project has no .venv)"


# What changes from one run of the same check to the next, and so never goes into evidence:
# pytest's timing (`3 passed in 2.31s`, `(0:01:02)`), ports, and scratch folders.
_TIMING = re.compile(r" in \d+(?:\.\d+)?s\b| \(\d+:\d\d:\d\d\)")
_PORT = re.compile(r"\b(127\.0\.0\.1|localhost|0\.0\.0\.0):\d{2,5}\b")
_SCRATCH = re.compile(re.escape(tempfile.gettempdir()) + r"/pocgen-[\w.-]+")


def stable_text(text: str) -> str:
    """`text` without the values that differ between two runs of the same check."""
    return _SCRATCH.sub("<scratch>", _PORT.sub(r"\1", _TIMING.sub("", text)))


TAIL_LINES = 20
TAIL_CHARACTERS = 4000


def output_tail(stdout: str, stderr: str) -> str | None:
    """The last lines a command printed (its output, then its errors), for a failing rubric item."""
    lines = [line.rstrip() for text in (stdout, stderr) for line in text.strip("\n").splitlines()]
    tail = "\n".join(lines[-TAIL_LINES:])[-TAIL_CHARACTERS:]
    return tail or None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def run_command(
    command: list[str] | str, root: Path, timeout: float, env: dict[str, str] | None = None
) -> Outcome:
    """Run a command in the project folder; ok when it exits 0 within the timeout.

    A string is a shell command (rubric items are written that way); a list runs directly.
    """
    started = time.monotonic()
    try:
        completed = subprocess.run(
            command,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=timeout,
            shell=isinstance(command, str),
            env=env,
        )
    except subprocess.TimeoutExpired:
        return Outcome(False, f"still running after {timeout:.0f} s", time.monotonic() - started)
    except OSError as error:
        return Outcome(False, f"could not start: {error}", time.monotonic() - started)
    seconds = time.monotonic() - started
    # Probes print their verdict last on stdout; a crash before that leaves it on stderr.
    line = _last_line(completed.stdout)
    if completed.returncode != 0 and not line:
        line = _last_line(completed.stderr)
    return Outcome(
        completed.returncode == 0,
        line or f"exit code {completed.returncode}",
        seconds,
        tail=None if completed.returncode == 0 else output_tail(completed.stdout, completed.stderr),
        returncode=completed.returncode,
    )


def run_tests(root: Path, python: str, timeout: float = 900) -> Outcome:
    return run_command([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], root, timeout)


# What a copy of the project for the notebooks leaves out: environments, history, build output.
NOT_COPIED = shutil.ignore_patterns(".venv", ".git", ".label-studio", "dist", "__pycache__")


def run_notebooks(root: Path, notebooks: list[Path], python: str, timeout: float = 900) -> Outcome:
    """Execute the notebooks in smoke mode, in a copy of the project, with `python`.

    Notebooks run stages that write models/ and reports/; a check must never replace the model a
    user trained, so they run on a scratch copy, with POC_SMOKE=1 (seconds, not a full training):
    the question is whether they execute, not what they train. The kernel is `python`'s own: it
    runs first on PATH, so Jupyter's `python3` kernel resolves to it.
    """
    names = [str(path.relative_to(root)) for path in notebooks]
    with tempfile.TemporaryDirectory(prefix="pocgen-notebooks-") as scratch:
        copy = Path(scratch) / root.name
        shutil.copytree(root, copy, ignore=NOT_COPIED, symlinks=True)
        path = str(Path(python).parent) + os.pathsep + os.environ.get("PATH", "")
        env = {**os.environ, "POC_SMOKE": "1", "PATH": path}
        outcome = run_command([python, "-c", _NOTEBOOK_SCRIPT, *names], copy, timeout, env=env)
    if outcome.evidence.startswith(MISSING_PACKAGE):
        outcome.missing = outcome.evidence.removeprefix(MISSING_PACKAGE).strip()
    return outcome


@dataclass
class Rerun:
    """`evaluate` run again: whether it ran, its last line, and the metrics it wrote."""

    outcome: Outcome
    metrics: dict[str, Any] | None


def rerun_evaluation(root: Path, command: str, python: str, timeout: float = 900) -> Rerun:
    """Run the project's own evaluate again, as its record says it ran, on a scratch copy.

    The committed ONNX model is measured on the test split a second time with the project's
    interpreter, so the figures in reports/metrics.json are proved by a run, not only bound by
    hashes. The copy keeps the user's reports untouched whatever evaluate writes.
    """
    arguments = shlex.split(command)[1:]  # `python -m <package> evaluate ...`: our interpreter
    with tempfile.TemporaryDirectory(prefix="pocgen-rerun-") as scratch:
        copy = Path(scratch) / root.name
        shutil.copytree(root, copy, ignore=NOT_COPIED, symlinks=True)
        (copy / "reports" / "metrics.json").unlink(missing_ok=True)
        source = str(copy / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")
        env = {**os.environ, "PYTHONPATH": source, "MPLBACKEND": "Agg"}
        outcome = run_command([python, *arguments], copy, timeout, env=env)
        written = copy / "reports" / "metrics.json"
        try:
            metrics = json.loads(written.read_text(encoding="utf-8")) if outcome.ok else None
        except (OSError, ValueError):
            metrics = None
    return Rerun(outcome, metrics)


def notebook_outputs(path: Path) -> str:
    """The text a notebook's saved outputs show ('' when it was saved without running)."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return ""
    texts = []
    for cell in cells:
        for output in cell.get("outputs", []) if isinstance(cell, dict) else []:
            text = output.get("text") or (output.get("data") or {}).get("text/plain") or ""
            texts.append("".join(text) if isinstance(text, list) else str(text))
    return "\n".join(texts)


# The instructions Docker's own parser knows; anything else is a typo Docker would refuse.
DOCKER_INSTRUCTIONS = {
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
}


PIPELINE_OUTPUTS = ("models/", "reports/")


def validate_dockerfile(path: Path) -> tuple[list[str], str]:
    """Problems Docker would hit building or running `path`, and a summary when there are none.

    Parsed with Docker's own parser (the `dockerfile` package wraps buildkit's); then the checks
    that need the project: each COPY/ADD source from the build context exists.
    """
    import dockerfile

    try:
        commands = dockerfile.parse_file(str(path))
    except (dockerfile.GoParseError, dockerfile.GoIOError, OSError) as error:
        return [f"does not parse ({error})"], ""
    problems = [
        f"line {c.start_line}: unknown instruction {c.cmd}"
        for c in commands
        if c.cmd.upper() not in DOCKER_INSTRUCTIONS
    ]
    first = next((c for c in commands if c.cmd.upper() != "ARG"), None)
    if first is None or first.cmd.upper() != "FROM" or not first.value or not first.value[0]:
        problems.append("the first instruction (after ARG) must be FROM an image")
    runs = [c for c in commands if c.cmd.upper() in ("CMD", "ENTRYPOINT")]
    if not runs:
        problems.append("no CMD or ENTRYPOINT: the container would not start the demo")
    for c in commands:
        if c.cmd.upper() not in ("COPY", "ADD") or any(f.startswith("--from") for f in c.flags):
            continue
        for source in c.value[:-1]:
            if "://" in source or any(ch in source for ch in "*?[$"):
                continue
            if not (path.parent / source).exists():
                # models/ and reports/ are the pipeline's output: present once it has run.
                hint = " yet (run the pipeline)" if source.startswith(PIPELINE_OUTPUTS) else ""
                problems.append(
                    f"line {c.start_line}: {c.cmd} source {source} does not exist{hint}"
                )
    image = first.value[0] if first is not None and first.value else "?"
    started = " ".join(runs[-1].value) if runs else ""
    return problems, f"FROM {image}, runs `{started}`"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


# Streamlit runs an app's script only when a session connects, so a healthy server proves little;
# AppTest runs the script once, headless, and reports the exception a visitor would see.
_STREAMLIT_SCRIPT = """
import sys
from streamlit.testing.v1 import AppTest
app = AppTest.from_file("app/streamlit_app.py", default_timeout=120).run()
if app.exception:
    print(app.exception[0].message)
    sys.exit(1)
print("ran app/streamlit_app.py without an exception")
"""


def start_app(root: Path, ui: str, timeout: float = 120) -> Outcome:
    """Start the demo app on a free 127.0.0.1 port and wait for an HTTP 200, then stop it.

    For Streamlit the script itself is then run once with AppTest (see `_STREAMLIT_SCRIPT`).
    """
    served = _serve_app(root, ui, timeout)
    if ui != "streamlit" or not served.ok:
        return served
    script = run_command([project_python(root), "-c", _STREAMLIT_SCRIPT], root, timeout)
    if not script.ok:
        return Outcome(False, f"streamlit app raised: {script.evidence}", served.seconds)
    return served


def _serve_app(root: Path, ui: str, timeout: float) -> Outcome:
    """Serve one app until it answers HTTP 200 (or dies, or times out), then stop it by PID."""
    python = project_python(root)
    port = _free_port()
    env = {
        **os.environ,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    if ui == "gradio":
        command = [python, "app/gradio_app.py"]
        url = f"http://127.0.0.1:{port}/"
    else:
        command = [
            python,
            "-m",
            "streamlit",
            "run",
            "app/streamlit_app.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ]
        url = f"http://127.0.0.1:{port}/_stcore/health"
    started = time.monotonic()
    # A file, not a pipe: a chatty app would block once a pipe's buffer filled up.
    log = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(
        command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, text=True
    )
    try:
        while time.monotonic() - started < timeout:
            if process.poll() is not None:
                log.seek(0)
                error = _last_line(log.read())
                return Outcome(
                    False,
                    f"{ui} app exited with code {process.returncode}: {error}",
                    time.monotonic() - started,
                )
            if _answers(url):
                # Neither the port nor the time it took goes into the evidence: both change
                # from run to run, and a grade's evidence must not.
                return Outcome(
                    True, f"{ui} app answered HTTP 200 on 127.0.0.1", time.monotonic() - started
                )
            time.sleep(0.5)
        return Outcome(False, f"{ui} app did not answer within {timeout:.0f} s", timeout)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
