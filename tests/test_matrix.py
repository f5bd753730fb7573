"""The answer matrix of the built-in `poc` template, rendered and checked.

Every pair of answer values (task x ui, ui x license, labeling x python_version, ...) appears in
at least one render: a pairwise cover of the answers, not their full product, because a defect
that needs three particular answers at once is rare, and the product is 432 renders. Some renders
also take the longest names copier.yml accepts, or a user's own identity with a target metric
beyond the default.

Each render must hold exactly the expected files, no leftover Jinja, pass the project's own
`ruff check` and `ruff format --check`, and collect its own test suite (which imports every test
module, so a test or a module this combination of answers lacks is found). The test files
themselves depend only on the task; what the other answers change is which of them exist. So the
suites run in full once per task, on the project with every part switched on (both apps, Label
Studio, notebooks), in a fresh virtualenv installed from its own pyproject.toml after running the
pipeline its README describes: the proof that a generated project stands on its own.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest
from allpairspy import AllPairs
from venvs import fresh_venv

from pocgen.templating.engines import RenderOptions
from pocgen.templating.new import create_project
from pocgen.templating.registry import builtin_root

pytestmark = pytest.mark.matrix

TEMPLATE = builtin_root() / "poc" / "template"
TASKS = ["object-detection", "image-classification", "text-classification"]
ANSWERS = {
    "task": TASKS,
    "ui": ["gradio", "streamlit", "both"],
    "labeling": ["label-studio", "none"],
    "deploy": ["hf-spaces", "none"],
    "notebooks": ["true", "false"],
    "ci": ["github-actions", "none"],
    "license": ["MIT", "Apache-2.0", "BSD-3-Clause", "proprietary"],
    "python_version": ["3.11", "3.12", "3.13"],
}
# One project per task with every part switched on: its suite runs in full, in a fresh venv.
EVERYTHING = {
    "ui": "both",
    "labeling": "label-studio",
    "deploy": "hf-spaces",
    "notebooks": "true",
    "ci": "github-actions",
    "license": "MIT",
    "python_version": "3.11",
}


def _matrix() -> list[dict[str, str]]:
    pairs = [dict(zip(ANSWERS, values, strict=True)) for values in AllPairs(list(ANSWERS.values()))]
    # The full suites also run the target metrics that name a class (and a precision).
    combos = [
        {"task": "object-detection", **EVERYTHING},
        {"task": "image-classification", **EVERYTHING, **own_identity("image-classification", 0)},
        {"task": "text-classification", **EVERYTHING, **own_identity("text-classification", 3)},
    ]
    for index, answers in enumerate(pairs):
        combos.append(
            {
                **answers,
                **(longest_names(index) if index % 3 == 2 else {"project_name": f"Matrix {index}"}),
                **(own_identity(answers["task"], index) if index % 3 == 1 else {}),
            }
        )
    return combos


def own_identity(task: str, index: int) -> dict[str, str]:
    """A user's own project (the others are `--defaults` demos), with a target metric beyond
    the default one: the metrics that a success sentence names a class or a precision for."""
    metric = ["class_recall", "recall_at_precision", "all_found_rate"][index // 3 % 3]
    if metric == "all_found_rate" and task != "object-detection":
        metric = "macro_f1"
    sentence = {
        "class_recall": "recall of dent of at least 0.8",
        "recall_at_precision": "recall of dent of at least 0.8 at precision 0.9",
        "all_found_rate": "all objects found in at least 80% of photos",
        "macro_f1": "macro-F1 of at least 0.8",
    }[metric]
    return {
        "problem": "Body shops photograph every returned rental car and miss small damage",
        "business_objective": "Charge for damage at return instead of writing it off",
        "classes": "dent, scratch",
        "target_metric": metric,
        **({"target_class": "dent"} if metric in ("class_recall", "recall_at_precision") else {}),
        "target_value": "0.8",
        "success_metric": sentence,
    }


def longest_names(index: int) -> dict[str, str]:
    """The longest project and package names copier.yml accepts (60 and 25 characters).

    Both are written into the generated code; at these lengths every line must still pass ruff.
    """
    return {
        "project_name": f"Matrix {index:02d}: the operating table's surgical instrument counter",
        "package_name": f"matrix_{index:02d}_surgical_instrument"[:25],
    }


MATRIX = _matrix()
IDS = [
    f"{c['task']}-{'full' if i < len(TASKS) else i}-{c['ui']}-{c['labeling']}"
    for i, c in enumerate(MATRIX)
]
FULL_SUITE = set(IDS[: len(TASKS)])

# Files that exist only for some answers: output path -> when. `<pkg>` is the package name.
CONDITIONAL = {
    ".github/workflows/ci.yml": lambda a: a["ci"] == "github-actions",
    ".github/workflows/deploy.yml": lambda a: (
        a["ci"] == "github-actions" and a["deploy"] == "hf-spaces"
    ),
    "LICENSE": lambda a: a["license"] != "proprietary",
    "app/streamlit_app.py": lambda a: a["ui"] in ("streamlit", "both"),
    "app/gradio_app.py": lambda a: a["ui"] in ("gradio", "both"),
    "tests/test_app_streamlit.py": lambda a: a["ui"] in ("streamlit", "both"),
    "tests/test_app_gradio.py": lambda a: a["ui"] in ("gradio", "both"),
    "src/<pkg>/model.py": lambda a: a["task"] != "text-classification",
    "src/<pkg>/images.py": lambda a: a["task"] != "text-classification",
    "src/<pkg>/synth.py": lambda a: a["task"] != "text-classification",
    "src/<pkg>/collect_images.py": lambda a: a["task"] != "text-classification",
    "src/<pkg>/collect_text.py": lambda a: a["task"] == "text-classification",
    "src/<pkg>/label.py": lambda a: a["labeling"] == "label-studio",
    "src/<pkg>/labelstudio.py": lambda a: a["labeling"] == "label-studio",
    "scripts/serve_label_studio.py": lambda a: a["labeling"] == "label-studio",
    "tests/test_label.py": lambda a: a["labeling"] == "label-studio",
    "notebooks/01-explore-data.ipynb": lambda a: a["notebooks"] == "true",
    "notebooks/02-train-evaluate.ipynb": lambda a: a["notebooks"] == "true",
    "notebooks/03-error-analysis.ipynb": lambda a: a["notebooks"] == "true",
    "notebooks/train-on-colab.ipynb": lambda a: (
        a["notebooks"] == "true" and a["task"] != "text-classification"
    ),
    "tests/test_notebooks.py": lambda a: a["notebooks"] == "true",
    # The static page's task code: boxes or scores, pictures or text.
    "app/web/scores.js": lambda a: a["task"] != "object-detection",
    "app/web/boxes.js": lambda a: a["task"] == "object-detection",
    "app/web/classify.js": lambda a: a["task"] == "image-classification",
    "app/web/photo.js": lambda a: a["task"] != "text-classification",
    "app/web/pixels.js": lambda a: a["task"] != "text-classification",
    "app/web/text.js": lambda a: a["task"] == "text-classification",
}
# Jinja left in output would show up as these; GitHub Actions' own `${{ }}` is not Jinja.
LEFTOVER = re.compile(r"(?<!\$)\{\{|\{%|cookiecutter\.")
# A source with one version per task, or per kind of task (image or text): one of them renders
# for every task, so its output always exists, unless CONDITIONAL says otherwise.
PER_TASK = re.compile(
    r"\{% if (task == '[a-z-]+'|not image_task|image_task) %\}(?P<name>[^{}]+)\{% endif %\}"
)


def _unconditional_files(package: str) -> set[str]:
    """Output paths that every render holds: template files with no condition in their path,
    and those whose only condition is the task."""
    files = set()
    for path in TEMPLATE.rglob("*"):
        relative = path.relative_to(TEMPLATE).as_posix()
        if not path.is_file() or "__pycache__" in relative:
            continue
        relative = PER_TASK.sub(lambda match: match["name"], relative)
        if "{%" in relative:
            continue
        relative = relative.removesuffix(".jinja")
        relative = relative.replace("{{_copier_conf.answers_file}}", ".copier-answers.yml")
        if relative.replace("{{package_name}}", "<pkg>") not in CONDITIONAL:
            files.add(relative.replace("{{package_name}}", package))
    return files


def expected_files(answers: dict[str, str], package: str) -> set[str]:
    conditional = {
        name.replace("<pkg>", package) for name, when in CONDITIONAL.items() if when(answers)
    }
    return _unconditional_files(package) | conditional


def test_every_pair_of_answer_values_is_rendered():
    names = list(ANSWERS)
    for first, second in ((a, b) for i, a in enumerate(names) for b in names[i + 1 :]):
        wanted = {(x, y) for x in ANSWERS[first] for y in ANSWERS[second]}
        seen = {(combo[first], combo[second]) for combo in MATRIX}
        assert wanted - seen == set(), f"{first} x {second} never rendered"


@pytest.mark.parametrize("task", TASKS)
def test_each_output_file_has_one_source_per_task(task: str):
    # Two sources of one file for the same answers would silently overwrite each other.
    answers = {
        **EVERYTHING,
        "task": task,
        "image_task": task != "text-classification",
        "has_gradio": True,
        "has_streamlit": True,
        "license": "MIT",
        "_copier_conf": {"answers_file": ".copier-answers.yml"},
    }
    sources: dict[str, list[str]] = {}
    for path in TEMPLATE.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            relative = path.relative_to(TEMPLATE).as_posix()
            output = jinja2.Template(relative).render(answers).removesuffix(".jinja")
            if output and not output.endswith("/") and "//" not in output:
                sources.setdefault(output, []).append(relative)
    assert {output: found for output, found in sources.items() if len(found) > 1} == {}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Render the whole matrix once; each test then inspects one project."""
    root = tmp_path_factory.mktemp("matrix")
    projects = {}
    for combo_id, answers in zip(IDS, MATRIX, strict=True):
        dest = root / combo_id
        create_project(dest, data=answers, options=RenderOptions(defaults=True))
        projects[combo_id] = dest
    return projects


