"""Bring your own data into data/raw and record where every item came from.

Three sources, one subcommand each:

    # images, any depth, EXIF rotation applied
    python -m surgical_tool_detector collect folder PHOTOS/
    # sharp, distinct frames of a video
    python -m surgical_tool_detector collect video CLIP.mp4 --fps 2
    # cut-outs pasted onto background photos, with their boxes
    python -m surgical_tool_detector collect synth --cutouts CUTOUTS/ \\
        --backgrounds BACKGROUNDS/ --count 300

Every item gets a row in data/manifest.csv: its source, its group (items of one group always land
in the same split, so near-copies cannot leak from train into test), when it was collected, the
original path, and your licence or consent note. Collecting never overwrites anything: files
that are already in data/raw are skipped, and new names are made unique.
"""

from __future__ import annotations

import argparse
import itertools
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import imagehash
import numpy as np
from PIL import Image, ImageEnhance, ImageOps
from rich.console import Console
from rich.progress import track

from .config import BOX_LABELS_DIR, MANIFEST_FILE, RAW_DIR, StageError, load_params
from .dataset import (
    IMAGE_SUFFIXES,
    MANIFEST_COLUMNS,
    Box,
    append_csv,
    box_file,
    is_sample_data,
    list_images,
    now,
    read_manifest,
    write_boxes,
)

console = Console(stderr=True)


# ----------------------------------------------------------------------------------------------
# Names: every item in data/raw has a unique file stem, because its labels are found by stem
# (data/labels/<stem>.txt, the Label Studio task name). A clash gets a counter, never a swap.


def taken_stems() -> set[str]:
    """The file stems already used in data/raw."""
    return {Path(item).stem for item in list_images()}


def unique_stem(stem: str, taken: set[str]) -> str:
    """`stem`, or `stem-2`, `stem-3`... the first one not in `taken` (which it then joins)."""
    candidate, counter = stem, 1
    while candidate in taken:
        counter += 1
        candidate = f"{stem}-{counter}"
    taken.add(candidate)
    return candidate


# ----------------------------------------------------------------------------------------------
# Source 1: a folder of images.


def collect_folder(
    folder: Path,
    license_note: str,
    problems: list[str],
) -> int:
    """Copy every image under `folder` into data/raw/<folder name>/ and record it.

    Files are copied byte for byte, except photos whose EXIF tag says "rotate me": those are
    rotated once here, so every later stage (and every labeler) sees them the right way up.
    Unreadable files are listed in `problems` and skipped; the rest are still collected.
    """
    if not folder.is_dir():
        raise StageError(f"{folder} is not a folder: pass the folder that holds your images.")
    files = sorted(
        path for path in folder.rglob("*")
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES
    )
    if not files:
        raise StageError(
            f"{folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))}): check the path."
        )
    already = {row["original_path"] for row in read_manifest().values()}
    taken = taken_stems()
    target = RAW_DIR / folder.resolve().name
    manifest_rows: list[dict[str, str]] = []
    skipped = 0
    for path in track(files, description=f"collect {folder}", console=console):
        original = str(path.resolve())
        if original in already:
            skipped += 1
            continue
        try:
            with Image.open(path) as image:
                rotated = image.getexif().get(0x0112, 1) != 1  # 0x0112 is EXIF "Orientation"
                upright = ImageOps.exif_transpose(image)  # also decodes, so corrupt files fail here
        except (OSError, SyntaxError, ValueError) as error:
            problems.append(f"{path}: not a readable image ({error})")
            continue
        destination = target / f"{unique_stem(path.stem, taken)}{path.suffix.lower()}"
        destination.parent.mkdir(parents=True, exist_ok=True)
        if rotated:  # saved without the EXIF tag, so no viewer rotates it a second time
            upright.save(destination, quality=95)
        else:
            shutil.copyfile(path, destination)
        item = destination.relative_to(RAW_DIR).as_posix()
        manifest_rows.append(
            {
                "item": item,
                "source": "folder",
                "group": item,
                "collected_at": now(),
                "original_path": original,
                "license_note": license_note,
            }
        )
    append_csv(MANIFEST_FILE, MANIFEST_COLUMNS, manifest_rows)
    if skipped:
        console.print(f"{skipped} file(s) were collected before and were skipped.")
    return len(manifest_rows)


