"""Render with Cookiecutter's Python API, and update Cookiecutter projects ourselves.

Cookiecutter has no update of its own. pocgen records what made a project in `.pocgen.yml`
(template source, the commit rendered, the full context), so an update can re-render the old and
the new template version with the same answers and merge the difference into the project.

Cookiecutter trusts its template: its Jinja is not sandboxed (`{{ cycler.__init__.__globals__
.os.system(...) }}` in any file, file name or default runs on the user's machine), a rendered
name may point anywhere (`../../.bashrc`), a `_copy_without_render` folder is deleted wherever
its name points, and a symlink in the template copies whatever it points at. So pocgen runs
Cookiecutter's own steps (context, nested templates, prompts, `generate_files`) itself, and
without --trust:
- every `cookiecutter.json` the render can reach is checked first: hooks and `_extensions` need
  --trust, `_jinja2_env_vars` may set only Jinja's syntax options, nested templates and symlinks
  stay inside the template;
- every Jinja environment is a SandboxedEnvironment, and this is proved, not assumed: a template
  compiled by any other environment stops the render (`_sandboxed_jinja`);
- the render may change files only in its staging folder and within a CPU and memory budget
  (`containment`).
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from pocgen.contract import read_record
from pocgen.errors import PocgenError, one_line
from pocgen.templating import containment, merge
from pocgen.templating.answers import check_known
from pocgen.templating.engines import RenderOptions, template_syntax_message
from pocgen.templating.sources import ResolvedTemplate, clone

RECORD_FILE = ".pocgen.yml"
CONFIG_FILE = "cookiecutter.json"
HOOK_NAMES = {"pre_prompt", "pre_gen_project", "post_gen_project"}
# The modules that build Cookiecutter's Jinja environments, each through its own imported name
# `create_env_with_context`; pocgen replaces that name in each one.
ENV_FACTORY_MODULES = (
    "cookiecutter.generate",
    "cookiecutter.prompt",
    "cookiecutter.hooks",
    "cookiecutter.utils",
)
# What `_jinja2_env_vars` may set: Jinja's syntax options, nothing that loads or runs code.
JINJA_SYNTAX_OPTIONS = {
    "block_start_string": str,
    "block_end_string": str,
    "variable_start_string": str,
    "variable_end_string": str,
    "comment_start_string": str,
    "comment_end_string": str,
    "line_statement_prefix": (str, type(None)),
    "line_comment_prefix": (str, type(None)),
    "trim_blocks": bool,
    "lstrip_blocks": bool,
    "newline_sequence": str,
    "autoescape": bool,
    "optimized": bool,
}
# Sizes a sandboxed expression may produce: `'x' * n` and `a ** b` are checked before they run.
MAX_REPEATED_ITEMS = 10_000_000
MAX_POWER_BITS = 100_000
# An old-style nested template choice, "Name (path)".
OLD_STYLE_CHOICE = re.compile(r"\((.+)\)")


def _config(folder: Path) -> dict[str, Any]:
    config_file = folder / CONFIG_FILE
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PocgenError(f"{config_file} is missing; fix the template.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise PocgenError(f"{config_file} is not valid JSON ({error}); fix the template.") from None
    if not isinstance(config, dict):
        raise PocgenError(f"{config_file} must hold a JSON object of questions; fix the template.")
    return config


def _inside(path: Path, root: Path, template: str, what: str) -> Path:
    """`path` resolved, refused unless it lies inside the template `root` and is a template."""
    resolved = path.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise PocgenError(
            f"template {template} names {what} {path}, which lies outside the template; pocgen "
            "renders nothing from outside it. Fix the template."
        )
    if not (resolved / CONFIG_FILE).is_file():
        raise PocgenError(
            f"template {template} names {what} {path}, which has no {CONFIG_FILE}; fix the "
            "template."
        )
    return resolved


def _nested_paths(config: dict[str, Any], template: str) -> list[str]:
    """The nested templates a `cookiecutter.json` offers: the `templates` key (each entry's
    `path`) and the old `template` key ("Name (path)" choices). A choice written in Jinja is
    known only once rendered, so it is checked again when chosen."""
    paths = []
    entries = config.get("templates")
    if entries is not None:
        if not isinstance(entries, dict) or not all(
            isinstance(entry, dict) and isinstance(entry.get("path"), str)
            for entry in entries.values()
        ):
            raise PocgenError(
                f"template {template}: `templates` must map each name to an object with a "
                '"path"; fix the template.'
            )
        paths += [entry["path"] for entry in entries.values()]
    choices = config.get("template")
    if choices is not None:
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            raise PocgenError(
                f'template {template}: `template` must list choices like "Name (path)"; fix the '
                "template."
            )
        for choice in choices:
            match = OLD_STYLE_CHOICE.search(choice)
            if match is None:
                raise PocgenError(
                    f'template {template}: the choice "{choice}" names no (path); fix the template.'
                )
            if "{" not in choice:
                paths.append(match.group(1))
    return paths


def reachable(folder: Path) -> list[Path]:
    """`folder` and every nested template a render of it can reach, each inside `folder`."""
    found, queue = [], [folder.resolve()]
    while queue:
        current = queue.pop(0)
        if current in found:
            continue
        found.append(current)
        for path in _nested_paths(_config(current), folder.name):
            if Path(path).is_absolute():
                raise PocgenError(
                    f"template {folder.name} names the nested template {path} by an absolute "
                    "path; it must lie inside the template. Fix the template."
                )
            queue.append(_inside(current / path, folder, folder.name, "the nested template"))
    return found


def questions(folder: Path) -> set[str]:
    """The questions of the template and of every template nested in it."""
    return {
        name
        for template in reachable(folder)
        for name in _config(template)
        if not name.startswith("_")
    }


def _code_in(template: Path) -> str | None:
    """Why rendering this one template folder runs code (hooks, Jinja extensions), or None."""
    hooks = template / "hooks"
    if hooks.is_dir() and any(path.stem in HOOK_NAMES for path in hooks.iterdir()):
        return "it has hooks"
    if _config(template).get("_extensions"):
        return "it loads Jinja extensions"
    return None


def runs_code(folder: Path) -> str | None:
    """Why rendering this template runs code (hooks, Jinja extensions) in it or in a template
    nested in it, or None."""
    for template in reachable(folder):
        reason = _code_in(template)
        if reason:
            nested = "" if template == folder.resolve() else f" (nested template {template.name})"
            return reason + nested
    return None


def _refuse_code(template: str, reason: str) -> PocgenError:
    return PocgenError(
        f"template {template} runs code on your machine ({reason}); read it, then pass "
        "--trust if you trust it."
    )


def _check_jinja_settings(folder: Path, template: str) -> None:
    """`_jinja2_env_vars` becomes keyword arguments of Jinja's Environment; only syntax options
    of the right type are accepted, so a template cannot pass `extensions` or a broken value."""
    settings = _config(folder).get("_jinja2_env_vars", {})
    fix = f"template {template} sets `_jinja2_env_vars` in {folder.name}/{CONFIG_FILE}"
    if not isinstance(settings, dict):
        raise PocgenError(f"{fix} to something other than an object; fix the template.")
    for key, value in settings.items():
        expected = JINJA_SYNTAX_OPTIONS.get(key)
        if expected is None:
            raise PocgenError(
                f"{fix} with `{key}`, which is not one of Jinja's syntax options "
                f"({', '.join(JINJA_SYNTAX_OPTIONS)}); fix the template."
            )
        if not isinstance(value, expected):
            raise PocgenError(f"{fix} with `{key}` of the wrong type; fix the template.")
    from jinja2.sandbox import SandboxedEnvironment

    try:
        SandboxedEnvironment(**settings)
    except (AssertionError, ValueError, TypeError) as error:
        raise PocgenError(
            f"{fix} that Jinja refuses ({one_line(error)}); fix the template."
        ) from None


def check_template(folder: Path, trust: bool) -> None:
    """Everything about a template that can be refused before it renders: links out of it,
    nested templates outside it, Jinja settings, and (without --trust) code it would run."""
    containment.refuse_links_out(
        folder, f"template {folder.name}", "Fix the template, or copy the file into it."
    )
    for template in reachable(folder):
        _check_jinja_settings(template, folder.name)
    reason = runs_code(folder)
    if reason and not trust:
        raise _refuse_code(folder.name, reason)


def _check_chosen(nested: Path, root: Path, trust: bool) -> None:
    """A nested template chosen by a rendered choice (so not among those `reachable` found):
    the same checks, before it is read."""
    _check_jinja_settings(nested, root.name)
    reason = _code_in(nested)
    if reason and not trust:
        raise _refuse_code(root.name, f"{reason} (nested template {nested.name})")


@contextmanager
def _cookiecutter_errors(template: str) -> Iterator[None]:
    """Cookiecutter's and Jinja's exceptions as one line each, their explanation kept whole."""
    from cookiecutter.exceptions import CookiecutterException, UndefinedVariableInTemplate
    from jinja2 import TemplateSyntaxError, UndefinedError
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
    except UndefinedError as error:  # a name the template uses but never defines
        raise PocgenError(
            f"template {template} failed to render: {one_line(error)}; fix the template."
        ) from None


class _SandboxBypassed(Exception):
    """A template was about to be compiled by an environment that is not sandboxed."""


@contextmanager
def _sandboxed_jinja(template: str) -> Iterator[None]:
    """Every Jinja environment Cookiecutter creates is a SandboxedEnvironment, and pocgen proves
    it: a template compiled by any other environment stops the render, and so does a render in
    which nothing was compiled in the sandbox. Fails closed when Cookiecutter changes.

    Cookiecutter builds each environment through `create_env_with_context`, imported by name
    into each module of `ENV_FACTORY_MODULES`; replacing that name there is the main change.
    The check sits on `jinja2.Environment.compile`, which every template passes through.
    """
    from cookiecutter.environment import ExtensionLoaderMixin
    from jinja2 import Environment, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    unprovable = (
        f"pocgen cannot prove that Cookiecutter renders template {template} in Jinja's sandbox "
        "({why}), so it refuses to render it without --trust; install a Cookiecutter 2.x that "
        "pocgen supports (pip install 'cookiecutter>=2.6,<3'), or read the template and pass "
        "--trust."
    )
    modules = [importlib.import_module(name) for name in ENV_FACTORY_MODULES]
    missing = [module.__name__ for module in modules if not callable(_factory_of(module))]
    if missing:
        raise PocgenError(
            unprovable.format(why=f"{', '.join(missing)} no longer has create_env_with_context")
        )

    class SandboxedStrictEnvironment(ExtensionLoaderMixin, SandboxedEnvironment):
        """Cookiecutter's StrictEnvironment, in the sandbox, with a cap on what one expression
        may build."""

        intercepted_binops = frozenset({"*", "**"})

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(undefined=StrictUndefined, **kwargs)

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            _check_size(operator, left, right)
            return super().call_binop(context, operator, left, right)

    def sandboxed(context: dict[str, Any]) -> SandboxedStrictEnvironment:
        settings = context.get("cookiecutter", {})
        if settings.get("_extensions"):  # checked before the render; never loaded here either
            raise _refuse_code(template, "it loads Jinja extensions")
        variables = settings.get("_jinja2_env_vars", {})
        return SandboxedStrictEnvironment(context=context, keep_trailing_newline=True, **variables)

    compiled_in_sandbox = []
    bypassed: list[str] = []
    real_compile = Environment.compile

    def compile_in_sandbox(self: Environment, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(self, SandboxedEnvironment):
            bypassed.append(type(self).__name__)
            raise _SandboxBypassed(type(self).__name__)
        compiled_in_sandbox.append(True)
        return real_compile(self, *args, **kwargs)

    originals = [(module, _factory_of(module)) for module in modules]
    try:
        for module, _ in originals:
            module.create_env_with_context = sandboxed  # type: ignore[attr-defined]
        Environment.compile = compile_in_sandbox  # type: ignore[method-assign, assignment]
        yield
    except _SandboxBypassed:
        pass  # reported below
    finally:
        Environment.compile = real_compile  # type: ignore[method-assign]
        for module, factory in originals:
            module.create_env_with_context = factory  # type: ignore[attr-defined]
    if bypassed:
        raise PocgenError(unprovable.format(why=f"it compiled Jinja in a {bypassed[0]}"))
    if not compiled_in_sandbox:
        raise PocgenError(unprovable.format(why="nothing was compiled in the sandbox"))


def _factory_of(module: Any) -> Any:
    return getattr(module, "create_env_with_context", None)


def _check_size(operator: str, left: Any, right: Any) -> None:
    """Refuse `'x' * 10**10` or `10 ** 10**9` before Python tries to build it."""
    if operator == "*":
        for sequence, count in ((left, right), (right, left)):
            if isinstance(sequence, str | bytes | list | tuple) and isinstance(count, int):
                if len(sequence) * count > MAX_REPEATED_ITEMS:
                    raise OverflowError(
                        f"an expression repeats a sequence to {len(sequence) * count:,} items"
                    )
    elif isinstance(left, int) and isinstance(right, int) and right > 0:
        if left.bit_length() * right > MAX_POWER_BITS:
            raise OverflowError(f"an expression raises a number to the power {right:,}")


@contextmanager
def _importable(folder: Path, trust: bool) -> Iterator[None]:
    """A trusted template's own modules (local Jinja extensions) are importable while it
    renders, as Cookiecutter does; an untrusted one never shadows a module pocgen imports."""
    if not trust:
        yield
        return
    saved = list(sys.path)
    sys.path.append(str(folder))
    try:
        yield
    finally:
        sys.path[:] = saved


@contextmanager
def _temporary_files_in(folder: Path) -> Iterator[None]:
    """Cookiecutter writes each hook it runs to a temporary file it never deletes; they go to
    `folder`, inside the staging area, and leave with it."""
    folder.mkdir()
    saved = tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        yield
    finally:
        tempfile.tempdir = saved


def _generate(
    folder: Path,
    root: Path,
    output: Path,
    extra: dict[str, Any],
    options: RenderOptions,
    hooks: bool,
) -> tuple[Path, dict[str, Any]]:
    """Cookiecutter's `cookiecutter()` for a local folder, step by step, so that a nested
    template is checked before it is read: the context, the nested template if the template
    names one, the prompts, then `generate_files`. Returns the project and the final context."""
    from cookiecutter.generate import generate_context, generate_files
    from cookiecutter.hooks import run_pre_prompt_hook
    from cookiecutter.prompt import choose_nested_template, prompt_for_config

    repo = Path(run_pre_prompt_hook(str(folder))) if hooks else folder
    try:
        context = generate_context(str(repo / CONFIG_FILE), extra_context=extra)
        settings = context["cookiecutter"]
        context["_cookiecutter"] = {k: v for k, v in settings.items() if not k.startswith("_")}
        with _importable(repo, options.trust):
            if {"template", "templates"} & set(settings):
                try:
                    chosen = choose_nested_template(context, str(repo), options.defaults)
                except (ValueError, AttributeError, KeyError, TypeError) as error:
                    raise PocgenError(
                        f"template {root.name} names a nested template pocgen cannot find "
                        f"({one_line(error) or type(error).__name__}); fix the template."
                    ) from None
                nested = _inside(Path(chosen), repo, root.name, "the nested template")
                _check_chosen(nested, root, options.trust)
                return _generate(nested, root, output, extra, options, hooks)
            if settings:
                settings.update(prompt_for_config(context, options.defaults))
            settings.update(
                _template=str(folder),
                _output_dir=str(output.absolute()),
                _repo_dir=str(repo),
                _checkout=None,
            )
            project = generate_files(
                repo_dir=str(repo), context=context, output_dir=str(output), accept_hooks=hooks
            )
    finally:
        if repo != folder:  # the pre_prompt hook ran in a copy
            shutil.rmtree(repo, ignore_errors=True)
    return Path(project), {k: v for k, v in settings.items() if not k.startswith("_")}


def _run(
    folder: Path,
    into: Path,
    context: dict[str, Any],
    options: RenderOptions,
    hooks: bool = True,
) -> tuple[Path, dict[str, Any]]:
    """Render `folder` into `into`; return the project folder and the final context.

    `hooks=False` renders without running the template's hooks (the old version, in an update).
    """
    check_template(folder, options.trust)
    output = into / "output"
    with _cookiecutter_errors(folder.name), ExitStack() as guards:
        guards.enter_context(_temporary_files_in(into / "tmp"))
        if not options.trust:
            guards.enter_context(containment.confined(into, template=folder.name))
            guards.enter_context(containment.render_limits(folder.name))
            guards.enter_context(_sandboxed_jinja(folder.name))
        hooks = hooks and options.trust
        project, final = _generate(folder, folder, output, context, options, hooks)
    if not project.resolve().is_relative_to(output.resolve()):
        raise PocgenError(
            f"template {folder.name} names its project folder {project.name!r}, which is not a "
            "folder name; fix the template."
        )
    return project, final


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
    project, context = _run(template.folder, workspace, data, options)
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
        unattended = replace(options, defaults=True)
        old_render, _ = _run(
            work / "old-template", work / "old", old_context, unattended, hooks=False
        )
        new_render, final_context = _run(
            work / "new-template", work / "new", old_context | data, unattended
        )
        merge.three_way(old_render, new_render, project)
    record.update(commit=new_commit, ref=options.ref, context=final_context)
    _write_record(project, record)
