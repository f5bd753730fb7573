"""Whether the figures a project states are bound to the artifacts that made them.

Each stage of a generated project records, as it finishes, the md5 of every file it read and
wrote and the settings it used, in `reports/pipeline.lock` (DVC's dvc.lock format; a project run
with DVC has `dvc.lock`, read the same way, and DVC is never needed). Here the hashes are computed
again (standard library, about 0.1 s) and the chain behind a report is followed back: metrics.json
to the `evaluate` that wrote it, the model and split evaluate read, the `export` that wrote the
model, the `train` that wrote the checkpoint, and the settings each one used against params.yaml
as it is now. A link that does not hold is one line saying which: a report edited after its
stage wrote it, settings changed since the run, a model replaced, or a stage that left no record
(run outside the pipeline, or by an older template).

An intact chain proves the figures are consistent with the committed model, split and settings,
not that a run produced them: only running evaluate again proves that (`pocgen check` does where
the data are present). Files a record names that are not here (data and checkpoints are not
committed) are left unchecked, never counted as broken. A change to the code since a stage ran is
a note, not a break: it says the results may not reproduce from this commit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pocgen.contract import schema_problem

# Where a project's records live, the template's own first.
LOCK_FILES = ("reports/pipeline.lock", "dvc.lock")
PARAMS_FILE = "params.yaml"
# Folders whose files a stage makes: a stage that reads one needs a record of the stage that
# wrote it. Data a person brings (data/) and code are inputs.
PRODUCTS = ("models/", "reports/")
# Never part of a folder's hash: compiled by each Python version, not written by anyone.
SKIPPED = {"__pycache__", ".ipynb_checkpoints"}
CHUNK = 1 << 20


def file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def content_md5(path: Path) -> str:
    """DVC's hash: a file's plain md5; a folder's, the md5 of the JSON list of its files'
    `{"md5", "relpath"}` sorted by relpath (keys sorted), with `.dir` appended."""
    if not path.is_dir():
        return file_md5(path)
    files = sorted(
        (item for item in path.rglob("*") if item.is_file()),
        key=lambda item: item.relative_to(path).as_posix(),
    )
    entries = [
        {"md5": file_md5(item), "relpath": item.relative_to(path).as_posix()}
        for item in files
        if not SKIPPED.intersection(item.relative_to(path).parts)
    ]
    return hashlib.md5(json.dumps(entries, sort_keys=True).encode()).hexdigest() + ".dir"


@dataclass(frozen=True)
class FileRecord:
    path: str
    md5: str


@dataclass(frozen=True)
class StageRecord:
    """One stage's entry: its command, what it read and wrote, and the settings it used."""

    name: str
    cmd: str
    deps: tuple[FileRecord, ...]
    outs: tuple[FileRecord, ...]
    params: dict[str, Any]  # params.yaml's keys, flattened (`train.epochs`) -> value used
    sections: frozenset[str] = frozenset()  # sections recorded whole: a key added since is new

    def wrote(self, path: str) -> FileRecord | None:
        return next((out for out in self.outs if out.path == path), None)


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """{'train': {'epochs': 3}} -> {'train.epochs': 3}; a list stays one value."""
    if not isinstance(data, dict):
        return {prefix.rstrip("."): data} if prefix else {}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        flat.update(flatten(value, f"{prefix}{key}."))
    return flat


def _files(entries: Any) -> tuple[FileRecord, ...]:
    return tuple(
        FileRecord(str(entry["path"]).rstrip("/"), str(entry["md5"]))
        for entry in entries or []
        if isinstance(entry, dict)
    )


