"""A scratch machine around one render: sentinel files where a hostile template would aim, and a
hash of everything outside the destination, taken before and after.

`Scratch.watch()` hashes every file, folder and symlink under the scratch root except the
destination itself (and git's own index, which `git status` refreshes), so a test sees any write,
delete or new file anywhere around the render, not only in one known place. HOME and TMPDIR point
into the root, so `~` and temporary folders are watched too: a render that leaves a temporary
folder behind changes the hash. Only the user's cache (XDG_CACHE_HOME, where Copier keeps its
clones of git templates) lies outside, beside the root.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import Result

SENTINELS = {
    "home/.bashrc": "# the user's shell settings\n",
    "home/.ssh/id_ed25519": "-----not a real key, a sentinel-----\n",
    "home/.config/git/config": "[user]\n\tname = Sentinel\n",
    "secret.txt": "the neighbour's secret\n",
    "victim/keep.txt": "precious\n",
    "work/notes.txt": "the user's notes next to the project\n",
}


@dataclass
class Scratch:
    root: Path

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def work(self) -> Path:
        """The folder the user runs pocgen in; the destination is created in it."""
        return self.root / "work"

    @property
    def dest(self) -> Path:
        return self.work / "out" / "p"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def cache(self) -> Path:
        return self.root.parent / "user-cache"

    @property
    def env(self) -> dict[str, str]:
        """HOME and TMPDIR inside the root, the cache beside it, for a pocgen subprocess."""
        return {"HOME": str(self.home), "TMPDIR": str(self.tmp), "XDG_CACHE_HOME": str(self.cache)}

    def watch(self) -> dict[str, str]:
        """Every path under the root but the destination: content hash, 'folder' or the
        symlink's target."""
        seen = {}
        for current, folders, files in os.walk(self.root):
            here = Path(current)
            for name in sorted(folders + files):
                path = here / name
                relative = path.relative_to(self.root).as_posix()
                if path == self.dest or path.is_relative_to(self.dest):
                    continue
                if ".git/" in relative + "/" and name in {"index", "FETCH_HEAD", "ORIG_HEAD"}:
                    continue
                if path.is_symlink():
                    seen[relative] = "-> " + os.readlink(path)
                elif path.is_dir():
                    seen[relative + "/"] = "folder"
                else:
                    seen[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
            folders[:] = [f for f in folders if not (here / f).is_symlink()]
        return seen

    @contextmanager
    def unchanged(self) -> Iterator[None]:
        """Assert that nothing outside the destination changed in the block, and that no
        temporary file is left."""
        before = self.watch()
        yield
        after = self.watch()
        changed = sorted(
            name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
        )
        assert not changed, f"changed outside the destination: {changed}"
        assert not any(self.tmp.iterdir()), list(self.tmp.iterdir())


def make_scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Scratch:
    """A scratch root with its sentinels; in-process code uses its HOME, TMPDIR and folder too
    (a test file makes it its `scratch` fixture)."""
    made = Scratch(tmp_path / "root")
    for name, text in SENTINELS.items():
        (made.root / name).parent.mkdir(parents=True, exist_ok=True)
        (made.root / name).write_text(text)
    made.tmp.mkdir()
    (made.work / "out").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(made.home))
    monkeypatch.setenv("TMPDIR", str(made.tmp))
    monkeypatch.setenv("XDG_CACHE_HOME", str(made.cache))
    monkeypatch.setattr(tempfile, "tempdir", str(made.tmp))
    monkeypatch.chdir(made.work)
    return made


def assert_one_line_refusal(result: Result, *phrases: str, progress: bool = False) -> None:
    """A non-zero exit and one error line; `progress` allows the lines Copier prints while it
    pretends, before that error."""
    assert result.exit_code != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 or (progress and lines[-1].startswith("error:")), result.stderr
    assert sum(line.startswith("error:") for line in lines) == 1, result.stderr
    for phrase in phrases:
        assert phrase in lines[-1], result.stderr


def write_template(root: Path, config: dict | str, files: dict[str, str | Path]) -> Path:
    """A template in `root`: a Cookiecutter one when `config` is a mapping (cookiecutter.json),
    a Copier one when it is text (copier.yml). `files` maps a path inside the template to its
    text, or to a Path for a symlink pointing there."""
    root.mkdir(parents=True)
    if isinstance(config, str):
        (root / "copier.yml").write_text(config)
    else:
        (root / "cookiecutter.json").write_text(json.dumps(config))
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            path.symlink_to(content)
        else:
            path.write_text(content)
    return root
