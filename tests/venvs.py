"""Fresh virtualenvs for generated projects, made with uv from the package sources pip uses.

A project that "stands on its own" must install from its own pyproject.toml into an empty
environment. pip takes minutes per environment here (torch alone is several GB to unpack); uv
takes seconds once its cache is warm. uv does not read pip's configuration, so the indexes,
find-links and constraints pip is configured with on this machine are passed on explicitly:
wherever pip is plain, uv is plain too.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

PIP_KEYS = {
    "index-url": "--index-url",
    "extra-index-url": "--extra-index-url",
    "find-links": "--find-links",
    "constraint": "--constraint",
}


def pip_sources() -> list[str]:
    """pip's configured indexes, find-links and constraints, as uv arguments."""
    listing = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True
    ).stdout
    arguments: list[str] = []
    for line in listing.splitlines():
        match = re.fullmatch(r"[^.]*\.([a-z-]+)='(.*)'", line.strip())
        if match and match.group(1) in PIP_KEYS:
            for value in match.group(2).split():
                pair = [PIP_KEYS[match.group(1)], value]
                if not any(arguments[i : i + 2] == pair for i in range(0, len(arguments), 2)):
                    arguments += pair
    if "--extra-index-url" in arguments or "--find-links" in arguments:
        arguments += ["--index-strategy", "unsafe-best-match"]  # as pip: best version anywhere
    return arguments


def uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not Path(found).exists():
        raise RuntimeError("uv is missing: install the test extra (pip install -e '.[test]').")
    return found


def fresh_venv(folder: Path, project: Path, extras: str = "dev") -> Path:
    """Create an empty venv at `folder`, install `project[extras]` (`project` alone for no
    extras) into it; return its python."""
    subprocess.run([uv(), "venv", "--quiet", "--python", sys.executable, str(folder)], check=True)
    python = folder / "bin" / "python"
    install = subprocess.run(
        [
            uv(),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python),
            *pip_sources(),
            "-e",
            f"{project}[{extras}]" if extras else str(project),
        ],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    return python
