"""`collect`: a bad input gets a clear message, the rest is still collected, nothing overwritten.

The photos are real ones that scikit-learn ships (china.jpg and flower.jpg), resized and turned
into what phones and editors produce: EXIF-rotated, 16-bit, transparent, palette, CMYK.
"""

import random
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_sample_image

from surgical_tool_detector import collect_images
from surgical_tool_detector.cli import main
from surgical_tool_detector.config import RAW_DIR, load_params
from surgical_tool_detector.dataset import (
    box_file,
    box_problem,
    list_images,
    read_boxes,
    read_manifest,
)
from surgical_tool_detector.synth import Cutout, PasteSettings, paste_objects


def photo(path: Path, seed: int, size: tuple[int, int] = (64, 48), orientation: int = 1):
    """A small random photo (noise is sharp, and never a near-duplicate of another seed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = orientation  # EXIF "Orientation"; 6 means "turn 90 degrees clockwise to view"
    image.save(path, exif=exif)


def real_photo(name: str = "china.jpg", size: tuple[int, int] = (96, 64)) -> Image.Image:
    """A real photograph shipped with scikit-learn, resized."""
    return Image.fromarray(load_sample_image(name)).resize(size)


def recorded_files_match_manifest() -> None:
    """Nothing half-written: every file in data/raw has a manifest row, and every row a file."""
    assert set(list_images()) == set(read_manifest())


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


def test_odd_files_are_each_listed_and_a_rerun_adds_no_copies(
    workdir, capsys, monkeypatch, decompression_bomb
):
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # as without the optional extra
    source = workdir / "phone"
    source.mkdir()
    real_photo().save(source / "good.jpg")
    real_photo("flower.jpg").save(source / "Strand Café ö.jpg")  # spaces and non-ASCII
    real_photo("flower.jpg", (64, 96)).save(source / "scan.v2.png")  # a dot in the stem
    data = (source / "good.jpg").read_bytes()
    (source / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (source / "empty.png").write_bytes(b"")
    (source / "IMG_0001.heic").write_bytes(b"not a HEIC at all")
    shutil.copy(decompression_bomb, source / "huge.png")
    (source / "notes.txt").write_text("not a photo")

    err = fail(["collect", "folder", "phone"], capsys)

    assert "truncated.jpg: not a readable image" in err
    assert "empty.png: not a readable image" in err
    assert "IMG_0001.heic: a HEIC/HEIF photo, which needs the optional pillow-heif" in err
    assert "pip install -e '.[heic]'" in err
    assert "huge.png: too large to open safely" in err
    assert "notes.txt: not an image file" in err
    assert "4 problem(s) with inputs" in err  # notes.txt is listed, not an error
    assert sorted(list_images()) == [
        "phone/Strand Café ö.jpg",
        "phone/good.jpg",
        "phone/scan.v2.png",
    ]
    recorded_files_match_manifest()

    for name in ("truncated.jpg", "empty.png", "IMG_0001.heic", "huge.png"):
        (source / name).unlink()
    main(["collect", "folder", "phone"])  # the fixed folder: nothing new, nothing copied twice
    assert "3 file(s) were collected before" in capsys.readouterr().err
    assert len(read_manifest()) == 3
    recorded_files_match_manifest()


def test_an_interrupted_run_keeps_what_it_finished_and_a_rerun_completes_it(
    workdir, capsys, monkeypatch
):
    for seed in range(4):
        photo(workdir / "photos" / f"p{seed}.jpg", seed)
    opened = []
    real_open = collect_images.open_image

    def open_then_interrupt(path):
        opened.append(path)
        if len(opened) == 3:
            raise KeyboardInterrupt
        return real_open(path)

    monkeypatch.setattr(collect_images, "open_image", open_then_interrupt)
    with pytest.raises(SystemExit) as exit_info:
        main(["collect", "folder", "photos"])
    assert exit_info.value.code == 130
    assert list_images() == ["photos/p0.jpg", "photos/p1.jpg"]
    recorded_files_match_manifest()

    monkeypatch.setattr(collect_images, "open_image", real_open)
    main(["collect", "folder", "photos"])
    assert list_images() == [f"photos/p{seed}.jpg" for seed in range(4)]  # no copies
    recorded_files_match_manifest()


def test_a_killed_run_is_finished_by_the_next(workdir, capsys):
    """Killed between recording an item and renaming its file into place, and while writing
    the next one: the rerun finishes the first and removes the second."""
    for seed in range(3):
        photo(workdir / "photos" / f"p{seed}.jpg", seed)
    main(["collect", "folder", "photos"])
    recorded = RAW_DIR / "photos" / "p0.jpg"
    recorded.rename(recorded.with_name("p0.jpg.partial"))
    (RAW_DIR / "photos" / "p9.jpg.partial").write_bytes(b"half a file")
    main(["collect", "folder", "photos"])
    assert list_images() == ["photos/p0.jpg", "photos/p1.jpg", "photos/p2.jpg"]
    assert sorted(path.name for path in (RAW_DIR / "photos").iterdir()) == [
        "p0.jpg",
        "p1.jpg",
        "p2.jpg",
    ]
    recorded_files_match_manifest()


def test_a_moved_or_renamed_photo_is_the_same_item_and_a_deleted_one_goes_on_request(
    workdir, capsys
):
    for seed in range(3):
        photo(workdir / "photos" / f"p{seed}.jpg", seed)
    main(["collect", "folder", "photos"])
    hashes = {item: row["content_hash"] for item, row in read_manifest().items()}
    (workdir / "photos" / "p0.jpg").rename(workdir / "photos" / "renamed.jpg")
    (workdir / "photos" / "p1.jpg").unlink()
    main(["collect", "folder", "photos"])
    err = " ".join(capsys.readouterr().err.split())
    assert "1 photo(s) collected before were moved or renamed" in err
    assert "1 photo(s) collected from photos before are no longer in it" in err
    assert "pass --prune" in err
    rows = read_manifest()
    assert {item: row["content_hash"] for item, row in rows.items()} == hashes  # no copy
    assert rows["photos/p0.jpg"]["original_path"].endswith("renamed.jpg")
    main(["collect", "folder", "photos", "--prune"])
    assert list_images() == ["photos/p0.jpg", "photos/p2.jpg"]
    recorded_files_match_manifest()


def test_images_are_normalised_once_and_the_manifest_says_how(workdir, capsys):
    source = workdir / "edited"
    source.mkdir()
    gray = np.asarray(real_photo().convert("L"))
    Image.fromarray(gray.astype(np.uint16) * 257).save(source / "sixteen.png")  # 16-bit
    rgba = real_photo().convert("RGBA")
    hidden = np.array(rgba)
    hidden[:, :48] = (255, 0, 0, 0)  # red pixels under full transparency: must not show
    Image.fromarray(hidden).save(source / "cutout.png")
    real_photo().convert("CMYK").save(source / "print.jpg")
    paletted = real_photo("flower.jpg").convert("P", palette=Image.Palette.ADAPTIVE)
    paletted.save(source / "palette.png", transparency=0)
    rotated = real_photo()
    exif = rotated.getexif()
    exif[0x0112] = 6
    rotated.save(source / "sideways.jpg", exif=exif)

    main(["collect", "folder", "edited"])

    rows = read_manifest()
    for item in rows:
        assert Image.open(RAW_DIR / item).mode == "RGB"
    sixteen = np.asarray(Image.open(RAW_DIR / "edited/sixteen.png"))
    assert abs(sixteen.mean() - gray.mean()) < 1  # scaled, not clipped to white
    assert (np.asarray(Image.open(RAW_DIR / "edited/cutout.png"))[:, :48] == 255).all()
    assert Image.open(RAW_DIR / "edited/sideways.jpg").size == (64, 96)
    assert rows["edited/sixteen.png"]["normalised"] == "16-bit scaled to 8-bit"
    assert rows["edited/cutout.png"]["normalised"] == "transparency flattened onto white"
    assert rows["edited/print.jpg"]["normalised"] == "CMYK converted to RGB"
    assert "palette converted to RGB" in rows["edited/palette.png"]["normalised"]
    assert rows["edited/sideways.jpg"]["normalised"] == "EXIF rotation applied"
    assert "5 image(s) normalised to 8-bit sRGB" in capsys.readouterr().err


def dated_photo(path: Path, seed: int, taken: str) -> None:
    """A photo whose EXIF says when it was taken ("YYYY:MM:DD HH:MM:SS")."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(np.random.default_rng(seed).integers(0, 256, (48, 64, 3), np.uint8))
    exif = image.getexif()
    exif.get_ifd(0x8769)[0x9003] = taken  # Exif IFD, DateTimeOriginal
    image.save(path, exif=exif)


