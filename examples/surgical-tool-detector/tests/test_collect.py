"""`collect`: a bad input gets a clear message, the rest is still collected, nothing overwritten."""

import random
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from surgical_tool_detector.cli import main
from surgical_tool_detector.collect import Cutout, PasteSettings, paste_objects
from surgical_tool_detector.config import RAW_DIR, load_params
from surgical_tool_detector.dataset import (
    box_file,
    box_problem,
    list_images,
    read_boxes,
    read_manifest,
)


def photo(path: Path, seed: int, size: tuple[int, int] = (64, 48), orientation: int = 1):
    """A small random photo (noise is sharp, and never a near-duplicate of another seed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = orientation  # EXIF "Orientation"; 6 means "turn 90 degrees clockwise to view"
    image.save(path, exif=exif)


def fail(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run a stage that must fail; return what it printed on stderr, on one line."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 1
    return " ".join(capsys.readouterr().err.split())


def test_folder_applies_exif_skips_corrupt_and_never_overwrites(workdir, capsys):
    source = workdir / "photos"
    photo(source / "a.jpg", 1)
    photo(source / "nested" / "b.png", 2)
    photo(source / "c.jpg", 3, orientation=6)
    (source / "broken.jpg").write_bytes(b"this is not a JPEG")
    existing = RAW_DIR / "photos" / "a.jpg"
    existing.parent.mkdir(parents=True)
    existing.write_bytes(b"collected earlier")

    err = fail(["collect", "folder", str(source), "--license-note", "own photos"], capsys)

    assert "broken.jpg" in err and "not a readable image" in err
    assert existing.read_bytes() == b"collected earlier"
    assert list_images() == ["photos/a-2.jpg", "photos/a.jpg", "photos/b.png", "photos/c.jpg"]
    assert Image.open(RAW_DIR / "photos" / "c.jpg").size == (48, 64)  # upright now
    rows = read_manifest()
    assert {rows[item]["license_note"] for item in rows} == {"own photos"}
    assert rows["photos/a-2.jpg"]["original_path"] == str((source / "a.jpg").resolve())

    fail(["collect", "folder", str(source)], capsys)  # broken.jpg is still there
    assert len(read_manifest()) == 3  # nothing collected twice


def test_empty_folder_is_a_clear_error(workdir, capsys):
    (workdir / "empty").mkdir()
    err = fail(["collect", "folder", "empty"], capsys)
    assert "holds no images" in err
    assert not RAW_DIR.exists()


def write_video(path: Path) -> None:
    """Ten frames at 10 fps: 4 sharp scenes, each shown twice, and 2 blurred frames."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (96, 64))
    assert writer.isOpened()
    rng = np.random.default_rng(0)
    for scene in range(4):
        frame = cv2.resize(rng.integers(0, 256, (16, 24, 3), dtype=np.uint8), (96, 64),
                           interpolation=cv2.INTER_NEAREST)  # sharp blocks: edges everywhere
        writer.write(frame)
        writer.write(frame)
        if scene < 2:
            writer.write(cv2.GaussianBlur(frame, (31, 31), 15))
    writer.release()


def test_video_keeps_sharp_distinct_frames_and_reports_a_bad_video(workdir, capsys):
    write_video(workdir / "clip.avi")
    (workdir / "broken.mp4").write_bytes(b"\x00" * 2048)
    err = fail(["collect", "video", "broken.mp4", "clip.avi", "--fps", "10"], capsys)
    assert "broken.mp4: cannot decode this video" in err
    assert "kept 4 of 10 sampled frames (2 blurred, 4 near-duplicates dropped)" in err
    rows = read_manifest()
    assert len(rows) == 4
    assert {row["group"] for row in rows.values()} == {"video:clip.avi"}


def test_paste_objects_measures_exact_boxes():
    square = Image.new("RGBA", (40, 30), (255, 0, 0, 255))
    settings = PasteSettings(objects=(3, 3), scale=(0.3, 0.5), rotation=40, brightness=(1, 1),
                             occlusion=1.0)
    image, objects = paste_objects(Image.new("RGB", (128, 128)), [Cutout(square, "red")],
                                   settings, random.Random(0))
    assert objects
    visible = np.array(image)[..., 0] > 0  # any red pixel is a pasted object
    for _, (x0, y0, x1, y1) in objects:
        inside = visible[y0:y1, x0:x1]
        # Every edge of a box touches the object: the box is tight on all four sides.
        assert inside[0].any() and inside[-1].any() and inside[:, 0].any() and inside[:, -1].any()
    union = np.zeros_like(visible)
    for _, (x0, y0, x1, y1) in objects:
        union[y0:y1, x0:x1] = True
    assert not (visible & ~union).any()  # no object pixel outside every box


def test_synth_makes_labeled_images_and_lists_bad_cutouts(workdir, capsys):
    classes = load_params()["classes"]
    cutout = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    cutout.paste((200, 30, 30, 255), (8, 8, 32, 32))
    (workdir / "cutouts" / classes[0]).mkdir(parents=True)
    cutout.save(workdir / "cutouts" / classes[0] / "good.png")
    (workdir / "cutouts" / "unknown-class").mkdir()
    cutout.save(workdir / "cutouts" / "unknown-class" / "other.png")
    photo(workdir / "cutouts" / classes[0] / "opaque.png", 5)  # no transparency
    photo(workdir / "backgrounds" / "table.jpg", 6, (200, 150))
    err = fail(["collect", "synth", "--smoke", "--cutouts", "cutouts", "--backgrounds",
                "backgrounds"], capsys)
    assert "'unknown-class' is not one of the classes" in err
    assert "opaque.png: no transparent background" in err
    images = list_images()
    assert len(images) == 8
    assert {row["group"] for row in read_manifest().values()} == {"synth:table.jpg"}
    # collect.objects may start at 0 (empty tables as negatives): then an image may have no box.
    fewest = min(load_params()["collect"]["objects"][0], 1)
    for item in images:
        boxes = read_boxes(box_file(item), len(classes))
        assert len(boxes) >= fewest and all(box_problem(box) is None for box in boxes)
