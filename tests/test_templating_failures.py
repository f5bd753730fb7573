"""Hostile templates, careless input and unlucky machines: `new` and `update` refuse each with one
line naming the fix, a non-zero exit, no traceback, and every file as it was (compared by hash)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES, Result, commit_all, git_init, run_pocgen

PAYLOAD = "{{ cycler.__init__.__globals__.os.system('touch PWNED') }}"


def tree_hashes(root: Path) -> dict[str, str]:
    """Every file under `root` (git's own folder aside: `git status` refreshes its index) by
    content hash, plus every folder, so a new empty folder counts as a change too."""
    hashes = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if ".git" in relative.parts:
            continue
        if path.is_dir():
            hashes[relative.as_posix() + "/"] = "folder"
        else:
            hashes[relative.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def assert_refused(result: Result, message: str) -> None:
    assert result.exit_code != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr, result.stderr


def cookiecutter_template(root: Path, files: dict[str, str], config: str | None = None) -> Path:
    root.mkdir(parents=True)
    (root / "cookiecutter.json").write_text(config or '{"project_slug": "made"}')
    for name, text in files.items():
        path = root / "{{cookiecutter.project_slug}}" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def copier_template(root: Path, files: dict[str, str], config: str = "name:\n  default: x\n"):
    root.mkdir(parents=True)
    (root / "copier.yml").write_text(config)
    for name, text in files.items():
        (root / name).write_text(text)
    return root


# --- untrusted Cookiecutter templates render in the sandbox --------------------------------


@pytest.mark.parametrize(
    ("files", "config"),
    [
        ({"README.md": f"hello {PAYLOAD}\n"}, None),
        ({f"{PAYLOAD}.txt": "a file whose name runs code\n"}, None),
        ({"README.md": "{{ cookiecutter.greeting }}\n"}, json.dumps({"greeting": PAYLOAD})),
    ],
    ids=["file-content", "file-name", "cookiecutter-json-default"],
)
def test_cookiecutter_code_in_jinja_never_runs_without_trust(tmp_path: Path, files, config):
    template = cookiecutter_template(tmp_path / "evil", files, config)
    (tmp_path / "out").mkdir()
    before = tree_hashes(tmp_path)
    result = run_pocgen("new", tmp_path / "out" / "p", "-t", template, "--defaults", cwd=tmp_path)
    assert_refused(result, "pass --trust if you trust it")
    assert "sandbox" in result.stderr
    assert not list(tmp_path.rglob("PWNED")) and not Path("PWNED").exists()
    assert tree_hashes(tmp_path) == before


def test_trusted_cookiecutter_template_renders_as_cookiecutter_does(tmp_path: Path):
    """With --trust the sandbox is off: what it forbids (a module's globals) renders."""
    unsafe = "{{ cycler.__init__.__globals__.os.sep }}"
    template = cookiecutter_template(tmp_path / "t", {"README.md": f"sep {unsafe}\n"})
    result = run_pocgen("new", tmp_path / "p", "-t", template, "--defaults", "--trust")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "p" / "README.md").read_text() == "sep /\n"
    sandboxed = run_pocgen("new", tmp_path / "q", "-t", template, "--defaults")
    assert_refused(sandboxed, "--trust")


# --- broken templates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "trust", "message"),
    [
        (
            lambda root: copier_template(root, {}, config="name: [unclosed\n"),
            False,
            "copier.yml is broken: while parsing a flow sequence",
        ),
        (
            lambda root: copier_template(
                root, {"a.txt.jinja": "fine\n", "b.txt.jinja": "ok\n{% if %}\n"}
            ),
            False,
            "has a Jinja error in b.txt.jinja, line 2: Expected an expression",
        ),
        (
            lambda root: copier_template(root, {"b.txt.jinja": "{{ name | nosuch }}\n"}),
            False,
            "No filter named 'nosuch'",
        ),
        (
            lambda root: copier_template(root, {"b.txt.jinja": PAYLOAD}),
            False,
            "does what Jinja's sandbox forbids",
        ),
        (
            lambda root: copier_template(
                root,
                {"b.txt": "x\n"},
                config="_jinja_extensions:\n  - nosuchmodule.Extension\nname:\n  default: x\n",
            ),
            True,
            "Copier could not load some Jinja extensions: No module named 'nosuchmodule'",
        ),
        (
            lambda root: cookiecutter_template(root, {"a.md": "fine\n", "b.md": "{% if %}\n"}),
            False,
            "has a Jinja error in",
        ),
        (
            lambda root: cookiecutter_template(root, {"b.md": "{{ 1 | nosuch }}\n"}),
            False,
            "No filter named 'nosuch'",
        ),
        (
            lambda root: cookiecutter_template(root, {}, config='{"a": '),
            False,
            "cookiecutter.json is not valid JSON (Expecting value: line 1 column 7",
        ),
        (
            lambda root: cookiecutter_template(root, {}, config='["a list"]'),
            False,
            "must hold a JSON object",
        ),
    ],
    ids=[
        "copier-yml-not-yaml",
        "jinja-syntax-error-mid-render",
        "unknown-filter",
        "copier-sandbox-security-error",
        "missing-jinja-extension",
        "cookiecutter-syntax-error",
        "cookiecutter-unknown-filter",
        "cookiecutter-json-not-json",
        "cookiecutter-json-not-an-object",
    ],
)
def test_broken_template_is_one_line_and_writes_nothing(tmp_path: Path, make, trust, message):
    template = make(tmp_path / "broken")
    (tmp_path / "out").mkdir()
    before = tree_hashes(tmp_path)
    args = ["--trust"] if trust else []
    result = run_pocgen("new", tmp_path / "out" / "p", "-t", template, "--defaults", *args)
    assert_refused(result, message)
    assert "Fix the answer" not in result.stderr  # not about an answer
    assert tree_hashes(tmp_path) == before


