"""`split`: contract columns, stratified, reproducible, and no group or near-copy crosses splits."""

from collections import defaultdict

import pytest
from PIL import Image

from surgical_tool_detector.cli import main
from surgical_tool_detector.config import (
    MANIFEST_FILE,
    RAW_DIR,
    SPLITS_DIR,
)
from surgical_tool_detector.dataset import (
    MANIFEST_COLUMNS,
    append_csv,
    box_file,
    read_csv,
    write_csv,
)

SPLITS = ("train", "val", "test")
COLUMNS = ["path", "annotation", "group"]
KEY = COLUMNS[0]


def split_of() -> dict[str, str]:
    """Item -> the split it landed in, checking that no item is in two splits."""
    where: dict[str, str] = {}
    for name in SPLITS:
        for row in read_csv(SPLITS_DIR / f"{name}.csv"):
            assert row[KEY] not in where
            where[row[KEY]] = name
    return where


def test_smoke_split_follows_the_contract(workdir):
    main(["sample", "--smoke"])
    main(["split", "--smoke"])
    where = split_of()
    assert len(where) == 24
    for name in SPLITS:
        with (SPLITS_DIR / f"{name}.csv").open(encoding="utf-8") as handle:
            assert handle.readline().strip().split(",") == COLUMNS
        assert any(value == name for value in where.values())  # no split is empty


def test_same_seed_same_split(workdir):
    main(["sample", "--smoke"])
    main(["split"])
    first = [(SPLITS_DIR / f"{name}.csv").read_text(encoding="utf-8") for name in SPLITS]
    main(["split"])
    assert [(SPLITS_DIR / f"{name}.csv").read_text(encoding="utf-8") for name in SPLITS] == first


def test_groups_and_near_duplicates_stay_together(workdir):
    main(["sample", "--smoke"])
    rows = read_csv(MANIFEST_FILE)
    for row in rows[:8]:  # pretend the first 8 items are frames of one video
        row["group"] = "video:clip.mp4"
    write_csv(MANIFEST_FILE, MANIFEST_COLUMNS, rows)
    original = rows[10]["item"]
    near_copy = "sample/near-copy.png"
    Image.open(RAW_DIR / original).resize((300, 300)).save(RAW_DIR / near_copy)
    append_csv(
        MANIFEST_FILE,
        MANIFEST_COLUMNS,
        [{"item": near_copy, "source": "folder", "group": near_copy}],
    )
    box_file(near_copy).write_text(box_file(original).read_text(encoding="utf-8"), "utf-8")
    original, near_copy = f"data/raw/{original}", f"data/raw/{near_copy}"
    for seed in ("1", "2", "3"):
        main(["split", "--seed", seed])
        where = split_of()
        groups = defaultdict(set)
        for name in SPLITS:
            for row in read_csv(SPLITS_DIR / f"{name}.csv"):
                groups[row["group"]].add(name)
        assert all(len(names) == 1 for names in groups.values())
        video = [row["item"] for row in read_csv(MANIFEST_FILE)[:8]]
        assert len({where[f"data/raw/{item}"] for item in video}) == 1
        assert where[original] == where[near_copy]


def test_unknown_label_is_left_out_with_a_message(workdir, capsys):
    main(["sample", "--smoke"])
    bad = read_csv(MANIFEST_FILE)[0]["item"]
    box_file(bad).write_text("9 0.5 0.5 0.2 0.2\n", encoding="utf-8")
    bad = f"data/raw/{bad}"
    with pytest.raises(SystemExit) as exit_info:
        main(["split"])
    assert exit_info.value.code == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "left out" in err and "Fix those items and rerun split" in err
    where = split_of()
    assert len(where) == 23 and bad not in where  # the other items were still split


def test_too_little_data_is_a_clear_error(workdir, capsys):
    with pytest.raises(SystemExit):
        main(["split"])
    assert "train, val and test need at least one each" in capsys.readouterr().err
