"""Exercise mode end to end, with the shipped bootcamp pack: students get stubs, hidden tests grade
them, the template's own code is the reference solution, and a class is graded at once.

Projects are made the way a student makes them (`pocgen new --course`); the hidden tests run for
real against each project with pytest, and the three-student class is graded by the real CLI with
two worker processes.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from conftest import run_pocgen
from known_artifacts import REPO_ROOT
from smoke_project import SMOKE_STAGES, project_env

from pocgen.check.course import load_pack, merge_answers
from pocgen.check.exercises import grade
from pocgen.templating.engines import RenderOptions
from pocgen.templating.new import create_project

PACK = REPO_ROOT / "examples" / "course-packs" / "four-week-bootcamp.yaml"
SCHEMA = json.loads((REPO_ROOT / "src/pocgen/check/schemas/check.schema.json").read_text())
STUDENTS: dict[str, dict[str, str]] = {
    "weld": {
        "project_name": "Weld Seam Inspector",
        "problem": "Welders inspect every seam by eye and cracked welds still reach customers.",
        "business_objective": "Catch cracked welds before the frame is painted.",
        "success_metric": "macro-F1 of at least 0.85 on held-out seam photos",
        "classes": "sound, cracked",
    },
    "pipe": {
        "project_name": "Pipe Leak Spotter",
        "problem": "Plumbers film pipes with endoscopes and miss slow leaks in long recordings.",
        "business_objective": "Point the plumber at the frames that show a leak.",
        "success_metric": "macro-F1 of at least 0.85 on held-out frames",
        "classes": "dry, leaking",
    },
    "fabric": {
        "project_name": "Fabric Flaw Finder",
        "problem": "A weaving mill finds torn threads only when a customer returns the roll.",
        "business_objective": "Stop the loom within a metre of a torn thread.",
        "success_metric": "macro-F1 of at least 0.85 on held-out fabric photos",
        "classes": "clean, torn",
    },
}


def new_student(dest: Path, answers: dict[str, str]) -> Path:
    """`pocgen new --course`, as the student runs it."""
    data = [arg for key, value in answers.items() for arg in ("--data", f"{key}={value}")]
    result = run_pocgen("new", dest, "--course", PACK, "--defaults", *data)
    assert result.exit_code == 0, result.stderr
    package = answers_of(dest)["package_name"]
    assert f"src/{package}/train.py: run_epoch" in result.stdout  # told what to write
    return dest


def plain_render(dest: Path, answers: dict[str, str]) -> Path:
    """The same project without the stubs: the template's own code, the reference solution."""
    data = merge_answers(load_pack(str(PACK)), answers)
    create_project(dest, "poc", data=data, options=RenderOptions(defaults=True))
    return dest


def answers_of(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))


def function_lines(source: str, name: str) -> list[str]:
    """The lines of top-level function `name`, decorators included."""
    node = next(n for n in ast.parse(source).body if getattr(n, "name", None) == name)
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return source.splitlines()[first - 1 : node.end_lineno]


# The project's own stages, one after the other in one process, so torch is imported once.
_STAGES = """
import json, sys, importlib
main = importlib.import_module(sys.argv[1] + ".cli").main
for args in json.loads(sys.argv[2]):
    main(args)
"""


