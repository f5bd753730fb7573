"""`validate`: every problem is found and listed, nothing crashes, `--strict` gates on blocking."""

import json
import shutil

import pytest
from PIL import Image

from surgical_tool_detector.cli import main
from surgical_tool_detector.config import QUALITY_FILE, RAW_DIR
from surgical_tool_detector.dataset import box_file, list_images

KEYS = {
    "items",
    "per_class",
    "duplicates",
    "sample_data",
    "blocking",
    "unknown_labels",
    "corrupt",
}


def report() -> dict:
    return json.loads(QUALITY_FILE.read_text(encoding="utf-8"))


def test_clean_sample_passes_strict(workdir):
    main(["sample", "--smoke"])
    main(["validate", "--strict", "--smoke"])
    result = report()
    assert KEYS <= set(result)
    assert result["items"] == 24 and result["sample_data"] is True
    assert result["blocking"] is False
    assert "Sample data" in QUALITY_FILE.with_suffix(".md").read_text(encoding="utf-8")


def test_no_data_is_blocking_not_a_crash(workdir, capsys):
    main(["validate"])
    assert report()["blocking"] is True
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", "--strict"])
    assert exit_info.value.code == 1
    assert "blocking data problems" in capsys.readouterr().err


def test_corrupt_small_duplicate_and_mislabeled_images_are_listed(workdir, capsys):
    main(["sample", "--smoke"])
    first, second = list_images()[:2]
    (RAW_DIR / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a JPEG")
    Image.new("RGB", (16, 16), "white").save(RAW_DIR / "tiny.png")
    shutil.copy(RAW_DIR / first, RAW_DIR / "copy.jpg")
    Image.open(RAW_DIR / first).resize((200, 200)).save(RAW_DIR / "resized.png")
    (RAW_DIR / "other").mkdir()
    Image.effect_noise((40, 40), 60).save(RAW_DIR / "other" / "tiny.jpg")  # same stem as tiny.png
    box_file(second).write_text("0 0.5 0.5 0.2 0.2\n7 0.5 0.5 0.2 0.2\n", encoding="utf-8")
    box_file(first).write_text("0 0.95 0.5 0.2 0.2\n1 0.5 0.5 0.0 0.2\n", encoding="utf-8")

    with pytest.raises(SystemExit):
        main(["validate", "--strict"])

    result = report()
    assert result["items"] == 29  # every file was still checked
    assert [entry["item"] for entry in result["corrupt"]] == ["broken.jpg"]
    assert [entry["item"] for entry in result["too_small"]] == ["tiny.png"]
    assert sorted(["copy.jpg", first]) in result["duplicates"]["exact"]
    assert any({first, "resized.png"} <= set(group) for group in result["duplicates"]["near"])
    assert [entry["item"] for entry in result["unknown_labels"]] == [second]
    assert [entry["problem"] for entry in result["bad_boxes"]] == ["outside the image", "zero area"]
    assert result["stem_clashes"] == [["other/tiny.jpg", "tiny.png"]]
    assert result["blocking"] is True
    assert "unreadable" in " ".join(capsys.readouterr().err.split())
