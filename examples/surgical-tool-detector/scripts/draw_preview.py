"""Keep a small, committed preview of the synthetic data: 8 test images and their true boxes.

The data itself is not committed (data/ is gitignored: 2,000 images, ~95 MB). A visitor still
wants to see what the model was trained on, and the example's tests want a real image to run the
committed model on, so this script copies 8 images of the test split (one of them an empty table)
with their YOLO label files to docs/preview/, and draws them with their boxes in one sheet,
docs/preview/boxes.jpg.

Run after `split`: python scripts/draw_preview.py
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import yaml
from PIL import Image, ImageDraw

PREVIEW = Path("docs/preview")
COUNT = 8
TILE = 256  # pixels per image in the sheet
COLOURS = ["#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231"]


def read_boxes(path: Path) -> list[tuple[int, float, float, float, float]]:
    """YOLO lines `class cx cy w h`; an empty file is an empty table."""
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return [(int(r[0]), float(r[1]), float(r[2]), float(r[3]), float(r[4])) for r in rows]


def pick(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The first empty table and the first images with objects, in split order: stable runs."""
    empty = [row for row in rows if not read_boxes(Path(row["annotation"]))]
    full = [row for row in rows if read_boxes(Path(row["annotation"]))]
    return empty[:1] + full[: COUNT - len(empty[:1])]


def main() -> None:
    classes = yaml.safe_load(Path("params.yaml").read_text())["classes"]
    with open("data/splits/test.csv", newline="") as handle:
        chosen = pick(list(csv.DictReader(handle)))
    if PREVIEW.exists():
        shutil.rmtree(PREVIEW)
    (PREVIEW / "images").mkdir(parents=True)
    (PREVIEW / "labels").mkdir()
    sheet = Image.new("RGB", (TILE * 4, TILE * 2), "white")
    for index, row in enumerate(chosen):
        image_path, label_path = Path(row["path"]), Path(row["annotation"])
        shutil.copy(label_path, PREVIEW / "labels" / label_path.name)
        with Image.open(image_path) as image:
            image.convert("RGB").save(PREVIEW / "images" / f"{image_path.stem}.jpg", quality=85)
            tile = image.convert("RGB").resize((TILE, TILE))
        draw = ImageDraw.Draw(tile)
        for class_id, cx, cy, w, h in read_boxes(label_path):
            x0, y0 = (cx - w / 2) * TILE, (cy - h / 2) * TILE
            colour = COLOURS[class_id % len(COLOURS)]
            draw.rectangle((x0, y0, x0 + w * TILE, y0 + h * TILE), outline=colour, width=2)
            draw.text((x0 + 3, y0 + 2), classes[class_id], fill=colour)
        if not read_boxes(label_path):
            draw.text((6, 6), "empty table (negative)", fill="white")
        sheet.paste(tile, ((index % 4) * TILE, (index // 4) * TILE))
    sheet.save(PREVIEW / "boxes.jpg", quality=85)
    print(f"{len(chosen)} test images with their boxes in {PREVIEW}/ (sheet: {PREVIEW}/boxes.jpg)")


if __name__ == "__main__":
    main()
