"""Nothing outside the destination: hostile templates, by every route a render can take (issue 18).

Each case is a template an attacker could publish (or a project they could hand over) that wrote,
deleted, copied in or ran something outside the project on an earlier pocgen. Every one must end
in one line and a non-zero exit, with nothing changed anywhere around the render: the scratch
root's sentinels (a `.bashrc`, an SSH key, a neighbouring folder, the user's notes) are hashed
before and after, together with every other path under the root, HOME and TMPDIR included.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import threading
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FIXTURES, commit_all, git, git_init, run_pocgen
from containment_harness import Scratch, assert_one_line_refusal, make_scratch, write_template

from pocgen.errors import PocgenError
from pocgen.templating import RenderOptions, containment, create_project
from pocgen.templating.engines import cookiecutter_engine

CLIMB = "../" * 40  # enough `..` to reach / from any staging folder
PWNED = "PWNED"  # what a payload creates in the scratch root when code runs


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Scratch:
    return make_scratch(tmp_path, monkeypatch)


def touching_extension(marker: Path) -> dict[str, str]:
    """A Jinja extension module that creates `marker` when it is imported."""
    return {"evil_ext.py": f"open({str(marker)!r}, 'w').close()\n" + EXTENSION_CLASS}


EXTENSION_CLASS = """
from jinja2.ext import Extension


class Evil(Extension):
    pass
