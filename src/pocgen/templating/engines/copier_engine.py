"""Render and update with Copier's Python API (`run_copy`, `run_update`)."""

from __future__ import annotations

import importlib
import io
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr
from pathlib import Path
from typing import Any
from unittest.mock import patch

import yaml

from pocgen.contract import read_record
from pocgen.errors import PocgenError, one_line
from pocgen.templating import git_config, snapshots, versions
from pocgen.templating.answers import check_known
from pocgen.templating.engines import RenderOptions, template_syntax_message
from pocgen.templating.sources import ResolvedTemplate, git, is_git_url

ANSWERS_FILE = ".copier-answers.yml"
ANSWERS_HEADER = "# Changes here will be overwritten by Copier; NEVER EDIT MANUALLY\n"
# How Copier's errors about one answer begin (`Validation error for question 'x': ...`).
ANSWER_ERRORS = ("Validation error for question", "Invalid choice for", 'Question "')
# A built-in template is updated between two local tags, whatever its versions are called.
OLD_TAG, NEW_TAG = "1", "2"


def questions(folder: Path) -> set[str]:
    from copier._template import Template

    # Copier prints a framed report of a broken copier.yml to stderr before raising; the raised
    # error is reported instead, on one line. A template under git is cloned to be read: the
    # clone is removed afterwards, and git runs none of the repository's commands.
    template = Template(url=str(folder))
    with redirect_stderr(io.StringIO()), _copier_errors(str(folder)), git_config.guarded(folder):
        try:
            return set(template.questions_data)
        finally:
            template._cleanup()


def _is_about_an_answer(message: str) -> bool:
    return message.startswith(ANSWER_ERRORS)


@contextmanager
def _copier_errors(template: str) -> Iterator[None]:
    """Translate Copier's (and Jinja's) exceptions into one-line PocgenErrors that name the fix;
    Copier's own explanation is passed through whole."""
    from copier.errors import (
        ConfigFileError,
        ForbiddenPathError,
        InteractiveSessionError,
        UnsafeTemplateError,
        UserMessageError,
    )
    from jinja2 import TemplateSyntaxError
    from jinja2.sandbox import SecurityError
    from plumbum import ProcessExecutionError

    try:
        yield
    except UnsafeTemplateError as error:
        raise PocgenError(
            f"template {template} runs code on your machine ({one_line(error)}); read it, then "
            "pass --trust if you trust it."
        ) from None
    except ForbiddenPathError as error:
        raise PocgenError(
            f"template {template} reaches outside the project folder or the template "
            f"({one_line(error)}: Copier refused it); nothing was written there. Do not use this "
            "template, or ask its author to fix it."
        ) from None
    except InteractiveSessionError:
        raise PocgenError(
            "no terminal to ask questions on; pass --defaults and --data KEY=VALUE instead."
        ) from None
    except ConfigFileError as error:
        cause = f": {one_line(error.__cause__)}" if error.__cause__ else ""
        raise PocgenError(
            f"the template's configuration {one_line(error)} is broken{cause}; fix the template."
        ) from None
    except UserMessageError as error:
        raise PocgenError(one_line(error)) from None
    except TemplateSyntaxError as error:
        raise PocgenError(template_syntax_message(template, error)) from None
    except SecurityError as error:
        raise PocgenError(
            f"template {template} does what Jinja's sandbox forbids ({error}); Copier always "
            "renders in the sandbox, so the template itself must be fixed."
        ) from None
    except ProcessExecutionError as error:
        raise PocgenError(
            f"git failed on template {template}: {one_line(error.stderr) or error.retcode}; "
            "check that the template is still where the answers say, and the ref exists."
        ) from None
    except ValueError as error:  # Copier reports invalid answers and unknown refs as ValueError
        message = one_line(error)
        if message.startswith("Unknown revision"):
            raise PocgenError(
                f"template {template}: {message}; pass an existing tag, branch or commit with "
                "--vcs-ref."
            ) from None
        if _is_about_an_answer(message):
            message = f"{message.rstrip('.')}. Fix the answer with --data KEY=VALUE."
        raise PocgenError(message) from None


@contextmanager
def _wrapped_validation_messages() -> Iterator[None]:
    """Show a rejected answer's whole explanation, wrapped at the terminal's width.

    Copier asks through questionary, whose prompt_toolkit session shows validation errors in a
    one-row toolbar, so a long message ("...digits and sin") is cut at the terminal's edge. The
    prompt module gets a toolbar that wraps and grows instead.
    """
    from prompt_toolkit.filters import has_validation_error
    from prompt_toolkit.layout import ConditionalContainer, Window
    from prompt_toolkit.widgets.toolbars import ValidationToolbar

    prompt = importlib.import_module(
        "prompt_toolkit.shortcuts.prompt"
    )  # the module, not the function

    class WrappingValidationToolbar(ValidationToolbar):
        def __init__(self, show_position: bool = False) -> None:
            super().__init__(show_position)
            self.container = ConditionalContainer(
                content=Window(self.control, wrap_lines=True), filter=has_validation_error
            )

    with patch.object(prompt, "ValidationToolbar", WrappingValidationToolbar):
        yield


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


