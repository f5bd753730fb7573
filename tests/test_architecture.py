"""The layout docs/architecture.md describes is the one the code has, and it cannot rot.

The import rules live in pyproject.toml (`[tool.importlinter]`): the CLI above one package per
command, above the project reader; deploy never calls writeup or check; no library module
imports the terminal framework. A generated project never imports pocgen.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from known_artifacts import REPO_ROOT

COMMAND_PACKAGES = ("templating", "writeup", "check", "deploy", "gpu")


def test_import_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_one_folder_per_command_each_saying_its_job():
    package = REPO_ROOT / "src" / "pocgen"
    top_modules = sorted(path.name for path in package.glob("*.py"))
    # Only the CLI, the project reader with its records, the template's contract and the evidence
    # chain (read by check and writeup alike), the all-or-nothing writer and the errors stay at
    # the top; the rest lives in packages.
    assert top_modules == [
        "__init__.py",
        "__main__.py",
        "cli.py",
        "contract.py",
        "errors.py",
        "evidence.py",
        "files.py",
        "project.py",
        "records.py",
        "topics.py",
    ]
    for name in COMMAND_PACKAGES:
        init = (package / name / "__init__.py").read_text(encoding="utf-8")
        assert init.startswith('"""'), f"{name}/__init__.py must say its job in a docstring"


def test_generated_projects_never_import_pocgen():
    template = REPO_ROOT / "templates" / "poc" / "template"
    offenders = [
        str(path.relative_to(template))
        for path in template.rglob("*")
        if path.is_file()
        and path.suffix in {".py", ".jinja", ".ipynb"}
        and re.search(r"^\s*(from|import)\s+pocgen\b", path.read_text(encoding="utf-8"), re.M)
    ]
    assert offenders == []
