"""Lay out `dist/space/`: exactly the files the demo needs on a Hugging Face Space, nothing else.

`upload_folder` mirrors a folder as it is (it ignores .gitignore), so the safe way to upload is to
build a clean folder first. A Python Space gets the app, the shared demo helpers, `inference.py`
as an importable package, the ONNX model and its labels, the metrics for the About panel, a few
test examples, a requirements.txt without torch, the README card and, for Streamlit, a
Dockerfile; the paths inside match the project's (models/, reports/, data/splits/), so the app
runs unchanged. A static Space gets the project's web build (see `web`) and the README card.
Every file read is confined to its folder (`paths`), every image is written again without its
metadata (`images`), and the result is scanned for secrets.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pocgen.deploy import frontmatter, images
from pocgen.deploy.choice import UiChoice
from pocgen.deploy.paths import (
    EXAMPLES,
    FIGURES,
    SPACE_DIR,
    Source,
    check_size,
    contained,
    fresh_space_folder,
    model_source,
    refuse_symlinks,
)
from pocgen.deploy.secrets import Finding, refuse_secrets
from pocgen.deploy.web import EXAMPLE_COUNT, build_web
from pocgen.errors import PocgenError
from pocgen.files import read_text

APP_FILE = "app.py"
WEB_APP_FILE = "index.html"
# Markdown image links, `![alt](path "title")`, and HTML `<img src="path">` in the README.
IMAGE_LINK = re.compile(
    r"!\[[^\]]*\]\(\s*<?([^)\s>]+)|<img\b[^>]*\bsrc=[\"']([^\"']+)", re.IGNORECASE
)
# The versions pocgen's own tests run the demo apps with. Pinning them makes a Space built today
# install the same code next year; gradio itself is installed by the Space from `sdk_version`.
TESTED_VERSIONS = {
    "gradio": "6.31.0",
    "streamlit": "1.67.0",
    "onnxruntime": "1.32.0",
    "numpy": "2.2.6",
    "pillow": "12.3.0",
}


@dataclass
class SpaceBuild:
    """A built Space folder and what `run` needs to describe and upload it."""

    folder: Path
    ui: str
    sdk: str
    front_matter: dict[str, Any]
    # Built file (relative, POSIX) -> the project file it came from, or "(generated)".
    origins: dict[str, str] = field(default_factory=dict)
    # Built images written again without their metadata.
    cleaned: set[str] = field(default_factory=set)
    # Suspected secrets that an entry of .secrets-allowlist allowed, and that entry's line.
    allowed: list[tuple[Finding, int]] = field(default_factory=list)

    def sizes(self) -> dict[str, int]:
        """Each built file's size in bytes, sorted by path, for the plan and the tests."""
        return {name: (self.folder / name).stat().st_size for name in sorted(self.origins)}

    def public_files(self) -> list[str]:
        """The project files whose content this Space makes public, sorted; the examples a web
        build copied from the project's data are named by their place in the build."""
        return sorted(
            origin if not origin.startswith("(") else f"{name} (an example from your data)"
            for name, origin in self.origins.items()
            if not origin.startswith("(") or name.startswith("examples/")
        )


def pick_examples(rows: list[dict[str, str]], count: int) -> list[dict[str, str]]:
    """Up to `count` rows, taking one of each label in turn so every class has an example."""
    by_label: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_label.setdefault(row.get("label", ""), []).append(row)
    rounds = itertools.zip_longest(*by_label.values())
    return [row for group in rounds for row in group if row is not None][:count]


def requirements(ui: str, image_task: bool) -> str:
    """A pinned requirements.txt; no torch, because the app runs the ONNX model."""
    names = ["onnxruntime", "numpy"] + (["pillow"] if image_task else [])
    if ui == "streamlit":
        names.append("streamlit")  # a Docker Space installs everything itself
    pins = "\n".join(f"{name}=={TESTED_VERSIONS[name]}" for name in names)
    return f"# Pinned to the versions pocgen tests the demo with. No torch: it runs ONNX.\n{pins}\n"


