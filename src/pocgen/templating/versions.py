"""Pinning a built-in template: `pocgen new --vcs-ref VERSION` and a course pack's `ref`.

A built-in template ships inside pocgen and has no git repository of its own, so a git tag means
nothing to it. Its versions are the ones projects record (`_commit: <pocgen version>+<tree id>`,
see `snapshots`), and a pinned version is found where `pocgen update` finds old ones: the template
this pocgen ships, the user's cache, or pocgen's own git history. A version found nowhere is
refused in one line that names the versions there are; it is never replaced by the shipped
template behind the user's back.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pocgen
from pocgen.errors import PocgenError
from pocgen.templating import snapshots
from pocgen.templating.sources import git

# A tree id, or the start of one, as a version may be given without its pocgen release.
_TREE = re.compile(r"^[0-9a-f]{7,40}$")
_DECLARED_VERSION = re.compile(rb'^__version__ = "([^"]+)"', re.MULTILINE)
NAMED_IN_REFUSAL = 8  # versions from pocgen's history named in a refusal; the rest are counted


@dataclass(frozen=True)
class Versions:
    """The versions of one built-in template this machine can render."""

    shipped: str  # the template this pocgen ships
    cached: tuple[str, ...]  # tags in the user's cache, from earlier renders and updates
    history: tuple[str, ...]  # from pocgen's git history, newest first (a source checkout only)

    def everything(self) -> list[str]:
        seen = dict.fromkeys([self.shipped, *self.cached, *self.history])
        return list(seen)

    def match(self, ref: str) -> str | None:
        """The version `ref` names: itself, or its tree id (whole, or its first 7+ digits),
        whatever pocgen release it is written with."""
        known = self.everything()
        if ref in known:
            return ref
        tree = ref.rpartition("+")[2]
        if not _TREE.match(tree):
            return None
        return next((v for v in known if v.rpartition("+")[2].startswith(tree)), None)

    def refusal(self, name: str, ref: str) -> str:
        others = self.everything()[1:]
        cached = [v for v in others if v in self.cached]
        history = [v for v in others if v not in self.cached]
        named = [f"{self.shipped} (shipped with this pocgen)", *cached, *history[:NAMED_IN_REFUSAL]]
        more = len(history) - NAMED_IN_REFUSAL
        rest = f" and {more} older ones in pocgen's git history" if more > 0 else ""
        return (
            f"built-in template '{name}' has no version '{ref}' (it is pinned by pocgen's "
            f"template versions, not git tags); available: {', '.join(named)}{rest}. Pass one "
            "of them, or leave the ref out to render the shipped one."
        )


def _cached(name: str) -> tuple[str, ...]:
    repo = snapshots.cache_root() / "templates" / name
    if not (repo / ".git").is_dir():
        return ()
    listed = git(repo, "tag", "--sort=-creatordate").decode().split()
    return tuple(listed)


def _history(folder: Path) -> tuple[str, ...]:
    """`<pocgen version>+<tree>` for each state of the template folder in pocgen's history."""
    found = snapshots._pocgen_history(folder)
    if found is None:
        return ()
    top, inside = found
    commits = git(top, "log", "--format=%H", "--", inside).decode().split()
    if not commits:
        return ()
    trees = git(top, "rev-parse", *(f"{commit}:{inside}" for commit in commits)).decode().split()
    releases = _declared_versions(top, commits)
    versions = dict.fromkeys(
        f"{release}+{tree[:12]}" for release, tree in zip(releases, trees, strict=True)
    )
    return tuple(versions)


def _declared_versions(top: Path, commits: list[str]) -> list[str]:
    """pocgen's `__version__` at each commit, read in one `git cat-file --batch`."""
    try:
        init = Path(pocgen.__file__).resolve().relative_to(top.resolve()).as_posix()
    except ValueError:  # pocgen runs from elsewhere than this history: name its own release
        return [pocgen.__version__] * len(commits)
    requests = "".join(f"{commit}:{init}\n" for commit in commits).encode()
    output = git(top, "cat-file", "--batch", data=requests)
    found = _DECLARED_VERSION.findall(output)
    if len(found) != len(commits):
        return [pocgen.__version__] * len(commits)
    return [version.decode() for version in found]


def available(folder: Path, name: str) -> Versions:
    """Every version of built-in template `name` (shipped in `folder`) this machine can render."""
    return Versions(snapshots.shipped_version(folder, name), _cached(name), _history(folder))


def require(folder: Path, name: str, ref: str) -> str:
    """The version `ref` names, or a PocgenError naming the ones available."""
    versions = available(folder, name)
    version = versions.match(ref)
    if version is None:
        raise PocgenError(versions.refusal(name, ref))
    return version


@contextmanager
def pinned(folder: Path, name: str, ref: str) -> Iterator[tuple[Path, str]]:
    """The built-in template at version `ref` as a local folder, and that version's name."""
    version = require(folder, name, ref)
    if version == snapshots.shipped_version(folder, name):
        yield folder, version
        return
    with tempfile.TemporaryDirectory(prefix="pocgen-pinned-") as scratch:
        exported = Path(scratch) / name
        try:
            snapshots.export(folder, name, version, exported)
        except (subprocess.CalledProcessError, OSError) as error:
            raise PocgenError(
                f"version {version} of built-in template '{name}' could not be read back "
                f"({error}); leave the ref out to render the shipped one."
            ) from None
        yield exported, version
