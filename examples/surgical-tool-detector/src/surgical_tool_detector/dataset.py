"""Read and write the dataset layout that every stage shares (see data/README.md).

The layout is plain files on purpose: CSV, JSON lines and text files open in any editor and any
tool, so you can always check by hand what a stage wrote. This module is the only place that
knows the column names, so the stages, the labeling tool and the notebooks cannot disagree.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .config import (
    BOX_LABELS_DIR,
    MANIFEST_FILE,
    RAW_DIR,
    SPLITS_DIR,
    StageError,
)

# `normalised`: what `collect` changed in an image to make it 8-bit sRGB. `content_hash`: the
# SHA-256 of the file it was collected from (for a video frame, the video's, with the frame
# number), so a photo moved or renamed in your folder is recognised as the same item.
MANIFEST_COLUMNS = [
    "item",
    "source",
    "group",
    "collected_at",
    "original_path",
    "license_note",
    "normalised",
    "content_hash",
]
# Formats Pillow reads out of the box; anything else in data/raw is ignored, not guessed at.
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
SAMPLE_SOURCE = "sample"  # manifest `source` of the generated sample data


def now() -> str:
    """The current UTC time as ISO 8601, the format of every timestamp in the data files."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def to_cell(value: object) -> str:
    """A value as a CSV cell that a spreadsheet shows as text.

    Excel and LibreOffice run a cell starting with = + - @ (or a tab or carriage return) as a
    formula, and file names, ids and texts come from your data. Such a cell, and one starting
    with an apostrophe, is written with an apostrophe in front, which spreadsheets show as text;
    `from_cell` removes it again, so every stage reads back exactly what was written.
    """
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(("=", "+", "-", "@", "\t", "\r", "'")) else text


def from_cell(text: str | None) -> str | None:
    """A CSV cell as written by `to_cell`, back to its value."""
    return text[1:] if text and text.startswith("'") else text


def read_csv(path: Path) -> list[dict[str, str]]:
    """All rows of a CSV file as dicts; a missing file is simply no rows yet."""
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [{key: from_cell(value) for key, value in row.items()} for row in rows]


def write_rows(writer: csv.DictWriter, rows: list[dict[str, str]]) -> None:
    writer.writerows({key: to_cell(value) for key, value in row.items()} for row in rows)


