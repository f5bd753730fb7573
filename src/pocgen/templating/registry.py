"""The templates pocgen knows by name: its built-ins and those installed packages register.

A package registers a template with an entry point in the `pocgen.templates` group whose object
is either a source string (folder or git URL) or a mapping with `source` and optionally
`description` and `ref`. A course then ships its template as a pip package and students get it
with `pocgen new --template <name>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from pocgen.contract import builtin_root, template_engine

ENTRY_POINT_GROUP = "pocgen.templates"


@dataclass(frozen=True)
class TemplateEntry:
    name: str
    description: str
    engine: str
    source: str  # a folder or a git URL
    builtin: bool
    ref: str | None = None


def _describe_copier(config_file: Path) -> str:
    """A Copier template's description: the first comment line of its copier.yml."""
    for line in config_file.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def builtin_templates() -> list[TemplateEntry]:
    entries = []
    for folder in sorted(path for path in builtin_root().iterdir() if path.is_dir()):
        config = folder / "copier.yml"
        if config.is_file():
            entries.append(
                TemplateEntry(
                    folder.name, _describe_copier(config), "copier", str(folder), builtin=True
                )
            )
    return entries


def _entry_from_object(name: str, value: Any) -> TemplateEntry:
    if isinstance(value, (str, Path)):
        value = {"source": str(value)}
    if not isinstance(value, dict) or "source" not in value:
        raise ValueError("expected a source string or a mapping with 'source'")
    source = str(value["source"])
    return TemplateEntry(
        name,
        str(value.get("description", "")),
        template_engine(Path(source)) or "?",
        source,
        builtin=False,
        ref=value.get("ref"),
    )


def registered_templates() -> list[TemplateEntry]:
    """Templates from installed packages; a broken entry point is shown, never fatal."""
    entries = []
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            entries.append(_entry_from_object(entry_point.name, entry_point.load()))
        except Exception as error:  # a third-party package must not break `pocgen templates`
            entries.append(
                TemplateEntry(
                    entry_point.name,
                    f"broken entry point {entry_point.value}: {error}",
                    "?",
                    entry_point.value,
                    builtin=False,
                )
            )
    return entries


def list_templates() -> list[TemplateEntry]:
    return builtin_templates() + registered_templates()


def find(name: str) -> TemplateEntry | None:
    return next((entry for entry in list_templates() if entry.name == name), None)
