"""Images that go public are re-encoded without their metadata.

A phone photo carries its maker, model, time and GPS position in EXIF, and editors add XMP, text
chunks and comments; a visitor of the Space needs none of it. Every raster image the build
copies (test-split examples, README figures, the web build's examples) is decoded and written
again in its own format with nothing but its pixels: turned upright first (the EXIF orientation
is applied, since the tag goes), transparency kept, everything else dropped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pocgen.errors import PocgenError

# Formats written again as they were, with the settings each needs to stay faithful.
SAVE_OPTIONS: dict[str, dict[str, Any]] = {
    "JPEG": {"quality": 95},
    "PNG": {},
    "WEBP": {"quality": 95},
    "GIF": {},
    "BMP": {},
    "TIFF": {},
}
# Image info that is part of the picture, not about it.
KEPT_INFO = ("transparency",)
RASTER_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}


def is_raster(name: str) -> bool:
    return Path(name).suffix.lower() in RASTER_SUFFIXES


def write_without_metadata(source: Path, destination: Path, shown: str) -> None:
    """Write `source`'s pixels to `destination` in the same format, with no EXIF, GPS, XMP,
    text chunk, comment or colour profile; one line when it is not an image pocgen can write."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(source) as image:
            kind = image.format or ""
            if kind not in SAVE_OPTIONS:
                raise PocgenError(
                    f"{shown} is a {kind or 'file of unknown'} image, which pocgen cannot write "
                    "again without its metadata; convert it to PNG or JPEG (written: "
                    f"{', '.join(SAVE_OPTIONS)})."
                )
            upright = ImageOps.exif_transpose(image)
            clean = upright.copy()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError) as error:
        raise PocgenError(
            f"{shown} is not an image pocgen can read ({error}); fix or remove it before it is "
            "shipped to the Space."
        ) from None
    clean.info = {key: value for key, value in upright.info.items() if key in KEPT_INFO}
    if kind == "JPEG" and clean.mode not in ("RGB", "L", "CMYK"):
        clean = clean.convert("RGB")
    destination.parent.mkdir(parents=True, exist_ok=True)
    clean.save(destination, format=kind, **SAVE_OPTIONS[kind])