def _local_folder(source: str) -> Path | None:
    """The folder a template source names on this machine (a path, `file://`, `git+file://`),
    whose repository Copier runs git in; None for a remote URL."""
    path = Path(source.removeprefix("git+").removeprefix("file://")).expanduser()
    return path if "://" not in str(path) and path.is_dir() else None


def _write_answers(project: Path, answers: dict[str, Any]) -> None:
    # indent 4, as Copier's own answers files (`to_nice_yaml`), so a rewrite changes no formatting
    body = yaml.safe_dump(answers, sort_keys=False, allow_unicode=True, indent=4)
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
    source = _engine_source(template)
    repositories = [folder for folder in (_local_folder(source), workspace) if folder]
    with (
        _copier_errors(template.source),
        _wrapped_validation_messages(),
        git_config.guarded(*repositories),
    ):
        worker = run_copy(
            source,
            into,
            data=data,
            defaults=options.defaults,
            user_defaults=git_identity() if template.builtin else {},
            unsafe=options.trust or template.builtin,
            vcs_ref=None if template.builtin else options.ref,  # pinned by `sources.resolve`
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
        version = template.ref or snapshots.shipped_version(template.folder, template.source)
        answers = {"_commit": version, "_src_path": snapshots.source_of(template.source)} | {
            key: value for key, value in answers.items() if not key.startswith("_")
        }
    if template.builtin or not answers_file.is_file():
        _write_answers(into, answers)
    return into


def update(project: Path, data: dict[str, Any], options: RenderOptions) -> None:
    """Update `project`, a scratch copy committed in its own git repository."""
    from copier import run_update

    answers_file = project / ANSWERS_FILE
    answers = read_record(answers_file)
    source = str(answers.get("_src_path", ""))
    builtin = snapshots.builtin_name(source)
    with tempfile.TemporaryDirectory(prefix="pocgen-versions-") as versions:
        ref, version = options.ref, None
        if builtin:
            ref, version = _builtin_versions(builtin, str(answers.get("_commit")), ref, versions)
            _write_answers(project, answers | {"_src_path": versions, "_commit": OLD_TAG})
            git(project, "commit", "--quiet", "--all", "-m", "template as two local versions")
        repositories = [folder for folder in (project, _local_folder(source)) if folder]
        with (
            _copier_errors(builtin or source),
            redirect_stderr(io.StringIO()),
            git_config.guarded(*repositories),
        ):
            worker = run_update(
                project,
                data=data,
                defaults=True,
                overwrite=True,
                skip_answered=True,
                vcs_ref=ref,
                unsafe=options.trust or bool(builtin),
                conflict="inline",
                quiet=True,
            )
            check_known(data, set(worker.template.questions_data), builtin or source)
    if builtin:
        updated = read_record(answers_file)
        _write_answers(
            project,
            {"_commit": version, "_src_path": snapshots.source_of(builtin)}
            | {key: value for key, value in updated.items() if not key.startswith("_")},
        )


def _builtin_versions(name: str, old: str, ref: str | None, into: str) -> tuple[str, str]:
    """A git repository in `into` whose tag 1 is built-in template `name` at version `old` and
    tag 2 the version to update to (`ref`, else the one this pocgen ships).

    Copier then updates between two plain local tags, whatever the versions are called, on any
    machine; returns the ref to give Copier and the real version to record.
    """
    from pocgen.templating.registry import find

    entry = find(name)
    if entry is None or not entry.builtin:
        raise PocgenError(f"this pocgen has no built-in template '{name}' to update from.")
    folder = Path(entry.source)
    new = versions.require(folder, name, ref) if ref else snapshots.shipped_version(folder, name)
    repo = Path(into)
    git(repo, "init", "--quiet")
    for tag, version in ((OLD_TAG, old), (NEW_TAG, new)):
        for child in repo.iterdir():
            if child.name != ".git":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        snapshots.export(folder, name, version, repo)
        git(repo, "add", "--all", "--force")
        git(repo, "commit", "--quiet", "--allow-empty", "-m", f"{name} {version}")
        git(repo, "tag", tag)
    return NEW_TAG, new
