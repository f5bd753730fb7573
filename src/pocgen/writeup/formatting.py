"""Small formatting helpers shared by the writeup, its extra outputs and the check.

One place decides how a metric, a count or a duration reads, so the README, the resume bullets and
the model card never show the same number two different ways.
"""

from __future__ import annotations

from typing import Any

METRIC_NAMES = {
    "accuracy": "accuracy",
    "macro_f1": "macro-F1",
    "map50": "mAP@0.5",
    "map50_95": "mAP@0.5:0.95",
    "precision": "precision",
    "recall": "recall",
    "f1": "F1",
    "ap50": "AP@0.5",
    "support": "support",
    "kappa": "Cohen's kappa",
    "mean_iou": "mean box IoU",
    "f1_50": "F1 at IoU 0.5",
    "class_recall": "recall of the target class",
    "recall_at_precision": "recall at fixed precision",
    "all_found_rate": "share of images with every object found",
    "exact_scene_rate": "share of images read exactly (all found, no false alarm)",
}


def metric_name(key: str) -> str:
    return METRIC_NAMES.get(key, key.replace("_", " "))


def number(value: Any) -> str:
    """Scores in 0..1 with three decimals, counts with thousands separators, the rest as given."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 10:
            return f"{int(value):,}"
        return f"{value:.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


def ms(value: float) -> str:
    """Latency reads in tenths of a millisecond; more digits would be noise."""
    return f"{float(value):.1f} ms"


def article(word: str) -> str:
    """'a' or 'an' before a word, as in 'an image classification model'."""
    return "an" if word[:1].lower() in "aeio" else "a"


def upper_first(text: str) -> str:
    """Capitalise only the first letter: str.capitalize() would lowercase 'I' and class names."""
    return text[:1].upper() + text[1:]


def duration(seconds: float) -> str:
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def missing(what: str, command: str) -> str:
    """The one sentence a section shows instead of a number it does not have."""
    return f"_{what}: run `{command}`._"