def dockerfile(python_version: str) -> str:
    """Streamlit runs as a Docker Space: the Hub's recipe, a non-root user (uid 1000), port 7860."""
    return f"""\
FROM python:{python_version}-slim
# Spaces run containers as uid 1000; creating that user keeps file permissions consistent.
RUN useradd --create-home --uid 1000 user
USER user
ENV HOME=/home/user PATH=/home/user/.local/bin:$PATH
WORKDIR /home/user/app
# Requirements first, so a change to the app does not reinstall every package.
COPY --chown=user requirements.txt .
RUN pip install --no-cache-dir --upgrade pip && pip install --no-cache-dir -r requirements.txt
COPY --chown=user . .
EXPOSE {frontmatter.DOCKER_PORT}
# The Space serves the app through a proxy inside an iframe: Streamlit's XSRF and CORS checks
# would reject uploads from that origin. Visitors see neither error details nor developer menus.
CMD ["streamlit", "run", "{APP_FILE}", "--server.port={frontmatter.DOCKER_PORT}", \\
     "--server.address=0.0.0.0", "--server.headless=true", "--server.enableCORS=false", \\
     "--server.enableXsrfProtection=false", "--client.showErrorDetails=none", \\
     "--client.toolbarMode=viewer", "--browser.gatherUsageStats=false"]
"""


class _Builder:
    """Copies and writes files into the Space folder, remembering where each one came from."""

    def __init__(self, project: Path, folder: Path, origins: dict[str, str] | None = None) -> None:
        self.project = project
        self.folder = folder
        self.origins: dict[str, str] = dict(origins or {})
        self.cleaned: set[str] = set()

    def copy(self, source: str, target: str | None = None, rule: Source | None = None) -> None:
        """Copy a project file that must stay inside `rule`'s folders (default: its own top
        folder) and under its size cap; a symlink's target is checked and copied, not the link.
        An image is written again without its metadata."""
        target = target or source
        rule = rule or Source("its files", (source.split("/")[0],))
        resolved = contained(self.project, source, rule)
        destination = self.folder / target
        destination.parent.mkdir(parents=True, exist_ok=True)
        if images.is_raster(source):
            images.write_without_metadata(resolved, destination, source)
            check_size(destination, rule.limit, rule.kind, source)
            self.cleaned.add(target)
        else:
            shutil.copyfile(resolved, destination)
        self.origins[target] = source

    def clean_built_images(self, prefix: str) -> None:
        """Write the images a builder made under `prefix` again, without their metadata."""
        for name in sorted(self.origins):
            if name.startswith(prefix) and images.is_raster(name):
                path = self.folder / name
                images.write_without_metadata(path, path, f"{SPACE_DIR.as_posix()}/{name}")
                self.cleaned.add(name)

    def write(self, target: str, text: str, origin: str = "(generated)") -> None:
        destination = self.folder / target
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")
        self.origins[target] = origin


def _require(project: Path, relative: str, fix: str) -> None:
    if not (project / relative).is_file():
        raise PocgenError(f"{project / relative} is missing: {fix}")


def _copy_examples(builder: _Builder, image_task: bool) -> None:
    """A trimmed test split and, for images, the files it names, so the app can offer examples.

    Each path in the split is checked before anything is read: a row naming a file outside
    data/ (a config, a key) is refused, not shipped as an "example".
    """
    split = contained(builder.project, "data/splits/test.csv", EXAMPLES)
    if not split.is_file():
        return
    with split.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = list(reader.fieldnames or [])
        rows = list(reader)
    if image_task:
        rows = [row for row in rows if contained(builder.project, row["path"], EXAMPLES).is_file()]
    chosen = pick_examples(rows, EXAMPLE_COUNT)
    for row in chosen:
        if image_task:
            builder.copy(row["path"], rule=EXAMPLES)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(chosen)
    builder.write("data/splits/test.csv", text.getvalue(), origin="data/splits/test.csv")


