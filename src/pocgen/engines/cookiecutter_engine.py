"""Render with Cookiecutter's Python API, and update Cookiecutter projects ourselves.

Cookiecutter has no update of its own. pocgen records what made a project in `.pocgen.yml`
(template source, the commit rendered, the full context), so an update can re-render the old and
the new template version with the same answers and merge the difference into the project.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from pocgen import merge
from pocgen.engines import RenderOptions
from pocgen.errors import PocgenError
from pocgen.sources import ResolvedTemplate, clone

RECORD_FILE = ".pocgen.yml"
HOOK_NAMES = {"pre_prompt", "pre_gen_project", "post_gen_project"}


def _config(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "cookiecutter.json").read_text(encoding="utf-8"))


def questions(folder: Path) -> set[str]:
    return {name for name in _config(folder) if not name.startswith("_")}


def runs_code(folder: Path) -> str | None:
    """Why rendering this template runs code (hooks, Jinja extensions), or None."""
    hooks = folder / "hooks"
    if hooks.is_dir() and any(path.stem in HOOK_NAMES for path in hooks.iterdir()):
        return "it has hooks"
    if _config(folder).get("_extensions"):
        return "it loads Jinja extensions"
    return None


@contextmanager
def _cookiecutter_errors(template: str) -> Iterator[None]:
    from cookiecutter.exceptions import CookiecutterException

    try:
        yield
    except CookiecutterException as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise PocgenError(f"template {template} failed to render: {reason}") from None


def _run(
    folder: Path, into: Path, context: dict[str, Any], no_input: bool, trust: bool
) -> tuple[Path, dict[str, Any]]:
    """Render `folder` into `into`; return the project folder and the final context."""
    from cookiecutter.main import cookiecutter

    reason = runs_code(folder)
    if reason and not trust:
        raise PocgenError(
            f"template {folder.name} runs code on your machine ({reason}); read it, then pass "
            "--trust if you trust it."
        )
    # A private config keeps the user's ~/.cookiecutterrc out (renders must be reproducible)
    # and gives us the replay file, which is the only place Cookiecutter leaves the context.
    replay_dir = into / ".replay"
    config_file = into / ".cookiecutterrc"
    config_file.write_text(
        yaml.safe_dump({"replay_dir": str(replay_dir), "cookiecutters_dir": str(into / ".clones")})
    )
    output = into / "output"
    with _cookiecutter_errors(folder.name):
        project = cookiecutter(
            str(folder),
            no_input=no_input,
            extra_context=context,
            output_dir=str(output),
            config_file=str(config_file),
            accept_hooks=trust,
        )
    replay = json.loads(next(replay_dir.glob("*.json")).read_text(encoding="utf-8"))
    final = {k: v for k, v in replay["cookiecutter"].items() if not k.startswith("_")}
    return Path(project), final


def _write_record(project: Path, record: dict[str, Any]) -> None:
    header = "# Written by pocgen: what made this project, so `pocgen update` can update it.\n"
    body = yaml.safe_dump(record, sort_keys=False, allow_unicode=True)
    (project / RECORD_FILE).write_text(header + body, encoding="utf-8")


def render(
    template: ResolvedTemplate,
    workspace: Path,
    name: str,
    data: dict[str, Any],
    options: RenderOptions,
) -> Path:
    """Render into `workspace`; Cookiecutter names the project folder itself, so `name` is unused
    here and the caller moves the returned folder to its destination."""
    project, context = _run(template.folder, workspace, data, options.defaults, options.trust)
    _write_record(
        project,
        {
            "engine": "cookiecutter",
            "template": template.source,
            "commit": template.commit,
            "context": context,
        },
    )
    return project


def update(project: Path, data: dict[str, Any], options: RenderOptions) -> merge.MergeReport:
    record = yaml.safe_load((project / RECORD_FILE).read_text(encoding="utf-8")) or {}
    source, old_commit = record.get("template"), record.get("commit")
    if not source or not old_commit:
        raise PocgenError(
            f"{RECORD_FILE} does not name a template commit, so the old version cannot be "
            "rebuilt; the template must be a git repository for updates."
        )
    old_context = dict(record.get("context") or {})
    new_context = old_context | data
    with tempfile.TemporaryDirectory(prefix="pocgen-update-") as scratch:
        work = Path(scratch)
        clone(source, old_commit, work / "old-template")
        new_commit = clone(source, options.ref, work / "new-template")
        (work / "old").mkdir()
        (work / "new").mkdir()
        old_render, _ = _run(work / "old-template", work / "old", old_context, True, options.trust)
        new_render, final_context = _run(
            work / "new-template", work / "new", new_context, True, options.trust
        )
        report = merge.three_way(old_render, new_render, project)
    record.update(commit=new_commit, ref=options.ref, context=final_context)
    _write_record(project, record)
    return report