def _package(project: Path) -> str:
    return next(path.parent.name for path in (project / "src").glob("*/__main__.py"))


@pytest.mark.parametrize(("combo_id", "answers"), list(zip(IDS, MATRIX, strict=True)), ids=IDS)
def test_only_expected_files_and_no_leftover_jinja(rendered, combo_id, answers):
    project = rendered[combo_id]
    files = {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}
    expected = expected_files(answers, _package(project))
    assert files - expected == set(), "unexpected files"
    assert expected - files == set(), "missing files"
    for name in files:
        assert not LEFTOVER.search(name), name
        content = (project / name).read_bytes()
        if b"\0" not in content:
            match = LEFTOVER.search(content.decode("utf-8"))
            assert match is None, f"{name}: {content.decode()[max(0, match.start() - 60) :][:120]}"


# A relative ES module import in the static page: `import ... from "./name.js"`.
JS_IMPORT = re.compile(r'^import .* from "\./([^"]+)";$', re.MULTILINE)
# Fetched at `web --build` or first `make web` (checked against its hash), never shipped here.
RUNTIME_IMPORTS = {"ort/ort.wasm.bundle.min.mjs"}


@pytest.mark.parametrize("task", TASKS)
def test_the_static_pages_scripts_parse_and_import_only_what_the_render_has(
    rendered, task: str, tmp_path: Path
):
    """The generated web JS is checked too: each script parses as an ES module (Node.js's own
    parser, `node --check`), and every module it imports is a file of the same render, so a
    task never loads another task's script."""
    combo_id = next(c for c, answers in zip(IDS, MATRIX, strict=True) if answers["task"] == task)
    web = rendered[combo_id] / "app" / "web"
    scripts = sorted(web.glob("*.js"))
    assert scripts
    for script in scripts:
        module = tmp_path / f"{script.stem}.mjs"  # .mjs: parsed as a module, not CommonJS
        module.write_bytes(script.read_bytes())
        checked = subprocess.run(["node", "--check", str(module)], capture_output=True, text=True)
        assert checked.returncode == 0, f"{script.name}: {checked.stderr}"
        for name in JS_IMPORT.findall(script.read_text(encoding="utf-8")):
            assert name in RUNTIME_IMPORTS or (web / name).is_file(), f"{script.name}: {name}"


