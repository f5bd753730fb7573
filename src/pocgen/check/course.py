"""Course packs: one YAML file that gives a class its template, preset answers, locks and rubric.

A pack is found by `load_pack(source)`: a local YAML file, an http(s) URL, or a name that an
installed package registers in the `pocgen.courses` entry-point group. Its keys:

    name, description   what students see
    template, ref       a built-in template name, a folder (relative to the pack file) or a git URL,
                        pinned to a git ref
    answers             preset answers to the template's questions
    locked              names of answers students may not change
    rubric              a list of rubric items, or the name of a built-in rubric (default: path)
    exercises           functions students write, each graded by hidden tests (`exercises.py`)

`pocgen new --course` renders `template` at `ref` with `merge_answers(pack, given)` and turns the
exercises into stubs, and `pocgen check --course` grades with `pack.rubric`, plus a check that
locked answers kept their values and one item per exercise.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

from pocgen.check.exercises import Exercise, parse_exercises, stub_project
from pocgen.check.rubric import Rubric, RubricItem, load_rubric, parse_items, read_yaml
from pocgen.contract import recorded_answers, template_engine
from pocgen.errors import PocgenError
from pocgen.templating.registry import TemplateEntry

ENTRY_POINT_GROUP = "pocgen.courses"
PACK_KEYS = (
    "name",
    "description",
    "template",
    "ref",
    "answers",
    "locked",
    "rubric",
    "exercises",
)
URL_TIMEOUT = 15
LOCK_ITEM = RubricItem(
    "course-answers", "Answers locked by the course unchanged", 0.0, check="course_answers"
)


@dataclass(frozen=True)
class CoursePack:
    name: str
    description: str
    template: str
    ref: str | None
    answers: dict[str, Any]
    locked: list[str]
    rubric: Rubric
    source: str
    exercises: tuple[Exercise, ...] = ()

    @property
    def locked_answers(self) -> dict[str, Any]:
        return {key: self.answers[key] for key in self.locked}

    def grading_rubric(self) -> Rubric:
        """The pack's rubric with the locked-answers check first, when anything is locked, and
        one item per exercise last."""
        if not self.locked and not self.exercises:
            return self.rubric
        return Rubric(
            self.rubric.name,
            self.rubric.description,
            [LOCK_ITEM] * bool(self.locked)
            + self.rubric.items
            + [exercise.item() for exercise in self.exercises],
            self.rubric.source,
            self.rubric.remote,
        )

    def stub_exercises(self, rendered: Path) -> None:
        """Turn a fresh render's exercise functions into stubs (`pocgen new --course`)."""
        stub_project(rendered, self.exercises, self.name)