# ----------------------------------------------------------------------------------------------
# Source 2: frames of a video.


def collect_video(
    video: Path,
    fps: float,
    blur_threshold: float,
    duplicate_distance: int,
    license_note: str,
) -> int:
    """Save about `fps` frames per second of `video`, dropping blurred and repeated frames.

    Neighbouring frames are nearly identical, so a video gives far fewer real examples than it
    has frames. Blur is measured as the variance of the Laplacian (edges make it large; motion
    blur and defocus make it small). A repeat is a frame whose perceptual hash is within
    `duplicate_distance` bits of a frame already kept. All frames share the video's group,
    so one video never feeds both train and test. Raises ValueError if no frame decodes.
    """
    capture = cv2.VideoCapture(str(video))
    try:
        if not capture.isOpened():
            raise ValueError("OpenCV cannot open it as a video")
        native_fps = capture.get(cv2.CAP_PROP_FPS) or 30.0  # some containers do not say
        step = max(1, round(native_fps / fps))
        total = max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT))) or None  # 0: unknown
        taken = taken_stems()
        target = RAW_DIR / video.stem
        group = f"video:{video.name}"
        kept_hashes: list[imagehash.ImageHash] = []
        rows, decoded, blurred, repeated = [], 0, 0, 0
        frames = itertools.count()  # the frame count in a header is a hint, not a promise
        for index in track(frames, description=video.name, total=total, console=console):
            if index % step:  # grab() skips a frame without decoding its pixels: much faster
                if not capture.grab():
                    break
                continue
            ok, frame = capture.read()
            if not ok:
                break
            decoded += 1
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            if cv2.Laplacian(gray, cv2.CV_64F).var() < blur_threshold:
                blurred += 1
                continue
            image = Image.fromarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            frame_hash = imagehash.phash(image)
            if any(frame_hash - kept <= duplicate_distance for kept in kept_hashes):
                repeated += 1
                continue
            kept_hashes.append(frame_hash)
            destination = target / f"{unique_stem(f'{video.stem}-{index:06d}', taken)}.jpg"
            destination.parent.mkdir(parents=True, exist_ok=True)
            image.save(destination, quality=95)
            rows.append(
                {
                    "item": destination.relative_to(RAW_DIR).as_posix(),
                    "source": "video",
                    "group": group,
                    "collected_at": now(),
                    "original_path": f"{video.resolve()}#frame={index}",
                    "license_note": license_note,
                }
            )
    finally:
        capture.release()
    if decoded == 0:
        raise ValueError("no frame could be decoded")
    append_csv(MANIFEST_FILE, MANIFEST_COLUMNS, rows)
    console.print(
        f"{video.name}: kept {len(rows)} of {decoded} sampled frames "
        f"({blurred} blurred, {repeated} near-duplicates dropped)"
    )
    return len(rows)


# ----------------------------------------------------------------------------------------------
# Source 3: the cut-and-paste synthesizer (Dwibedi et al., "Cut, Paste and Learn", 2017).
# A few photos of each object with the background removed, pasted at random onto background
# photos, give many labeled images whose boxes are known exactly. `sample` uses it too.


@dataclass(frozen=True)
class Cutout:
    """An object with a transparent background (an RGBA image) and the class it shows."""

    image: Image.Image
    label: str


@dataclass(frozen=True)
class PasteSettings:
    """How much each pasted object varies; wider ranges make a model that generalises more."""

    objects: tuple[int, int]  # fewest and most objects per image
    scale: tuple[float, float]  # object's longer side, as a fraction of the image's shorter side
    rotation: float  # largest rotation either way, in degrees
    brightness: tuple[float, float]  # brightness factor range (1 = unchanged)
    occlusion: float  # chance that a patch of background hides part of an object


