"""`pocgen new`: resolve the template, check the answers, render safely, report next steps."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pocgen import topics
from pocgen.contract import recorded_answers
from pocgen.templating import answers, engines, sources, staging
from pocgen.templating.engines import RenderOptions


@dataclass
class Created:
    path: Path
    engine: str
    pretend: bool
    files: list[str] = field(default_factory=list)  # relative paths, sorted
    next_steps: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def quickstart_commands(project: Path) -> list[str]:
    """The commands in the first code block under the README's Quickstart heading."""
    readme = project / "README.md"
    if not readme.is_file():
        return []
    match = re.search(
        r"^#+\s*Quick ?start.*?^```[a-z]*\n(.*?)^```",
        readme.read_text(encoding="utf-8"),
        flags=re.MULTILINE | re.DOTALL | re.IGNORECASE,
    )
    return [line for line in match.group(1).splitlines() if line.strip()] if match else []


def _worn_topic_warnings(project: Path) -> list[str]:
    answers = recorded_answers(project) or {}
    texts = [str(value) for key, value in answers.items() if not str(key).startswith("_")]
    topic = topics.worn_topic(*texts)
    return [topics.warning(topic)] if topic else []


def create_project(
    dest: Path,
    template: str | None = None,
    *,
    data: dict[str, Any] | None = None,
    options: RenderOptions | None = None,
    force: bool = False,
) -> Created:
    """Render `template` into `dest`. Nothing is written to `dest` unless the render succeeds."""
    data = data or {}
    options = options or RenderOptions()
    staging.check_destination(dest, force)
    with sources.resolve(template, options.ref) as resolved:
        engine = engines.get(resolved.engine)
        answers.check_known(data, engine.questions(resolved.folder), resolved.source)
        with staging.staging_area(dest) as workspace:
            rendered = engine.render(resolved, workspace, dest.name, data, options)
            result = Created(dest, resolved.engine, options.pretend)
            if options.pretend and resolved.engine == "copier":
                return result  # Copier printed what it would write and wrote nothing
            result.files = sorted(
                p.relative_to(rendered).as_posix() for p in rendered.rglob("*") if p.is_file()
            )
            result.next_steps = quickstart_commands(rendered)
            result.warnings = _worn_topic_warnings(rendered)
            if not options.pretend:
                staging.move_into_place(rendered, dest)
            return result
