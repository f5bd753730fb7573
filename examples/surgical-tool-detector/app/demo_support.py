"""What the demo apps share: the model, the example inputs, the input checks and the About text.

The Streamlit and Gradio apps differ only in their widgets. Everything that decides what a visitor
sees lives here, so the two demos cannot drift apart, and both show what `evaluate` measured:
predictions go through the same `Predictor` class as the project's `predict` and `evaluate` stages.

Paths are relative to the folder the app runs from. Locally that is the project root; on the
Hugging Face Space, `pocgen deploy` lays out the same paths (models/, reports/, data/splits/).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from surgical_tool_detector.images import normalise
from surgical_tool_detector.inference import Predictor

MODEL_FILE = Path("models/model.onnx")
LABELS_FILE = Path("models/labels.json")
METRICS_FILE = Path("reports/metrics.json")
TEST_SPLIT = Path("data/splits/test.csv")
DEFAULT_THRESHOLD = 0.5
EXAMPLE_COUNT = 4
# evaluate's metric keys that read badly as they are (others are shown unchanged).
METRIC_NAMES = {
    "map50": "mAP@0.5",
    "map50_95": "mAP@0.5:0.95",
    "all_found_rate": "images with all found",
    "exact_scene_rate": "images read exactly",
    "class_recall": "recall",
    "recall_at_precision": "recall at fixed precision",
}
# Limits that keep one visitor from stalling a small CPU Space: a 20 MB upload or a 40-megapixel
# photo takes seconds and hundreds of MB just to decode, and the model resizes it anyway. The
# static page (app/web/pixels.js) refuses at the same 20,000,000 bytes, so all demos agree.
MAX_UPLOAD_BYTES = 20_000_000
MAX_PIXELS = 40_000_000
# One colour per class, so the same class always gets the same box colour.
BOX_COLOURS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6"]


class DemoError(Exception):
    """Something the visitor (or the project's owner) can fix; the message is shown as it is."""


def read_about() -> dict[str, str]:
    """The project's title, problem and objective, as `export` copied them from params.yaml into
    models/labels.json (which a Space has too); empty until the first export."""
    about = {"title": "", "problem": "", "objective": ""}
    if LABELS_FILE.exists():
        about.update(json.loads(LABELS_FILE.read_text(encoding="utf-8")).get("about", {}))
    return about


ABOUT = read_about()


def load_predictor() -> Predictor:
    """Load the exported ONNX model once; the apps cache the result for every visitor."""
    if not MODEL_FILE.exists() or not LABELS_FILE.exists():
        raise DemoError(
            f"No exported model at {MODEL_FILE}: run `make pipeline` in the project root "
            "(or just its `export` stage), then start the demo again."
        )
    return Predictor(str(MODEL_FILE), str(LABELS_FILE))


def read_image(data: bytes) -> Image.Image:
    """Decode an upload into an upright RGB picture, or say in one sentence why it can't be used."""
    if not data:
        raise DemoError("The file is empty. Upload a JPEG, PNG or WebP photo.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise DemoError(
            f"The file is {len(data) / 1e6:.1f} MB; upload a photo under "
            f"{MAX_UPLOAD_BYTES / 1e6:.0f} MB."
        )
    try:
        # Image.open only reads the header, so the size check below costs nothing.
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise DemoError(_too_large_message()) from None
    except (UnidentifiedImageError, OSError):
        raise DemoError(
            "That file is not a picture this demo can read. Upload a JPEG, PNG or WebP photo."
        ) from None
    if image.width * image.height > MAX_PIXELS:
        raise DemoError(_too_large_message(image.width, image.height))
    try:
        # The rules collect applied to the training photos (EXIF rotation, 16-bit, colour
        # profile, transparency onto white), so the model sees uploads as it saw its data.
        return normalise(image).image
    except OSError:
        raise DemoError(
            "The picture is damaged or cut short. Try saving it again, or use another one."
        ) from None


def _too_large_message(width: int = 0, height: int = 0) -> str:
    size = f" is {width}x{height} pixels" if width else " is too large"
    return (
        f"The picture{size}; upload one under {MAX_PIXELS / 1e6:.0f} megapixels "
        "(a phone photo is about 12)."
    )


def draw_boxes(image: Image.Image, boxes: list[dict[str, Any]], classes: list[str]) -> Image.Image:
    """Draw each box with its label and score, the way detection results are usually shown."""
    canvas = image.copy()
    draw = ImageDraw.Draw(canvas)
    # Scale lines and text with the picture, so they stay readable on small and large photos.
    line = max(2, round(min(canvas.size) / 150))
    font = ImageFont.load_default(size=max(12, round(min(canvas.size) / 25)))
    for box in boxes:
        colour = BOX_COLOURS[classes.index(box["label"]) % len(BOX_COLOURS)]
        x0, y0, x1, y1 = box["box"]
        draw.rectangle((x0, y0, x1, y1), outline=colour, width=line)
        caption = f"{box['label']} {box['score']:.2f}"
        left, top, right, bottom = draw.textbbox((x0, y0), caption, font=font)
        # Put the caption above the box, or inside it when the box touches the top edge.
        shift = bottom - top + 2 * line if y0 - (bottom - top) - 2 * line >= 0 else 0
        draw.rectangle((left, top - shift, right + 2 * line, bottom - shift + line), fill=colour)
        draw.text((x0 + line, y0 - shift), caption, fill="white", font=font)
    return canvas


def score_rows(result: dict[str, Any]) -> list[tuple[str, float]]:
    """(label, score) pairs, one per detected box, highest first."""
    return [(box["label"], box["score"]) for box in result["boxes"]]


def summary(result: dict[str, Any], threshold: float) -> str:
    """The one sentence a visitor reads first, with what the threshold means for this result."""
    found = result["boxes"]
    if not found:
        return (
            f"Nothing found with confidence of at least {threshold:.2f}. "
            "Lower the threshold to see weaker guesses."
        )
    # Counted by class, most first ("3 scalpels, 1 clamp"), as the static page says it: fifty
    # weak boxes stay one readable line, and the table below keeps one row per box.
    counts = Counter(box["label"] for box in found).most_common()
    listed = ", ".join(counted(count, name) for name, count in counts)
    noun = "object" if len(found) == 1 else "objects"
    return f"Found {len(found)} {noun}: {listed}."


def counted(count: int, name: str) -> str:
    """'1 clamp', '2 clamps', '2 boxes', '2 batteries'; a name not ending in a letter is kept."""
    if count == 1:
        return f"1 {name}"
    if re.search(r"(s|x|z|ch|sh)$", name):
        return f"{count} {name}" + ("" if name.endswith("s") else "es")
    if re.search(r"[^aeiou]y$", name):
        return f"{count} {name[:-1]}ies"
    return f"{count} {name}s" if re.search(r"[a-z]$", name, re.IGNORECASE) else f"{count} {name}"


def examples() -> list[str]:
    """A few pictures from the test split, so visitors can try the model."""
    if not TEST_SPLIT.exists():
        return []
    with TEST_SPLIT.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if Path(row["path"]).exists()]
    return [row["path"] for row in rows[:EXAMPLE_COUNT]]


