"""Render and update with Copier's Python API (`run_copy`, `run_update`)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from pocgen import snapshots
from pocgen.engines import RenderOptions
from pocgen.errors import PocgenError
from pocgen.sources import ResolvedTemplate, is_git_url

ANSWERS_FILE = ".copier-answers.yml"
ANSWERS_HEADER = "# Changes here will be overwritten by Copier; NEVER EDIT MANUALLY\n"


def questions(folder: Path) -> set[str]:
    from copier._template import Template

    return {name for name in Template(url=str(folder)).questions_data}


@contextmanager
def _copier_errors(template: str) -> Iterator[None]:
    """Translate Copier's exceptions into one-line PocgenErrors that name the fix."""
    from copier.errors import (
        InteractiveSessionError,
        UnsafeTemplateError,
        UserMessageError,
    )

    try:
        yield
    except UnsafeTemplateError as error:
        raise PocgenError(
            f"template {template} runs code on your machine ({error}); read it, then pass "
            "--trust if you trust it."
        ) from None
    except InteractiveSessionError:
        raise PocgenError(
            "no terminal to ask questions on; pass --defaults and --data KEY=VALUE instead."
        ) from None
    except UserMessageError as error:
        raise PocgenError(str(error).strip().splitlines()[0]) from None
    except ValueError as error:  # Copier reports invalid answers as ValueError
        problem = str(error).rstrip(".")
        raise PocgenError(f"{problem}. Fix the answer with --data KEY=VALUE.") from None


def _engine_source(template: ResolvedTemplate) -> str:
    """Git templates go to Copier by URL, so the project records the URL and can update.

    Copier recognises only some URL shapes as git; `git+` marks the others (file://, other hosts).
    """
    if not is_git_url(template.source):
        return str(template.folder)
    copier_knows = template.source.startswith(("gh:", "gl:", "git@", "git://", "git+"))
    if copier_knows or template.source.endswith(".git"):
        return template.source
    return f"git+{template.source}"


def _write_answers(project: Path, answers: dict[str, Any]) -> None:
    body = yaml.safe_dump(answers, sort_keys=False, allow_unicode=True)
    (project / ANSWERS_FILE).write_text(ANSWERS_HEADER + body, encoding="utf-8")


def git_identity() -> dict[str, str]:
    """The user's git name and email as the built-in template's author defaults.

    The template cannot ask git itself (running commands would need --trust), so pocgen does.
    """
    found = {}
    for key, answer in (("user.name", "author_name"), ("user.email", "author_email")):
        try:
            value = subprocess.run(
                ["git", "config", "--get", key], capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            continue
        if value:
            found[answer] = value
    return found


def render(
    template: ResolvedTemplate,
    workspace: Path,
    name: str,
    data: dict[str, Any],
    options: RenderOptions,
) -> Path:
    """Render into `workspace/name`: the folder name is the project's, as Copier sees it."""
    from copier import run_copy

    into = workspace / name

    with _copier_errors(template.source):
        worker = run_copy(
            _engine_source(template),
            into,
            data=data,
            defaults=options.defaults,
            user_defaults=git_identity() if template.builtin else {},
            unsafe=options.trust or template.builtin,
            vcs_ref=options.ref,
            pretend=options.pretend,
            overwrite=True,
            quiet=options.defaults and not options.pretend,
        )
    if options.pretend:
        return into
    answers_file = into / worker.answers_relpath
    answers = (
        yaml.safe_load(answers_file.read_text(encoding="utf-8"))
        if answers_file.is_file()
        else dict(worker._answers_to_remember())  # the template forgot its answers file
    )
    if template.builtin:
        repo, tag = snapshots.snapshot(template.folder, template.source)
        answers = {"_commit": tag, "_src_path": snapshots.portable(repo)} | {
            key: value for key, value in answers.items() if not key.startswith("_")
        }
    if template.builtin or not answers_file.is_file():
        _write_answers(into, answers)
    return into


def update(project: Path, data: dict[str, Any], options: RenderOptions) -> None:
    from copier import run_update

    answers = yaml.safe_load((project / ANSWERS_FILE).read_text(encoding="utf-8")) or {}
    source = str(answers.get("_src_path", ""))
    builtin = snapshots.is_snapshot_repo(source)
    if builtin:
        _refresh_builtin_snapshot(builtin)
    with _copier_errors(source):
        run_update(
            project,
            data=data,
            defaults=True,
            overwrite=True,
            skip_answered=True,
            vcs_ref=options.ref,
            unsafe=options.trust or bool(builtin),
            conflict="inline",
            quiet=False,
        )


def _refresh_builtin_snapshot(name: str) -> None:
    """Commit the template shipped with this pocgen, so the update has a version to go to."""
    from pocgen.registry import find

    entry = find(name)
    if entry is None or not entry.builtin:
        raise PocgenError(f"this pocgen has no built-in template '{name}' to update from.")
    snapshots.snapshot(Path(entry.source), name)
