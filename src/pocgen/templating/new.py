"""`pocgen new`: resolve the template, check the answers, render safely, report next steps."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pocgen import topics
from pocgen.contract import recorded_answers
from pocgen.templating import answers, containment, engines, repository, sources, staging
from pocgen.templating.engines import RenderOptions


@dataclass
class Created:
    path: Path
    engine: str
    pretend: bool
    files: list[str] = field(default_factory=list)  # relative paths, sorted
    next_steps: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    repository: str = ""  # what `new` did about git, in one line ("" with --no-git)


def quickstart_commands(project: Path) -> list[str]:
    """The commands in the first code block under the README's Quickstart heading."""
    readme = project / "README.md"
    if not readme.is_file():
        return []
    match = re.search(
        r"^#+\s*Quick ?start.*?^```[a-z]*\n(.*?)^```",
        readme.read_text(encoding="utf-8", errors="replace"),
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
    finish: Callable[[Path], None] | None = None,
    git: bool = False,
) -> Created:
    """Render `template` into `dest`. Nothing is written to `dest` unless the render succeeds;
    Ctrl-C ends in `Interrupted`, whose line says whether the project was written.

    `finish` changes the render before it is moved into place (a course's exercise stubs), so
    a failure there leaves nothing behind either. With `git`, the new project gets a repository
    and a first commit (`repository.start`).
    """
    data = data or {}
    options = options or RenderOptions()
    staging.check_destination(dest, force)
    area = None
    try:
        with sources.resolve(template, options.ref) as resolved:
            engine = engines.get(resolved.engine)
            answers.check_known(data, engine.questions(resolved.folder), resolved.source)
            with staging.staging_area(dest) as area:
                created = _render(resolved, engine, area, dest, data, options, finish)
            if git and not options.pretend:
                created.repository = repository.start(dest, resolved.source)
            return created
    except KeyboardInterrupt:
        raise staging.interrupted(dest, area) from None


def _render(
    resolved: sources.ResolvedTemplate,
    engine: Any,
    area: staging.Staging,
    dest: Path,
    data: dict[str, Any],
    options: RenderOptions,
    finish: Callable[[Path], None] | None,
) -> Created:
    """Render in the staging area, check what was made, and move it into place."""
    rendered = engine.render(resolved, area.workspace, dest.name, data, options)
    result = Created(dest, resolved.engine, options.pretend)
    result.warnings = [
        f"finished writing {finished}, which an interrupted `pocgen new --force` had started."
        for finished in area.finished
    ]
    if options.pretend and resolved.engine == "copier":
        return result  # Copier printed what it would write and wrote nothing
    containment.refuse_links_out(
        rendered,
        f"the project rendered from template {resolved.source}",
        "Fix the template: the links of a project must stay inside it.",
    )
    if finish is not None and not options.pretend:
        finish(rendered)
    result.files = sorted(
        p.relative_to(rendered).as_posix() for p in rendered.rglob("*") if p.is_file()
    )
    result.next_steps = quickstart_commands(rendered)
    result.warnings += _worn_topic_warnings(rendered)
    if not options.pretend:
        staging.move_into_place(rendered, dest, area)
    return result