def transform_cutout(
    cutout: Image.Image, canvas: tuple[int, int], settings: PasteSettings, rng: random.Random
) -> Image.Image:
    """A randomly flipped, scaled, rotated and brightened copy of an RGBA cut-out.

    The alpha channel is made hard (0 or 255) at the end, so that every pixel is either object
    or background: that is what lets `paste_objects` measure each box exactly.
    """
    image = cutout.convert("RGBA")
    if rng.random() < 0.5:
        image = ImageOps.mirror(image)
    side = rng.uniform(*settings.scale) * min(canvas)
    factor = side / max(image.size)
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    image = image.resize(size, Image.Resampling.BILINEAR)
    # "RGBa" is premultiplied alpha: rotating in it keeps transparent pixels from darkening edges.
    angle = rng.uniform(-settings.rotation, settings.rotation)
    image = image.convert("RGBa").rotate(angle, Image.Resampling.BICUBIC, expand=True)
    image = image.convert("RGBA")
    image.thumbnail(canvas)  # a rotated object can grow past the canvas: shrink it back
    rgb = ImageEnhance.Brightness(image.convert("RGB")).enhance(rng.uniform(*settings.brightness))
    alpha = image.getchannel("A").point(lambda value: 255 if value >= 128 else 0)
    rgb.putalpha(alpha)
    # An object scaled to a few pixels can vanish in rotation: it becomes an empty 1-pixel
    # image, which `paste_objects` then leaves out of the labels.
    return rgb.crop(alpha.getbbox() or (0, 0, 1, 1))


def overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection of two boxes as a fraction of the smaller one (0 = apart, 1 = inside)."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return width * height / smaller


def paste_objects(
    background: Image.Image,
    cutouts: list[Cutout],
    settings: PasteSettings,
    rng: random.Random,
) -> tuple[Image.Image, list[tuple[str, tuple[int, int, int, int]]]]:
    """Paste random cut-outs onto `background`; return the image and (label, box) per object.

    An `owner` map records which object each pixel shows. Pasting a later object or an occluding
    patch over an earlier one overwrites its pixels there, so each box is measured from the
    pixels that are still visible: tight and exact, whatever the overlaps. Objects are placed
    where they overlap others by at most a quarter, so none is hidden completely.
    """
    background = background.convert("RGB")
    canvas = background.copy()
    width, height = canvas.size
    owner = np.zeros((height, width), dtype=np.int32)  # 0 = background, k = k-th pasted object
    labels: dict[int, str] = {}
    placed: list[tuple[int, int, int, int]] = []
    for index in range(1, rng.randint(*settings.objects) + 1):
        cutout = rng.choice(cutouts)
        image = transform_cutout(cutout.image, (width, height), settings, rng)
        for _ in range(30):  # a few tries to find a free enough spot
            x, y = rng.randint(0, width - image.width), rng.randint(0, height - image.height)
            box = (x, y, x + image.width, y + image.height)
            if all(overlap(box, other) <= 0.25 for other in placed):
                break
        else:
            continue  # the image is too crowded: this object is left out, not squeezed in
        mask = np.array(image.getchannel("A")) > 0
        canvas.paste(image, (x, y), image)
        owner[y : y + image.height, x : x + image.width][mask] = index
        labels[index] = cutout.label
        placed.append(box)
        if rng.random() < settings.occlusion:
            occlude(canvas, background, owner, box, rng)
    boxes = []
    for index, label in labels.items():
        ys, xs = np.nonzero(owner == index)
        if len(xs):
            corners = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
            boxes.append((label, corners))
    return canvas, boxes


