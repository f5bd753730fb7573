"""`write_all`: every file or none, whatever fails or interrupts it, and nothing left behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from project_files import refuse_renaming_onto

from pocgen import files
from pocgen.files import WriteFailed, write_all

pytestmark = pytest.mark.unit


def tree(root: Path) -> dict[str, bytes | str]:
    """Every entry under `root`: file bytes, or the target of a link."""
    return {
        path.relative_to(root).as_posix(): (
            f"-> {os.readlink(path)}" if path.is_symlink() else path.read_bytes()
        )
        for path in sorted(root.rglob("*"))
        if path.is_file() or path.is_symlink()
    }


def test_text_bytes_and_copies_are_written(tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(b"\x00\x01")
    write_all(
        {
            tmp_path / "a.md": "line\r\nkept as written\n",
            tmp_path / "new" / "deep" / "b.bin": b"\xff",
            tmp_path / "c.bin": source,
        }
    )
    assert (tmp_path / "a.md").read_bytes() == b"line\r\nkept as written\n"
    assert (tmp_path / "new" / "deep" / "b.bin").read_bytes() == b"\xff"
    assert (tmp_path / "c.bin").read_bytes() == b"\x00\x01"


def test_a_symlink_is_copied_as_a_link(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to("elsewhere")
    write_all({tmp_path / "out" / "link": tmp_path / "link"})
    assert os.readlink(tmp_path / "out" / "link") == "elsewhere"


def test_the_old_files_mode_is_kept(tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_text("old\n")
    script.chmod(0o755)
    write_all({script: "new\n"})
    assert script.read_text() == "new\n" and script.stat().st_mode & 0o777 == 0o755


def test_a_folder_in_the_way_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "keep.md").write_text("mine\n")
    (tmp_path / "taken").mkdir()
    before = tree(tmp_path)
    with pytest.raises(WriteFailed) as raised:
        write_all({tmp_path / "keep.md": "theirs\n", tmp_path / "taken": "x"})
    assert raised.value.target == tmp_path / "taken"
    assert tree(tmp_path) == before


def test_a_file_in_the_way_of_a_folder_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "src").write_text("a file\n")
    before = tree(tmp_path)
    with pytest.raises(WriteFailed):
        write_all({tmp_path / "a.md": "x", tmp_path / "src" / "pkg" / "m.py": "x"})
    assert tree(tmp_path) == before and not (tmp_path / "a.md").exists()


def test_a_failed_rename_puts_back_the_files_already_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a.md", "b.md"):
        (tmp_path / name).write_text(f"old {name}\n")
    before = tree(tmp_path)
    refuse_renaming_onto(monkeypatch, "b.md")
    with pytest.raises(WriteFailed) as raised:
        write_all(
            {tmp_path / "a.md": "new a\n", tmp_path / "b.md": "new b\n", tmp_path / "c.md": "c"}
        )
    monkeypatch.undo()
    assert (
        raised.value.target == tmp_path / "b.md"
        and raised.value.strerror == "Operation not permitted"
    )
    assert tree(tmp_path) == before  # a.md has its old text again, c.md was never made


def test_an_interrupt_while_staging_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.md").write_text("old\n")
    before = tree(tmp_path)
    calls = []
    real_stage = files._stage

    def stage(*args: object) -> None:
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_stage(*args)

    monkeypatch.setattr(files, "_stage", stage)
    with pytest.raises(KeyboardInterrupt):
        write_all({tmp_path / "a.md": "new\n", tmp_path / "sub" / "b.md": "new\n"})
    assert tree(tmp_path) == before and not (tmp_path / "sub").exists()


def test_interrupts_are_held_while_files_move_and_delivered_after(tmp_path: Path) -> None:
    import os
    import signal

    moved = []
    with pytest.raises(KeyboardInterrupt):
        with files.interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)  # held: the block goes on
            moved.append("all")
    assert moved == ["all"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_outside_the_main_thread_nothing_is_held(tmp_path: Path) -> None:
    import threading

    errors: list[BaseException] = []

    def write() -> None:
        try:
            write_all({tmp_path / "a.md": "from a thread\n"})
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    thread = threading.Thread(target=write)
    thread.start()
    thread.join()
    assert errors == [] and (tmp_path / "a.md").read_text() == "from a thread\n"


def test_nothing_to_write(tmp_path: Path) -> None:
    write_all({})
    assert list(tmp_path.iterdir()) == []