def test_group_by_date_joins_bursts_and_subfolder_joins_crops(workdir):
    dated_photo(workdir / "trip" / "a.jpg", 1, "2025:06:01 10:00:00")
    dated_photo(workdir / "trip" / "b.jpg", 2, "2025:06:01 10:00:03")  # same burst
    dated_photo(workdir / "trip" / "c.jpg", 3, "2025:06:01 11:00:00")
    photo(workdir / "trip" / "undated.jpg", 4)
    main(["collect", "folder", "trip"])
    groups = {item: row["group"] for item, row in read_manifest().items()}
    assert groups["trip/a.jpg"] == groups["trip/b.jpg"] == "burst:trip/a.jpg"
    assert groups["trip/c.jpg"] == "burst:trip/c.jpg"
    assert groups["trip/undated.jpg"] == "trip/undated.jpg"

    photo(workdir / "crops" / "bench" / "left.jpg", 5)
    photo(workdir / "crops" / "bench" / "right.jpg", 6)
    photo(workdir / "crops" / "single.jpg", 7)
    main(["collect", "folder", "crops", "--group-by", "subfolder"])
    groups = {item: row["group"] for item, row in read_manifest().items()}
    assert groups["crops/left.jpg"] == groups["crops/right.jpg"] == "folder:crops/bench"
    assert groups["crops/single.jpg"] == "crops/single.jpg"


