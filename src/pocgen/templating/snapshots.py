"""Versions of pocgen's built-in templates, so projects made from them can be updated anywhere.

An update re-renders the template version a project was made with and merges the difference to
the new version into the project, so it needs the old version's files. Built-in templates ship
inside pocgen, not in a git repository of their own. So a project records a built-in template as
`_src_path: pocgen:<name>` and `_commit: <version>`, where the version is derived from the
template's content (`<pocgen version>+<git tree id>`): every machine computes the same version for
the same files, and no answers file names one user's cache folder.

An old version's files come from, in this order:
1. the template this pocgen ships, when its version is the one asked for;
2. the user's cache, a git repository per built-in template with one tag per version seen;
3. pocgen's own git history, when pocgen runs from a source checkout: a tree id is looked up
   directly, and a version named by the cache numbering of earlier pocgen releases
   (`0.1.0.post37`) through the commit whose answers file first recorded it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from pocgen import __version__
from pocgen.errors import PocgenError
from pocgen.templating import git_config
from pocgen.templating.sources import git as _git

SOURCE_PREFIX = "pocgen:"
IGNORED_PARTS = {"__pycache__", ".git", ".pytest_cache", ".ruff_cache"}
# `_src_path` as earlier pocgen releases wrote it: a snapshot repository in one user's cache.
LEGACY_CACHE_PATH = re.compile(r"(^|/)pocgen/templates/(?P<name>[\w.-]+)/?$")


def cache_root() -> Path:
    """`$POCGEN_CACHE_DIR`, else the platform's user cache folder."""
    if os.environ.get("POCGEN_CACHE_DIR"):
        return Path(os.environ["POCGEN_CACHE_DIR"])
    import platformdirs

    return platformdirs.user_cache_path("pocgen")


def source_of(name: str) -> str:
    """What a project records as `_src_path` for the built-in template `name`."""
    return SOURCE_PREFIX + name


def builtin_name(src_path: str) -> str | None:
    """The built-in template a recorded `_src_path` names: `pocgen:poc`, or a cache path that an
    earlier pocgen wrote (on this machine or another)."""
    if src_path.startswith(SOURCE_PREFIX):
        return src_path[len(SOURCE_PREFIX) :]
    match = LEGACY_CACHE_PATH.search(src_path.replace("\\", "/"))
    return match.group("name") if match else None


def _template_files(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and not IGNORED_PARTS.intersection(path.relative_to(folder).parts)
    )


def _cache_repo(name: str) -> Path:
    repo = cache_root() / "templates" / name
    if not (repo / ".git").is_dir():
        repo.mkdir(parents=True, exist_ok=True)
        _git(repo, "init", "--quiet")
    return repo


def _stage_folder(repo: Path, folder: Path) -> str:
    """Make `folder`'s files the cache repository's staged content; return their tree id.

    `--force`: a template's own .gitignore (say `data/`) must not keep its files out.
    """
    for child in repo.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    for path in _template_files(folder):
        target = repo / path.relative_to(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    _git(repo, "add", "--all", "--force")
    return _git(repo, "write-tree").decode().strip()


def _has_tag(repo: Path, version: str) -> bool:
    try:
        _git(repo, "rev-parse", "--verify", "--quiet", f"refs/tags/{version}")
    except subprocess.CalledProcessError:
        return False
    return True


def _commit_and_tag(repo: Path, version: str, message: str) -> None:
    _git(repo, "commit", "--quiet", "--allow-empty", "-m", message)
    _git(repo, "tag", version)


def _content_digest(folder: Path) -> str:
    """A hash of every file's path and bytes: equal digests mean identical templates."""
    digest = hashlib.sha256()
    for path in _template_files(folder):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def shipped_version(folder: Path, name: str) -> str:
    """The version of the template this pocgen ships, kept in the cache for later updates.

    An index from content digest to version skips the git work when the cache already holds
    this content: every `pocgen new` asks, and most find it there.
    """
    repo = _cache_repo(name)
    index_file = repo.parent / f"{name}.versions.json"
    index: dict[str, str] = json.loads(index_file.read_text()) if index_file.is_file() else {}
    digest = _content_digest(folder)
    if digest in index and _has_tag(repo, index[digest]):
        return index[digest]
    version = f"{__version__}+{_stage_folder(repo, folder)[:12]}"
    if not _has_tag(repo, version):
        _commit_and_tag(repo, version, f"{name} template shipped with pocgen {__version__}")
    index[digest] = version
    index_file.write_text(json.dumps(index, indent=2))
    return version


def _pocgen_history(folder: Path) -> tuple[Path, str] | None:
    """pocgen's own git work tree and the template folder's path in it, in a source checkout."""
    try:
        top = Path(_git(folder, "rev-parse", "--show-toplevel").decode().strip())
    except (subprocess.CalledProcessError, OSError):
        return None
    return top, folder.resolve().relative_to(top.resolve()).as_posix()


def _tree_in_history(top: Path, inside: str, version: str) -> str | None:
    """The git tree of the template at `version` in pocgen's history, or None."""
    _, _, tree = version.partition("+")
    if tree:
        found = subprocess.run(
            ["git", "-C", str(top), "rev-parse", "--verify", "--quiet", f"{tree}^{{tree}}"],
            capture_output=True,
            text=True,
            env=git_config.env(top),
        )
        return found.stdout.strip() if found.returncode == 0 else None
    pattern = "^_commit: " + re.escape(version) + "$"
    first = _git(
        top, "log", "--all", "--reverse", "--format=%H", "-G", pattern, "--", "*.copier-answers.yml"
    ).split()
    if not first:
        return None
    return _git(top, "rev-parse", f"{first[0].decode()}:{inside}").decode().strip()


def _tag_tree(repo: Path, top: Path, tree: str, version: str) -> None:
    """Copy a tree of pocgen's history into the cache repository, tagged `version`."""
    archive = _git(top, "archive", "--format=tar", tree)
    with tempfile.TemporaryDirectory(dir=repo.parent) as extracted:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(extracted, filter="data")
        _stage_folder(repo, Path(extracted))
    _commit_and_tag(repo, version, f"template version {version} from pocgen's history")


def export(folder: Path, name: str, version: str, into: Path) -> None:
    """Write the files of built-in template `name` at `version` into the folder `into`.

    `folder` is the template this pocgen ships; one clear error names what to do when the
    version is found nowhere.
    """
    repo = _cache_repo(name)
    shipped = shipped_version(folder, name)
    if version != shipped and not _has_tag(repo, version):
        history = _pocgen_history(folder)
        tree = _tree_in_history(*history, version) if history else None
        if tree is None:
            raise PocgenError(
                f"the project was made with version {version} of pocgen's built-in template "
                f"'{name}', which this pocgen ({shipped}) cannot rebuild: it is not in "
                f"{repo} nor in pocgen's git history. Run the update with a pocgen source "
                "checkout or release that has it."
            )
        _tag_tree(repo, history[0], tree, version)
    archive = _git(repo, "archive", "--format=tar", version)
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