def writeup_link() -> str:
    """Markdown pointing at the writeup: the Space's README online, the local README otherwise."""
    space = os.environ.get("SPACE_ID")  # Hugging Face sets this inside every Space
    if space:
        return f"[Read the writeup](https://huggingface.co/spaces/{space}/blob/main/README.md)"
    return "The writeup is `README.md` in the project folder."


def metric_markdown(key: str) -> str:
    """A metric's name for the About panel's markdown.

    The @ is escaped: Markdown renderers turn an unescaped "mAP@0.5" into an email link.
    """
    return METRIC_NAMES.get(key, key).replace("@", "\\@")


def shown(value: float | None) -> str:
    """A metric to 3 decimals; 'n/a' where metrics.json has none (a class absent from the test)."""
    return "n/a" if value is None else f"{value:.3f}"


def data_caveat(metrics: dict[str, Any]) -> str | None:
    """What a visitor must know about the data behind the numbers (metrics.json's `smoke`,
    `sample_data` and `data_sources`, as evaluate wrote them); None for data you collected."""
    if metrics.get("smoke"):
        return "From a --smoke run on a few items: these numbers only show that the code runs."
    if metrics.get("sample_data"):
        return "Trained on the built-in sample data, not on real data yet."
    sources = metrics.get("data_sources", {})
    if sources.get("synth"):
        total = sum(sources.values())
        share = "All the" if sources["synth"] == total else f"{sources['synth']} of the {total}"
        return (
            f"{share} images were synthesized by cut-and-paste, not photographed: "
            "expect lower numbers on real photos."
        )
    return None


def about_markdown() -> str:
    """The About panel: the problem, the objective, the measured results and where to read more."""
    lines = [f"**Problem.** {ABOUT['problem']}", "", f"**Objective.** {ABOUT['objective']}", ""]
    if METRICS_FILE.exists():
        metrics = json.loads(METRICS_FILE.read_text(encoding="utf-8"))
        headline = metrics["headline"]
        name = metric_markdown(headline["metric"])
        if "class" in headline:
            name += f" of {headline['class']}"
        lines.append(f"**{name}** on the test split: **{shown(headline['value'])}**")
        if "ci95" in headline:
            # The interval says how far the number could move on another test set this size.
            low, high = (shown(bound) for bound in headline["ci95"])
            lines.append(f"(95% interval {low} to {high}, over {metrics['test_size']} test items)")
        baseline = metrics.get("baseline", {})
        if headline["metric"] in baseline.get("metrics", {}):
            value = baseline["metrics"][headline["metric"]]
            lines.append(f"(baseline, {baseline['name']}: {shown(value)})")
        lines.append("")
        others = [
            f"{metric_markdown(key)} {value:.3f}"
            for key, value in metrics["metrics"].items()
            if key != headline["metric"] and value is not None
        ]
        if others:
            lines += ["Also: " + ", ".join(others) + ".", ""]
        lines += [f"_Caution: {warning}._" for warning in metrics.get("warnings", [])]
        caveat = data_caveat(metrics)
        if caveat:
            lines += [f"_{caveat}_", ""]
    else:
        lines += ["_No metrics yet: run `python -m surgical_tool_detector evaluate`._", ""]
    lines.append(writeup_link())
    return "\n".join(lines)