def _fetch(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=URL_TIMEOUT) as response:
            return str(response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        raise PocgenError(
            f"course pack {url}: HTTP {error.code} {error.reason}; check the URL."
        ) from error
    except (urllib.error.URLError, OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "reason", error)
        raise PocgenError(
            f"course pack {url} could not be read ({reason}); check the URL and "
            "your connection, or download it and pass the file."
        ) from error


def _from_entry_point(name: str) -> tuple[Any, str]:
    """The object a package registered as course `name`: a mapping, a YAML path, or a callable."""
    points = {point.name: point for point in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    if name not in points:
        known = ", ".join(sorted(points)) or "none installed"
        raise PocgenError(
            f"course pack {name!r} not found: give a YAML file, an http(s) URL, or "
            f"a name registered under `{ENTRY_POINT_GROUP}` ({known})."
        )
    value = points[name].load()
    if callable(value):
        value = value()
    if isinstance(value, str | Path | Traversable):
        path = Path(str(value))
        if not path.is_file():
            raise PocgenError(
                f"course pack {name!r} points at {path}, which does not exist; "
                "reinstall the package that provides it."
            )
        return read_yaml(path.read_text(encoding="utf-8"), str(path)), str(path.parent)
    return value, ""


def _string(data: dict[str, Any], key: str, where: str, required: bool) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise PocgenError(
            f"{where}: `{key}` must be a non-empty string"
            + (" (quote it in YAML)" if value is not None else "")
            + "."
        )
    return value.strip()


def _template(value: str, base: str) -> str:
    """Resolve a template path written relative to the pack file; names and URLs stay as given."""
    if base and value.startswith((".", "/")) and "://" not in value:
        return str((Path(base) / value).resolve())
    return value


def pack_from_data(data: Any, source: str, base: str = "", remote: bool = False) -> CoursePack:
    """Validate a parsed pack; every error names the pack and the key to fix."""
    where = f"course pack {source}"
    if not isinstance(data, dict):
        raise PocgenError(
            f"{where}: a course pack is a YAML mapping with keys {', '.join(PACK_KEYS)}."
        )
    unknown = sorted(set(data) - set(PACK_KEYS))
    if unknown:
        raise PocgenError(
            f"{where}: unknown key(s) {', '.join(map(str, unknown))}; allowed: "
            f"{', '.join(PACK_KEYS)}."
        )
    name = _string(data, "name", where, required=True) or ""
    template = _string(data, "template", where, required=True) or ""
    ref = _string(data, "ref", where, required=False)
    answers = data.get("answers") or {}
    if not isinstance(answers, dict) or not all(isinstance(k, str) for k in answers):
        raise PocgenError(f"{where}: `answers` must be a mapping of question names to values.")
    locked = data.get("locked") or []
    if not isinstance(locked, list) or not all(isinstance(k, str) for k in locked):
        raise PocgenError(f"{where}: `locked` must be a list of answer names.")
    unset = [key for key in locked if key not in answers]
    if unset:
        raise PocgenError(
            f"{where}: locked answer(s) {', '.join(unset)} have no value in "
            "`answers`; add them there or drop them from `locked`."
        )
    raw_rubric = data.get("rubric")
    if raw_rubric is None or isinstance(raw_rubric, str):
        rubric = load_rubric(raw_rubric)
    else:
        rubric = Rubric(
            name, str(data.get("description", "")), parse_items(raw_rubric, where), source, remote
        )
    if remote and data.get("exercises"):
        raise PocgenError(
            f"{where}: a pack read from a URL cannot bring hidden tests; give it as a file or an "
            "installed package."
        )
    exercises = parse_exercises(
        data.get("exercises"), where, base, (item.id for item in rubric.items)
    )
    return CoursePack(
        name=name,
        description=str(data.get("description") or ""),
        template=_template(template, base),
        ref=ref,
        answers=dict(answers),
        locked=list(locked),
        rubric=rubric,
        source=source,
        exercises=exercises,
    )


def load_pack(source: str) -> CoursePack:
    """A course pack from a local YAML file, an http(s) URL, or an installed entry point."""
    if source.startswith(("http://", "https://")):
        return pack_from_data(
            read_yaml(_fetch(source), f"course pack {source}"), source, remote=True
        )
    path = Path(source).expanduser()
    if path.is_file():
        text = path.read_text(encoding="utf-8")
        return pack_from_data(
            read_yaml(text, f"course pack {path}"), str(path), base=str(path.resolve().parent)
        )
    if path.suffix in (".yaml", ".yml") or "/" in source:
        raise PocgenError(f"course pack {source} not found: check the path.")
    data, base = _from_entry_point(source)
    return pack_from_data(data, source, base=base)


def merge_answers(pack: CoursePack, given: dict[str, Any]) -> dict[str, Any]:
    """The pack's answers with the student's on top; changing a locked answer is refused."""
    # `--data` values arrive as text, so 0.9 and "0.9" are the same answer.
    overridden = [
        key for key in pack.locked if key in given and str(given[key]) != str(pack.answers[key])
    ]
    if overridden:
        detail = ", ".join(f"{key}={pack.answers[key]!r}" for key in overridden)
        raise PocgenError(
            f"course pack {pack.name!r} locks {detail}; drop "
            + ", ".join(f"--data {key}=..." for key in overridden)
            + " (ask your instructor if it must change)."
        )
    return {**pack.answers, **given}


def registered_packs() -> list[str]:
    """Names of the course packs installed packages register, for `pocgen templates`."""
    return sorted(point.name for point in metadata.entry_points(group=ENTRY_POINT_GROUP))


def course_request(
    source: str, template: str | None, ref: str | None, given: dict[str, Any]
) -> tuple[str, str | None, dict[str, Any], Callable[[Path], None]]:
    """What `pocgen new --course` renders: the pack's template at its pinned ref, with the
    pack's answers under the student's, and what finishes the render (the exercises' stubs). A
    different template or ref is refused, like a change to a locked answer: the course decided
    them."""
    pack = load_pack(source)
    if template is not None and template != pack.template:
        raise PocgenError(
            f"course pack {pack.name!r} sets the template ({pack.template}); drop --template."
        )
    if ref is not None and ref != pack.ref:
        raise PocgenError(f"course pack {pack.name!r} pins ref {pack.ref!r}; drop --vcs-ref.")
    return pack.template, pack.ref, merge_answers(pack, given), pack.stub_exercises


def exercises_to_write(source: str, project: Path) -> list[str]:
    """The functions a student of the pack writes in `project`, as `src/pkg/train.py: run_epoch`
    (what `pocgen new --course` tells them)."""
    answers = recorded_answers(project) or {}
    return [
        f"{exercise.relative_path(answers)}: {exercise.function}"
        for exercise in load_pack(source).exercises
        if exercise.applies_to(answers.get("task"))
    ]


def course_templates(source: str | None = None) -> list[TemplateEntry]:
    """The template of one course pack, or of every installed one, as `pocgen templates` rows."""
    packs = [load_pack(source)] if source else [load_pack(name) for name in registered_packs()]
    return [
        TemplateEntry(
            name=f"course: {pack.name}",
            description=pack.description,
            engine=_engine_of(pack.template),
            source=f"{pack.template}@{pack.ref}" if pack.ref else pack.template,
            builtin=False,
            ref=pack.ref,
        )
        for pack in packs
    ]


def _engine_of(template: str) -> str:
    """The engine of a local or built-in template; '?' for a git URL we do not clone to list."""
    from pocgen.templating.registry import find

    entry = find(template)
    if entry is not None:
        return entry.engine
    return template_engine(Path(template)) or "?"
