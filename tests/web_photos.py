"""Photos that are hard to read alike, and files the demos must refuse, made with Pillow.

Phones and cameras save photos with colour profiles (Display P3, Adobe RGB), EXIF rotation, 16
bits per channel, or in grayscale; a browser and Pillow must turn each into the same upright 8-bit
sRGB pixels. Pillow cannot write an Adobe RGB or Display P3 profile itself, so `icc_profile`
builds each from its published primaries: a small matrix-and-curve ICC file that LittleCMS (in
Pillow) and skcms (in Chromium) both read.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

D50 = (0.9642, 1.0, 0.8249)  # the white point every ICC profile is written against


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))  # ICC's s15Fixed16 numbers


def _tag(kind: bytes, body: bytes) -> bytes:
    return kind + b"\0" * 4 + body


def _gamma(value: float) -> bytes:
    return _tag(b"curv", struct.pack(">IH", 1, round(value * 256)) + b"\0\0")


def _srgb_curve() -> bytes:
    """The sRGB tone curve as an ICC parametric curve (type 3), as Display P3 uses it."""
    params = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
    return _tag(b"para", struct.pack(">HH", 3, 0) + b"".join(_s15(p) for p in params))


def icc_profile(name: str, primaries: tuple[tuple[float, ...], ...], curve: bytes) -> bytes:
    """An RGB display profile: red, green and blue in XYZ (D50), one tone curve for all three."""
    ascii_name = name.encode("ascii") + b"\0"
    description = struct.pack(">I", len(ascii_name)) + ascii_name + b"\0" * 11 + b"\0" * 67
    tags = [
        (b"desc", _tag(b"desc", description)),
        (b"cprt", _tag(b"text", b"No copyright, test profile\0")),
        (b"wtpt", _tag(b"XYZ ", b"".join(_s15(v) for v in D50))),
        *[
            (kind, _tag(b"XYZ ", b"".join(_s15(v) for v in xyz)))
            for kind, xyz in zip((b"rXYZ", b"gXYZ", b"bXYZ"), primaries, strict=True)
        ],
        *[(kind, curve) for kind in (b"rTRC", b"gTRC", b"bTRC")],
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for kind, body in tags:
        data += b"\0" * (-(offset + len(data)) % 4)  # tags start on 4-byte boundaries
        table += kind + struct.pack(">II", offset + len(data), len(body))
        data += body
    header = (
        struct.pack(">I", offset + len(data))
        + b"\0" * 4
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2026, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\0" * 24
        + struct.pack(">I", 0)
        + b"".join(_s15(v) for v in D50)
        + b"\0" * 48
    )
    return header + struct.pack(">I", len(tags)) + table + data


# Published primaries, adapted to D50 as ICC profiles store them.
ADOBE_RGB = icc_profile(
    "Adobe RGB (1998), test copy",
    ((0.60974, 0.31111, 0.01947), (0.20528, 0.62567, 0.06087), (0.14919, 0.06322, 0.74457)),
    _gamma(563 / 256),
)
DISPLAY_P3 = icc_profile(
    "Display P3, test copy",
    (
        (0.515102, 0.241182, -0.001050),
        (0.291965, 0.692236, 0.041882),
        (0.157153, 0.066581, 0.784378),
    ),
    _srgb_curve(),
)


def in_profile(photo: Image.Image, profile: bytes) -> Image.Image:
    """The photo's colours re-encoded in another profile, as a camera set to it would save them."""
    target = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    return ImageCms.profileToProfile(photo, ImageCms.createProfile("sRGB"), target)


def exif(orientation: int) -> bytes:
    tags = Image.Exif()
    tags[0x0112] = orientation
    return tags.tobytes()


# How a camera stores an upright photo for each EXIF orientation: the inverse of the turn the
# viewer applies (ImageOps.exif_transpose undoes it).
STORED = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
}


def png_16_bit_rgb(photo: Image.Image, noise: np.ndarray) -> bytes:
    """A 16-bit RGB PNG (Pillow writes none): each 8-bit value times 257, plus low-byte noise."""
    wide = (np.asarray(photo, dtype=np.uint32) * 257 + noise).clip(0, 65535).astype(">u2")
    height, width = wide.shape[:2]
    rows = b"".join(b"\0" + wide[y].tobytes() for y in range(height))

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def hard_photos(sources: list[Path], folder: Path) -> list[Path]:
    """Real photos saved the ways that are hard to read alike; each upright photo is a source."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    first, second, third = (Image.open(path).convert("RGB") for path in sources[:3])
    # Not square, so a photo left on its side also shows in its width and height.
    wide = [
        photo.crop((0, 0, photo.width, photo.height * 3 // 4)) for photo in (first, second, third)
    ]
    written: dict[str, bytes | tuple[Image.Image, dict]] = {
        "adobe-rgb.jpg": (in_profile(first, ADOBE_RGB), {"quality": 95, "icc_profile": ADOBE_RGB}),
        "display-p3.png": (in_profile(second, DISPLAY_P3), {"icc_profile": DISPLAY_P3}),
        "display-p3.webp": (
            in_profile(third, DISPLAY_P3),
            {"lossless": True, "icc_profile": DISPLAY_P3},
        ),
        "turned-6.webp": (wide[0].transpose(STORED[6]), {"quality": 90, "exif": exif(6)}),
        "turned-3.webp": (wide[1].transpose(STORED[3]), {"lossless": True, "exif": exif(3)}),
        "turned-8.webp": (wide[2].transpose(STORED[8]), {"lossless": True, "exif": exif(8)}),
        "mirrored-2.webp": (wide[0].transpose(STORED[2]), {"lossless": True, "exif": exif(2)}),
        "turned-8.jpg": (wide[1].transpose(STORED[8]), {"quality": 95, "exif": exif(8)}),
        "grayscale.jpg": (third.convert("L"), {"quality": 95}),
        "16-bit-rgb.png": png_16_bit_rgb(first, rng.integers(0, 257, (*first.size[::-1], 3))),
        "palette.gif": (second, {}),
        "photo.bmp": (third, {}),
    }
    gray = np.asarray(second.convert("L"), dtype=np.uint32) * 257 + rng.integers(0, 257)
    written["16-bit-gray.png"] = (Image.fromarray(gray.astype(np.uint16)), {})
    see_through = first.convert("RGBA")
    see_through.putalpha(
        Image.linear_gradient("L").resize(first.size).point(lambda v: 255 * (v > 64))
    )
    written["transparent.png"] = (see_through, {})
    paths = []
    for name, content in written.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            image, options = content
            image.save(path, **options)
        paths.append(path)
    return paths


def oversized(folder: Path) -> list[Path]:
    """Real files of each accepted format above the demos' 40-megapixel cap, a few KB to MB each:
    a page that decodes before it checks would take gigabytes for them."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "huge.png": (Image.new("1", (12_000, 9_000)), {"optimize": True}),  # 108 megapixels
        "huge.jpg": (Image.new("L", (9_000, 5_000), 128), {"quality": 50}),
        "huge.webp": (Image.new("L", (10_000, 5_000), 128), {"lossless": True, "method": 0}),
        "huge-lossy.webp": (Image.new("RGB", (9_000, 5_000)), {"quality": 10, "method": 0}),
        "huge.gif": (Image.new("P", (9_000, 5_000)), {}),
        "huge.bmp": (Image.new("1", (8_000, 6_000)), {}),
    }
    paths = []
    for name, (image, options) in files.items():
        image.save(folder / name, **options)
        paths.append(folder / name)
    return paths