def occlude(
    canvas: Image.Image,
    background: Image.Image,
    owner: np.ndarray,
    box: tuple[int, int, int, int],
    rng: random.Random,
) -> None:
    """Hide part of an object under a patch of background taken from elsewhere, so the model
    learns objects that are partly covered. The patch spans at most a third of the box."""
    x0, y0, x1, y1 = box
    patch_w = max(1, round((x1 - x0) * rng.uniform(0.15, 0.35)))
    patch_h = max(1, round((y1 - y0) * rng.uniform(0.15, 0.35)))
    px, py = rng.randint(x0, x1 - patch_w), rng.randint(y0, y1 - patch_h)
    sx = rng.randint(0, canvas.width - patch_w)
    sy = rng.randint(0, canvas.height - patch_h)
    canvas.paste(background.crop((sx, sy, sx + patch_w, sy + patch_h)), (px, py))
    owner[py : py + patch_h, px : px + patch_w] = 0  # these pixels now show background


def paste_settings(params: dict) -> PasteSettings:
    """The synthesizer's settings from the `collect` section of params.yaml."""
    settings = params["collect"]
    return PasteSettings(
        objects=(settings["objects"][0], settings["objects"][1]),
        scale=(settings["scale"][0], settings["scale"][1]),
        rotation=settings["rotation"],
        brightness=(settings["brightness"][0], settings["brightness"][1]),
        occlusion=settings["occlusion"],
    )


def load_cutouts(folder: Path, classes: list[str], problems: list[str]) -> list[Cutout]:
    """Cut-outs from CUTOUTS/<class>/*.png; files without transparency are listed and skipped."""
    cutouts = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        label = path.relative_to(folder).parts[0]
        if label not in classes:
            problems.append(f"{path}: folder '{label}' is not one of the classes {classes}")
            continue
        try:
            with Image.open(path) as image:
                rgba = image.convert("RGBA")
        except (OSError, SyntaxError, ValueError) as error:
            problems.append(f"{path}: not a readable image ({error})")
            continue
        if rgba.getchannel("A").getextrema()[0] == 255:
            problems.append(f"{path}: no transparent background; cut the object out (PNG + alpha)")
            continue
        cutouts.append(Cutout(rgba, label))
    return cutouts


def random_crop(photo: Image.Image, size: int, rng: random.Random) -> Image.Image:
    """A random square crop of a background photo, resized to `size` pixels."""
    side = round(min(photo.size) * rng.uniform(0.6, 1.0))
    x, y = rng.randint(0, photo.width - side), rng.randint(0, photo.height - side)
    return photo.crop((x, y, x + side, y + side)).resize((size, size), Image.Resampling.BILINEAR)