"""
PROJECT = "{{cookiecutter.project_slug}}"


def hostile_cookiecutter(name: str, s: Scratch) -> Path:
    """Build the hostile template `name` in the scratch root; each aims at a sentinel."""
    root = s.root / "templates" / name
    bashrc = str(s.home / ".bashrc")
    marker = s.root / PWNED
    cases = {
        "absolute-file-name": (
            {"project_slug": "p", "target": bashrc},
            {f"{PROJECT}/{{{{cookiecutter.target}}}}": "pwned\n"},
        ),
        "dotdot-file-name": (
            {"project_slug": "p", "target": CLIMB + bashrc.lstrip("/")},
            {f"{PROJECT}/{{{{cookiecutter.target}}}}": "pwned\n"},
        ),
        "dotdot-folder-name": (
            {"project_slug": "p", "up": CLIMB + str(s.home / ".config" / "autostart").lstrip("/")},
            {f"{PROJECT}/{{{{cookiecutter.up}}}}/run.desktop": "pwned\n"},
        ),
        "project-folder-name": (
            {"project_slug": CLIMB + str(s.home / "planted").lstrip("/")},
            {f"{PROJECT}/README.md": "planted\n"},
        ),
        "copy-without-render-folder": (
            {
                "project_slug": "p",
                "victim": CLIMB + str(s.root / "victim").lstrip("/"),
                "_copy_without_render": ["*victim*"],
            },
            {f"{PROJECT}/{{{{cookiecutter.victim}}}}/replaced.txt": "the folder was replaced\n"},
        ),
        "copy-without-render-file": (
            {"project_slug": "p", "target": bashrc, "_copy_without_render": ["*target*"]},
            {f"{PROJECT}/{{{{cookiecutter.target}}}}": "pwned\n"},
        ),
        "symlink-to-an-outside-file": (
            {"project_slug": "p"},
            {f"{PROJECT}/notes.txt": s.root / "secret.txt"},
        ),
        "symlinked-folder-out": (
            {"project_slug": "p"},
            {f"{PROJECT}/docs": s.root / "victim"},
        ),
        "nested-templates-extensions": (
            {"templates": {"inner": {"path": "./inner", "title": "I", "description": "i"}}},
            {
                "inner/cookiecutter.json": json.dumps(
                    {"project_slug": "p", "_extensions": ["evil_ext.Evil"]}
                ),
                f"inner/{PROJECT}/README.md": "inner\n",
                **touching_extension(marker),
                **{f"inner/{n}": t for n, t in touching_extension(marker).items()},
            },
        ),
        "nested-old-template-key-extensions": (
            {"template": ["Inner (./inner)"]},
            {
                "inner/cookiecutter.json": json.dumps(
                    {"project_slug": "p", "_extensions": ["evil_ext.Evil"]}
                ),
                f"inner/{PROJECT}/README.md": "inner\n",
                **{f"inner/{n}": t for n, t in touching_extension(marker).items()},
            },
        ),
        "nested-choice-rendered-extensions": (  # the path is known only once rendered
            {"template": ["Inner ({{ 'in' ~ 'ner' }})"]},
            {
                "inner/cookiecutter.json": json.dumps(
                    {"project_slug": "p", "_extensions": ["evil_ext.Evil"]}
                ),
                f"inner/{PROJECT}/README.md": "inner\n",
                **{f"inner/{n}": t for n, t in touching_extension(marker).items()},
            },
        ),
        "nested-hooks": (
            {"templates": {"inner": {"path": "inner", "title": "I", "description": "i"}}},
            {
                "inner/cookiecutter.json": json.dumps({"project_slug": "p"}),
                f"inner/{PROJECT}/README.md": "inner\n",
                "inner/hooks/pre_gen_project.py": f"open({str(marker)!r}, 'w').close()\n",
            },
        ),
        "nested-template-outside": (
            {"templates": {"other": {"path": "../neighbour", "title": "O", "description": "o"}}},
            {},
        ),
        "jinja-env-vars-extensions": (
            {"project_slug": "p", "_jinja2_env_vars": {"extensions": ["evil_ext.Evil"]}},
            {f"{PROJECT}/README.md": "x\n", **touching_extension(marker)},
        ),
        "jinja-env-vars-clash": (
            {"project_slug": "p", "_jinja2_env_vars": {"block_start_string": "{{"}},
            {f"{PROJECT}/README.md": "x\n"},
        ),
        "range-10-to-the-9": (
            {"project_slug": "p"},
            {f"{PROJECT}/README.md": "{% for i in range(10**9) %}{% endfor %}\n"},
        ),
        "string-times-10-to-the-10": (
            {"project_slug": "p"},
            {f"{PROJECT}/README.md": "{{ 'x' * 10**10 }}\n"},
        ),
        "huge-power": (
            {"project_slug": "p"},
            {f"{PROJECT}/README.md": "{{ 7 ** (10**8) }}\n"},
        ),
    }
    config, files = cases[name]
    if name == "nested-template-outside":
        write_template(s.root / "templates" / "neighbour", {"project_slug": "p"}, {})
    return write_template(root, config, files)


# (case, what the one line must say)
HOSTILE = [
    ("absolute-file-name", "tried to write"),
    ("dotdot-file-name", "tried to write"),
    ("dotdot-folder-name", "tried to write"),
    ("project-folder-name", "tried to write"),
    ("copy-without-render-folder", "tried to write"),
    ("copy-without-render-file", "tried to write"),
    ("symlink-to-an-outside-file", "has a symlink"),
    ("symlinked-folder-out", "has a symlink"),
    ("nested-templates-extensions", "pass --trust"),
    ("nested-old-template-key-extensions", "pass --trust"),
    ("nested-choice-rendered-extensions", "pass --trust"),
    ("nested-hooks", "pass --trust"),
    ("nested-template-outside", "lies outside the template"),
    ("jinja-env-vars-extensions", "not one of Jinja's syntax options"),
    ("jinja-env-vars-clash", "that Jinja refuses"),
    ("range-10-to-the-9", "more than the sandbox allows"),
    ("string-times-10-to-the-10", "more than the sandbox allows"),
    ("huge-power", "more than the sandbox allows"),
]


@pytest.mark.parametrize(("case", "message"), HOSTILE, ids=[case for case, _ in HOSTILE])
def test_a_hostile_cookiecutter_template_changes_nothing_around_the_render(
    scratch: Scratch, case: str, message: str
):
    template = hostile_cookiecutter(case, scratch)
    with scratch.unchanged():
        result = run_pocgen(
            "new", scratch.dest, "-t", template, "--defaults", cwd=scratch.work, env=scratch.env
        )
    assert_one_line_refusal(result, message)
    assert not scratch.dest.exists()


PRETENDED = ["absolute-file-name", "dotdot-folder-name", "copy-without-render-folder"]


@pytest.mark.parametrize("case", PRETENDED)
def test_pretend_is_contained_too(scratch: Scratch, case: str):
    template = hostile_cookiecutter(case, scratch)
    with scratch.unchanged():
        result = run_pocgen(
            "new", scratch.dest, "-t", template, "--defaults", "--pretend", env=scratch.env
        )
    assert_one_line_refusal(result, "tried to write")


def test_an_honest_nested_template_still_renders(scratch: Scratch):
    template = write_template(
        scratch.root / "templates" / "honest",
        {"templates": {"inner": {"path": "./inner", "title": "Inner", "description": "i"}}},
        {
            "inner/cookiecutter.json": json.dumps({"project_slug": "p", "colour": "blue"}),
            f"inner/{PROJECT}/README.md": "{{ cookiecutter.colour }} {{ 6 * 7 }}\n",
            f"inner/{PROJECT}/docs/link.md": Path("../README.md"),  # a link inside: fine
        },
    )
    result = run_pocgen(
        "new", scratch.dest, "-t", template, "--defaults", "-d", "colour=green", env=scratch.env
    )
    assert result.exit_code == 0, result.stderr
    assert (scratch.dest / "README.md").read_text() == "green 42\n"
    assert (scratch.dest / "docs" / "link.md").read_text() == "green 42\n"


def test_a_trusted_nested_template_loads_its_extension(scratch: Scratch):
    marker = scratch.root / "loaded"
    template = hostile_cookiecutter("nested-templates-extensions", scratch)
    for path in template.rglob("evil_ext.py"):
        path.write_text(path.read_text().replace(str(scratch.root / PWNED), str(marker)))
    result = run_pocgen("new", scratch.dest, "-t", template, "--defaults", "--trust")
    assert result.exit_code == 0, result.stderr
    assert marker.exists() and (scratch.dest / "README.md").read_text() == "inner\n"


# --- the sandbox fails closed -------------------------------------------------------------------


@pytest.fixture
def plain_template(tmp_path: Path) -> Path:
    return write_template(
        tmp_path / "plain", {"project_slug": "p"}, {f"{PROJECT}/README.md": "{{ 6 * 7 }}\n"}
    )


@pytest.mark.unit
def test_the_real_cookiecutter_renders_in_the_sandbox(tmp_path: Path, plain_template: Path):
    from jinja2 import Environment
    from jinja2.sandbox import SandboxedEnvironment

    seen: list[type] = []
    real = Environment.compile

    def spy(self, *args, **kwargs):
        seen.append(type(self))
        return real(self, *args, **kwargs)

    Environment.compile = spy
    try:
        create_project(tmp_path / "p", str(plain_template), options=RenderOptions(defaults=True))
    finally:
        Environment.compile = real
    assert seen and all(issubclass(kind, SandboxedEnvironment) for kind in seen), seen
    assert (tmp_path / "p" / "README.md").read_text() == "42\n"


@pytest.mark.unit
@pytest.mark.parametrize("module", cookiecutter_engine.ENV_FACTORY_MODULES)
def test_a_cookiecutter_without_the_patch_point_is_refused(
    tmp_path: Path, plain_template: Path, monkeypatch: pytest.MonkeyPatch, module: str
):
    import importlib

    monkeypatch.delattr(importlib.import_module(module), "create_env_with_context")
    with pytest.raises(PocgenError, match="cannot prove that Cookiecutter renders"):
        create_project(tmp_path / "p", str(plain_template), options=RenderOptions(defaults=True))
    assert not (tmp_path / "p").exists()


@pytest.mark.unit
def test_a_cookiecutter_that_builds_its_environment_elsewhere_is_refused(
    tmp_path: Path, plain_template: Path, monkeypatch: pytest.MonkeyPatch
):
    """A release whose `generate_files` makes its environment through another function: the
    patched name is never called, and the unsandboxed environment is caught where it compiles."""
    from cookiecutter import generate, utils

    elsewhere = types.FunctionType(
        generate.generate_files.__code__,
        {
            **generate.generate_files.__globals__,
            "create_env_with_context": utils.__dict__["create_env_with_context"],
        },
        "generate_files",
        generate.generate_files.__defaults__,
    )
    monkeypatch.setattr(generate, "generate_files", elsewhere)
    with pytest.raises(PocgenError, match=r"cannot prove .* compiled Jinja in a StrictEnvironment"):
        create_project(tmp_path / "p", str(plain_template), options=RenderOptions(defaults=True))
    assert not (tmp_path / "p").exists()


@pytest.mark.unit
def test_a_render_that_loops_for_ever_ends_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(containment, "RENDER_CPU_SECONDS", 1)
    template = write_template(
        tmp_path / "loop",
        {"project_slug": "p"},
        {
            f"{PROJECT}/README.md": "{% for i in range(99999) %}{% for j in range(99999) %}"
            "{% endfor %}{% endfor %}\n"
        },
    )
    with pytest.raises(PocgenError, match="needs more than 1 s of CPU time"):
        create_project(tmp_path / "p", str(template), options=RenderOptions(defaults=True))


# --- updates and course packs reach templates too -----------------------------------------------


def _cookiecutter_repo(s: Scratch, turn_hostile) -> Path:
    repo = write_template(
        s.root / "templates" / "cc-repo",
        {"project_slug": "p", "target": str(s.home / ".bashrc")},
        {f"{PROJECT}/README.md": "v1\n"},
    )
    git_init(repo)
    commit_all(repo, "v1", tag="v1")
    turn_hostile(repo)
    commit_all(repo, "v2", tag="v2")
    return repo


def _escaping_file(repo: Path) -> None:
    (repo / PROJECT / "{{cookiecutter.target}}").write_text("pwned\n")


def _nested_extension(repo: Path) -> None:
    config = json.loads((repo / "cookiecutter.json").read_text())
    inner = repo / "inner"
    (repo / PROJECT).rename(repo / "moved")
    inner.mkdir()
    (repo / "moved").rename(inner / PROJECT)
    (inner / "cookiecutter.json").write_text(
        json.dumps({**config, "_extensions": ["evil_ext.Evil"]})
    )
    (inner / "evil_ext.py").write_text(f"open('{PWNED}', 'w').close()\n" + EXTENSION_CLASS)
    (repo / "cookiecutter.json").write_text(
        json.dumps({"templates": {"inner": {"path": "inner", "title": "I", "description": "i"}}})
    )


@pytest.mark.parametrize(
    ("turn_hostile", "message"),
    [(_escaping_file, "tried to write"), (_nested_extension, "pass --trust")],
    ids=["escaping-file-name", "nested-extension"],
)
def test_an_update_whose_template_turned_hostile_changes_nothing(
    scratch: Scratch, turn_hostile, message: str
):
    repo = _cookiecutter_repo(scratch, turn_hostile)
    made = run_pocgen(
        "new", scratch.dest, "-t", f"file://{repo}", "-r", "v1", "--defaults", env=scratch.env
    )
    assert made.exit_code == 0, made.stderr
    git_init(scratch.dest)
    commit_all(scratch.dest, "v1")
    project_before = sorted(p.name for p in scratch.dest.iterdir())
    with scratch.unchanged():
        result = run_pocgen("update", scratch.dest, cwd=scratch.dest, env=scratch.env)
    assert_one_line_refusal(result, message)
    assert sorted(p.name for p in scratch.dest.iterdir()) == project_before
    assert not (scratch.dest / PWNED).exists()


@pytest.fixture
def pack_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A web server on 127.0.0.1 serving the folder it returns."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()


def test_a_course_pack_fetched_by_url_cannot_load_a_nested_extension(
    scratch: Scratch, pack_server: tuple[str, Path]
):
    url, served = pack_server
    template = hostile_cookiecutter("nested-templates-extensions", scratch)
    (served / "pack.yaml").write_text(f"name: evil course\ntemplate: {template}\n")
    with scratch.unchanged():
        result = run_pocgen(
            "new", scratch.dest, "--course", f"{url}/pack.yaml", "--defaults", env=scratch.env
        )
    assert_one_line_refusal(result, "pass --trust")


# --- Copier's side ------------------------------------------------------------------------------


def hostile_copier(name: str, s: Scratch) -> Path:
    root = s.root / "templates" / name
    bashrc = str(s.home / ".bashrc")
    cases = {
        "absolute-file-name": (
            f"target:\n  default: {bashrc}\n",
            {"{{ target }}.jinja": "pwned\n"},
        ),
        "dotdot-file-name": (
            f"target:\n  default: {CLIMB + bashrc.lstrip('/')}\n",
            {"{{ target }}.jinja": "pwned\n"},
        ),
        "dotdot-folder-name": (
            f"up:\n  default: {CLIMB + str(s.home).lstrip('/')}\n",
            {"{{ up }}/.bashrc": "pwned\n"},
        ),
        "symlink-to-an-outside-file": (
            "name:\n  default: x\n",
            {"notes.txt": s.root / "secret.txt"},
        ),
        "preserved-symlink-out": (
            "_preserve_symlinks: true\nname:\n  default: x\n",
            {"notes.txt": s.root / "secret.txt"},
        ),
        "subdirectory-outside": ("_subdirectory: ../../victim\nname:\n  default: x\n", {}),
    }
    config, files = cases[name]
    return write_template(root, config, files)


COPIER_HOSTILE = [
    ("absolute-file-name", "outside the project folder"),
    ("dotdot-file-name", "outside the project folder"),
    ("dotdot-folder-name", "outside the project folder"),
    ("symlink-to-an-outside-file", "outside the project folder"),
    ("preserved-symlink-out", "has a symlink notes.txt that leads outside it"),
    ("subdirectory-outside", "outside the project folder"),
]


# A pretend render writes no files, so a preserved link is only made (and refused) for real.
COPIER_RUNS = [
    (case, message, pretend)
    for case, message in COPIER_HOSTILE
    for pretend in (False, True)
    if not (pretend and case == "preserved-symlink-out")
]


@pytest.mark.parametrize(
    ("case", "message", "pretend"),
    COPIER_RUNS,
    ids=[f"{case}-{'pretend' if pretend else 'new'}" for case, _, pretend in COPIER_RUNS],
)
def test_a_hostile_copier_template_changes_nothing_around_the_render(
    scratch: Scratch, case: str, message: str, pretend: bool
):
    template = hostile_copier(case, scratch)
    args = ["--pretend"] if pretend else []
    with scratch.unchanged():
        result = run_pocgen(
            "new", scratch.dest, "-t", template, "--defaults", *args, env=scratch.env
        )
    assert_one_line_refusal(result, message, progress=pretend)
    assert not scratch.dest.exists()


def test_copier_keeps_a_symlink_inside_the_project(scratch: Scratch):
    template = write_template(
        scratch.root / "templates" / "links",
        "_preserve_symlinks: true\nname:\n  default: x\n",
        {"README.md": "hello\n", "docs/index.md": Path("../README.md")},
    )
    result = run_pocgen("new", scratch.dest, "-t", template, "--defaults", env=scratch.env)
    assert result.exit_code == 0, result.stderr
    assert (scratch.dest / "docs" / "index.md").is_symlink()


# --- git runs none of a repository's own commands ----------------------------------------------

HOOKS = ["pre-commit", "post-commit", "post-checkout", "pre-auto-gc", "reference-transaction"]
# Configuration keys that name a program git runs by itself, each set to a script that leaves
# a sentinel named after it (commit.gpgSign makes git reach for gpg.program).
COMMAND_SETTINGS = [
    "core.fsmonitor",
    "filter.evil.clean",
    "filter.evil.smudge",
    "filter.evil.process",
    "diff.external",
    "diff.evil.textconv",
    "diff.evil.command",
    "merge.evil.driver",
    "core.pager",
    "core.editor",
    "core.sshCommand",
    "core.askPass",
    "credential.helper",
    "core.alternateRefsCommand",
    "gpg.program",
]


def arm_repository(repo: Path, ran: Path) -> None:
    """Give `repo` every configured command (and hooks, in .git/hooks and core.hooksPath), each
    a script that creates a file in `ran` and passes its input through."""
    ran.mkdir(exist_ok=True)
    scripts = repo.parent / f"{repo.name}-scripts"
    scripts.mkdir()
    for key in COMMAND_SETTINGS + [f"hook-{name}" for name in HOOKS]:
        script = scripts / key
        script.write_text(f'#!/bin/sh\ntouch "{ran}/{key}"\ncat\n')
        script.chmod(0o755)
        if key in COMMAND_SETTINGS:
            git(repo, "config", key, str(script))
    hooks = scripts / "hooks"
    hooks.mkdir()
    for name in HOOKS:
        for folder in (hooks, repo / ".git" / "hooks"):
            shutil.copy2(scripts / f"hook-{name}", folder / name)
    git(repo, "config", "core.hooksPath", str(hooks))
    (repo / ".gitattributes").write_text("* filter=evil diff=evil merge=evil\n")


def assert_armed(repo: Path, ran: Path) -> None:
    """Once `repo` is committed: every commit from now on is to be signed (by the armed
    gpg.program), and the calibration: plain git in `repo` does run its commands (else the test
    proves nothing). The sentinels made so far are removed."""
    git(repo, "config", "commit.gpgSign", "true")
    touched = repo / ".gitattributes"
    touched.write_text(touched.read_text() + "\n")
    subprocess.run(["git", "-C", str(repo), "status"], capture_output=True)
    subprocess.run(["git", "-C", str(repo), "diff"], capture_output=True)
    names = {path.name for path in ran.iterdir()}
    assert "core.fsmonitor" in names and any(name.startswith("filter.") for name in names), names
    subprocess.run(["git", "-C", str(repo), "checkout", "--", ".gitattributes"], check=True)
    for sentinel in ran.iterdir():
        sentinel.unlink()


def test_a_local_git_template_runs_none_of_its_commands(scratch: Scratch):
    template = scratch.root / "templates" / "armed"
    shutil.copytree(FIXTURES / "copier-mini", template)
    git_init(template)
    ran = scratch.root / "ran"
    arm_repository(template, ran)
    commit_all(template, "v1")
    assert_armed(template, ran)
    (template / "template" / "README.md.jinja").write_text("a draft the author has not committed\n")
    with scratch.unchanged():
        result = run_pocgen("new", scratch.dest, "-t", template, "--defaults", env=scratch.env)
    assert result.exit_code == 0, result.stderr
    assert list(ran.iterdir()) == []
    assert (scratch.dest / "README.md").read_text() == "a draft the author has not committed\n"


@pytest.mark.parametrize("engine", ["copier", "cookiecutter"])
def test_updating_a_project_that_arrived_with_its_git_folder_runs_none_of_its_commands(
    scratch: Scratch, versioned_template, engine: str
):
    inside = {"copier": "template", "cookiecutter": "{{cookiecutter.project_slug}}"}[engine]
    repo = versioned_template(
        f"{engine}-mini", lambda repo: (repo / inside / "NEWS.md").write_text("v2\n")
    )
    trust = ["--trust"] if engine == "cookiecutter" else []  # its fixture has a hook
    made = run_pocgen("new", scratch.dest, "-t", f"file://{repo}", "-r", "v1", "--defaults", *trust)
    assert made.exit_code == 0, made.stderr
    git_init(scratch.dest)
    ran = scratch.root / "ran"
    arm_repository(scratch.dest, ran)
    commit_all(scratch.dest, "made at v1")
    assert_armed(scratch.dest, ran)
    with scratch.unchanged():
        result = run_pocgen(
            "update", scratch.dest, "--vcs-ref", "v2", *trust, cwd=scratch.dest, env=scratch.env
        )
    assert result.exit_code == 0, result.stderr
    assert list(ran.iterdir()) == []
    assert (scratch.dest / "NEWS.md").read_text() == "v2\n"


# --- the guards on their own ---------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    "attempt",
    [
        lambda outside: outside.joinpath("new.txt").write_text("x"),
        lambda outside: outside.joinpath("keep.txt").unlink(),
        lambda outside: shutil.rmtree(outside),
        lambda outside: outside.joinpath("keep.txt").chmod(0o777),
        lambda outside: os.symlink(outside, "inside-link"),
        lambda outside: os.rename(outside / "keep.txt", "taken.txt"),
        lambda outside: subprocess.run(["true"]),
    ],
    ids=["write", "delete", "rmtree", "chmod", "link-out", "rename-out", "program"],
)
def test_the_guard_stops_what_a_render_may_not_do(tmp_path: Path, monkeypatch, attempt):
    inside, outside = tmp_path / "inside", tmp_path / "outside"
    inside.mkdir()
    outside.mkdir()
    (outside / "keep.txt").write_text("precious")
    monkeypatch.chdir(inside)
    with pytest.raises(PocgenError, match="tried to"), containment.confined(inside, template="t"):
        attempt(outside)
    assert [p.name for p in outside.iterdir()] == ["keep.txt"]
    assert (outside / "keep.txt").read_text() == "precious"


@pytest.mark.unit
def test_the_guard_lets_a_render_write_inside(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with containment.confined(tmp_path, template="t"):
        (tmp_path / "a" / "b").mkdir(parents=True)
        (tmp_path / "a" / "b" / "c.txt").write_text("fine")
        shutil.copytree(tmp_path / "a", tmp_path / "copy")
        os.replace(tmp_path / "copy", tmp_path / "moved")
        shutil.rmtree(tmp_path / "moved")
    assert (tmp_path / "a" / "b" / "c.txt").read_text() == "fine"
    outside = tmp_path.parent / f"{tmp_path.name}-after"
    outside.write_text("the guard is off again")  # outside the block, nothing is checked
    outside.unlink()
