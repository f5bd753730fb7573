"""One module per templating engine, each with the same three functions.

- `questions(folder)`: the names a user may answer with --data;
- `render(template, into, data, options)`: write the project into `into` and return its folder;
- `update(project, data, options)`: bring template changes into an existing project.

`pocgen new` and `pocgen update` pick the module by `ResolvedTemplate.engine` and never touch an
engine's API directly, so both engines get the same flags and the same kind of errors.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from pocgen.errors import one_line


@dataclass(frozen=True)
class RenderOptions:
    defaults: bool = False  # ask nothing; take every default
    trust: bool = False  # allow the template to run code (Copier tasks, Cookiecutter hooks)
    pretend: bool = False  # show what would be written, write nothing
    ref: str | None = None  # git ref of the template


def get(engine: str) -> ModuleType:
    """The engine module for "copier" or "cookiecutter", imported only when needed."""
    return importlib.import_module(f"pocgen.templating.engines.{engine}_engine")


def template_syntax_message(template: str, error: Any) -> str:
    """One line for a jinja2 `TemplateSyntaxError` (an unknown filter is one too): where it is
    and Jinja's own words."""
    where = error.filename or error.name or "a template string"
    if os.path.isabs(where) and os.path.isdir(template):
        where = os.path.relpath(where, template)
    return (
        f"template {template} has a Jinja error in {where}, line {error.lineno}: "
        f"{one_line(error.message)}; fix the template."
    )
