"""Where a template comes from, and which engine renders it.

`pocgen new --template SRC` accepts a built-in name, a name registered by an installed package,
a local folder or a git URL. This module turns any of those into a local folder plus the facts
the engines need (engine, whether the template is pocgen's own and so trusted, the git commit),
so the rest of pocgen never has to care where a template came from.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from pocgen.contract import template_engine
from pocgen.errors import PocgenError
from pocgen.templating import git_config

Engine = Literal["copier", "cookiecutter"]

DEFAULT_TEMPLATE = "poc"
GIT_PREFIXES = ("gh:", "gl:", "git@", "git+", "git://", "https://", "http://", "ssh://", "file://")
ABBREVIATIONS = {"gh:": "https://github.com/", "gl:": "https://gitlab.com/"}


@dataclass(frozen=True)
class ResolvedTemplate:
    """A template ready to render: a local folder and what we know about it."""

    source: str  # what the user asked for, recorded in the project (URL, path or name)
    folder: Path  # a local folder holding copier.yml or cookiecutter.json
    engine: Engine
    builtin: bool  # pocgen's own templates run no untrusted code, so they need no --trust
    commit: str | None  # the git commit rendered, when the template is under git
    ref: str | None  # the git ref asked for


def detect_engine(folder: Path) -> Engine:
    """Copier if the folder has copier.yml/copier.yaml, Cookiecutter if it has cookiecutter.json."""
    engine = template_engine(folder)
    if engine is not None:
        return cast(Engine, engine)
    raise PocgenError(
        f"{folder} is not a template: it has neither copier.yml nor cookiecutter.json. "
        "Point --template at a Copier or Cookiecutter template folder."
    )


def is_git_url(source: str) -> bool:
    return source.startswith(GIT_PREFIXES) or source.endswith(".git")


def expand_git_url(source: str) -> str:
    """`gh:owner/repo` -> `https://github.com/owner/repo.git`, as Copier and Cookiecutter do."""
    for prefix, base in ABBREVIATIONS.items():
        if source.startswith(prefix):
            rest = source[len(prefix) :]
            return base + (rest if rest.endswith(".git") else rest + ".git")
    return source.removeprefix("git+")


GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "pocgen",
    "GIT_AUTHOR_EMAIL": "pocgen@localhost",
    "GIT_COMMITTER_NAME": "pocgen",
    "GIT_COMMITTER_EMAIL": "pocgen@localhost",
}


def git(repo: Path, *args: str, data: bytes | None = None) -> bytes:
    """Run git in `repo` as pocgen (its own commits need an author on any machine), with the
    repository's own commands disabled (`git_config`)."""
    try:
        result = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            input=data,
            env={**git_config.env(repo), **GIT_IDENTITY},
        )
    except FileNotFoundError:
        raise PocgenError(
            "git is not installed (or not on PATH): pocgen versions templates and updates "
            "projects with it. Install git (https://git-scm.com/downloads) and rerun."
        ) from None
    if result.returncode != 0:
        raise subprocess.CalledProcessError(result.returncode, args, result.stdout, result.stderr)
    return result.stdout


def check_ref(ref: str | None) -> None:
    """Refuse a --vcs-ref that git would read as an option (`--orphan=x`, `-b`)."""
    if ref is not None and (not ref.strip() or ref.startswith("-")):
        raise PocgenError(
            f"--vcs-ref '{ref}' is not a git tag, branch or commit; pass one such as v1.2 or main."
        )


def git_commit(folder: Path) -> str | None:
    """The commit checked out in `folder`, or None when it is not a git work tree."""
    result = subprocess.run(
        ["git", "-C", str(folder), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        env=git_config.env(folder),
    )
    return result.stdout.strip() if result.returncode == 0 else None


def clone(url: str, ref: str | None, into: Path) -> str:
    """Clone `url` at `ref` into `into` and return the commit; one clear error if it fails."""
    check_ref(ref)
    git_url = expand_git_url(url)
    steps = [["git", "clone", "--quiet", "--no-checkout", "--", git_url, str(into)]]
    steps.append(["git", "-C", str(into), "checkout", "--quiet", ref or "HEAD"])
    local = Path(git_url.removeprefix("file://"))
    for command in steps:
        try:
            subprocess.run(
                command,
                capture_output=True,
                text=True,
                check=True,
                timeout=300,
                env=git_config.env(*[folder for folder in (local, into) if folder.is_dir()]),
            )
        except subprocess.CalledProcessError as error:
            reason = (error.stderr.strip().splitlines() or ["git failed"])[-1]
            what = f"ref '{ref}' of '{url}'" if command[3] == "checkout" else f"'{url}'"
            raise PocgenError(
                f"could not fetch template {what}: {reason}. "
                "Check the URL, the ref and your network, or use a local folder."
            ) from None
        except subprocess.TimeoutExpired:
            raise PocgenError(
                f"fetching template '{url}' timed out; check your network or use a local folder."
            ) from None
    commit = git_commit(into)
    assert commit is not None  # a successful checkout always has a HEAD
    return commit


@contextmanager
def resolve(source: str | None, ref: str | None = None) -> Iterator[ResolvedTemplate]:
    """Resolve a template source to a local folder for the duration of the `with` block.

    Git URLs are cloned into a temporary folder that is removed afterwards; names are looked up
    among the built-ins and the `pocgen.templates` entry points.
    """
    from pocgen.templating import registry

    source = source or DEFAULT_TEMPLATE
    check_ref(ref)
    if is_git_url(source):
        workdir = Path(tempfile.mkdtemp(prefix="pocgen-template-"))
        try:
            commit = clone(source, ref, workdir / "template")
            folder = workdir / "template"
            yield ResolvedTemplate(source, folder, detect_engine(folder), False, commit, ref)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return
    local = Path(source).expanduser()
    if local.is_dir():
        if ref is not None:
            raise PocgenError(
                "--vcs-ref applies to git URLs; for a local folder check out the ref in it first."
            )
        folder = local.resolve()
        yield ResolvedTemplate(
            str(folder), folder, detect_engine(folder), False, git_commit(folder), None
        )
        return
    known = registry.find(source)
    if known is None:
        names = ", ".join(entry.name for entry in registry.list_templates()) or "none"
        raise PocgenError(
            f"unknown template '{source}': not a built-in name, a registered name, a folder or a "
            f"git URL. Known names: {names} (see `pocgen templates`)."
        )
    if known.builtin:
        from pocgen.templating import versions

        if ref is None:
            folder = Path(known.source)
            yield ResolvedTemplate(known.name, folder, detect_engine(folder), True, None, None)
            return
        # A built-in template has no git tags: `ref` names one of its recorded versions.
        with versions.pinned(Path(known.source), known.name, ref) as (folder, version):
            yield ResolvedTemplate(known.name, folder, detect_engine(folder), True, None, version)
        return
    with resolve(known.source, ref or known.ref) as resolved:
        yield resolved