def test_reset_asks_for_yes_then_deletes_only_what_collect_made(workdir, capsys):
    photo(workdir / "photos" / "a.jpg", 1)
    main(["collect", "folder", "photos"])
    err = fail(["collect", "--reset"], capsys)  # no terminal to ask on: --yes is required
    assert "pass --yes to confirm" in err
    assert list_images() == ["photos/a.jpg"]
    main(["collect", "--reset", "--yes"])
    assert "1 collected item(s) deleted" in capsys.readouterr().err
    assert list_images() == [] and read_manifest() == {}
    assert (workdir / "photos" / "a.jpg").exists()  # the user's own file stays


def write_video(path: Path) -> None:
    """Ten frames at 10 fps: 4 sharp scenes, each shown twice, and 2 blurred frames."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (96, 64))
    assert writer.isOpened()
    rng = np.random.default_rng(0)
    for scene in range(4):
        frame = cv2.resize(
            rng.integers(0, 256, (16, 24, 3), dtype=np.uint8),
            (96, 64),
            interpolation=cv2.INTER_NEAREST,
        )  # sharp blocks: edges everywhere
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
    assert "kept 4 of 10 sampled frames (2 blurred, 4 near-duplicates dropped" in err
    rows = read_manifest()
    assert len(rows) == 4
    assert {row["group"] for row in rows.values()} == {"video:clip.avi"}
    main(["collect", "video", "clip.avi", "--fps", "10"])  # a rerun adds no second copy
    assert "clip.avi was collected before: 4 of its frames" in capsys.readouterr().err
    assert len(read_manifest()) == 4


def test_a_low_texture_video_keeps_its_frames(workdir, capsys):
    """A plain scene is never as sharp as a busy one: blur is judged against the clip itself."""
    writer = cv2.VideoWriter(
        str(workdir / "table.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (96, 64)
    )
    rng = np.random.default_rng(0)
    for scene in range(6):
        frame = np.full((64, 96, 3), 200, np.uint8)
        x = 8 + scene * 12
        frame[20:44, x : x + 10] = rng.integers(60, 120)  # a faint object moving along
        writer.write(frame)
    writer.release()
    main(["collect", "video", "table.avi", "--fps", "10"])
    err = " ".join(capsys.readouterr().err.split())
    assert "kept 0 of" not in err
    assert len(read_manifest()) >= 3


def test_paste_objects_measures_exact_boxes():
    square = Image.new("RGBA", (40, 30), (255, 0, 0, 255))
    settings = PasteSettings(
        objects=(3, 3), scale=(0.3, 0.5), rotation=40, brightness=(1, 1), occlusion=1.0
    )
    image, objects = paste_objects(
        Image.new("RGB", (128, 128)), [Cutout(square, "red")], settings, random.Random(0)
    )
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
    err = fail(
        ["collect", "synth", "--smoke", "--cutouts", "cutouts", "--backgrounds", "backgrounds"],
        capsys,
    )
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