def readme_images(body: str) -> list[str]:
    """The local image paths a README shows: Markdown images and HTML <img> tags, no URLs."""
    links = {next(filter(None, match.groups())) for match in IMAGE_LINK.finditer(body)}
    local = {link.split("#")[0].split("?")[0] for link in links if ":" not in link}
    return sorted(link for link in local if link and not link.startswith("#"))


def _card(builder: _Builder, meta: dict[str, Any]) -> None:
    """README.md: the front matter, then the project's README (the writeup) and its figures."""
    readme = contained(builder.project, "README.md", Source("the README", ("README.md",)))
    body = (
        read_text(readme, "README.md", "pocgen deploy").replace("\r\n", "\n")
        if readme.is_file()
        else f"# {meta['title']}\n"
    )
    for figure in readme_images(body):
        if contained(builder.project, figure, FIGURES).is_file():
            builder.copy(figure, rule=FIGURES)
    builder.write("README.md", frontmatter.render(meta, body), origin="README.md")


def _python_app(builder: _Builder, answers: dict[str, Any], ui: str) -> None:
    """The Gradio or Streamlit app with the package's inference.py, the model and examples."""
    project, package = builder.project, answers["package_name"]
    restore = "restore it from git, or regenerate it with `pocgen update`."
    image_task = answers["task"] != "text-classification"
    inference = f"src/{package}/inference.py"
    for relative in (f"app/{ui}_app.py", "app/demo_support.py", inference):
        _require(project, relative, restore)
    # Image demos made since images.py exists normalise uploads the way collect normalised the
    # training photos; projects made before it have neither the module nor the import.
    normalise = f"src/{package}/images.py"
    modules = [inference] + ([normalise] if (project / normalise).is_file() else [])
    builder.copy(f"app/{ui}_app.py", APP_FILE)
    builder.copy("app/demo_support.py", "demo_support.py")
    for module in modules:
        builder.copy(module, module.removeprefix("src/"))
    builder.write(
        f"{package}/__init__.py",
        f'"""Only the inference code of {package} ships to the Space; training stays in the '
        'repo."""\n',
    )
    builder.copy("models/model.onnx", rule=model_source(ui))
    builder.copy("models/labels.json")
    if (project / "reports/metrics.json").is_file():
        builder.copy("reports/metrics.json")
    _copy_examples(builder, image_task)
    builder.write("requirements.txt", requirements(ui, image_task))
    if ui == "streamlit":
        builder.write("Dockerfile", dockerfile(str(answers["python_version"])))


def build_space(project: Path, answers: dict[str, Any], choice: UiChoice) -> SpaceBuild:
    """Rebuild `<project>/dist/space/` from scratch and check it: paths, links, sizes, front
    matter and secrets. On any refusal the half-built folder is deleted."""
    fix = "run `make pipeline` (or the project's `export` stage) first."
    for relative in ("models/model.onnx", "models/labels.json"):
        _require(project, relative, fix)
    contained(project, "models/model.onnx", model_source(choice.ui))  # before anything runs

    folder = fresh_space_folder(project)
    try:
        if choice.ui == "web":
            builder = _Builder(project, folder, build_web(project, answers, folder))
            builder.clean_built_images("examples/")
            app_file = WEB_APP_FILE
        else:
            builder = _Builder(project, folder)
            _python_app(builder, answers, choice.ui)
            app_file = APP_FILE
        meta = frontmatter.build(answers, choice.sdk, TESTED_VERSIONS["gradio"], app_file)
        _card(builder, meta)
        refuse_symlinks(folder)
        scan = refuse_secrets(folder, builder.origins, project)
    except BaseException:
        shutil.rmtree(folder)  # no half-built folder, and no copy of a secret left in dist/
        raise
    return SpaceBuild(
        folder=folder,
        ui=choice.ui,
        sdk=choice.sdk,
        front_matter=meta,
        origins=builder.origins,
        cleaned=builder.cleaned,
        allowed=[(finding, entry.number) for finding, entry in scan.allowed],
    )