def pipeline(project: Path, *stages: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    package = answers_of(project)["package_name"]
    return subprocess.run(
        [sys.executable, "-c", _STAGES, package, json.dumps([list(stage) for stage in stages])],
        cwd=project,
        capture_output=True,
        text=True,
        env=project_env(project),
    )


def fill(stubbed: str, reference: str, name: str) -> str:
    """What a student who writes the reference solution ends up with: the function's body
    written, and the imports it needs added back."""
    stub, solution = function_lines(stubbed, name), function_lines(reference, name)
    filled = stubbed.replace("\n".join(stub), "\n".join(solution))
    imports = [
        ast.get_source_segment(reference, node)
        for node in ast.parse(reference).body
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    for statement in imports:
        if statement not in filled:
            names = statement.split(" import ")[0]
            old = next(line for line in filled.splitlines() if line.startswith(names + " import"))
            filled = filled.replace(old, statement, 1)
    return filled


def test_every_exercise_of_the_shipped_pack_is_gradable_from_the_templates_code(
    tmp_path: Path,
) -> None:
    pack = load_pack(str(PACK))
    assert {e.target for e in pack.exercises} == {
        "train.py:run_epoch",
        "metrics.py:classification_metrics",
    }
    stubbed = new_student(tmp_path / "weld-seam-inspector", STUDENTS["weld"])
    plain = plain_render(tmp_path / "plain" / "weld-seam-inspector", STUDENTS["weld"])

    on_plain = grade(plain, pack.exercises, answers_of(plain), sys.executable)
    on_stubs = grade(stubbed, pack.exercises, answers_of(stubbed), sys.executable)
    for exercise in pack.exercises:
        assert (on_plain[exercise.id].status, on_plain[exercise.id].reason) == (
            "pass",
            "exercise-passed",
        ), on_plain[exercise.id]
        assert on_stubs[exercise.id].reason == "exercise-not-written", on_stubs[exercise.id]
        assert on_stubs[exercise.id].status == "fail"

    # Only the exercise functions (and imports only they used) differ; docstrings stay; the
    # hidden tests are nowhere in the project.
    package = stubbed / "src" / "weld_seam_inspector"
    # (`pocgen new` starts each project's own git repository: its .git differs by nature.)
    changed = sorted(
        path.relative_to(stubbed).as_posix()
        for path in stubbed.rglob("*")
        if path.is_file()
        and ".git" not in path.relative_to(stubbed).parts
        and (plain / path.relative_to(stubbed)).read_bytes() != path.read_bytes()
    )
    assert changed == [
        "src/weld_seam_inspector/metrics.py",
        "src/weld_seam_inspector/train.py",
    ]
    assert not list(stubbed.rglob("test_run_epoch*")) and not list(stubbed.rglob("*.jinja"))
    for exercise in pack.exercises:
        source = (package / exercise.file).read_text(encoding="utf-8")
        reference = (plain / "src" / "weld_seam_inspector" / exercise.file).read_text()
        stub = ast.parse(source)
        node = next(n for n in stub.body if getattr(n, "name", None) == exercise.function)
        original = next(
            n for n in ast.parse(reference).body if getattr(n, "name", None) == exercise.function
        )
        assert ast.get_docstring(node) == ast.get_docstring(original)
        assert ast.dump(node.args) == ast.dump(original.args)
        assert "NotImplementedError" in ast.unparse(node.body[-1])
        assert exercise.hint.split()[0] in source
    # The project's own ruff passes, check and format, on every file: the template renders
    # format-clean, and a stub (its wrapped hint, the imports it dropped) keeps it so.
    for command in (["check"], ["format", "--check"]):
        lint = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--no-cache", "."],
            cwd=stubbed,
            capture_output=True,
            text=True,
        )
        assert lint.returncode == 0, (command, lint.stdout, lint.stderr)

    # A student fills the stubs with the reference solution: the project is the plain render
    # again, byte for byte, and its pipeline runs end to end, where the stubs stopped it.
    stopped = pipeline(stubbed, *SMOKE_STAGES[:2], ("train", "--smoke"))
    assert stopped.returncode != 0 and "NotImplementedError: One pass over" in stopped.stderr
    for exercise in pack.exercises:
        path = package / exercise.file
        reference = (plain / "src" / "weld_seam_inspector" / exercise.file).read_text()
        path.write_text(fill(path.read_text(), reference, exercise.function))
        assert path.read_text() == reference
    finished = pipeline(stubbed, *SMOKE_STAGES)
    assert finished.returncode == 0, finished.stderr[-3000:]
    metrics = json.loads((stubbed / "reports" / "metrics.json").read_text())
    assert set(metrics["metrics"]) >= {"accuracy", "macro_f1"}


def test_a_pack_naming_a_function_the_render_lacks_is_refused_in_one_line(
    tmp_path: Path,
) -> None:
    pack = tmp_path / "pack.yaml"
    text = PACK.read_text(encoding="utf-8").replace(
        "train.py:run_epoch", "train.py:train_one_epoch"
    )
    pack.write_text(text, encoding="utf-8")
    shutil.copytree(PACK.parent / "four-week-bootcamp", tmp_path / "four-week-bootcamp")
    data = [arg for k, v in STUDENTS["weld"].items() for arg in ("--data", f"{k}={v}")]
    result = run_pocgen("new", tmp_path / "p", "--course", pack, "--defaults", *data)
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.stderr
    assert "names train.py:train_one_epoch" in result.stderr
    assert "src/weld_seam_inspector/train.py has no function train_one_epoch" in result.stderr
    assert "run_epoch" in result.stderr  # the functions it does have are named
    assert not (tmp_path / "p").exists()


def test_wrong_missing_and_broken_solutions_are_told_apart(tmp_path: Path) -> None:
    exercise = next(e for e in load_pack(str(PACK)).exercises if e.file == "metrics.py")
    project = plain_render(tmp_path / "weld-seam-inspector", STUDENTS["weld"])
    metrics = project / "src" / "weld_seam_inspector" / "metrics.py"
    reference = metrics.read_text(encoding="utf-8")

    def verdict_for(source: str) -> tuple[str, str, str | None]:
        metrics.write_text(source, encoding="utf-8")
        found = grade(project, [exercise], answers_of(project), sys.executable)[exercise.id]
        return found.reason, found.evidence, found.output

    # Macro-F1 computed as the accuracy: the worked example catches it.
    wrong = reference.replace(
        '"macro_f1": rounded(f1.mean())', '"macro_f1": rounded(np.mean(truth == predicted))'
    )
    reason, evidence, output = verdict_for(wrong)
    assert reason == "exercise-tests-fail" and evidence.startswith("2 of 3 hidden tests fail; ")
    assert "macro_f1" in (output or "")
    broken = reference.replace("import numpy as np\n", "import not_a_module\nimport numpy as np\n")
    reason, evidence, _ = verdict_for(broken)
    assert reason == "exercise-import-error"
    assert evidence.endswith("ModuleNotFoundError: No module named 'not_a_module'")
    renamed = reference.replace("def classification_metrics(", "def metrics_of(")
    reason, evidence, _ = verdict_for(renamed)
    assert reason == "exercise-function-missing"
    assert evidence.startswith("src/weld_seam_inspector/metrics.py has no function")


def copy_written_work(source: Path, target: Path) -> None:
    """Student B copies what student A wrote, renamed to B's project."""
    old, new = answers_of(source)["package_name"], answers_of(target)["package_name"]
    for relative in (
        f"src/{old}/train.py",
        f"src/{old}/metrics.py",
        f"src/{old}/augment.py",
        "params.yaml",
    ):
        text = (source / relative).read_text(encoding="utf-8").replace(old, new)
        (target / relative.replace(old, new)).write_text(text, encoding="utf-8")


AUGMENT = '''"""Stronger augmentation for {name}: colour jitter and small rotations."""

import random

from PIL import Image, ImageEnhance


def jitter(image: Image.Image, strength: float = 0.2) -> Image.Image:
    """Brightness and contrast each scaled by a random factor within `strength`."""
    for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast):
        image = enhancer(image).enhance(1 + random.uniform(-strength, strength))
    return image


def rotate(image: Image.Image, degrees: float = {degrees}) -> Image.Image:
    """A small rotation: the seams are photographed by hand, never quite level."""
    return image.rotate(random.uniform(-degrees, degrees), fillcolor=(0, 0, 0))
'''

OWN_FILTER = '''"""Drop photos too dark to inspect before they reach training."""

import numpy as np
from PIL import Image


def too_dark(image: Image.Image, floor: float = 40.0) -> bool:
    """True when the mean grey level is below `floor` (0-255): nothing to see."""
    return float(np.asarray(image.convert("L")).mean()) < floor


def keep_bright(paths: list[str]) -> list[str]:
    kept = []
    for path in paths:
        with Image.open(path) as image:
            if not too_dark(image):
                kept.append(path)
    return kept
'''


def test_three_students_graded_at_once(tmp_path: Path) -> None:
    pack = load_pack(str(PACK))
    weld = new_student(tmp_path / "weld-seam-inspector", STUDENTS["weld"])
    pipe = new_student(tmp_path / "pipe-leak-spotter", STUDENTS["pipe"])
    fabric = new_student(tmp_path / "fabric-flaw-finder", STUDENTS["fabric"])
    reference = plain_render(tmp_path / "plain" / "weld-seam-inspector", STUDENTS["weld"])

    # Weld writes both exercises (as the template would) and work of their own.
    package = weld / "src" / "weld_seam_inspector"
    for exercise in pack.exercises:
        solution = (reference / "src" / "weld_seam_inspector" / exercise.file).read_text()
        stub = (package / exercise.file).read_text()
        (package / exercise.file).write_text(fill(stub, solution, exercise.function))
    (package / "augment.py").write_text(AUGMENT.format(name="weld seams", degrees=5))
    params = weld / "params.yaml"
    params.write_text(params.read_text().replace("patience: 5", "patience: 8"))
    # Pipe copies Weld's work into their own project; Fabric writes something else and leaves
    # the exercises for later.
    copy_written_work(weld, pipe)
    (fabric / "src" / "fabric_flaw_finder" / "brightness.py").write_text(OWN_FILTER)

    graded = run_pocgen("check", "--course", PACK, weld, pipe, fabric, "--json", "--workers", "2")
    assert "Traceback" not in graded.stderr, graded.stderr
    batch = json.loads(graded.stdout)
    jsonschema.validate(batch, SCHEMA)
    assert graded.exit_code == 1 and batch["passed"] is False and batch["workers"] == 2
    reports = {Path(r["project"]).name: r for r in batch["reports"]}
    assert set(reports) == {weld.name, pipe.name, fabric.name} and not batch["errors"]

    def exercise_items(name: str) -> dict[str, tuple[str, str]]:
        return {
            i["id"]: (i["status"], i["reason"]) for i in reports[name]["items"] if i["exercise"]
        }

    solved = {"run-epoch": ("pass", "exercise-passed")}
    solved["classification-metrics"] = ("pass", "exercise-passed")
    assert exercise_items(weld.name) == exercise_items(pipe.name) == solved
    assert exercise_items(fabric.name) == {
        "run-epoch": ("fail", "exercise-not-written"),
        "classification-metrics": ("fail", "exercise-not-written"),
    }
    for report in reports.values():
        assert report["max_score"] == 29 and report["template"]["source"] == "pocgen:poc"
        assert report["rubric"]["sha256"] == batch["rubric"]["sha256"]
        contribution = next(i for i in report["items"] if i["id"] == "contribution")
        assert "exercises stubbed" in contribution["evidence"]
    # Fabric's contribution is her one file: the stubs she left are pocgen's, not hers.
    own = next(i for i in reports[fabric.name]["items"] if i["id"] == "contribution")
    added = sum(1 for line in OWN_FILTER.splitlines() if line.strip())  # blank lines aside
    assert f"1 files added, 1 code files changed (+{added} −0)" in own["evidence"], own

    cohort = batch["cohort"]
    flagged = {
        frozenset(Path(p).name for p in (pair["a"], pair["b"])) for pair in cohort["flagged_pairs"]
    }
    assert flagged == {frozenset({weld.name, pipe.name})}, cohort["pairs"]
    top = cohort["pairs"][0]
    assert top["similarity"] >= 0.5 and top["flagged"]
    matches = {(Path(m["project"]).name, m["reference"]) for m in cohort["matches"]}
    # Both wrote the template's own solution; Fabric's work is her own.
    assert matches == {(weld.name, "template-solution"), (pipe.name, "template-solution")}
    assert cohort["flagship_not_compared"] is None

    table = run_pocgen("check", "--course", PACK, weld, pipe, fabric, "--static")
    assert table.exit_code == 1
    assert "with pipe-leak-spotter" in table.stdout and "with weld-seam-inspector" in table.stdout
