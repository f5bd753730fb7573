"""Build the web demo into the Space folder with the project's own builder, then check it.

A generated project has a stdlib-only module `src/<package>/web.py`; `python -m <package> web
--build DIR` writes the complete static site into an empty DIR: `index.html`, the page's `*.js`
and `*.css`, `ort/` (the onnxruntime-web WebAssembly CPU runtime, fetched and hash-checked by the
project), `downloads.json` (what the page fetches itself), `models/model.onnx`,
`models/labels.json`, `reports/metrics.json`, `examples.json` and, for image tasks, up to 8 files
in `examples/`. pocgen runs it with the project's interpreter and then trusts nothing it wrote:
only those names, no symlinks, every file under its size cap.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

from pocgen.deploy.paths import (
    EXAMPLE_MAX_BYTES,
    FILE_MAX_BYTES,
    MODEL_MAX_BYTES,
    RUNTIME_MAX_BYTES,
    SPACE_DIR,
    check_size,
    refuse_symlinks,
)
from pocgen.errors import PocgenError
from pocgen.project import project_python

EXAMPLE_COUNT = 8
# The runtime's files, in one of these layouts. Today's template ships the ES-module API (which
# carries the WebAssembly glue inside it) and the .wasm gzipped, which the page unpacks itself;
# pages built by older templates ship a loader (script or module), the glue module and the .wasm.
RUNTIME_LAYOUTS = (
    ("ort/ort.wasm.bundle.min.mjs", "ort/ort-wasm-simd-threaded.wasm.gz"),
    ("ort/ort.wasm.min.js", "ort/ort-wasm-simd-threaded.mjs", "ort/ort-wasm-simd-threaded.wasm"),
    (
        "ort/ort.wasm.bundle.min.mjs",
        "ort/ort-wasm-simd-threaded.mjs",
        "ort/ort-wasm-simd-threaded.wasm",
    ),
)
RUNTIME_WASM = "ort/ort-wasm-simd-threaded.wasm"
RUNTIME_NAMES = sorted({name for layout in RUNTIME_LAYOUTS for name in layout})
REQUIRED = ("index.html", "models/model.onnx", "models/labels.json")
# Every name the web build may write, as patterns over the path inside the folder.
EXPECTED = re.compile(
    r"index\.html|[^/]+\.(?:js|css)|examples\.json|examples/[^/]+|downloads\.json"
    r"|models/model\.onnx|models/labels\.json|reports/metrics\.json|"
    + "|".join(re.escape(name) for name in RUNTIME_NAMES)
)
# Files that come from the project; the rest are the builder's own output.
PROJECT_FILES = ("models/model.onnx", "models/labels.json", "reports/metrics.json")
# Never handed to the project's code: it builds a page and needs no credentials.
PRIVATE_ENV = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "POCGEN_SPACE_SECRET_")


def builder_env(project: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(PRIVATE_ENV)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(project / "src"), env.get("PYTHONPATH")]))
    return env


def run_builder(project: Path, package: str, folder: Path) -> None:
    """`python -m <package> web --build <folder>`; its last line of stderr when it fails."""
    module = Path("src") / package / "web.py"
    if not (project / module).is_file():
        raise PocgenError(
            f"{project / module} is missing, so this project has no web demo: run `pocgen update` "
            "to add it, or deploy the Python app with --ui gradio or --ui streamlit."
        )
    completed = subprocess.run(
        [project_python(project), "-m", package, "web", "--build", str(folder)],
        cwd=project,
        env=builder_env(project),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if completed.returncode != 0:
        lines = [line.strip() for line in completed.stderr.splitlines() if line.strip()]
        why = lines[-1].removeprefix("error: ") if lines else f"exit code {completed.returncode}"
        raise PocgenError(f"building the web demo failed ({module}): {why}")


def check_output(folder: Path, package: str) -> dict[str, str]:
    """Refuse a web build that wrote unexpected names, links, too many or too large files, or
    left out what the page needs; returns each built file's origin for the plan."""
    refuse_symlinks(folder)
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    for name in names:
        if not EXPECTED.fullmatch(name):
            raise PocgenError(
                f"refusing to upload {SPACE_DIR / name}: the web build wrote a file a static "
                "Space does not take (only index.html, *.js, *.css, ort/, models/, "
                "reports/metrics.json, downloads.json, examples.json and examples/)."
            )
    # Name what is missing from the layout the build came closest to.
    closest = max(RUNTIME_LAYOUTS, key=lambda layout: len(set(layout) & set(names)))
    missing = [name for name in closest if name not in names]
    if missing:
        raise PocgenError(
            f"the web page is missing its runtime files {', '.join(missing)}: the project's web "
            f"build must vendor onnxruntime-web's WASM files into ort/ (`python -m {package} web "
            "--build DIR` shows what it writes)."
        )
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise PocgenError(f"the web build left out {', '.join(missing)}: the page cannot run.")
    examples = [name for name in names if name.startswith("examples/")]
    if len(examples) > EXAMPLE_COUNT:
        raise PocgenError(
            f"the web build wrote {len(examples)} examples; a Space takes at most {EXAMPLE_COUNT}."
        )
    for name in names:
        check_size(folder / name, *_cap(name), str(SPACE_DIR / name))
    return {name: name if name in PROJECT_FILES else "(web build)" for name in names}


def _cap(name: str) -> tuple[int, str]:
    """A built file's size cap (see paths.py) and what the message calls its kind."""
    if name == "models/model.onnx":
        return MODEL_MAX_BYTES["web"], "models"
    if name.startswith("examples/"):
        return EXAMPLE_MAX_BYTES, "examples"
    is_runtime = name.startswith(RUNTIME_WASM)  # plain or gzipped
    return (RUNTIME_MAX_BYTES, "the runtime") if is_runtime else (FILE_MAX_BYTES, "files")


def build_web(project: Path, answers: dict[str, Any], folder: Path) -> dict[str, str]:
    """Run the project's web build into the empty `folder` and check what it wrote."""
    run_builder(project, answers["package_name"], folder)
    return check_output(folder, answers["package_name"])
