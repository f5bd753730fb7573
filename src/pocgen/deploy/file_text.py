"""Every piece of text a file carries, for the secret scan: what a text scanner never reads.

A token can ride to a public Space in places a line-by-line scan of UTF-8 text does not look:
- text that is not UTF-8 (a CSV saved from Excel in cp1252, a latin-1 Python file);
- an ONNX model's `metadata_props`, doc strings and names (strings inside its protobuf);
- an image's metadata: PNG `tEXt`/`zTXt`/`iTXt` chunks, EXIF (JPEG, PNG, WebP), XMP, comments;
- a JSON string written with escapes (`"\\u0068f_..."`), a notebook's output images, an image
  embedded in Markdown or HTML as a `data:` URI;
- any other binary file: its printable runs, as `strings` would show them.

`pieces(path)` returns them all. The ONNX protobuf is read without the onnx package: every
length-delimited field is tried as text and as a nested message, which finds every string the
format holds (names, doc strings, metadata, string tensors) whatever its schema version.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Tried in order: cp1252 covers Windows-made text, latin-1 decodes any byte.
TEXT_ENCODINGS = ("utf-8", "cp1252", "latin-1")
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF8", b"II*\0", b"MM\0*")
# Printable ASCII (and tab) kept, every other byte made 0: runs of 8 or more are the strings.
PRINTABLE = bytes(byte if 0x20 <= byte <= 0x7E or byte == 9 else 0 for byte in range(256))
RUN = re.compile(rb"[^\x00]{8,}")
ZERO_TO_MASK = bytes(0xFF if byte == 0 else 0 for byte in range(256))
DATA_URI = re.compile(r"data:image/[a-z+.-]+;base64,([A-Za-z0-9+/=\s]{16,})")
PROTOBUF_DEPTH = 16
# EXIF sub-folders of tags Pillow reads on request: Exif, GPS, Interoperability.
GPS_IFD = 0x8825
EXIF_IFDS = (0x8769, GPS_IFD, 0xA005)


@dataclass(frozen=True)
class Piece:
    """Text found in a file. `place` is None for the file's own text, whose line numbers are
    the file's; otherwise it says where in the file the text was (`EXIF UserComment`)."""

    place: str | None
    text: str


def decode(data: bytes) -> str:
    """Bytes as text, whatever the encoding (latin-1 reads any byte)."""
    for encoding in TEXT_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte")


def is_binary(data: bytes) -> bool:
    return b"\0" in data[:8192]


def pieces(path: Path) -> list[Piece]:
    """All the text `path` carries, its own text first."""
    data = path.read_bytes()
    if data.startswith(IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return image_pieces(data, "")
    if path.suffix == ".onnx":
        return [Piece(f"ONNX {place}", text) for place, text in protobuf_strings(data)]
    if is_binary(data):
        return list(printable_runs(data))
    text = decode(data)
    found = [Piece(None, text)]
    if path.suffix in (".json", ".ipynb"):
        found += json_pieces(text)
    found += data_uri_pieces(text)
    return found


def _runs(data: bytes) -> Iterator[str]:
    for match in RUN.finditer(data.translate(PRINTABLE)):
        yield match.group().decode("ascii")


def printable_runs(data: bytes, place: str = "bytes") -> Iterator[Piece]:
    """Runs of printable characters, ASCII and UTF-16, as `strings` finds them. UTF-16 text is a
    printable byte followed by a zero: at each alignment, the bytes whose follower is zero are
    kept (one AND of two big integers) and searched like ASCII."""
    for text in _runs(data):
        yield Piece(place, text)
    for start in (0, 1):
        chars, followers = data[start::2], data[start + 1 :: 2]
        size = min(len(chars), len(followers))
        mask = int.from_bytes(followers[:size].translate(ZERO_TO_MASK), "big")
        kept = (int.from_bytes(chars[:size], "big") & mask).to_bytes(size, "big")
        for text in _runs(kept):
            yield Piece(place, text)


def _text(value: Any) -> str | None:
    """A metadata value as text: bytes decoded (UTF-8, UTF-16 for Windows' XP tags, an EXIF
    UserComment's 8-byte charset header dropped), numbers and tuples of numbers skipped."""
    if isinstance(value, str):
        return value
    if not isinstance(value, bytes | bytearray):
        return None
    raw = bytes(value)
    if raw[:8] in (b"ASCII\0\0\0", b"UNICODE\0", b"JIS\0\0\0\0\0", b"\0" * 8):
        body = raw[8:]
        return body.decode("utf-16-le" if raw.startswith(b"UNICODE") else "latin-1", "replace")
    if raw.count(b"\0") > len(raw) // 4 and len(raw) % 2 == 0:
        return raw.decode("utf-16-le", "replace")
    return decode(raw)


def image_pieces(data: bytes, where: str) -> list[Piece]:
    """The text of an image's metadata: info entries (PNG text chunks, XMP, comments), every
    EXIF tag with text in it (the GPS folder too); `strings` of the file when Pillow cannot read
    it."""
    from PIL import Image, UnidentifiedImageError
    from PIL.ExifTags import GPSTAGS, TAGS

    prefix = f"{where} " if where else ""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            found = [
                Piece(f"{prefix}{image.format} {key}", text)
                for key, value in image.info.items()
                if key not in ("exif", "icc_profile") and (text := _text(value))
            ]
            exif = image.getexif()
            for tags, names in [(exif, TAGS)] + list(_exif_folders(exif, TAGS, GPSTAGS)):
                for tag, value in tags.items():
                    text = _text(value)
                    if text:
                        found.append(Piece(f"{prefix}EXIF {names.get(tag, hex(tag))}", text))
            return found
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError):
        return list(printable_runs(data, f"{prefix}bytes"))