def run(python: Path | str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    # A generated project needs no pytest plugins; this environment's own (hypothesis, anyio...)
    # would only add start-up time to each run.
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run([str(python), *args], cwd=cwd, capture_output=True, text=True, env=env)


def run_readme_pipeline(python: Path, project: Path) -> None:
    """The README's quickstart, in smoke mode: `make pipeline ARGS=--smoke`, then `predict`."""
    pipeline = subprocess.run(
        ["make", "pipeline", "ARGS=--smoke", f"PYTHON={python}"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert pipeline.returncode == 0, pipeline.stdout[-3000:] + pipeline.stderr[-3000:]
    test_split = (project / "data" / "splits" / "test.csv").read_text().splitlines()
    first_item = test_split[1].split(",")[0]
    predict_args = ["predict", "--json"]
    if (project / first_item).is_file():
        predict_args.append(first_item)
    else:  # text: predict takes the text itself
        predict_args += ["--text", "My invoice was charged twice"]
    predicted = run(python, "-m", _package(project), *predict_args, cwd=project)
    assert predicted.returncode == 0, predicted.stdout + predicted.stderr


@pytest.mark.parametrize(("combo_id", "answers"), list(zip(IDS, MATRIX, strict=True)), ids=IDS)
def test_generated_project_is_clean_by_its_own_rules(rendered, combo_id, answers):
    project = rendered[combo_id]
    lint = run(sys.executable, "-m", "ruff", "check", "--no-cache", ".", cwd=project)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    layout = run(sys.executable, "-m", "ruff", "format", "--check", "--no-cache", ".", cwd=project)
    assert layout.returncode == 0, layout.stdout + layout.stderr
    if combo_id not in FULL_SUITE:  # those run every test below
        collected = run(sys.executable, "-m", "pytest", "--collect-only", "-q", cwd=project)
        assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-2000:]


@pytest.mark.parametrize("combo_id", sorted(FULL_SUITE))
def test_generated_project_stands_on_its_own(rendered, combo_id, tmp_path):
    project = rendered[combo_id]
    python = fresh_venv(tmp_path / "venv", project)
    run_readme_pipeline(python, project)
    tests = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", cwd=project)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
