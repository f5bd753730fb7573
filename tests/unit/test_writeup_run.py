"""`pocgen writeup` in process: plan first, refuse over hand edits, write all files or none."""

from __future__ import annotations

from pathlib import Path

import pytest
from project_files import ProjectFiles, refuse_renaming_onto

from pocgen import files as writer
from pocgen.errors import PocgenError
from pocgen.writeup.markers import find_regions
from pocgen.writeup.run import (
    empty_user_sections,
    plan_writeup,
    run_writeup,
    stale_message,
    summary,
)

pytestmark = pytest.mark.unit


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def leftovers(root: Path) -> list[Path]:
    """Staged or kept files a writeup may have left beside its targets."""
    return [path for path in root.rglob("*") if ".pocgen-" in path.name]


def test_a_plan_writes_nothing(finished: ProjectFiles) -> None:
    before = snapshot(finished.root)
    plan = plan_writeup(finished.root)
    assert snapshot(finished.root) == before
    assert sorted(plan.stale) == sorted(plan.sections) and len(plan.sections) == 8
    assert plan.edited == [] and plan.absent == [] and plan.unknown == []
    assert stale_message(plan) and "stale against the artifacts: problem" in stale_message(plan)


def test_a_writeup_then_a_second_that_changes_nothing(finished: ProjectFiles) -> None:
    result = run_writeup(finished.root)
    assert result.written == [
        "README.md",
        "reports/resume.md",
        "reports/model_card.md",
        "reports/blog_post.md",
    ]
    before = snapshot(finished.root)
    again = run_writeup(finished.root)
    assert again.written == [] and snapshot(finished.root) == before
    assert stale_message(plan_writeup(finished.root)) is None
    assert "nothing changed: already up to date" in summary(again)


def test_the_summary_lists_what_is_missing(files: ProjectFiles) -> None:
    lines = summary(run_writeup(files.root))
    assert "section results waits for: `python -m defect_spotter evaluate`" in lines
    assert "section Limitations is empty: it is yours to write in README.md" in lines


def test_a_demo_gets_no_resume_and_no_blog(finished: ProjectFiles) -> None:
    result = run_writeup(finished.answers(demo=True).root)
    assert "reports/resume.md" in result.unchanged
    assert not (finished.root / "reports" / "resume.md").exists()
    assert "no reports/blog_post.md: a demo project (`demo: true`) gets none" in summary(result)


def test_an_edit_inside_a_marker_is_refused_and_backed_up(finished: ProjectFiles) -> None:
    run_writeup(finished.root)
    readme = finished.root / "README.md"
    edited = readme.read_text(encoding="utf-8").replace("On the held-out", "Mine. On the held-out")
    readme.write_text(edited, encoding="utf-8")
    with pytest.raises(PocgenError, match="README.md section `results` edited by hand") as raised:
        run_writeup(finished.root)
    assert "--force" in str(raised.value)
    assert readme.read_text(encoding="utf-8") == edited
    backups = list((finished.root / ".pocgen" / "backups").iterdir())
    assert len(backups) == 1 and backups[0].read_text(encoding="utf-8") == edited
    run_writeup(finished.root, force=True)
    assert "Mine." not in readme.read_text(encoding="utf-8")


def test_a_readme_that_is_not_utf8_is_one_line(finished: ProjectFiles) -> None:
    (finished.root / "README.md").write_bytes(b"# Caf\xe9\n")
    before = snapshot(finished.root)
    with pytest.raises(PocgenError) as raised:
        run_writeup(finished.root)
    assert str(raised.value) == (
        "README.md is not UTF-8 text (byte 5); save it as UTF-8 and rerun `pocgen writeup`."
    )
    assert snapshot(finished.root) == before


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda root: (root / "README.md").unlink(), "not found: the writeup goes into"),
        (
            lambda root: (root / "README.md").write_text("# No markers\n"),
            "has no `<!-- pocgen:NAME",
        ),
        (
            lambda root: (root / "reports" / "resume.md").mkdir(parents=True),
            "reports/resume.md is not a file",
        ),
    ],
)
def test_other_readmes_that_cannot_be_written_into(
    files: ProjectFiles, setup, message: str
) -> None:
    setup(files.root)
    with pytest.raises(PocgenError, match=message):
        run_writeup(files.root)


def test_crlf_outside_the_markers_survives(finished: ProjectFiles) -> None:
    readme = finished.root / "README.md"
    readme.write_bytes(readme.read_bytes().replace(b"\n", b"\r\n"))
    run_writeup(finished.root)
    written = readme.read_bytes()
    assert b"\r\n" in written and b"\n" not in written.replace(b"\r\n", b"")
    assert plan_writeup(finished.root).stale == []


def test_a_failed_move_leaves_every_file_as_it_was_and_nothing_behind(
    finished: ProjectFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_writeup(finished.root)
    finished.report("metrics", headline={"metric": "accuracy", "value": 0.95})
    before = snapshot(finished.root)
    refuse_renaming_onto(monkeypatch, "model_card.md")
    with pytest.raises(PocgenError) as raised:
        run_writeup(finished.root)
    monkeypatch.undo()
    assert str(raised.value).startswith(
        "cannot write reports/model_card.md (Operation not permitted); nothing was changed."
    )
    assert snapshot(finished.root) == before and leftovers(finished.root) == []


def test_an_interrupt_while_writing_leaves_nothing_behind(
    finished: ProjectFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(finished.root)
    real_keep = writer._keep

    def keep(entry: object) -> None:
        real_keep(entry)
        raise KeyboardInterrupt

    monkeypatch.setattr(writer, "_keep", keep)
    with pytest.raises(KeyboardInterrupt):
        run_writeup(finished.root)
    monkeypatch.undo()
    assert snapshot(finished.root) == before and leftovers(finished.root) == []


def test_the_authors_sections(files: ProjectFiles) -> None:
    text = (files.root / "README.md").read_text(encoding="utf-8")
    assert empty_user_sections(text) == ["Limitations", "Next steps"]
    filled = text.replace("_Write what you would do with another week._", "More data.")
    assert empty_user_sections(filled) == ["Limitations"]


def test_a_section_without_markers_is_reported(files: ProjectFiles) -> None:
    readme = files.root / "README.md"
    text = readme.read_text(encoding="utf-8")
    readme.write_text(
        text.replace("<!-- pocgen:demo -->\n<!-- /pocgen:demo -->", "")
        + "<!-- pocgen:mine -->\n<!-- /pocgen:mine -->\n",
        encoding="utf-8",
    )
    plan = plan_writeup(files.root)
    assert plan.absent == ["demo"] and plan.unknown == ["mine"]
    assert "README.md has no markers for section demo" in summary(run_writeup(files.root))
    assert [r.name for r in find_regions(readme.read_text(encoding="utf-8"))][-1] == "mine"


def test_ctrl_c_is_one_line_not_a_traceback(
    finished: ProjectFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    import pocgen.writeup
    from pocgen.cli import app

    def interrupted(root: Path, force: bool = False) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(pocgen.writeup, "run_writeup", interrupted)
    result = CliRunner().invoke(app, ["writeup", str(finished.root)])
    assert result.exit_code == 130 and "Traceback" not in result.output
    assert "interrupted: the writeup wrote all its files or none." in result.output
