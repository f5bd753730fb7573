"""The Space's README front matter: generated from the project's answers and checked locally.

The Hub validates this YAML when the README is uploaded and rejects the whole commit if one field
is wrong, after the user has waited for the upload. Checking the same rules here turns that late,
vague failure into one line before anything leaves the machine.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import yaml

from pocgen.contract import hub_license
from pocgen.errors import PocgenError

# The only colour names the Hub accepts for the Space card gradient (hex is rejected).
COLOURS = ("red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray")
SDKS = ("gradio", "docker", "static")
SHORT_DESCRIPTION_MAX = 60
DOCKER_PORT = 7860

# Per task: card emoji, gradient and what the short description calls the demo.
TASK_STYLE = {
    "object-detection": ("🔍", "blue", "indigo", "Object detection"),
    "image-classification": ("📷", "green", "blue", "Image classification"),
    "text-classification": ("💬", "purple", "pink", "Text classification"),
}


def short_description(task: str, classes: list[str]) -> str:
    """At most 60 characters: the task, then as many class names as fit."""
    kind = TASK_STYLE[task][3]
    names: list[str] = []
    for name in classes:
        if len(f"{kind}: {', '.join([*names, name])}") > SHORT_DESCRIPTION_MAX:
            break
        names.append(name)
    return f"{kind}: {', '.join(names)}" if names else f"{kind} demo"


def build(
    answers: dict[str, Any], sdk: str, sdk_version: str | None, app_file: str
) -> dict[str, Any]:
    """The front matter for this project's Space, in the order the Hub's docs list the fields."""
    task = answers["task"]
    emoji, colour_from, colour_to, _ = TASK_STYLE[task]
    classes = [name.strip() for name in str(answers["classes"]).split(",")]
    meta: dict[str, Any] = {
        "title": answers["project_name"],
        "emoji": emoji,
        "colorFrom": colour_from,
        "colorTo": colour_to,
        "sdk": sdk,
    }
    if sdk == "gradio":
        meta["sdk_version"] = sdk_version
    if sdk in ("gradio", "static"):
        meta["app_file"] = app_file
    if sdk == "docker":
        meta["app_port"] = DOCKER_PORT
    if sdk != "static":  # a static page runs no Python
        meta["python_version"] = str(answers["python_version"])
    meta["short_description"] = short_description(task, classes)
    meta["license"] = hub_license(answers.get("license"))
    meta["tags"] = [task, "onnx", "pocgen"]
    return meta


def problems(meta: dict[str, Any]) -> list[str]:
    """Every rule of the Spaces configuration reference this metadata breaks (empty when valid)."""
    found = []
    if not str(meta.get("title") or "").strip():
        found.append("title is empty")
    emoji = str(meta.get("emoji") or "")
    if not emoji or any(unicodedata.category(char) not in ("So", "Mn", "Cf") for char in emoji):
        found.append(f"emoji must be a single emoji (got {emoji!r})")
    for key in ("colorFrom", "colorTo"):
        if meta.get(key) not in COLOURS:
            found.append(f"{key} must be one of {', '.join(COLOURS)} (got {meta.get(key)!r})")
    if meta.get("sdk") not in SDKS:
        found.append(f"sdk must be one of {', '.join(SDKS)} (got {meta.get('sdk')!r})")
    if meta.get("sdk") == "gradio":
        if not re.fullmatch(r"\d+\.\d+\.\d+", str(meta.get("sdk_version") or "")):
            found.append(f"sdk_version must be X.Y.Z (got {meta.get('sdk_version')!r})")
        if not str(meta.get("app_file") or "").endswith(".py"):
            found.append(f"app_file must name a .py file (got {meta.get('app_file')!r})")
    if meta.get("sdk") == "static" and not str(meta.get("app_file") or "").endswith(".html"):
        found.append(f"app_file must name an .html page (got {meta.get('app_file')!r})")
    if meta.get("sdk") == "docker" and not isinstance(meta.get("app_port"), int):
        found.append(f"app_port must be a port number (got {meta.get('app_port')!r})")
    python_version = str(meta.get("python_version") or "")
    optional = meta.get("sdk") == "static" and not python_version  # a static page runs no Python
    if not optional and not re.fullmatch(r"3\.\d+(\.\d+)?", python_version):
        found.append(f"python_version must be 3.x or 3.x.x (got {meta.get('python_version')!r})")
    description = str(meta.get("short_description") or "")
    if len(description) > SHORT_DESCRIPTION_MAX:
        found.append(
            f"short_description is {len(description)} characters; the Hub allows "
            f"{SHORT_DESCRIPTION_MAX}"
        )
    for key in ("tags", "models", "datasets"):
        if key in meta and not all(isinstance(item, str) for item in meta[key]):
            found.append(f"{key} must be a list of strings")
    return found


def render(meta: dict[str, Any], body: str) -> str:
    """README.md text: the metadata between `---` lines, then the card's Markdown body."""
    broken = problems(meta)
    if broken:
        raise PocgenError(f"the Space's README front matter is invalid: {'; '.join(broken)}.")
    header = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{header}---\n\n{body.lstrip()}"


def parse(readme: str) -> dict[str, Any]:
    """The metadata of a README.md, as the Hub reads it (used to check what was uploaded)."""
    match = re.match(r"---\n(.*?)\n---\n", readme, flags=re.DOTALL)
    if not match:
        raise PocgenError("README.md has no front matter between `---` lines.")
    return yaml.safe_load(match.group(1))
