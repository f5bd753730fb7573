"""Rubrics: the list of items `pocgen check` grades, with weights and thresholds.

A rubric comes from a built-in name (`path`, the default, or `ml-course`), a YAML file given with
`--rubric`, or the `rubric` key of a course pack. All three go through `parse_items`, so a malformed
rubric gets the same one-line error wherever it comes from, naming the item and the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from pocgen.check.items import CHECKS
from pocgen.errors import PocgenError

DEFAULT_RUBRIC = "path"
ITEM_KEYS = {"id", "title", "weight", "check", "command", "threshold", "required"}
_ID = re.compile(r"^[a-z][a-z0-9_-]*$")


@dataclass(frozen=True)
class RubricItem:
    """One graded item: a built-in `check`, a shell `command` run in the project folder, or a
    course pack's `exercise` (graded by its hidden tests, see `exercises.py`)."""

    id: str
    title: str
    weight: float
    check: str | None = None
    command: str | None = None
    threshold: float | None = None
    required: bool = True
    exercise: str | None = None


@dataclass(frozen=True)
class Rubric:
    name: str
    description: str
    items: list[RubricItem]
    source: str
    remote: bool = False  # fetched over the network: its commands need --trust


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PocgenError(f"{what} must be a number (got {value!r}).")
    return float(value)


def parse_items(raw: Any, where: str) -> list[RubricItem]:
    """Validate a list of rubric items; every error names `where`, the item and the fix."""
    if not isinstance(raw, list) or not raw:
        raise PocgenError(
            f"{where}: the rubric must be a non-empty list of items, each with "
            "`id`, `title`, `weight` and a `check` or a `command`."
        )
    items: list[RubricItem] = []
    seen: set[str] = set()
    for number, entry in enumerate(raw, start=1):
        label = f"{where}: rubric item {number}"
        if not isinstance(entry, dict):
            raise PocgenError(
                f"{label} must be a mapping with `id`, `title`, `weight` and a "
                "`check` or a `command`."
            )
        if isinstance(entry.get("id"), str):
            label += f" (`{entry['id']}`)"
        unknown = sorted(set(entry) - ITEM_KEYS)
        if unknown:
            raise PocgenError(
                f"{label}: unknown key(s) {', '.join(unknown)}; allowed: "
                f"{', '.join(sorted(ITEM_KEYS))}."
            )
        for key in ("id", "title"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise PocgenError(f"{label}: `{key}` must be a non-empty string.")
        if not _ID.match(entry["id"]):
            raise PocgenError(f"{label}: `id` must be lowercase letters, digits, '_' or '-'.")
        if entry["id"] in seen:
            raise PocgenError(f"{label}: the id `{entry['id']}` is used twice; ids must be unique.")
        seen.add(entry["id"])
        if "weight" not in entry:
            raise PocgenError(f"{label}: `weight` is missing; give it a number such as 1.")
        weight = _number(entry["weight"], f"{label}: `weight`")
        if weight < 0:
            raise PocgenError(f"{label}: `weight` must not be negative (got {weight:g}).")
        check, command = entry.get("check"), entry.get("command")
        if (check is None) == (command is None):
            raise PocgenError(
                f"{label}: give exactly one of `check` (a built-in: "
                f"{', '.join(CHECKS)}) or `command` (a shell command)."
            )
        if check is not None and check not in CHECKS:
            raise PocgenError(
                f"{label}: unknown check {check!r}; built-in checks are {', '.join(CHECKS)}."
            )
        if command is not None and (not isinstance(command, str) or not command.strip()):
            raise PocgenError(f"{label}: `command` must be a non-empty string.")
        threshold = entry.get("threshold")
        if threshold is not None:
            threshold = _number(threshold, f"{label}: `threshold`")
        required = entry.get("required", True)
        if not isinstance(required, bool):
            raise PocgenError(f"{label}: `required` must be true or false (got {required!r}).")
        items.append(
            RubricItem(
                entry["id"], entry["title"].strip(), weight, check, command, threshold, required
            )
        )
    return items


def rubric_from_data(data: Any, source: str) -> Rubric:
    """A rubric document: a mapping with `name`, `description`, `items`, or a bare list of items."""
    if isinstance(data, list):
        data = {"items": data}
    if not isinstance(data, dict):
        raise PocgenError(f"{source}: a rubric is a mapping with `name` and `items` (a list).")
    unknown = sorted(set(data) - {"name", "description", "items"})
    if unknown:
        raise PocgenError(
            f"{source}: unknown key(s) {', '.join(unknown)}; a rubric has `name`, "
            "`description` and `items`."
        )
    name = data.get("name") or Path(source).stem
    return Rubric(
        str(name), str(data.get("description", "")), parse_items(data.get("items"), source), source
    )


def builtin_rubrics() -> dict[str, Path]:
    folder = files("pocgen.check") / "rubrics"
    return {Path(str(p)).stem: Path(str(p)) for p in folder.iterdir() if str(p).endswith(".yaml")}


def read_yaml(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        problem = str(error).splitlines()[0]
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise PocgenError(
            f"{source} is not valid YAML{where} ({problem}); fix the file."
        ) from error


def load_rubric(source: str | Path | None) -> Rubric:
    """A rubric by built-in name or YAML file path; None gives the default path rubric."""
    name = str(source) if source is not None else DEFAULT_RUBRIC
    builtins = builtin_rubrics()
    path = builtins.get(name) or Path(name)
    if not path.is_file():
        raise PocgenError(
            f"rubric {name!r} not found: give a YAML file or a built-in rubric "
            f"({', '.join(sorted(builtins))})."
        )
    label = f"built-in rubric {name}" if name in builtins else str(path)
    return rubric_from_data(read_yaml(path.read_text(encoding="utf-8"), label), label)