def _exif_folders(exif: Any, tags: dict, gps_tags: dict) -> Iterator[tuple[dict, dict]]:
    """The EXIF sub-folders an image has, each with its tag names (Pillow raises KeyError for
    an Interoperability folder the Exif folder does not point to)."""
    for ifd in EXIF_IFDS:
        try:
            folder = exif.get_ifd(ifd)
        except KeyError:
            continue
        yield folder, gps_tags if ifd == GPS_IFD else tags


def _varint(data: memoryview, position: int) -> tuple[int, int] | None:
    value = shift = 0
    while position < len(data) and shift < 64:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7
    return None


def _as_text(payload: memoryview) -> str | None:
    """A length-delimited field that is text: UTF-8 without control characters."""
    try:
        text = str(payload, "utf-8")
    except UnicodeDecodeError:
        return None
    if not text or any(ord(char) < 32 and char not in "\t\n\r" for char in text):
        return None
    return text


def _message(data: memoryview, path: str, depth: int) -> list[tuple[str, str]] | None:
    """The text fields of a protobuf message as (field path, text), or None when `data` does
    not parse as one to its end."""
    found: list[tuple[str, str]] = []
    position = 0
    while position < len(data):
        key = _varint(data, position)
        if key is None or key[0] >> 3 == 0:
            return None
        (number, wire), position = divmod(key[0], 8), key[1]
        field = f"{path}.{number}" if path else str(number)
        if wire == 0:
            skipped = _varint(data, position)
            if skipped is None:
                return None
            position = skipped[1]
        elif wire in (1, 5):
            position += 8 if wire == 1 else 4
        elif wire == 2:
            length = _varint(data, position)
            if length is None or length[1] + length[0] > len(data):
                return None
            payload = data[length[1] : length[1] + length[0]]
            position = length[1] + length[0]
            text = _as_text(payload)
            if text is not None:
                found.append((field, text))
            if depth < PROTOBUF_DEPTH and len(payload) > 1:
                found += _message(payload, field, depth + 1) or []
        else:
            return None
    return found if position == len(data) else None


# Where the fields of an ONNX ModelProto hold what a user would recognise.
ONNX_PLACES = {"14": "metadata_props", "6": "doc_string", "2": "producer_name", "7": "graph"}


def protobuf_strings(data: bytes) -> list[tuple[str, str]]:
    """Every string in a protobuf file (an ONNX model), named by where it sits; the printable
    runs of the file when it is not protobuf."""
    found = _message(memoryview(data), "", 0)
    if found is None:
        return [(piece.place or "bytes", piece.text) for piece in printable_runs(data)]
    return [
        (f"{ONNX_PLACES.get(field.split('.')[0], 'field')} {field}", text) for field, text in found
    ]


def _json_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)


def json_pieces(text: str) -> list[Piece]:
    """JSON strings as their values (escapes undone) where the raw text does not hold them as
    they are, and a notebook's output images."""
    try:
        document = json.loads(text)
    except ValueError:
        return []
    found = [Piece("JSON string", value) for value in _json_strings(document) if value not in text]
    cells = document.get("cells", []) if isinstance(document, dict) else []
    for number, cell in enumerate(cells if isinstance(cells, list) else [], start=1):
        outputs = cell.get("outputs", []) if isinstance(cell, dict) else []
        for output in outputs if isinstance(outputs, list) else []:
            bundle = output.get("data", {}) if isinstance(output, dict) else {}
            for mime, encoded in bundle.items() if isinstance(bundle, dict) else []:
                if mime.startswith("image/") and isinstance(encoded, str | list):
                    found += _base64_image("".join(encoded), f"cell {number} output image")
    return found


def _base64_image(encoded: str, where: str) -> list[Piece]:
    try:
        data = base64.b64decode(re.sub(r"\s", "", encoded), validate=True)
    except (binascii.Error, ValueError):
        return []
    return image_pieces(data, where)


def data_uri_pieces(text: str) -> list[Piece]:
    """Images embedded in Markdown or HTML as `data:image/...;base64,` URIs."""
    found = []
    for number, match in enumerate(DATA_URI.finditer(text), start=1):
        found += _base64_image(match.group(1), f"embedded image {number}")
    return found