def test_vcs_ref_that_git_would_read_as_an_option_is_refused(tmp_path: Path):
    result = run_pocgen("new", tmp_path / "p", "-t", "file:///x.git", "--vcs-ref=--orphan=x")
    assert_refused(result, "--vcs-ref '--orphan=x' is not a git tag, branch or commit")
    assert list(tmp_path.iterdir()) == []


# --- machines that cannot be written to -------------------------------------------------------


def _blocks_writes(folder: Path) -> bool:
    probe = folder / ".probe"
    try:
        probe.write_text("x")
    except OSError:
        return True
    probe.unlink()
    return False


@contextmanager
def unwritable(folder: Path, kind: str) -> Iterator[None]:
    """Make `folder` refuse writes the way `kind` says, as far as this machine allows.

    As root, permission bits stop nothing, so root gets the real thing: `chattr +i` for an
    immutable folder, a read-only tmpfs mounted on it for a read-only file system. Elsewhere
    the folder is made read-only with chmod, which reaches the same error handling.
    """
    undo: list[list[str]] = []
    if os.geteuid() == 0 and kind == "immutable" and shutil.which("chattr"):
        if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0:
            undo.append(["chattr", "-i", str(folder)])
    if os.geteuid() == 0 and kind == "read-only-fs":
        mount = ["mount", "-t", "tmpfs", "-o", "ro", "tmpfs", str(folder)]
        if subprocess.run(mount, capture_output=True).returncode == 0:
            undo.append(["umount", str(folder)])
    if not undo:
        folder.chmod(0o555)
    try:
        assert _blocks_writes(folder), f"this machine cannot make {folder} {kind}"
        yield
    finally:
        for command in undo:
            subprocess.run(command, check=True)
        folder.chmod(0o755)


@pytest.mark.parametrize("kind", ["immutable", "read-only-fs"])
def test_new_into_a_folder_that_cannot_be_written(tmp_path: Path, kind: str):
    parent = tmp_path / "parent"
    parent.mkdir()
    with unwritable(parent, kind):
        result = run_pocgen("new", parent / "p", "-t", FIXTURES / "copier-mini", "--defaults")
        assert_refused(result, f"nothing was written to {parent / 'p'}")
        assert list(parent.iterdir()) == []


