"""Render with Cookiecutter's Python API, and update Cookiecutter projects ourselves.

Cookiecutter has no update of its own. pocgen records what made a project in `.pocgen.yml`
(template source, the commit rendered, the full context), so an update can re-render the old and
the new template version with the same answers and merge the difference into the project.

Cookiecutter's Jinja is not sandboxed: `{{ cycler.__init__.__globals__.os.system(...) }}` in any
file, file name or `cookiecutter.json` default runs on the user's machine. Without --trust, pocgen
swaps in Jinja's SandboxedEnvironment for every environment Cookiecutter creates.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from unittest.mock import patch

import yaml

from pocgen.contract import read_record
from pocgen.errors import PocgenError, one_line
from pocgen.templating import merge
from pocgen.templating.answers import check_known
from pocgen.templating.engines import RenderOptions, template_syntax_message
from pocgen.templating.sources import ResolvedTemplate, clone

RECORD_FILE = ".pocgen.yml"
HOOK_NAMES = {"pre_prompt", "pre_gen_project", "post_gen_project"}


def _config(folder: Path) -> dict[str, Any]:
    config_file = folder / "cookiecutter.json"
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise PocgenError(f"{config_file} is not valid JSON ({error}); fix the template.") from None
    if not isinstance(config, dict):
        raise PocgenError(f"{config_file} must hold a JSON object of questions; fix the template.")
    return config


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
    """Cookiecutter's and Jinja's exceptions as one line each, their explanation kept whole."""
    from cookiecutter.exceptions import CookiecutterException, UndefinedVariableInTemplate
    from jinja2 import TemplateSyntaxError
    from jinja2.sandbox import SecurityError

    try:
        yield
    except UndefinedVariableInTemplate as error:  # its str() also dumps the whole context
        raise PocgenError(
            f"template {template} failed to render: {one_line(error.message)}: "
            f"{one_line(error.error.message)}"
        ) from None
    except CookiecutterException as error:
        reason = one_line(error) or type(error).__name__
        raise PocgenError(f"template {template} failed to render: {reason}") from None
    except TemplateSyntaxError as error:
        raise PocgenError(template_syntax_message(template, error)) from None
    except SecurityError as error:
        raise PocgenError(
            f"template {template} needs what Jinja's sandbox forbids ({one_line(error)}); read "
            "it, then pass --trust if you trust it."
        ) from None


@contextmanager
def _jinja(trust: bool) -> Iterator[None]:
    """Without `trust`, every Jinja environment Cookiecutter creates (file names, contents,
    `cookiecutter.json` defaults, hook sources) is a SandboxedEnvironment.

    Cookiecutter builds them all through `create_env_with_context`, imported by name into the
    modules below, so replacing that name there is the whole change.
    """
    if trust:
        yield
        return
    from cookiecutter import generate, hooks, prompt, utils
    from cookiecutter.environment import ExtensionLoaderMixin
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    class SandboxedStrictEnvironment(ExtensionLoaderMixin, SandboxedEnvironment):
        """Cookiecutter's StrictEnvironment, in the sandbox."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(undefined=StrictUndefined, **kwargs)

    def sandboxed(context: dict[str, Any]) -> SandboxedStrictEnvironment:
        settings = context.get("cookiecutter", {}).get("_jinja2_env_vars", {})
        return SandboxedStrictEnvironment(context=context, keep_trailing_newline=True, **settings)

    with ExitStack() as patches:
        for module in (generate, hooks, prompt, utils):
            patches.enter_context(patch.object(module, "create_env_with_context", sandboxed))
        yield


def _run(
    folder: Path,
    into: Path,
    context: dict[str, Any],
    no_input: bool,
    trust: bool,
    hooks: bool = True,
) -> tuple[Path, dict[str, Any]]:
    """Render `folder` into `into`; return the project folder and the final context.

    `hooks=False` renders without running the template's hooks (the old version, in an update).
    """
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
    with _cookiecutter_errors(folder.name), _jinja(trust):
        project = cookiecutter(
            str(folder),
            no_input=no_input,
            extra_context=context,
            output_dir=str(output),
            config_file=str(config_file),
            accept_hooks=trust and hooks,
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


def update(project: Path, data: dict[str, Any], options: RenderOptions) -> None:
    """Merge the change between the recorded and the new template version into `project`.

    The hooks run once, for the new version: the old one is rendered only to compute the
    change, and its hooks already ran when the project was made.
    """
    record = read_record(project / RECORD_FILE)
    source, old_commit = record.get("template"), record.get("commit")
    if not source or not old_commit:
        raise PocgenError(
            f"{RECORD_FILE} does not name a template commit, so the old version cannot be "
            "rebuilt; the template must be a git repository for updates."
        )
    old_context = dict(record.get("context") or {})
    with tempfile.TemporaryDirectory(prefix="pocgen-update-") as scratch:
        work = Path(scratch)
        clone(source, old_commit, work / "old-template")
        new_commit = clone(source, options.ref, work / "new-template")
        check_known(data, questions(work / "new-template"), source)
        (work / "old").mkdir()
        (work / "new").mkdir()
        old_render, _ = _run(
            work / "old-template", work / "old", old_context, True, options.trust, hooks=False
        )
        new_render, final_context = _run(
            work / "new-template", work / "new", old_context | data, True, options.trust
        )
        merge.three_way(old_render, new_render, project)
    record.update(commit=new_commit, ref=options.ref, context=final_context)
    _write_record(project, record)
