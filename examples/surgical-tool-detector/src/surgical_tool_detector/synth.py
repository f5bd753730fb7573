"""The cut-and-paste synthesizer (Dwibedi et al., "Cut, Paste and Learn", 2017).

A few photos of each object with the background removed, pasted at random onto background
photos, give many labeled images whose boxes are known exactly. `collect synth` runs it on your
cut-outs and backgrounds (`collect_synth`, at the end); `sample` runs it on generated shapes.
"""

from __future__ import annotations

import hashlib
import io
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps
from rich.console import Console
from rich.progress import track

from .collect_images import (
    PARTIAL,
    commit,
    known_items,
    manifest_row,
    photo_files,
    taken_stems,
    unique_stem,
)
from .config import BOX_LABELS_DIR, RAW_DIR, StageError
from .dataset import IMAGE_SUFFIXES, Box, box_file, write_boxes
from .images import MAX_PIXELS, ImageProblem, open_image, too_large

console = Console(stderr=True)


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


# ----------------------------------------------------------------------------------------------
# `collect synth`: the synthesizer on your own cut-outs and background photos.


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
                if image.width * image.height > MAX_PIXELS:
                    problems.append(f"{path}: {too_large(image.width, image.height)}")
                    continue
                rgba = image.convert("RGBA")
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
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
    for path in photo_files(background_folder)[0]:
        try:
            backgrounds.append((path, open_image(path).image))
        except ImageProblem as problem:
            problems.append(f"{path}: {problem}")
    if not backgrounds:
        raise StageError(f"no readable background photos in {background_folder}.")
    rng = random.Random(seed)
    collected = {row.get("content_hash") for row in known_items().values()}
    taken = taken_stems()
    written = repeated = 0
    for _ in track(range(count), description="synthesize", console=console):
        path, photo = rng.choice(backgrounds)
        image, objects = paste_objects(random_crop(photo, size, rng), cutouts, settings, rng)
        encoded = io.BytesIO()
        image.save(encoded, format="JPEG", quality=95)
        content_hash = hashlib.sha256(encoded.getvalue()).hexdigest()
        if content_hash in collected:  # the same seed makes the same images: made before
            repeated += 1
            continue
        collected.add(content_hash)
        destination = RAW_DIR / "synth" / f"{unique_stem('synth', taken)}.jpg"
        partial = destination.with_name(destination.name + PARTIAL)
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(encoded.getvalue())
        item = destination.relative_to(RAW_DIR).as_posix()
        row = manifest_row(
            item, "synth", f"synth:{path.name}", str(path.resolve()), license_note, [], content_hash
        )
        boxes = [Box.from_pixels(classes.index(label), box, size, size) for label, box in objects]
        write_boxes(box_file(item), boxes)  # first: a recorded item always has its boxes
        commit(partial, row)
        written += 1
    if repeated:
        console.print(f"{repeated} image(s) were made before (same seed): not added again")
    console.print(f"boxes written to {BOX_LABELS_DIR}/")
    return written
