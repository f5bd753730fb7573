"""What the Space build may read and write: folders, symlinks and size caps.

Paths reach the build from text the user (or a template, or a dataset) wrote: image links in the
README, file names in `data/splits/test.csv`. Each one is resolved, symlinks included, and must
land inside the folder it is meant to come from, so a link like
`reports/figures/../../configs/aws.yaml` or a symlink to `~/.ssh` never ends up in a public Space.
The build folder itself is deleted and rebuilt, so it must be a real folder of the project.

Size caps keep an upload to what a demo needs and a visitor's browser can load:
- the model: 100 MiB for the web demo (every cold visit downloads it), 500 MiB for a Python app;
- each example file: 5 MiB;
- the onnxruntime-web WebAssembly file: 32 MiB (it is about 14 MiB);
- any other file: 5 MiB.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from pocgen.errors import PocgenError

SPACE_DIR = Path("dist/space")
MIB = 1024 * 1024
MODEL_MAX_BYTES = {"web": 100 * MIB, "gradio": 500 * MIB, "streamlit": 500 * MIB}
EXAMPLE_MAX_BYTES = 5 * MIB
RUNTIME_MAX_BYTES = 32 * MIB
FILE_MAX_BYTES = 5 * MIB


@dataclass(frozen=True)
class Source:
    """Where one kind of file may come from, and how large it may be."""

    kind: str  # plural, for messages: "figures", "examples"
    roots: tuple[str, ...]  # project folders, relative and not resolved
    limit: int = FILE_MAX_BYTES


FIGURES = Source("figures", ("reports/figures", "docs"))
EXAMPLES = Source("examples", ("data",), EXAMPLE_MAX_BYTES)


def model_source(ui: str) -> Source:
    """The model comes from models/, under the cap of the demo it serves."""
    return Source("models", ("models",), MODEL_MAX_BYTES[ui])


def contained(project: Path, relative: str, source: Source) -> Path:
    """`project/relative` with symlinks resolved, refused unless it lies under `source.roots`
    and within `source.limit`.

    The roots themselves are not resolved: if `data/` is a symlink to another disk, what it
    holds is outside the project and is refused like any other link out.
    """
    base = project.resolve()
    resolved = (base / relative).resolve()
    if not any(resolved.is_relative_to(base / root) for root in source.roots):
        where = " or ".join(f"{root}/" for root in source.roots)
        raise PocgenError(
            f"refusing to copy {relative} into the Space: it leads outside {where}, where "
            f"{source.kind} must come from (no `..`, no absolute paths, no symlinks out)."
        )
    if resolved.is_file():
        check_size(resolved, source.limit, source.kind, relative)
    return resolved


def check_size(path: Path, limit: int, kind: str, shown: str) -> None:
    """Refuse a file over its documented cap, naming both sizes."""
    size = path.stat().st_size
    if size > limit:
        raise PocgenError(
            f"{shown} is {size / MIB:.1f} MiB, over the {limit / MIB:.0f} MiB cap for {kind} "
            "(see `pocgen deploy --help`); make it smaller or leave it out of the Space."
        )


def fresh_space_folder(project: Path) -> Path:
    """Delete and recreate `<project>/dist/space`, refusing when it or `dist` is a symlink.

    A leftover file from an older build would be uploaded too, hence the delete; a symlink would
    turn that delete, and the writes after it, onto whatever the link points at.
    """
    folder = project / SPACE_DIR
    for path in (folder.parent, folder):
        if path.is_symlink():
            raise PocgenError(
                f"{path} is a symlink (to {os.readlink(path)}): pocgen deletes and rebuilds "
                f"{SPACE_DIR} and will not do that through a link; remove the link."
            )
        if path.exists() and not path.is_dir():
            raise PocgenError(f"{path} is a file, not a folder: move it away and deploy again.")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def refuse_symlinks(folder: Path) -> None:
    """The built `dist/space` holds plain files only: a link could point anywhere."""
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            raise PocgenError(
                f"refusing to upload {SPACE_DIR / path.relative_to(folder)}: it is a symlink "
                f"(to {os.readlink(path)}); the Space takes plain files only."
            )
