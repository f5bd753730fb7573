"""The clean copy of a project that goes to the GPU: what git tracks (or would), plus `data/`.

Upload clients mirror a folder as it is (`upload_folder` ignores .gitignore), so the copy is built
first: the files git lists for the project (tracked, and untracked ones .gitignore does not
exclude; in a folder that is not a git repository, the ones its .gitignore files do not exclude),
plus everything under `data/`, which .gitignore keeps out of git on purpose. Never `.git`, a
virtualenv, `.env`, `models/` (the job makes its own) or `.pocgen/` (this machine's state).
Symlinks are followed only where they stay inside the project.

Files are hard-linked into `.pocgen/staging/` where the file system allows (no second copy of a
large photo folder), and the folder is removed when the upload is done. The job's program and
its settings are added as `.pocgen/gpu_job.py` and `.pocgen/gpu_job.json`.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pocgen.errors import PocgenError
from pocgen.templating.git_config import git_listed

STAGING_DIR = Path(".pocgen/staging")
JOB_DIR = ".pocgen"
RUNNER_FILE = f"{JOB_DIR}/gpu_job.py"
SETTINGS_FILE = f"{JOB_DIR}/gpu_job.json"
DATA_DIR = "data"
# Never uploaded: git's own folder, virtualenvs, secrets, the models the job will make anew, and
# pocgen's local state. Folder names count at any depth; `models` only at the top.
NEVER_FOLDERS = {".git", ".venv", "venv", "__pycache__", ".ipynb_checkpoints"}
NEVER_TOP = {"models", ".pocgen", "dist"}
NEVER_FILES = {".env"}
RUNNER_SOURCE = Path(__file__).with_name("remote_job.py")


@dataclass
class StagedProject:
    """The clean copy: its folder, the files in it (relative, POSIX) and their total size."""

    project: Path
    folder: Path
    files: list[str]
    size: int
    package: str
    slug: str
    run_id: str

    def describe(self) -> str:
        return f"{len(self.files):,} files, {self.size / 1e6:,.1f} MB"


def data_files(project: Path) -> list[str]:
    """Everything under data/, whatever .gitignore says: the point of the upload."""
    root = project / DATA_DIR
    if not root.is_dir():
        return []
    found = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [name for name in subfolders if name not in NEVER_FOLDERS]
        for name in names:
            found.append((Path(folder) / name).relative_to(project).as_posix())
        for name in subfolders:
            if (Path(folder) / name).is_symlink():
                found.append((Path(folder) / name).relative_to(project).as_posix())
    return found


def wanted(name: str) -> bool:
    parts = name.split("/")
    return not (
        parts[0] in NEVER_TOP
        or any(part in NEVER_FOLDERS for part in parts[:-1])
        or parts[-1] in NEVER_FILES
    )


def inside(project: Path, name: str) -> Path:
    """The file to copy for `name`, refused when it is a link leading out of the project or to a
    folder (pocgen uploads plain files only)."""
    path = project / name
    resolved = path.resolve()
    if not resolved.is_relative_to(project.resolve()):
        raise PocgenError(
            f"refusing to upload {name}: it is a symlink to {os.readlink(path)}, outside the "
            "project; copy those files into the project instead."
        )
    if resolved.is_dir():
        raise PocgenError(
            f"refusing to upload {name}: it is a symlink to a folder; pocgen uploads plain files "
            "only, so copy the folder's files into the project instead."
        )
    return resolved


def _place(source: Path, target: Path) -> None:
    """A hard link where the file system allows it, else a copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


@contextmanager
def staged(
    project: Path, package: str, slug: str, run_id: str, settings: dict[str, Any]
) -> Iterator[StagedProject]:
    """Build the clean copy in `.pocgen/staging/`, yield it, and remove it afterwards.

    `settings` is written to `.pocgen/gpu_job.json` for the job's program; it must hold no
    secret (the token reaches a job as the engine's secret, never through a file).
    """
    project = project.resolve()
    names = sorted({name for name in git_listed(project) + data_files(project) if wanted(name)})
    sources = {name: inside(project, name) for name in names if (project / name).exists()}
    folder = project / STAGING_DIR
    if folder.exists():
        shutil.rmtree(folder)
    try:
        for name, source in sources.items():
            _place(source, folder / name)
        (folder / JOB_DIR).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(RUNNER_SOURCE, folder / RUNNER_FILE)
        (folder / SETTINGS_FILE).write_text(json.dumps(settings, indent=2) + "\n", "utf-8")
        files = [*sources, RUNNER_FILE, SETTINGS_FILE]
        size = sum((folder / name).stat().st_size for name in files)
        yield StagedProject(project, folder, files, size, package, slug, run_id)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