def collect_synth(
    cutout_folder: Path,
    background_folder: Path,
    count: int,
    size: int,
    settings: PasteSettings,
    classes: list[str],
    seed: int,
    license_note: str,
    problems: list[str],
) -> int:
    """Make `count` labeled images by pasting cut-outs onto crops of background photos.

    Boxes go to data/labels/<stem>.txt.
    The group of an image is its background photo, so one background never appears in both
    train and test.
    """
    for folder in (cutout_folder, background_folder):
        if not folder.is_dir():
            raise StageError(f"{folder} is not a folder of images: check the path.")
    cutouts = load_cutouts(cutout_folder, classes, problems)
    if not cutouts:
        raise StageError(
            f"no usable cut-outs in {cutout_folder}: put PNGs with transparency in "
            f"{cutout_folder}/<class>/ for classes {classes}."
        )
    backgrounds = []
    for path in sorted(background_folder.rglob("*")):
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            try:
                with Image.open(path) as image:
                    backgrounds.append((path, ImageOps.exif_transpose(image).convert("RGB")))
            except (OSError, SyntaxError, ValueError) as error:
                problems.append(f"{path}: not a readable image ({error})")
    if not backgrounds:
        raise StageError(f"no readable background photos in {background_folder}.")
    rng = random.Random(seed)
    taken = taken_stems()
    manifest_rows = []
    for _ in track(range(count), description="synthesize", console=console):
        path, photo = rng.choice(backgrounds)
        image, objects = paste_objects(random_crop(photo, size, rng), cutouts, settings, rng)
        destination = RAW_DIR / "synth" / f"{unique_stem('synth', taken)}.jpg"
        destination.parent.mkdir(parents=True, exist_ok=True)
        image.save(destination, quality=95)
        item = destination.relative_to(RAW_DIR).as_posix()
        boxes = [Box.from_pixels(classes.index(label), box, size, size) for label, box in objects]
        write_boxes(box_file(item), boxes)
        manifest_rows.append(
            {
                "item": item,
                "source": "synth",
                "group": f"synth:{path.name}",
                "collected_at": now(),
                "original_path": str(path.resolve()),
                "license_note": license_note,
            }
        )
    append_csv(MANIFEST_FILE, MANIFEST_COLUMNS, manifest_rows)
    console.print(f"boxes written to {BOX_LABELS_DIR}/")
    return len(manifest_rows)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Options every source accepts; they go after the source: `collect folder X --license-note Y`.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--license-note", default="",
                        help="where the data comes from and what you may do with it "
                        "(e.g. 'own photos', 'CC-BY 4.0, Jane Doe', 'consent form 2025-03')")
    common.add_argument("--smoke", action="store_true",
                        help="tiny run for tests: synth makes 8 images (the other "
                        "sources copy what you give them)")
    sources = parser.add_subparsers(dest="source", required=True, metavar="SOURCE")
    folder = sources.add_parser("folder", parents=[common], help="images from a folder (any depth)")
    folder.add_argument("path", type=Path, help="folder of images (searched at any depth)")
    video = sources.add_parser("video", parents=[common], help="sharp, distinct video frames")
    video.add_argument("paths", type=Path, nargs="+", help="video files (anything OpenCV reads)")
    video.add_argument("--fps", type=float, help="frames per second to keep (params: collect.fps)")
    synth = sources.add_parser("synth", parents=[common], help="paste cut-outs onto backgrounds")
    synth.add_argument("--cutouts", type=Path, required=True,
                       help="folder with one subfolder per class of PNG cut-outs with transparency")
    synth.add_argument("--backgrounds", type=Path, required=True, help="folder of photos")
    synth.add_argument("--count", type=int, help="images to make (params: collect.synth_count)")
    synth.add_argument("--seed", type=int, help="random seed (params: seed)")


def run(args: argparse.Namespace) -> None:
    params = load_params()
    classes: list[str] = params["classes"]
    problems: list[str] = []
    settings = params["collect"]
    if args.source == "folder":
        count = collect_folder(
            args.path,
            args.license_note,
            problems,
        )
    elif args.source == "video":
        count = 0
        for path in args.paths:
            try:
                count += collect_video(
                    path,
                    args.fps or settings["fps"],
                    settings["blur_threshold"],
                    settings["duplicate_distance"],
                    args.license_note,
                )
            except ValueError as error:
                problems.append(f"{path}: cannot decode this video ({error}); convert it with "
                                f"`ffmpeg -i {path} {path.stem}-fixed.mp4` and retry")
    else:
        count = collect_synth(
            args.cutouts,
            args.backgrounds,
            8 if args.smoke else args.count or settings["synth_count"],
            settings["synth_size"],
            paste_settings(params),
            classes,
            params["seed"] if args.seed is None else args.seed,
            args.license_note,
            problems,
        )
    console.print(f"collected {count} item(s) into {RAW_DIR}/ (recorded in {MANIFEST_FILE})")
    if is_sample_data(read_manifest()):
        console.print(
            "[yellow]note:[/] data/raw still holds the built-in sample; remove it with "
            "`python -m surgical_tool_detector sample --remove` before you train on your own "
            "data."
        )
    for problem in problems:
        console.print(f"[red]problem:[/] {problem}")
    if problems:
        raise StageError(
            f"{len(problems)} problem(s), listed above; everything else was collected. "
            "Fix or remove those inputs and rerun: items already collected are skipped."
        )
