"""Exercise mode: functions of the generated project that students write, graded by hidden tests.

A course pack names functions of the project it hands out, each with a hint and the tests that
grade it:

    exercises:
      - id: run-epoch
        title: "Week 3: the training loop"
        function: train.py:run_epoch      # a file in src/<package>/ (or a path from the project
                                          # root, such as app/gradio_app.py), then the function
        hint: "One pass over the loader: forward, loss, and a step when training."
        tests: four-week-bootcamp/test_run_epoch.py.jinja   # relative to the pack file
        weight: 3
        tasks: [image-classification]     # optional: the tasks this function exists for

`pocgen new --course` renders the project, then `stub_project` replaces each function's body by
`raise NotImplementedError("<hint>")`: the signature, decorators and docstring stay, imports only
the body used go, and the file stays clean by the project's own ruff. The hidden tests stay with
the pack, never in the project. `pocgen check --course` runs them (`grade`) against a scratch copy
of the student's project, with the project's interpreter, and reports each exercise as a rubric
item. A test file ending in `.jinja` is rendered first, in Jinja's sandbox, with the project's
answers, so it can import `{{ package_name }}` as the template's own tests do.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import shutil
import tempfile
import textwrap
import tokenize
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pocgen.check import probes
from pocgen.check.items import Verdict
from pocgen.check.rubric import RubricItem, _number
from pocgen.contract import recorded_answers
from pocgen.errors import PocgenError
from pocgen.project import Project
from pocgen.writeup.contribution import Contribution, measure, pristine

EXERCISE_KEYS = ("id", "title", "function", "hint", "tests", "weight", "required", "tasks")
LINE_LENGTH = 100  # the generated project's ruff line length
HIDDEN_TIMEOUT = 900
STUB_ERROR = "NotImplementedError"
COLLECTION_FAILURE = "collection failure"  # pytest's message for a module it could not import


@dataclass(frozen=True)
class Exercise:
    """One function students write, its hint, and the hidden tests that grade it."""

    id: str
    title: str
    file: str  # `train.py` (in src/<package>/) or a path from the project root
    function: str  # `run_epoch`, or `Class.method`
    hint: str
    tests: tuple[Path, ...]
    weight: float = 1.0
    required: bool = True
    tasks: tuple[str, ...] = ()  # empty: every task

    @property
    def target(self) -> str:
        return f"{self.file}:{self.function}"

    def applies_to(self, task: object) -> bool:
        return not self.tasks or task in self.tasks

    def relative_path(self, answers: Mapping[str, Any]) -> str:
        """The file's path from the project root."""
        if "/" in self.file:
            return self.file
        package = answers.get("package_name")
        if not isinstance(package, str) or not package.isidentifier():
            raise PocgenError(
                f"exercise `{self.id}` names {self.file}, a file of the project's package, but "
                "the project records no package_name; write the path from the project root."
            )
        return f"src/{package}/{self.file}"

    def item(self) -> RubricItem:
        return RubricItem(
            self.id, self.title, self.weight, required=self.required, exercise=self.id
        )

    def digest(self) -> dict[str, Any]:
        """What grading with this exercise depends on, for the rubric's hash."""
        return {
            "id": self.id,
            "function": self.target,
            "tasks": list(self.tasks),
            "tests": {path.name: _sha256(path.read_bytes()) for path in self.tests},
        }


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _text(entry: dict[str, Any], key: str, label: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PocgenError(f"{label}: `{key}` must be a non-empty string.")
    return value.strip()


def _test_files(value: Any, label: str, base: str) -> tuple[Path, ...]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise PocgenError(f"{label}: `tests` must be a test file, or a list of them.")
    paths = []
    for name in names:
        path = Path(name).expanduser()
        if not path.is_absolute():
            if not base:
                raise PocgenError(
                    f"{label}: the pack has no folder, so `tests` must be absolute paths."
                )
            path = Path(base) / path
        if path.is_dir():
            raise PocgenError(f"{label}: {path} is a folder; list its test files in `tests`.")
        if not path.is_file():
            raise PocgenError(f"{label}: hidden test file {path} not found; fix `tests`.")
        if not path.name.startswith("test_") or not path.name.endswith((".py", ".py.jinja")):
            raise PocgenError(
                f"{label}: {path.name} must be named test_*.py (or test_*.py.jinja) so pytest "
                "collects it."
            )
        paths.append(path)
    return tuple(paths)


def parse_exercises(raw: Any, where: str, base: str, taken: Iterable[str]) -> tuple[Exercise, ...]:
    """Validate a pack's `exercises`; every error names the pack, the exercise and the fix.

    `taken` are the rubric's item ids: an exercise is graded as an item, so its id is unique too.
    """
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise PocgenError(f"{where}: `exercises` must be a list of exercises.")
    seen = set(taken)
    exercises = []
    for number, entry in enumerate(raw, start=1):
        label = f"{where}: exercise {number}"
        if not isinstance(entry, dict):
            raise PocgenError(f"{label} must be a mapping with {', '.join(EXERCISE_KEYS[:5])}.")
        if isinstance(entry.get("id"), str):
            label += f" (`{entry['id']}`)"
        unknown = sorted(set(entry) - set(EXERCISE_KEYS))
        if unknown:
            raise PocgenError(
                f"{label}: unknown key(s) {', '.join(map(str, unknown))}; allowed: "
                f"{', '.join(EXERCISE_KEYS)}."
            )
        exercise_id = _text(entry, "id", label)
        if exercise_id in seen:
            raise PocgenError(f"{label}: the id `{exercise_id}` is used twice; ids must be unique.")
        seen.add(exercise_id)
        file, _, function = _text(entry, "function", label).rpartition(":")
        if not file.endswith(".py") or not all(p.isidentifier() for p in function.split(".")):
            raise PocgenError(
                f"{label}: `function` must be FILE.py:NAME, such as train.py:run_epoch."
            )
        tasks = entry.get("tasks") or []
        if not isinstance(tasks, list) or not all(isinstance(t, str) for t in tasks):
            raise PocgenError(f"{label}: `tasks` must be a list of task names.")
        required = entry.get("required", True)
        if not isinstance(required, bool):
            raise PocgenError(f"{label}: `required` must be true or false (got {required!r}).")
        weight = _number(entry.get("weight", 1), f"{label}: `weight`")
        if weight < 0:
            raise PocgenError(f"{label}: `weight` must not be negative (got {weight:g}).")
        exercises.append(
            Exercise(
                id=exercise_id,
                title=str(entry.get("title") or f"Exercise: write {function}").strip(),
                file=file,
                function=function,
                hint=_text(entry, "hint", label),
                tests=_test_files(entry.get("tests"), label, base),
                weight=weight,
                required=required,
                tasks=tuple(tasks),
            )
        )
    return tuple(exercises)


# --- stubs -------------------------------------------------------------------------------------


def _find_function(tree: ast.Module, qualname: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
    """The function `name` or method `Class.name` at the top of a module; LookupError if absent."""
    scope: list[ast.stmt] = tree.body
    *classes, name = qualname.split(".")
    for class_name in classes:
        found = next(
            (n for n in scope if isinstance(n, ast.ClassDef) and n.name == class_name), None
        )
        if found is None:
            raise LookupError(qualname)
        scope = found.body
    for node in scope:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return node
    raise LookupError(qualname)


def functions_in(source: str) -> list[str]:
    """The functions and methods a module defines at its top, as `pocgen` names them."""
    names = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.append(node.name)
        elif isinstance(node, ast.ClassDef):
            names += [
                f"{node.name}.{n.name}"
                for n in node.body
                if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            ]
    return names


def _header_end(source: str, node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """The line (1-based) of the colon that ends the function's `def ...:` header."""
    lines = source.splitlines(keepends=True)[node.lineno - 1 :]
    depth = 0
    seen_def = False
    for token in tokenize.generate_tokens(io.StringIO("".join(lines)).readline):
        if token.type == tokenize.NAME and token.string == "def":
            seen_def = True
        elif token.type == tokenize.OP and token.string in "([{":
            depth += 1
        elif token.type == tokenize.OP and token.string in ")]}":
            depth -= 1
        elif seen_def and depth == 0 and token.type == tokenize.OP and token.string == ":":
            return node.lineno + token.start[0] - 1
    raise LookupError(node.name)


def _raise_lines(hint: str, indent: str) -> list[str]:
    """`raise NotImplementedError("hint")`, laid out as ruff format lays it out at 100 columns."""
    one = f"{indent}raise NotImplementedError({json.dumps(hint, ensure_ascii=False)})"
    if len(one) <= LINE_LENGTH:
        return [one + "\n"]
    inner = indent + " " * 4
    pieces = textwrap.wrap(
        hint,
        width=LINE_LENGTH - len(inner) - 3,  # the quotes, and the space kept at a piece's end
        break_long_words=False,
        break_on_hyphens=False,
    )
    literals = [
        json.dumps(p + (" " if i < len(pieces) - 1 else ""), ensure_ascii=False)
        for i, p in enumerate(pieces)
    ]
    return [
        f"{indent}raise NotImplementedError(\n",
        *(f"{inner}{literal}\n" for literal in literals),
        f"{indent})\n",
    ]


def _used_names(tree: ast.AST) -> set[str]:
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def _import_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom) and not (
            isinstance(node, ast.ImportFrom) and node.module == "__future__"
        ):
            names |= {alias.asname or alias.name.split(".")[0] for alias in node.names}
    return names


def _import_text(node: ast.Import | ast.ImportFrom, kept: list[ast.alias], exploded: bool) -> str:
    names = [f"{a.name} as {a.asname}" if a.asname else a.name for a in kept]
    if isinstance(node, ast.Import):
        return "".join(f"import {name}\n" for name in names)
    head = f"from {'.' * node.level}{node.module or ''} import "
    if exploded:  # written one name a line with a trailing comma: ruff keeps it that way
        return head + "(\n" + "".join(f"    {name},\n" for name in names) + ")\n"
    return head + ", ".join(names) + "\n"


def _drop_imports(source: str, unused: set[str]) -> str:
    """`source` without the module-level imports of `unused` names (a stub no longer uses them)."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    for node in reversed(tree.body):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        kept = [a for a in node.names if (a.asname or a.name.split(".")[0]) not in unused]
        if len(kept) == len(node.names):
            continue
        start, end = node.lineno - 1, node.end_lineno or node.lineno
        replacement = _import_text(node, kept, end > start + 1) if kept else ""
        lines[start:end] = [replacement] if replacement else []
        # A whole import gone leaves no blank line at the top of the file, and one blank line,
        # not two, where it stood between two.
        if not kept and start == 0:
            while lines and not lines[0].strip():
                del lines[0]
        elif not kept and start < len(lines) and not lines[start - 1].strip():
            if not lines[start].strip():
                del lines[start]
    return "".join(lines)


def stub_source(source: str, qualname: str, hint: str) -> str:
    """`source` with the body of function `qualname` replaced by `raise NotImplementedError(hint)`.

    The signature, decorators and docstring stay; comments and code of the body go; imports that
    only the body used go too (the student adds back what their code needs), so the module stays
    clean by ruff. LookupError when the module has no such function.
    """
    tree = ast.parse(source)
    node = _find_function(tree, qualname)
    first = node.body[0]
    has_docstring = (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )
    start = (first.end_lineno or first.lineno) if has_docstring else _header_end(source, node)
    if first.lineno == node.lineno or (not has_docstring and first.lineno == start):
        raise ValueError(f"{qualname} has its body on the `def` line; a stub needs it on its own")
    indent = " " * first.col_offset
    lines = source.splitlines(keepends=True)
    lines[start : node.end_lineno] = _raise_lines(hint, indent)
    stubbed = "".join(lines)
    unused = (_import_names(tree) & _used_names(tree)) - _used_names(ast.parse(stubbed))
    return _drop_imports(stubbed, unused) if unused else stubbed


def stub_project(root: Path, exercises: Sequence[Exercise], pack: str) -> list[Exercise]:
    """Turn the exercises that apply to the project's task into stubs; return them.

    A file or function the pack names but the render lacks stops everything with one line that
    names it (the caller renders in a staging folder, so nothing is left half-made).
    """
    answers = recorded_answers(root) or {}
    stubbed = []
    for exercise in exercises:
        if not exercise.applies_to(answers.get("task")):
            continue
        relative = exercise.relative_path(answers)
        path = root / relative
        where = f"course pack {pack!r}: exercise `{exercise.id}` names {exercise.target}"
        if not path.is_file():
            raise PocgenError(
                f"{where}, but the rendered project has no {relative}; fix `function` in the pack."
            )
        source = path.read_text(encoding="utf-8")
        try:
            path.write_text(stub_source(source, exercise.function, exercise.hint), encoding="utf-8")
        except LookupError:
            known = ", ".join(functions_in(source)) or "none"
            raise PocgenError(
                f"{where}, but {relative} has no function {exercise.function} (it has: {known}); "
                "fix `function` in the pack."
            ) from None
        except ValueError as error:
            raise PocgenError(f"{where}: {error}.") from None
        stubbed.append(exercise)
    return stubbed


@contextmanager
def as_handed_out(render: Path, exercises: Sequence[Exercise]) -> Iterator[Path]:
    """A copy of a fresh render with the exercises stubbed: the project as students got it.

    When the render lacks an exercise's function (a template version older than the pack), the
    plain render stands in.
    """
    with tempfile.TemporaryDirectory(prefix="pocgen-handed-out-") as scratch:
        copy = Path(scratch) / render.name
        shutil.copytree(render, copy, symlinks=True)
        try:
            stub_project(copy, exercises, "course")
        except PocgenError:
            shutil.rmtree(copy)
            shutil.copytree(render, copy, symlinks=True)
        yield copy


def contribution_as_handed_out(project: Project, exercises: Sequence[Exercise]) -> Contribution:
    """The student's contribution measured against the project as handed out: the stubs are
    pocgen's doing, so only what the student wrote in their place counts."""
    render, _, _ = pristine(project.root)
    if render is None or not exercises:
        return measure(project)
    with as_handed_out(render, exercises) as baseline:
        measured = measure(project, against=baseline)
    measured.template = f"{measured.template}, exercises stubbed"
    return measured


# --- grading -----------------------------------------------------------------------------------


def _render_test(path: Path, answers: Mapping[str, Any]) -> str:
    """A hidden test file, rendered with the project's answers when it ends in `.jinja`."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".jinja":
        return text
    from jinja2 import StrictUndefined, TemplateError
    from jinja2.sandbox import SandboxedEnvironment

    environment = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)
    try:
        return environment.from_string(text).render(**answers)
    except TemplateError as error:  # the course's mistake: no student is graded with it
        raise PocgenError(
            f"hidden test {path} cannot be rendered with the project's answers ({error}); "
            "fix the test file in the course pack."
        ) from None


def _folder_name(exercise: Exercise) -> str:
    return exercise.id.replace("-", "_")


@dataclass(frozen=True)
class _Case:
    file: str  # relative to the hidden tests' folder: `<exercise>/test_x.py`
    name: str
    problem: str | None  # the first line of the failure or error, None when it passed
    details: str  # the failure's full text


def _cases(report: Path) -> list[_Case]:
    """The test cases of a pytest JUnit report (xunit1: each names its file)."""
    cases = []
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        problem = next((child for child in case if child.tag in ("failure", "error")), None)
        message = None
        if problem is not None:
            message = (problem.get("message") or problem.tag).strip().splitlines()[0]
        cases.append(
            _Case(
                case.get("file") or case.get("classname", "").replace(".", "/") + ".py",
                case.get("name", "?"),
                message,
                (problem.text or "") if problem is not None else "",
            )
        )
    return cases


def _missing_function(root: Path, exercise: Exercise, answers: Mapping[str, Any]) -> str | None:
    """Why the student's project lacks the exercise's function, or None when it has it."""
    relative = exercise.relative_path(answers)
    try:
        _find_function(ast.parse((root / relative).read_text(encoding="utf-8")), exercise.function)
    except (OSError, UnicodeDecodeError):
        return f"{relative} not found"
    except SyntaxError as error:
        return f"{relative} does not parse (line {error.lineno}: {error.msg})"
    except LookupError:
        return f"{relative} has no function {exercise.function}"
    return None


def _verdict(cases: list[_Case], where: str) -> Verdict:
    """One exercise's verdict from its hidden test cases."""
    if not cases:
        return Verdict("fail", f"no hidden test ran ({where})", "exercise-not-run")
    failed = [case for case in cases if case.problem is not None]
    if not failed:
        return Verdict("pass", f"{len(cases)} hidden tests pass", "exercise-passed")
    first = failed[0]
    tail = "\n".join(first.details.strip().splitlines()[-probes.TAIL_LINES :])
    if first.problem == COLLECTION_FAILURE:
        # pytest's own words for a test module that could not import the project's code; the
        # error itself is the last `E ` line of the details.
        errors = [line[1:].strip() for line in first.details.splitlines() if line.startswith("E ")]
        return Verdict(
            "fail",
            "the hidden tests cannot import the project's code: "
            + (errors[-1] if errors else first.problem),
            "exercise-import-error",
            tail,
        )
    if all(STUB_ERROR in case.problem or STUB_ERROR in case.details for case in failed):
        return Verdict(
            "fail",
            f"not written yet: {len(failed)} of {len(cases)} hidden tests reach the stub "
            f"({STUB_ERROR})",
            "exercise-not-written",
        )
    return Verdict(
        "fail",
        f"{len(failed)} of {len(cases)} hidden tests fail; {first.name}: {first.problem}",
        "exercise-tests-fail",
        tail,
    )


def grade(
    root: Path, exercises: Sequence[Exercise], answers: Mapping[str, Any], python: str
) -> dict[str, Verdict]:
    """Run every exercise's hidden tests against a scratch copy of the project, in one pytest.

    The tests live outside the copy, under a pytest configuration of their own, so nothing of the
    student's (conftest.py, pytest settings) is loaded but the code they import; the working
    folder is the copy, so the code finds its params.yaml as it would at home.
    """
    verdicts: dict[str, Verdict] = {}
    runnable = []
    for exercise in exercises:
        missing = _missing_function(root, exercise, answers)
        if missing:
            verdicts[exercise.id] = Verdict(
                "fail",
                f"{missing}: the hidden tests call {exercise.target}; put it back",
                "exercise-function-missing",
            )
        else:
            runnable.append(exercise)
    if not runnable:
        return verdicts
    with tempfile.TemporaryDirectory(prefix="pocgen-exercises-") as scratch:
        copy = Path(scratch) / root.name
        shutil.copytree(root, copy, ignore=probes.NOT_COPIED, symlinks=True)
        hidden = Path(scratch) / "hidden"
        for exercise in runnable:
            folder = hidden / _folder_name(exercise)
            folder.mkdir(parents=True)
            for test in exercise.tests:
                target = folder / test.name.removesuffix(".jinja")
                target.write_text(_render_test(test, answers), encoding="utf-8")
        (hidden / "pytest.ini").write_text("[pytest]\njunit_family = xunit1\n", encoding="utf-8")
        report = Path(scratch) / "hidden-tests.xml"
        command = [
            python,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--import-mode=importlib",
            "--continue-on-collection-errors",  # one exercise's import error spares the others
        ]
        command += ["-c", str(hidden / "pytest.ini"), f"--junitxml={report}", str(hidden)]
        environment = {**os.environ, "PYTHONPATH": str(copy / "src")}
        outcome = probes.run_command(command, copy, HIDDEN_TIMEOUT, env=environment)
        where = probes.describe_python(root, python)
        cases = _cases(report) if report.is_file() else []
        for exercise in runnable:
            prefix = _folder_name(exercise) + "/"
            mine = [case for case in cases if case.file.replace(os.sep, "/").startswith(prefix)]
            if not report.is_file():
                verdicts[exercise.id] = Verdict(
                    "fail",
                    f"the hidden tests could not run with {where}: {outcome.evidence}",
                    "exercise-not-run",
                    outcome.tail,
                )
            else:
                verdicts[exercise.id] = _verdict(mine, where)
    return verdicts
