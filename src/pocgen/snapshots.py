"""Versioned snapshots of pocgen's built-in templates, so projects made from them can be updated.

Copier updates a project by re-rendering the template version it was made with and merging the
difference to the new version into the project. That needs the old version in a git repository.
Built-in templates ship inside the pocgen wheel, not in git, so pocgen keeps a small git
repository per built-in template in the user's cache and commits a snapshot, tagged with
pocgen's version, whenever the shipped template changes. Projects record that repository and tag
in `.copier-answers.yml`, exactly as if they had been rendered from a git template.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from pocgen import __version__

IGNORED_PARTS = {"__pycache__", ".git", ".pytest_cache", ".ruff_cache"}


def cache_root() -> Path:
    """`$POCGEN_CACHE_DIR`, else the platform's user cache folder."""
    if os.environ.get("POCGEN_CACHE_DIR"):
        return Path(os.environ["POCGEN_CACHE_DIR"])
    import platformdirs

    return platformdirs.user_cache_path("pocgen")


def _template_files(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and not IGNORED_PARTS.intersection(path.relative_to(folder).parts)
    )


def content_digest(folder: Path) -> str:
    """A hash of every file's path and bytes: equal digests mean identical templates."""
    digest = hashlib.sha256()
    for path in _template_files(folder):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "pocgen",
            "GIT_AUTHOR_EMAIL": "pocgen@localhost",
            "GIT_COMMITTER_NAME": "pocgen",
            "GIT_COMMITTER_EMAIL": "pocgen@localhost",
        },
    )
    return result.stdout.strip()


def _next_tag(repo: Path) -> str:
    """pocgen's version, or `<version>.postN` when that tag already names older content."""
    existing = set(_git(repo, "tag", "--list").split())
    if __version__ not in existing:
        return __version__
    number = 1
    while f"{__version__}.post{number}" in existing:
        number += 1
    return f"{__version__}.post{number}"


def snapshot(folder: Path, name: str) -> tuple[Path, str]:
    """Make sure the cache repository holds `folder` as a tagged commit; return (repo, tag)."""
    repo = cache_root() / "templates" / name
    index_file = cache_root() / "templates" / f"{name}.json"
    index: dict[str, str] = json.loads(index_file.read_text()) if index_file.exists() else {}
    digest = content_digest(folder)
    if digest in index and (repo / ".git").is_dir():
        return repo, index[digest]
    if not (repo / ".git").is_dir():
        repo.mkdir(parents=True, exist_ok=True)
        _git(repo, "init", "--quiet")
    for child in repo.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    for path in _template_files(folder):
        target = repo / path.relative_to(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    _git(repo, "add", "--all")
    tag = _next_tag(repo)
    _git(repo, "commit", "--quiet", "--allow-empty", "-m", f"{name} template, pocgen {tag}")
    _git(repo, "tag", tag)
    index[digest] = tag
    index_file.write_text(json.dumps(index, indent=2))
    return repo, tag


def portable(repo: Path) -> str:
    """The repository path as `~/...` when it is under the home folder, so answers files that
    are committed (and shared) do not name one user's home. Copier expands `~` itself."""
    try:
        return "~/" + repo.relative_to(Path.home()).as_posix()
    except ValueError:
        return str(repo)


def is_snapshot_repo(path: str | Path) -> str | None:
    """The built-in template name if `path` is one of pocgen's snapshot repositories."""
    path = Path(path).expanduser()
    root = cache_root() / "templates"
    return path.name if path.parent == root and (path / ".git").is_dir() else None