def test_new_where_a_file_stands_for_the_parent_folder(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("mine\n")
    before = tree_hashes(tmp_path)
    result = run_pocgen("new", tmp_path / "notes.txt" / "p", "--defaults")
    assert_refused(result, "cannot write")
    assert tree_hashes(tmp_path) == before


@pytest.mark.parametrize("obstacle", ["unwritable-src", "file-named-src"])
def test_force_writes_all_files_or_none(tmp_path: Path, obstacle: str):
    """`new --force` into a folder whose src/ cannot take the package: the user's README stays."""
    dest = tmp_path / "p"
    dest.mkdir()
    (dest / "README.md").write_text("my own notes\n")
    if obstacle == "file-named-src":
        (dest / "src").write_text("not a folder\n")
        before = tree_hashes(tmp_path)
        result = run_pocgen("new", dest, "--defaults", "--force")
    else:
        (dest / "src").mkdir()
        before = tree_hashes(tmp_path)
        with unwritable(dest / "src", "immutable"):
            result = run_pocgen("new", dest, "--defaults", "--force")
    assert_refused(result, f"nothing was written to {dest}")
    assert tree_hashes(tmp_path) == before


# --- update: bad refs, moved templates, corrupt answers, unknown answers -----------------------


@pytest.fixture
def project_at_v1(tmp_path: Path, versioned_template) -> tuple[Path, Path]:
    """A Copier project made from a git template at v1 (v2 adds a file), committed."""

    def change(repo: Path) -> None:
        (repo / "template" / "CHANGELOG.md").write_text("Added in v2.\n")

    repo = versioned_template("copier-mini", change)
    project = tmp_path / "project"
    result = run_pocgen("new", project, "-t", f"file://{repo}", "-r", "v1", "--defaults")
    assert result.exit_code == 0, result.stderr
    git_init(project)
    commit_all(project, "generated at v1")
    return project, repo


def _refused_update(project: Path, message: str, *args: str) -> None:
    before = tree_hashes(project)
    status_before = subprocess.run(
        ["git", "-C", str(project), "status", "--short"], capture_output=True, text=True
    ).stdout
    result = run_pocgen("update", project, *args)
    assert_refused(result, message)
    assert tree_hashes(project) == before
    assert (
        subprocess.run(
            ["git", "-C", str(project), "status", "--short"], capture_output=True, text=True
        ).stdout
        == status_before
    )


def test_update_to_a_version_that_does_not_exist(project_at_v1):
    project, _ = project_at_v1
    _refused_update(project, "invalid reference: v99", "--vcs-ref", "v99")


def test_update_vcs_ref_that_git_would_read_as_an_option(project_at_v1):
    project, _ = project_at_v1
    _refused_update(project, "is not a git tag, branch or commit", "--vcs-ref=--orphan=x")


def test_update_after_the_template_repository_moved(project_at_v1, tmp_path: Path):
    project, repo = project_at_v1
    repo.rename(tmp_path / "moved")
    _refused_update(project, "check that the template is still where the answers say")


@pytest.mark.parametrize(
    ("text", "message"),
    [("_commit: [v1\n", "is not valid YAML at line"), ("- a list\n", "must be a mapping")],
)
def test_update_with_a_corrupt_answers_file(project_at_v1, text: str, message: str):
    project, _ = project_at_v1
    (project / ".copier-answers.yml").write_text(text)
    commit_all(project, "corrupted")
    _refused_update(project, message)


def test_update_refuses_an_answer_to_no_question(project_at_v1):
    project, _ = project_at_v1
    _refused_update(project, "has no question named nosuch", "--data", "nosuch=1")
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert "nosuch" not in answers


def test_update_with_a_bad_answer_says_how_to_fix_it(tmp_path: Path, versioned_template):
    def change(repo: Path) -> None:
        (repo / "copier.yml").write_text(
            (repo / "copier.yml").read_text()
            + "size:\n  type: int\n  default: 1\n  validator: "
            + '"{% if size > 9 %}size must be at most 9{% endif %}"\n'
        )

    repo = versioned_template("copier-mini", change)
    project = tmp_path / "project"
    assert (
        run_pocgen("new", project, "-t", f"file://{repo}", "-r", "v1", "--defaults").exit_code == 0
    )
    git_init(project)
    commit_all(project, "generated at v1")
    _refused_update(project, "size must be at most 9. Fix the answer with --data", "-d", "size=99")


def test_update_into_a_folder_that_cannot_be_written_changes_nothing(project_at_v1):
    project, _ = project_at_v1
    with unwritable(project, "immutable"):
        _refused_update(project, "is unchanged")


def test_update_that_fails_while_moving_files_says_how_to_finish_or_go_back(
    project_at_v1, monkeypatch: pytest.MonkeyPatch
):
    """A failure after the commit point (the disk fills up between two renames): the message
    names both ways out, and the next update finishes the job."""
    from pocgen.errors import PocgenError
    from pocgen.templating import staging
    from pocgen.templating.update import update_project

    project, _ = project_at_v1
    real_replace, calls = os.replace, []

    def replace_then_fail(source, target):
        calls.append(target)
        if len(calls) == 2:
            raise OSError(28, "No space left on device", str(target))
        real_replace(source, target)

    monkeypatch.setattr(staging.os, "replace", replace_then_fail)
    with pytest.raises(PocgenError) as refused:
        update_project(project)
    message = str(refused.value)
    assert "No space left on device" in message and f"pocgen update {project}" in message
    assert f"git -C {project} checkout -- ." in message
    monkeypatch.setattr(staging.os, "replace", real_replace)
    result = run_pocgen("update", project)
    assert result.exit_code == 0 and "Finished an update" in result.stdout, result.stderr
    assert (project / "CHANGELOG.md").read_text() == "Added in v2.\n"
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"] == "v2"
