"""The contract between the built-in template and the tool around it, in one place.

The template ships the JSON Schema of every report its stages write (`templates/poc/schemas/`,
next to its copier.yml, so it documents the generated project without being rendered into it);
pocgen validates each report against it before reading a single fact. The same folder holds the
rule for the success-metric sentence and the rules for names as data, which copier.yml's
validators and defaults and pocgen both read. What the template's answers mean to the tools
(which file records them, which engine wrote that file, which Hub licence a licence answer is)
is defined here once too.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from pocgen.errors import PocgenError

BUILTIN_TEMPLATE = "poc"
# The file that records a project's answers, and the engine that writes it. Cookiecutter keeps no
# answers of its own, so pocgen records them (under `context`) in `.pocgen.yml`.
ANSWERS_FILES = {".copier-answers.yml": "copier", ".pocgen.yml": "cookiecutter"}
ANSWERS_KEY = {".copier-answers.yml": None, ".pocgen.yml": "context"}
# The files that make a folder a template, and the engine that renders it; Copier's first.
TEMPLATE_FILES = {
    "copier.yml": "copier",
    "copier.yaml": "copier",
    "cookiecutter.json": "cookiecutter",
}
# The template's licence answers -> the Hub's licence identifiers (model card, Space card).
HUB_LICENSES = {"MIT": "mit", "Apache-2.0": "apache-2.0", "BSD-3-Clause": "bsd-3-clause"}


def builtin_root() -> Path:
    """The folder of built-in templates: inside the wheel, or `templates/` in a source checkout."""
    packaged = Path(str(files("pocgen") / "templates"))
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


def schemas_dir() -> Path:
    return builtin_root() / BUILTIN_TEMPLATE / "schemas"


def template_engine(folder: Path) -> str | None:
    """'copier' or 'cookiecutter' for a template folder, by its config file; None for neither."""
    return next(
        (engine for name, engine in TEMPLATE_FILES.items() if (folder / name).is_file()), None
    )


def hub_license(answer: object) -> str:
    """The Hub's identifier for a licence answer; 'other' for anything it does not know."""
    return HUB_LICENSES.get(str(answer), "other")


def answers_file(root: Path) -> Path | None:
    """The file that records the answers of the project at `root`, if it has one."""
    return next((root / name for name in ANSWERS_FILES if (root / name).is_file()), None)


def read_record(path: Path) -> dict[str, Any]:
    """An answers file (or `.pocgen.yml`) as a mapping; one line naming the fix when it is not.

    The whole record, `_src_path` and `_commit` included: `update` and the contribution need them.
    """
    try:
        record = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise PocgenError(
            f"{path} is not valid YAML{where}; restore it with `git checkout -- {path.name}` "
            "in the project."
        ) from None
    except OSError as error:
        raise PocgenError(f"{path} cannot be read ({error.strerror}).") from None
    if not isinstance(record, dict):
        raise PocgenError(
            f"{path} must be a mapping of `key: value` pairs; restore it with "
            f"`git checkout -- {path.name}` in the project."
        )
    return record


def recorded_answers(root: Path) -> dict[str, Any] | None:
    """The answers the project at `root` was rendered with (Cookiecutter's under `context`), or
    None when it records none."""
    path = answers_file(root)
    if path is None:
        return None
    record = read_record(path)
    key = ANSWERS_KEY[path.name]
    answers = record.get(key) if key else record
    if not isinstance(answers, dict):
        raise PocgenError(f"{path} must hold a mapping of answers; restore it from git.")
    return answers


# --- the reports' schemas -------------------------------------------------------------------


@cache
def _registry() -> Any:
    """Every schema of the template, by its `$id`, so they can refer to one another."""
    from referencing import Registry, Resource

    resources = [
        (schema["$id"], Resource.from_contents(schema))
        for schema in (
            json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(schemas_dir().glob("*.schema.json"))
        )
    ]
    return Registry().with_resources(resources)


@cache
def validator(name: str) -> Any:
    """A validator for `<name>.schema.json` (metrics, experiments, training, data_quality,
    labels, deploy), built once per process."""
    from jsonschema import Draft202012Validator

    schema = _registry().contents(f"{name}.schema.json")
    return Draft202012Validator(schema, registry=_registry())


def schema_problem(data: Any, name: str) -> str | None:
    """What is wrong with `data` as a `name` report, in one phrase, or None when it is valid."""
    from jsonschema.exceptions import best_match

    error = best_match(validator(name).iter_errors(data))
    if error is None:
        return None
    where = ".".join(str(part) for part in error.absolute_path)
    return error.message + (f" (at `{where}`)" if where else "")


# --- the success-metric sentence --------------------------------------------------------------


@cache
def success_rule() -> dict[str, Any]:
    """templates/poc/schemas/success_metric.json: the words per metric, the class metrics and
    the number pattern; copier.yml's `success_metric` validator reads the same file."""
    return dict(json.loads((schemas_dir() / "success_metric.json").read_text(encoding="utf-8")))


def metric_words(metric: str) -> list[str]:
    """The words a sentence must hold to name `metric` (its key in words, for a metric the
    built-in template does not know)."""
    known: dict[str, list[str]] = success_rule()["metric_words"]
    return known.get(metric, [metric.replace("_", " ")])


def stated_numbers(sentence: str) -> list[float]:
    """The numbers a sentence states, percentages as fractions: '90%' and '0.9' are both 0.9."""
    values = []
    for text in re.findall(success_rule()["number"], sentence):
        number = text.rstrip("%").strip()
        values.append(float(number) / 100 if text.endswith("%") else float(number))
    return values


def success_sentence_gap(
    sentence: str, metric: str, value: float, target_class: str | None = None
) -> str | None:
    """Which part of the rule the success-metric sentence misses ('metric', 'class', 'target'),
    or None when it names the metric (and its class) and states the target value."""
    text = sentence.lower()
    if not all(word in text for word in metric_words(metric)):
        return "metric"
    class_metric = metric in success_rule()["class_metrics"]
    if class_metric and target_class and target_class.lower() not in text:
        return "class"
    if not any(abs(number - value) < 1e-9 for number in stated_numbers(sentence)):
        return "target"
    return None


# --- names ------------------------------------------------------------------------------------


@cache
def names_rule() -> dict[str, Any]:
    """templates/poc/schemas/names.json: what a class name may hold and how a name becomes a
    slug; copier.yml's `classes` validator and `project_slug` default read the same file."""
    return dict(json.loads((schemas_dir() / "names.json").read_text(encoding="utf-8")))


def slug(name: str) -> str:
    """`name` as the built-in template's project_slug default makes it: lower case, accents
    written out (`Mon Projet Café` -> `mon-projet-cafe`), only a-z and 0-9, single dashes, and
    a `project-` prefix when it would not start with a letter."""
    table = str.maketrans(names_rule()["transliteration"])
    plain = re.sub("[^a-z0-9]+", "-", name.lower().translate(table)).strip("-")
    return plain if plain[:1].isalpha() else f"project-{plain}".rstrip("-")
