"""Open any photo safely and turn it into the one kind of image every stage expects: 8-bit sRGB.

Phones, scanners and editors save images in many forms that look alike in a viewer but not to a
model: sideways with an EXIF rotation tag, 16-bit, with transparency, as a palette, in CMYK, with
a colour profile. Converted naively, a 16-bit PNG turns mostly white and a transparent PNG shows
the pixels hidden under its alpha. `collect` normalises every image once, with the rules here, and
records what it did in data/manifest.csv; `predict` and the demos apply the same rules to what
they are given, so the model sees new pictures the way it saw its training data.

This module needs Pillow and numpy only (no torch), so every stage and app can import it.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps

# Formats Pillow reads out of the box, and the iPhone's HEIC/HEIF, which needs pillow-heif.
HEIF_SUFFIXES = {".heic", ".heif"}
# Pillow's own limit: a larger image is refused before it is decoded (a "decompression bomb": a
# small file that would take gigabytes of memory). 89 megapixels is far above any phone's photo.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485
BACKGROUND = (255, 255, 255)  # transparent pixels become white, as most viewers show them
EXIF_ORIENTATION, EXIF_IFD, EXIF_DATE_TAKEN, EXIF_DATE = 0x0112, 0x8769, 0x9003, 0x0132
SRGB = ImageCms.createProfile("sRGB")


class ImageProblem(ValueError):
    """A file that is not a usable image; the message says why and what to do."""


@dataclass(frozen=True)
class Normalised:
    """An 8-bit RGB image, what was changed to get it, and when the photo was taken (if known)."""

    image: Image.Image
    changes: list[str]
    taken_at: datetime | None


def heif_support() -> bool:
    """Teach Pillow to read HEIC/HEIF when the optional pillow-heif package is installed."""
    try:
        from pillow_heif import register_heif_opener  # type: ignore[import-not-found]
    except ImportError:
        return False
    register_heif_opener()
    return True


def to_8_bit(image: Image.Image) -> Image.Image:
    """16-bit and 32-bit single-channel images scaled to 0..255 (converting would clip at 255).

    16-bit data spans 0..65535, so dividing by 257 maps its full range onto 0..255. Floats in
    0..1 are scaled up; other float ranges are stretched to their own minimum and maximum.
    """
    pixels = np.asarray(image, dtype=np.float64)
    if image.mode == "F" and pixels.size and pixels.max() > 1:
        low, high = float(pixels.min()), float(pixels.max())
        pixels = (pixels - low) / ((high - low) or 1.0)
    scale = 255.0 if image.mode == "F" else 1 / 257
    return Image.fromarray(np.clip(pixels * scale, 0, 255).round().astype(np.uint8), "L")


def to_srgb(image: Image.Image, changes: list[str]) -> Image.Image:
    """The image in sRGB: an embedded colour profile (often Display P3 or CMYK) is applied."""
    profile = image.info.get("icc_profile")
    if profile and image.mode in {"RGB", "RGBA", "CMYK"}:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            name = ImageCms.getProfileDescription(source)
            if "srgb" not in name.lower():
                mode = "RGBA" if image.mode == "RGBA" else "RGB"
                image = ImageCms.profileToProfile(image, source, SRGB, outputMode=mode)
                changes.append(f"colour profile '{name.strip()}' converted to sRGB")
        except (ImageCms.PyCMSError, OSError):
            pass  # a broken profile: the pixels are used as they are, as most viewers do
    if image.mode == "CMYK":
        image = image.convert("RGB")
        changes.append("CMYK converted to RGB")
    return image


def flatten(image: Image.Image, changes: list[str]) -> Image.Image:
    """Any mode as RGB; transparency is painted onto BACKGROUND, never dropped to show what is
    underneath (transparent pixels often hold leftovers of an edit)."""
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        changes.append("palette converted to RGB")
    if image.mode in {"LA", "La", "PA", "RGBa"} or "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        alpha = image.getchannel("A")
        if alpha.getextrema()[0] < 255:
            changes.append("transparency flattened onto white")
        canvas = Image.new("RGB", image.size, BACKGROUND)
        canvas.paste(image, mask=alpha)
        return canvas
    return image.convert("RGB")


def taken_at(image: Image.Image) -> datetime | None:
    """When the photo was taken, from EXIF (DateTimeOriginal, else DateTime), or None."""
    exif = image.getexif()
    value = exif.get_ifd(EXIF_IFD).get(EXIF_DATE_TAKEN) or exif.get(EXIF_DATE)
    try:
        return datetime.strptime(str(value).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def normalise(image: Image.Image) -> Normalised:
    """The rules, in order: EXIF rotation, bit depth, colour profile, transparency, RGB."""
    changes: list[str] = []
    when = taken_at(image)
    if image.getexif().get(EXIF_ORIENTATION, 1) != 1:
        image = ImageOps.exif_transpose(image)
        changes.append("EXIF rotation applied")
    if image.mode in {"I", "F"} or image.mode.startswith("I;16"):
        changes.append(f"{'16' if image.mode.startswith('I;16') else '32'}-bit scaled to 8-bit")
        image = to_8_bit(image)
    image = flatten(to_srgb(image, changes), changes)
    return Normalised(image, changes, when)


def open_image(path: Path) -> Normalised:
    """Read `path` as a normalised 8-bit RGB image; raise ImageProblem saying why it cannot be.

    The pixel count is checked from the header, before any pixel is decoded, so a huge image
    costs nothing. `load()` decodes everything: a truncated file fails here, not in training.
    """
    if path.suffix.lower() in HEIF_SUFFIXES and not heif_support():
        raise ImageProblem(
            "a HEIC/HEIF photo, which needs the optional pillow-heif package: "
            "pip install -e '.[heic]' (or export it as JPEG)"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                pixels = image.width * image.height
                if pixels > MAX_PIXELS:
                    raise ImageProblem(too_large(image.width, image.height))
                image.load()
                return normalise(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageProblem(f"too large to open safely ({error}); shrink it") from None
    except (OSError, SyntaxError, ValueError) as error:
        if isinstance(error, ImageProblem):
            raise
        raise ImageProblem(f"not a readable image ({error or type(error).__name__})") from None


def too_large(width: int, height: int) -> str:
    """Why an image of this size is refused, and the fix."""
    return (
        f"too large: {width}x{height} pixels is more than the {MAX_PIXELS:,} this project "
        "opens (a decompression-bomb guard); shrink it, e.g. to 4000 pixels on the long side"
    )