def read_lock(root: Path) -> tuple[str | None, dict[str, StageRecord], str | None]:
    """(which lock file, its stages by name, what is wrong with it) for the project at `root`."""
    relative = next((name for name in LOCK_FILES if (root / name).is_file()), None)
    if relative is None:
        return None, {}, None
    try:
        data = yaml.safe_load((root / relative).read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as error:
        return relative, {}, f"{relative} cannot be read ({type(error).__name__})"
    problem = schema_problem(data, "pipeline_lock")
    if problem:
        return relative, {}, f"{relative} is malformed: {problem}"
    stages = {}
    for name, stage in data["stages"].items():
        recorded = (stage.get("params") or {}).get(PARAMS_FILE) or {}
        stages[str(name)] = StageRecord(
            str(name),
            str(stage["cmd"]),
            _files(stage.get("deps")),
            _files(stage.get("outs")),
            flatten(recorded),
            frozenset(key for key, value in recorded.items() if isinstance(value, dict)),
        )
    return relative, stages, None


@dataclass
class Evidence:
    """What the records of a project say about each report it states figures from."""

    lock: str | None  # the lock file read (relative), or None when the project has none
    stages: dict[str, StageRecord] = field(default_factory=dict)
    problem: str | None = None  # the lock file itself cannot be used
    package: str = ""
    root: Path = field(default_factory=Path)
    _hashes: dict[str, str | None] = field(default_factory=dict)

    def maker(self, path: str) -> StageRecord | None:
        """The recorded stage that wrote `path`."""
        return next((stage for stage in self.stages.values() if stage.wrote(path)), None)

    def current_md5(self, path: str) -> str | None:
        """The md5 of `path` as it is now (computed once), or None when it is not here."""
        if path not in self._hashes:
            where = self.root / path
            self._hashes[path] = content_md5(where) if where.exists() else None
        return self._hashes[path]

    def settings_used(self) -> dict[str, Any]:
        """Every setting a recorded stage ran with, flattened: `train.epochs` -> 22."""
        used: dict[str, Any] = {}
        for stage in self.stages.values():
            used.update(stage.params)
        return used

    def rerun(self, stage: str, itself: bool = True) -> str:
        """`python -m <package> <stage>`, then each recorded stage that reads what it writes
        (without `stage` itself when it ran already and only those after it are stale)."""
        names = ([stage] if itself else []) + self._after(stage)
        if not names:
            return f"`{stage}`"
        first = f"`python -m {self.package} {names[0]}`" if self.package else f"`{names[0]}`"
        rest = [f"`{name}`" for name in names[1:]]
        if not rest:
            return first
        return first + ", then " + (", ".join(rest[:-1]) + " and " if rest[1:] else "") + rest[-1]

    def _after(self, stage: str) -> list[str]:
        """The recorded stages that read, directly or not, what `stage` wrote, each after the
        stages it reads from (by the longest path from `stage`; a lock is a small DAG)."""
        depth = {stage: 0}
        for _ in self.stages:
            for record in self.stages.values():
                upstream = [
                    depth[maker.name] + 1
                    for dep in record.deps
                    if (maker := self.maker(dep.path)) and maker.name in depth
                ]
                if record.name != stage and upstream:
                    depth[record.name] = max(upstream)
        del depth[stage]
        return sorted(depth, key=lambda name: (depth[name], name))

    def broken(self, report: str) -> list[str]:
        """Why `report`'s figures are not bound to the committed model, split and settings: one
        line per broken link, nearest the report first; empty when the chain holds."""
        if self.lock is None:
            return [
                f"no reports/pipeline.lock: nothing binds {report} to the model, split and "
                "settings that made it (its stages ran outside the pipeline, or by a template "
                "older than the lock); rerun the pipeline (`make pipeline` or its stages)"
            ]
        if self.problem:
            return [f"{self.problem}: rerun the pipeline to write it again"]
        return list(dict.fromkeys(self._links(report)))

    def drift(self, report: str) -> list[str]:
        """Inputs of the chain's stages that changed since they ran without breaking it: the
        code (the results may not reproduce from this commit) and data that is not a split (new
        items are not in the results yet)."""
        changed = []
        for stage in self._chain(report):
            for dep in stage.deps:
                if self.maker(dep.path) or dep.path.startswith(PRODUCTS) or _is_split(dep.path):
                    continue
                now = self.current_md5(dep.path)
                if now is not None and now != dep.md5:
                    changed.append(f"{dep.path} changed since `{stage.name}` ran")
        return list(dict.fromkeys(changed))

    def unchecked(self, report: str) -> list[str]:
        """Files the chain's records name that are not in this copy (data, checkpoints)."""
        absent = []
        for stage in self._chain(report):
            for record in (*stage.deps, *stage.outs):
                if self.current_md5(record.path) is None:
                    absent.append(record.path)
        return sorted(set(absent))

    def _chain(self, report: str) -> Iterator[StageRecord]:
        """The recorded stages behind `report`, nearest first, each once."""
        seen: set[str] = set()
        todo = [report]
        while todo:
            stage = self.maker(todo.pop(0))
            if stage is None or stage.name in seen:
                continue
            seen.add(stage.name)
            yield stage
            todo += [dep.path for dep in stage.deps]

    def _links(self, report: str) -> Iterator[str]:
        first = self.maker(report)
        if first is None:
            yield (
                f"no record of the stage that wrote {report} in {self.lock}: it was written "
                "outside the pipeline; rerun the stage that writes it"
            )
            return
        chain = list(self._chain(report))
        for stage in chain:
            yield from self._outs_changed(stage)
        yield from self._settings_changed(chain, self._params_now())
        for stage in chain:
            yield from self._inputs_changed(stage)

    def _outs_changed(self, stage: StageRecord) -> Iterator[str]:
        for out in stage.outs:
            now = self.current_md5(out.path)
            if now is not None and now != out.md5:
                yield (
                    f"{out.path} was changed after `{stage.name}` wrote it (edited, or replaced "
                    f"by hand): rerun {self.rerun(stage.name)}"
                )

    def _settings_changed(
        self, chain: list[StageRecord], params: dict[str, Any] | None
    ) -> Iterator[str]:
        """One line per setting params.yaml holds differently from the run, naming the first
        stage of the pipeline that used it (rerunning from there repairs every later one)."""
        if params is None:
            yield f"{PARAMS_FILE} cannot be read: the settings behind the results are unknown"
            return
        first: dict[str, StageRecord] = {}
        for stage in chain:  # nearest the report first: a later stage is further upstream
            for key in params:
                used = stage.params.get(key)
                if key in stage.params and used != params[key]:
                    first[key] = stage
                elif key not in stage.params and "." in key and key.split(".")[0] in stage.sections:
                    first[key] = stage
        for key, stage in first.items():
            if key in stage.params:
                yield (
                    f"{PARAMS_FILE} has {key}: {params[key]!r}, but `{stage.name}` ran with "
                    f"{stage.params[key]!r} (changed since the run, or a command-line flag): "
                    f"rerun {self.rerun(stage.name)}"
                )
            else:
                yield (
                    f"{PARAMS_FILE} has {key}: {params[key]!r}, which `{stage.name}` did not run "
                    f"with: rerun {self.rerun(stage.name)}"
                )

    def _inputs_changed(self, stage: StageRecord) -> Iterator[str]:
        for dep in stage.deps:
            if _is_code(dep.path):
                continue
            maker = self.maker(dep.path)
            if maker is not None and maker.name != stage.name:
                made = maker.wrote(dep.path)
                if made is not None and made.md5 != dep.md5:
                    yield (
                        f"`{maker.name}` ran again after `{stage.name}` read {dep.path}: the "
                        f"figures describe an earlier {_what(dep.path)}; rerun "
                        + self.rerun(maker.name, itself=False)
                    )
                continue
            if dep.path.startswith(PRODUCTS):
                yield (
                    f"no record of the stage that wrote {dep.path} in {self.lock}: it was made "
                    f"outside the pipeline; rerun the stages from the one that writes it"
                )
                continue
            now = self.current_md5(dep.path)
            if now is not None and now != dep.md5 and _is_split(dep.path):
                yield (
                    f"{dep.path} changed since `{stage.name}` read it: the figures describe an "
                    f"earlier split; rerun {self.rerun(stage.name)}"
                )

    def _params_now(self) -> dict[str, Any] | None:
        path = self.root / PARAMS_FILE
        if not path.is_file():
            return {}
        try:
            return flatten(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
        except (yaml.YAMLError, UnicodeDecodeError, OSError):
            return None


def _is_code(path: str) -> bool:
    return path.startswith("src/") or path.endswith(".py")


def _is_split(path: str) -> bool:
    """A split file: the data a model saw. Other data (the manifest, raw items, labels) may
    grow after a run without changing what the figures describe."""
    return path.startswith("data/splits/")


def _what(path: str) -> str:
    if path.startswith("models/"):
        return "model"
    if _is_split(path):
        return "split"
    if path == "reports/training.json":
        return "training run"
    return f"version of {path}"


def read_evidence(root: Path, package: str) -> Evidence:
    """The records of the project at `root`, ready to be checked report by report."""
    lock, stages, problem = read_lock(root)
    return Evidence(lock, stages, problem, package, root)