def write_csv(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    """Write rows with a header, replacing the file (used for files a stage owns completely).

    The rows go to a temporary file that then replaces the old one, so an interrupted write
    leaves the old file whole.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        write_rows(writer, rows)
    partial.replace(path)


def append_csv(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    """Add rows at the end, writing the header first if the file is new.

    Appending, never rewriting, is what keeps collected records safe when a stage runs again.
    Rows follow the file's own header, so a column the file has and `columns` lacks stays empty.
    """
    is_new = not path.exists()
    if not is_new:  # a file written before a column was added gets the column, empty
        with path.open(newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), [])
        if missing := [column for column in columns if column not in header]:
            write_csv(path, header + missing, read_csv(path))
        columns = header + missing
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        if is_new:
            writer.writeheader()
        write_rows(writer, rows)


def read_manifest() -> dict[str, dict[str, str]]:
    """item -> its manifest row (source, group, collected_at, original_path, license_note)."""
    return {row["item"]: row for row in read_csv(MANIFEST_FILE)}


def update_manifest(changes: dict[str, dict[str, str]]) -> None:
    """Change some columns of some items' manifest rows (item -> {column: value}), in one write."""
    if not changes:
        return
    rows = read_csv(MANIFEST_FILE)
    columns = list(dict.fromkeys([*(rows[0] if rows else []), *MANIFEST_COLUMNS]))
    write_csv(MANIFEST_FILE, columns, [{**row, **changes.get(row["item"], {})} for row in rows])


def file_hash(path: Path) -> str:
    """The SHA-256 of a file: the same photo has the same hash, whatever its name or folder."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def group_of(item: str, manifest: dict[str, dict[str, str]]) -> str:
    """The item's group; an item without one (e.g. copied in by hand) is a group of its own."""
    row = manifest.get(item)
    return row["group"] if row and row.get("group") else item


def is_sample_data(manifest: dict[str, dict[str, str]]) -> bool:
    """True when any item is the generated sample, so reports never pass it off as real data."""
    return any(row.get("source") == SAMPLE_SOURCE for row in manifest.values())


def smoke_slice(rows: list[dict[str, str]], count: int, key: str = "label") -> list[dict[str, str]]:
    """About `count` rows for a --smoke run, one of each `key` (class) in turn, so that no class
    is left out (a smoke run missing a small class would fail for that reason alone). There are
    always enough rows for every class to appear once."""
    by_class: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_class.setdefault(row.get(key, ""), []).append(row)
    rounds = itertools.zip_longest(*by_class.values())
    taken = [row for group in rounds for row in group if row is not None]
    return taken[: max(count, len(by_class))]


def read_split(name: str) -> list[dict[str, str]]:
    """The rows of data/splits/<name>.csv (train, val or test), as `split` wrote them.

    A missing split is an error that says which stage makes it: training on nothing is never
    what anyone meant.
    """
    path = SPLITS_DIR / f"{name}.csv"
    if not path.exists():
        command = "python -m surgical_tool_detector split"
        raise StageError(f"{path} not found: run `{command}` first.")
    return read_csv(path)


def list_images() -> list[str]:
    """Every image in data/raw (any depth) as a path relative to it, sorted so runs repeat."""
    if not RAW_DIR.exists():
        return []
    return sorted(
        path.relative_to(RAW_DIR).as_posix()
        for path in RAW_DIR.rglob("*")
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES
    )


def delete_items(items: set[str]) -> None:
    """Remove items from data/: their manifest rows and labels first, then their files.

    In that order an interrupted run leaves no row pointing at a missing file. `collect --reset`
    and `sample --remove` both end here, so they always delete the same things.
    """
    manifest = read_csv(MANIFEST_FILE)
    columns = list(manifest[0]) if manifest else MANIFEST_COLUMNS
    write_csv(MANIFEST_FILE, columns, [row for row in manifest if row["item"] not in items])
    for item in items:
        (RAW_DIR / item).unlink(missing_ok=True)
        box_file(item).unlink(missing_ok=True)


@dataclass(frozen=True)
class Box:
    """One YOLO box: class index and centre/size as fractions of the image width and height."""

    class_id: int
    cx: float
    cy: float
    w: float
    h: float

    def to_pixels(self, width: int, height: int) -> tuple[float, float, float, float]:
        """Corners (x0, y0, x1, y1) in pixels, the format the models and metrics use."""
        return (
            (self.cx - self.w / 2) * width,
            (self.cy - self.h / 2) * height,
            (self.cx + self.w / 2) * width,
            (self.cy + self.h / 2) * height,
        )

    @classmethod
    def from_pixels(
        cls, class_id: int, corners: tuple[float, float, float, float], width: int, height: int
    ) -> Box:
        """The YOLO box of pixel corners (x0, y0, x1, y1) in an image of the given size."""
        x0, y0, x1, y1 = corners
        cx, cy = (x0 + x1) / 2 / width, (y0 + y1) / 2 / height
        return cls(class_id, cx, cy, (x1 - x0) / width, (y1 - y0) / height)


def box_file(item: str) -> Path:
    """Where the boxes of an image live: data/labels/<stem>.txt (stems are unique in data/raw)."""
    return BOX_LABELS_DIR / f"{Path(item).stem}.txt"


def read_boxes(path: Path, num_classes: int) -> list[Box]:
    """The boxes in one YOLO label file; an empty file means an image with no objects.

    Raises ValueError naming the line when a line is malformed or its class id is not one of
    `classes`, because a wrong class id would silently teach the model the wrong thing.
    """
    boxes = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split()
        try:
            class_id, numbers = int(fields[0]), [float(value) for value in fields[1:]]
        except (ValueError, IndexError):
            raise ValueError(f"{path} line {number}: expected 'class_id cx cy w h'") from None
        if len(numbers) != 4:
            raise ValueError(f"{path} line {number}: expected 'class_id cx cy w h'")
        if not 0 <= class_id < num_classes:
            raise ValueError(
                f"{path} line {number}: class id {class_id} is not one of the "
                f"{num_classes} classes in params.yaml"
            )
        boxes.append(Box(class_id, *numbers))
    return boxes


def read_boxes_or_fail(path: str | Path, num_classes: int) -> list[Box]:
    """The boxes of one image of a split, or a StageError naming the file and the fix."""
    try:
        return read_boxes(Path(path), num_classes)
    except (OSError, ValueError) as error:
        raise StageError(f"{error}; fix the label file and run `split` again.") from error


def write_boxes(path: Path, boxes: list[Box]) -> None:
    """Write one YOLO label file (an empty file records that the image has no objects)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{b.class_id} {b.cx:.6f} {b.cy:.6f} {b.w:.6f} {b.h:.6f}\n" for b in boxes]
    path.write_text("".join(lines), encoding="utf-8")


def box_problem(box: Box) -> str | None:
    """Why a box cannot be trained on (zero area, or reaching outside the image), or None."""
    if box.w <= 0 or box.h <= 0:
        return "zero area"
    tolerance = 1e-3  # rounding in label tools puts edges a hair outside 0..1
    x0, y0, x1, y1 = box.cx - box.w / 2, box.cy - box.h / 2, box.cx + box.w / 2, box.cy + box.h / 2
    if x0 < -tolerance or y0 < -tolerance or x1 > 1 + tolerance or y1 > 1 + tolerance:
        return "outside the image"
    return None
