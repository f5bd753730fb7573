"""Measure what the user built on top of the template: the first question a reviewer asks.

The template is rendered again, at the version the project recorded and with its recorded
answers, into a scratch folder; the project is then compared with that pristine copy. Only
measured facts come out: files added, lines changed in code files, settings changed in
params.yaml, experiments recorded, data collected by source and labels made by people. When the
template cannot be rendered again (a git URL out of reach, a template that needs --trust), the
code figures are left out and the reason is given in plain words.

Only work counts, as git sees it: the files compared are those git tracks or would track (the
project's .gitignore honoured, so an editable install's `*.egg-info/` or a cache is never "a file
the user added"); an empty file, a change of whitespace, a copy or a renamed file earns nothing
and is listed as such; a setting counts once a recorded run used it (`reports/pipeline.lock`),
never when it changes neither the model nor its measurement; experiments count once per
distinct recorded setting (`Project.distinct_experiments`).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pocgen.contract import ANSWERS_FILES, answers_file, read_record
from pocgen.project import Project
from pocgen.records import SYNTH_SOURCE

# Files whose lines are counted: code, wherever it lives (src/, scripts/, app/, a folder of the
# user's own), by its kind.
CODE_SUFFIXES = {
    ".py",
    ".ipynb",
    ".sh",
    ".bash",
    ".js",
    ".mjs",
    ".ts",
    ".css",
    ".html",
    ".r",
    ".sql",
    ".jl",
    ".go",
    ".rs",
    ".java",
    ".c",
    ".cc",
    ".cpp",
    ".h",
}
CODE_NAMES = {"Makefile", "Dockerfile"}
# Settings that change neither the model nor how it is measured: how many loader processes, which
# device, how many example pictures the figure shows. Changing one is not work on the model.
NOT_RESULT_SETTINGS = {"train.workers", "train.device", "evaluate.examples"}
# The project's own words at the top of params.yaml: the answers, not settings.
WORDS = {"title", "problem", "objective"}
# Sections of params.yaml whose stage keeps no record in the lock: `collect` counts once data was
# collected with it; the built-in sample is never the user's work.
COLLECT_SECTION, SAMPLE_SECTION = "collect", "sample"
# What the pipeline, the tools and the environment write: never "a file the user added", even
# where a project's .gitignore forgets them (git decides the rest).
NOT_AUTHORED = {
    ".git",
    ".venv",
    "venv",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".ipynb_checkpoints",
    ".label-studio",
    ".pocgen",
    "dist",
    "data",
    "models",
    "reports",
}


@dataclass
class Contribution:
    """What differs from a fresh render of the template, and what the user's data files record.

    Everything listed is credited; what changed but earns nothing is in `not_credited` (a file:
    empty, a copy, renamed, whitespace only) and `settings_not_credited` (a setting: why not).
    """

    template: str | None  # "poc at 0.1.0.post37", or None when it could not be rendered again
    not_rendered: str | None = None  # why the template could not be rendered again
    files_added: list[str] = field(default_factory=list)  # own code first, images last
    lines: dict[str, tuple[int, int]] = field(default_factory=dict)  # file -> (added, removed)
    settings: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # key -> (template, now)
    experiments: list[str] = field(default_factory=list)  # one per distinct recorded setting
    collected: dict[str, int] = field(default_factory=dict)
    labeled_by_people: dict[str, int] = field(default_factory=dict)
    not_credited: dict[str, str] = field(default_factory=dict)  # file -> why it earns nothing
    settings_not_credited: dict[str, str] = field(default_factory=dict)  # key -> why not
    experiments_not_credited: dict[str, str] = field(default_factory=dict)  # name -> why not

    @property
    def lines_added(self) -> int:
        return sum(added for added, _ in self.lines.values())

    @property
    def lines_removed(self) -> int:
        return sum(removed for _, removed in self.lines.values())

    @property
    def untouched(self) -> bool:
        return not (
            self.files_added
            or self.lines
            or self.settings
            or self.experiments
            or self.collected
            or self.labeled_by_people
        )

    @property
    def images_added(self) -> list[str]:
        return [path for path in self.files_added if file_kind(path) == IMAGE]

    @property
    def count(self) -> int:
        """One figure a rubric threshold can compare: changes of every kind, each counted once
        (a file added under src/ is one change, not also a code file changed). Images added are
        one change together: a folder of pictures is one piece of work, not one per picture."""
        written = set(self.files_added) - set(self.images_added)
        return (
            len(written | set(self.lines))
            + (1 if self.images_added else 0)
            + len(self.settings)
            + len(self.experiments)
            + (1 if self.collected else 0)
            + (1 if self.labeled_by_people else 0)
        )


def _template_sources(recorded: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    """Where to render the template from, best first: (source, vcs ref, how to name it).

    The recorded source at the recorded version first. For a built-in template (recorded as
    `pocgen:NAME`, or as a snapshot folder in some user's cache) the template this pocgen ships
    comes next, named as such, since its version may differ from the recorded one.
    """
    from pocgen.templating import registry

    source, ref = recorded.get("_src_path"), recorded.get("_commit")
    if not isinstance(source, str) or not source:
        return []
    ref = str(ref) if ref else None
    candidates = []
    local = Path(source).expanduser()
    if local.is_dir() or "://" in source or source.startswith(("gh:", "gl:", "git@")):
        candidates.append((source, ref, f"{local.name} at {ref}" if ref else local.name))
    name = source.rsplit(":", 1)[-1].rstrip("/").rsplit("/", 1)[-1]
    known = registry.find(name)
    if known is not None and known.builtin:
        recorded_as = f", the project recorded {ref}" if ref else ""
        label = f"{known.name} as packaged with this pocgen{recorded_as}"
        candidates.append((known.source, None, label))
    return candidates


# Pristine renders already made in this process, by template and answers: `pocgen check` asks
# for the contribution twice (its own item and the writeup it grades). Each folder lives as long
# as its TemporaryDirectory, that is until the process ends.
_RENDERED: dict[str, tuple[str | None, str | None, tempfile.TemporaryDirectory[str]]] = {}


def pristine(root: Path) -> tuple[Path | None, str | None, str | None]:
    """(folder, label, why not) for a render of the project's template with its answers."""
    path = answers_file(root)
    recorded = read_record(path) if path else {}
    key = json.dumps(recorded, sort_keys=True, default=str) + "\0" + root.name
    if key not in _RENDERED:
        scratch = tempfile.TemporaryDirectory(prefix="pocgen-pristine-")
        label, why_not = render_pristine(recorded, Path(scratch.name) / root.name)
        _RENDERED[key] = (label, why_not, scratch)
    label, why_not, scratch = _RENDERED[key]
    return (Path(scratch.name) / root.name if label else None), label, why_not


def exact_name(recorded: dict[str, Any]) -> str | None:
    """The built-in template a project's answers name (`pocgen:poc`, or an old cache path)."""
    from pocgen.templating import snapshots

    return snapshots.builtin_name(str(recorded.get("_src_path") or ""))


def _export_recorded_builtin(recorded: dict[str, Any], into: Path) -> bool:
    """Write the built-in template at exactly the recorded version into `into`, if it can be had.

    `pocgen update` finds old versions the same way (the shipped template, the user's cache or
    pocgen's own git history), so the contribution is measured against what the project was
    really made from, not against whatever template this pocgen ships today.
    """
    from pocgen.errors import PocgenError
    from pocgen.templating import registry, snapshots

    name, version = exact_name(recorded), recorded.get("_commit")
    entry = registry.find(name) if name else None
    if not version or entry is None or not entry.builtin:
        return False
    try:
        snapshots.export(Path(entry.source), name, str(version), into)
    except PocgenError:
        return False
    return True


def render_pristine(recorded: dict[str, Any], into: Path) -> tuple[str | None, str | None]:
    """Render the template named in the answers file `recorded`, with its answers, into `into`.

    Returns (how the template is named, None) on success, or (None, why not) on failure.
    """
    from copier import run_copy

    candidates = _template_sources(recorded)
    if not candidates:
        where = recorded.get("_src_path")
        if not where:
            return None, "the answers file does not say which template made the project"
        return None, f"the template it was made from ({where}) is not found on this machine"
    answers = {k: v for k, v in recorded.items() if not str(k).startswith("_")}
    reasons = []
    exact = into.parent / "template-at-recorded-version"
    if _export_recorded_builtin(recorded, exact):
        version = recorded["_commit"]
        candidates.insert(0, (str(exact), None, f"{exact_name(recorded)} {version}, as recorded"))
    for source, ref, label in candidates:
        try:
            run_copy(
                source,
                str(into),
                data=answers,
                vcs_ref=ref,
                defaults=True,
                overwrite=True,
                quiet=True,
                unsafe=False,
                skip_tasks=True,
            )
        except Exception as error:  # copier raises many kinds; each means "not rendered"
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            reasons.append(f"{label}: {first}")
            shutil.rmtree(into, ignore_errors=True)
            continue
        return label, None
    return None, "the template could not be rendered again (" + "; ".join(reasons) + ")"


def _authored_files(folder: Path) -> set[str]:
    """The files of `folder` git tracks or would track (its .gitignore honoured), less what the
    pipeline and the tools write."""
    from pocgen.templating.git_config import git_listed

    return {
        name
        for name in git_listed(folder)
        if not NOT_AUTHORED.intersection(name.split("/")) and (folder / name).is_file()
    }


def _text_lines(path: Path) -> list[str] | None:
    """The lines a person wrote: notebook cell sources (never outputs), or the file's text."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if path.suffix != ".ipynb":
        return text.splitlines()
    try:
        cells = json.loads(text).get("cells", [])
    except (ValueError, AttributeError):
        return text.splitlines()
    lines: list[str] = []
    for cell in cells:
        source = cell.get("source", "") if isinstance(cell, dict) else ""
        lines += ("".join(source) if isinstance(source, list) else str(source)).splitlines()
    return lines


def _meaningful(lines: list[str]) -> list[str]:
    """Lines as they read, not as they are spaced: a change of indentation, trailing spaces or
    blank lines is not a change of what the file says."""
    return [" ".join(line.split()) for line in lines if line.strip()]


CODE, TEXT, IMAGE = "code", "text", "image"


def file_kind(relative: str) -> str:
    """code (counted line by line), text (a document, a label file) or image (anything binary)."""
    name = relative.rsplit("/", 1)[-1]
    suffix = Path(name).suffix.lower()
    if suffix in CODE_SUFFIXES or name in CODE_NAMES:
        return CODE
    return TEXT if suffix not in IMAGE_SUFFIXES else IMAGE


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".heic"}


def _content(path: Path) -> tuple[str, list[str] | None]:
    """A file's fingerprint and its meaningful lines: for text, the hash of what it says (so a
    copy that differs only in spacing is still a copy); for a binary file, of its bytes."""
    lines = _text_lines(path)
    if lines is None:
        return hashlib.md5(path.read_bytes()).hexdigest(), None
    meaningful = _meaningful(lines)
    return hashlib.md5("\n".join(meaningful).encode()).hexdigest(), meaningful


def _line_changes(before: list[str], after: list[str]) -> tuple[int, int]:
    added = removed = 0
    for line in difflib.unified_diff(before, after, lineterm="", n=0):
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return added, removed


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, dict):
        return {prefix.rstrip("."): data} if prefix else {}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        flat.update(_flat(value, f"{prefix}{key}."))
    return flat


def _params(path: Path) -> dict[str, Any]:
    try:
        return _flat(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}


# A renamed file that was also edited is compared with its old self when it keeps at least this
# much of it (git's own rename detection uses 50% similarity).
RENAME_SIMILARITY = 0.5
KIND_ORDER = {CODE: 0, TEXT: 1, IMAGE: 2}


def compare(project_root: Path, pristine: Path) -> Contribution:
    """Files added, code lines changed and settings changed against the pristine render.

    An added file earns nothing when it is empty, a copy of a file of the template or of another
    added file, or a template file renamed; a changed file earns nothing for spacing alone.
    """
    result = Contribution(template=None)
    mine, theirs = _authored_files(project_root), _authored_files(pristine)
    originals = {_content(pristine / name)[0]: name for name in sorted(theirs)}
    removed = sorted(theirs - mine)
    seen: dict[str, str] = {}
    added: list[str] = []
    for relative in sorted(mine - theirs - set(ANSWERS_FILES)):
        fingerprint, lines = _content(project_root / relative)
        if lines == [] or (lines is None and not (project_root / relative).stat().st_size):
            result.not_credited[relative] = "empty"
        elif fingerprint in originals:
            source = originals[fingerprint]
            verb = (
                "renamed from" if source in removed and source not in seen.values() else "a copy of"
            )
            seen.setdefault(fingerprint, source)
            result.not_credited[relative] = f"{verb} the template's {source}"
        elif fingerprint in seen:
            result.not_credited[relative] = f"a copy of {seen[fingerprint]}"
        else:
            seen[fingerprint] = relative
            added.append(relative)
    result.files_added = sorted(added, key=lambda name: (KIND_ORDER[file_kind(name)], name))
    for relative in sorted(mine):
        if file_kind(relative) != CODE or relative in result.not_credited:
            continue
        now = _text_lines(project_root / relative)
        if now is None:
            continue
        before = _text_lines(pristine / relative) if relative in theirs else None
        if before is None:
            before = _renamed_from(now, pristine, removed)
        changes = _line_changes(_meaningful(before), _meaningful(now))
        if any(changes):
            result.lines[relative] = changes
        elif before != now and relative in theirs:
            result.not_credited[relative] = "whitespace only"
    old, new = _params(pristine / "params.yaml"), _params(project_root / "params.yaml")
    result.settings = {
        key: (old.get(key), new.get(key))
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key) and key not in WORDS
    }
    return result


def _renamed_from(now: list[str], pristine: Path, removed: list[str]) -> list[str]:
    """The lines of the removed template file `now` was renamed from (then edited), if any."""
    mine = _meaningful(now)
    best, score = [], RENAME_SIMILARITY
    for name in removed:
        if file_kind(name) != CODE:
            continue
        theirs = _text_lines(pristine / name) or []
        ratio = difflib.SequenceMatcher(None, _meaningful(theirs), mine, autojunk=False).ratio()
        if ratio >= score:
            best, score = theirs, ratio
    return best


def credit_settings(
    changed: dict[str, tuple[Any, Any]], project: Project
) -> tuple[dict[str, tuple[Any, Any]], dict[str, str]]:
    """The setting changes a recorded run used, and why each other one earns nothing.

    A setting is work once a stage ran with it: reports/pipeline.lock records the settings each
    stage used, so a value typed into params.yaml and never run, or changed back before the run,
    is not. `collect` keeps no record of its own: its settings count once the data in
    data/manifest.csv was collected or synthesized.
    """
    credited, not_credited = {}, {}
    used = project.evidence.settings_used()
    collected = bool(project.collected_counts()) or bool(project.source_counts().get(SYNTH_SOURCE))
    for key, (old, new) in changed.items():
        section = key.split(".", 1)[0] if "." in key else ""
        if key in NOT_RESULT_SETTINGS:
            not_credited[key] = "changes neither the model nor its measurement"
        elif section == SAMPLE_SECTION:
            not_credited[key] = "a setting of the built-in sample, which is never your data"
        elif section == COLLECT_SECTION:
            if collected:
                credited[key] = (old, new)
            else:
                not_credited[key] = "no data collected with it yet"
        elif key in used and used[key] == new:
            credited[key] = (old, new)
        elif key in used:
            not_credited[key] = f"the recorded run used {used[key]!r}: rerun the pipeline"
        else:
            not_credited[key] = "no recorded run used it yet"
    return credited, not_credited


def measure(project: Project, against: Path | None = None) -> Contribution:
    """Everything the contribution section states, measured now: against the pristine render,
    or against `against` (the render as a course handed it out, its exercises stubbed)."""
    folder, label, why_not = pristine(project.root)
    baseline = against if folder and against else folder
    result = compare(project.root, baseline) if baseline else Contribution(template=None)
    result.template, result.not_rendered = label, why_not
    result.settings, result.settings_not_credited = credit_settings(result.settings, project)
    distinct, duplicates = project.distinct_experiments()
    result.experiments = sorted(distinct)
    result.experiments_not_credited = duplicates
    result.collected = project.collected_counts()
    result.labeled_by_people = project.label_studio_people()
    return result
