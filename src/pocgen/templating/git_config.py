"""git without the repository's own commands.

A repository's `.git/config` can name programs that git runs by itself: `core.fsmonitor` on every
`git status`, hooks, `filter.<name>.clean`/`smudge` on files the status looks at, a diff or
merge driver, an SSH command, a credential helper. A template folder or a project the user did
not write (an archive with its `.git`, a nested repository) would run them on the user's
machine the first time pocgen, or Copier for pocgen, calls git there.

So every git process pocgen starts, and every one Copier starts inside `guarded()`, gets extra
configuration through git's `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n`
variables, which rank above every file: fsmonitor off, hooks in an empty path, the `ext::`
transport off, no signing, and each command key the repository's own configuration (local and
worktree scope, includes too) sets replaced by a value that runs nothing. The user's own
settings elsewhere (a global LFS filter, an SSH command) keep working.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pocgen.errors import PocgenError

# Set for every git process pocgen starts.
ALWAYS = {
    "core.fsmonitor": "false",
    "core.hooksPath": os.devnull,
    "protocol.ext.allow": "never",
    "commit.gpgSign": "false",
    "tag.gpgSign": "false",
}
# Keys that name a program git may run, and the value that runs nothing instead (an empty
# command makes git fail with "cannot run", never start anything).
COMMAND_KEYS = [
    (re.compile(r"filter\..+\.(clean|smudge|process)"), ""),
    (re.compile(r"filter\..+\.required"), "false"),
    (re.compile(r"diff\.external|diff\..+\.(command|textconv)"), ""),
    (re.compile(r"merge\..+\.driver"), ""),
    (re.compile(r"core\.(sshcommand|gitproxy|askpass|alternaterefscommand)"), ""),
    (re.compile(r"core\.(editor|pager)|sequence\.editor|pager\..+"), "cat"),
    (re.compile(r"credential\.(.+\.)?helper"), ""),
    (re.compile(r"gpg\.(.+\.)?program|gpg\.ssh\.defaultkeycommand"), ""),
    (re.compile(r"remote\..+\.(uploadpack|receivepack|vcs)"), ""),
    (re.compile(r"submodule\..+\.update"), "checkout"),
    (re.compile(r"trailer\..+\.(command|cmd)"), ""),
    (re.compile(r"(difftool|mergetool)\..+\.cmd"), ""),
    (re.compile(r"uploadpack\.packobjectshook"), ""),
]
REPOSITORY_SCOPES = {"local", "worktree"}


def _as_env(settings: dict[str, str], base: dict[str, str]) -> dict[str, str]:
    """`settings` as GIT_CONFIG_* variables, after any the environment already holds."""
    first = int(base.get("GIT_CONFIG_COUNT") or 0)
    env = {"GIT_CONFIG_COUNT": str(first + len(settings))}
    for index, (key, value) in enumerate(settings.items(), start=first):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return env


@functools.lru_cache(maxsize=64)
def _neutralised(folder: str) -> tuple[tuple[str, str], ...]:
    """The command keys the repository around `folder` sets itself, each with a value that runs
    nothing. Listing configuration reads files and runs no program. Without git installed there
    is nothing to switch off: no git runs."""
    try:
        listed = subprocess.run(
            ["git", "-C", folder, "config", "--list", "--show-scope", "--includes", "-z"],
            capture_output=True,
            env={**os.environ, **_as_env(ALWAYS, dict(os.environ))},
        )
    except FileNotFoundError:
        return ()
    if listed.returncode != 0:
        return ()
    found = {}
    fields = listed.stdout.decode(errors="replace").split("\0")
    for scope, entry in zip(fields[::2], fields[1::2], strict=False):
        key = entry.partition("\n")[0]
        if scope not in REPOSITORY_SCOPES:
            continue
        for pattern, harmless in COMMAND_KEYS:
            if pattern.fullmatch(key.lower()):
                found[key] = harmless
    return tuple(found.items())


def settings(*folders: Path | str) -> dict[str, str]:
    """What git must be told for work in `folders` (repositories pocgen did not write)."""
    merged = dict(ALWAYS)
    for folder in folders:
        if Path(folder).is_dir():
            merged.update(_neutralised(str(Path(folder).absolute())))
    return merged


def env(*folders: Path | str) -> dict[str, str]:
    """The environment for one git process working in `folders`."""
    return {**os.environ, **_as_env(settings(*folders), dict(os.environ))}


@contextmanager
def guarded(*folders: Path | str) -> Iterator[None]:
    """For a block in which a library runs git itself (Copier through plumbum, dunamai through
    subprocess): both see the settings for `folders`."""
    from plumbum import local

    added = _as_env(settings(*folders), dict(os.environ))
    saved = {key: os.environ.get(key) for key in added}
    os.environ.update(added)
    try:
        with local.env(**added):
            yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _git(project: Path, *args: str, git_dir: Path | None = None) -> subprocess.CompletedProcess:
    where = ["--git-dir", str(git_dir), "--work-tree", str(project)] if git_dir else []
    try:
        return subprocess.run(
            ["git", *where, "-C", str(project), *args],
            capture_output=True,
            text=True,
            env=env(project),
        )
    except OSError:
        raise PocgenError(
            "git is not installed: pocgen uses it to read which files .gitignore keeps out; "
            "install git and retry."
        ) from None


def git_listed(project: Path) -> list[str]:
    """What git tracks or would track in `project`: tracked files plus untracked ones not ignored,
    as POSIX paths relative to `project`.

    Outside a repository, a throwaway one in a temporary folder reads the project's .gitignore
    files, so the rules are git's own in both cases (a build's `*.egg-info/`, caches, `data/`).
    """
    listing = ["ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    if _git(project, "rev-parse", "--is-inside-work-tree").returncode == 0:
        found = _git(project, *listing)
    else:
        with tempfile.TemporaryDirectory() as scratch:
            _git(Path(scratch), "init", "--quiet")
            found = _git(project, *listing, git_dir=Path(scratch) / ".git")
    if found.returncode != 0:
        raise PocgenError(f"git could not list the files of {project}: {found.stderr.strip()}")
    return [name for name in found.stdout.split("\0") if name]
