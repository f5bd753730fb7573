"""Check the data before training on it; write reports/data_quality.json and .md.

A model learns whatever is in the data, mistakes included, and a test set that shares
near-copies with the training set reports a score the model has not earned. So before any
training this stage looks for:

- files that cannot be read (listed and skipped, never a crash), and images too small to use;
- exact copies (same bytes) and near copies (perceptual hash within a few bits: resized,
  recompressed or slightly edited versions of one photo);
- labels that are not one of `classes`, and items with no label yet;
- boxes of zero area or reaching outside the image, and file names used twice (labels are
  found by file name, so two x.jpg would share one label file);
- class balance: a largest/smallest class ratio above `validate.max_imbalance`, classes with
  fewer than `validate.min_per_class` labeled items and images smaller than
  `validate.min_image_size` are warnings, printed with what they concern.

Blocking problems (something a later stage would have to skip, or would learn wrong) make
`--strict` exit non-zero, so CI can stop before training on bad data.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import imagehash
import numpy as np
from PIL import Image
from rich.console import Console
from rich.markup import escape
from rich.progress import track

from .config import QUALITY_FILE, RAW_DIR, StageError, load_params
from .dataset import (
    box_file,
    box_problem,
    group_of,
    is_sample_data,
    list_images,
    read_boxes,
    read_manifest,
)

console = Console(stderr=True)
SMOKE_ITEMS = 24  # --smoke checks only this many items
SHOWN = 20  # longest list per problem in the Markdown report (the JSON has them all)
ON_CONSOLE = 8  # items named per warning on the console


def clusters(items: Iterable[str], links: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Group items that are linked, directly or through others (connected components).

    A union-find: each item points towards a representative, and linking two items joins
    their representatives. `split` uses the same function to keep linked items together.
    """
    parent = {item: item for item in items}

    def root(item: str) -> str:
        while parent[item] != item:
            parent[item] = parent[parent[item]]  # path halving keeps the chains short
            item = parent[item]
        return item

    for a, b in links:
        parent[root(a)] = root(b)
    members: dict[str, list[str]] = defaultdict(list)
    for item in parent:
        members[root(item)].append(item)
    return sorted(sorted(group) for group in members.values())


def same_key_links(keys: dict[str, str]) -> list[tuple[str, str]]:
    """Links between items that share a key (a file hash, a group name): each to the first."""
    first: dict[str, str] = {}
    links = []
    for item, key in keys.items():
        if key in first:
            links.append((first[key], item))
        else:
            first[key] = item
    return links


# A lookup table of how many bits are set in each byte value: Hamming distances in numpy.
BITS_SET = np.array([bin(value).count("1") for value in range(256)], dtype=np.uint8)


@dataclass(frozen=True)
class Fingerprint:
    """What validate and split need from an image, read in one pass over the file."""

    sha256: str  # identical bytes = exact duplicate
    phash: np.ndarray  # 64-bit perceptual hash as 8 bytes: similar images, similar bits
    size: tuple[int, int]  # width, height


def fingerprint_images(items: list[str]) -> tuple[dict[str, Fingerprint], dict[str, str]]:
    """Read every image once; return fingerprints of the readable ones and why others failed.

    `image.load()` decodes the pixels: opening only reads the header, which a truncated file
    still has. Anything Pillow cannot decode is reported, never raised.
    """
    fingerprints, corrupt = {}, {}
    for item in track(items, description="read images", console=console):
        try:
            data = (RAW_DIR / item).read_bytes()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                phash = imagehash.phash(image)
                size = image.size
        except (OSError, SyntaxError, ValueError) as error:
            corrupt[item] = str(error) or type(error).__name__
            continue
        fingerprints[item] = Fingerprint(
            hashlib.sha256(data).hexdigest(), np.packbits(phash.hash.flatten()), size
        )
    return fingerprints, corrupt


def near_duplicate_links(
    fingerprints: dict[str, Fingerprint], max_distance: int
) -> list[tuple[str, str]]:
    """Pairs of images whose perceptual hashes differ in at most `max_distance` of 64 bits.

    Every image is compared with every later one, a row of the matrix at a time in numpy:
    about a second for 10,000 images.
    """
    items = list(fingerprints)
    if len(items) < 2:
        return []
    codes = np.stack([fingerprints[item].phash for item in items])
    links = []
    for i in range(len(items) - 1):
        distances = BITS_SET[codes[i + 1 :] ^ codes[i]].sum(axis=1)
        close = np.flatnonzero(distances <= max_distance)
        links.extend((items[i], items[i + 1 + j]) for j in close)
    return links


def check(
    params: dict[str, Any], smoke: bool
) -> dict[str, Any]:
    """Run every check and return the report as a dict (the content of data_quality.json).
    """
    classes: list[str] = params["classes"]
    manifest = read_manifest()
    report: dict[str, Any] = {"task": params["task"], "sample_data": is_sample_data(manifest)}
    unknown_labels: list[dict[str, str]] = []
    unlabeled: list[str] = []
    per_class: Counter[str] = Counter({name: 0 for name in classes})
    items = list_images()[:SMOKE_ITEMS] if smoke else list_images()
    fingerprints, corrupt = fingerprint_images(items)
    min_size = params["validate"]["min_image_size"]
    exact = clusters(fingerprints, same_key_links({i: f.sha256 for i, f in fingerprints.items()}))
    near_links = near_duplicate_links(fingerprints, params["validate"]["near_duplicate_distance"])
    near = [
        group for group in clusters(fingerprints, near_links)
        if len({fingerprints[item].sha256 for item in group}) > 1  # not only exact copies
    ]
    report["corrupt"] = [{"item": item, "error": error} for item, error in corrupt.items()]
    report["too_small"] = [
        {"item": item, "size": list(f.size)}
        for item, f in fingerprints.items()
        if min(f.size) < min_size
    ]
    bad_boxes: list[dict[str, Any]] = []
    negatives = 0
    for item in fingerprints:
        path = box_file(item)
        if not path.exists():
            unlabeled.append(item)
            continue
        try:
            boxes = read_boxes(path, len(classes))
        except ValueError as error:
            unknown_labels.append({"item": item, "problem": str(error)})
            continue
        negatives += not boxes
        for box in boxes:
            problem = box_problem(box)
            if problem:
                bad_boxes.append({"item": item, "box": [box.cx, box.cy, box.w, box.h],
                                  "problem": problem})
            per_class[classes[box.class_id]] += 1
    report["bad_boxes"] = bad_boxes
    report["negatives"] = negatives  # labeled images with no object: useful, not a problem
    # Labels are found by file stem, so two images called x.jpg in different folders (or x.jpg
    # and x.png) would share data/labels/x.txt.
    stems = clusters(items, same_key_links({item: Path(item).stem for item in items}))
    report["stem_clashes"] = [group for group in stems if len(group) > 1]
    labeled = len(fingerprints) - len(unlabeled) - len(unknown_labels)
    report["items"] = len(items)
    report["labeled"] = labeled
    report["unlabeled"] = unlabeled
    report["unknown_labels"] = unknown_labels
    report["per_class"] = dict(per_class)
    counts = [count for count in per_class.values() if count]
    report["imbalance"] = round(max(counts) / min(counts), 2) if counts else None
    report["duplicates"] = {
        "exact": [group for group in exact if len(group) > 1],
        "near": near,
    }
    # Copies are fine once `split` keeps them together, but across groups they hint at a leak.
    report["duplicates_across_groups"] = sum(
        len({group_of(item, manifest) for item in group}) > 1
        for group in report["duplicates"]["exact"] + near
    )
    report["warnings"] = warnings(report, params)
    report["blocking_reasons"] = blocking_reasons(report, classes)
    report["blocking"] = bool(report["blocking_reasons"])
    return report


def named(items: list[str]) -> str:
    """The first few of `items`, comma-separated, and how many more there are."""
    more = f" and {len(items) - ON_CONSOLE} more" if len(items) > ON_CONSOLE else ""
    return ", ".join(items[:ON_CONSOLE]) + more


def warnings(report: dict[str, Any], params: dict[str, Any]) -> list[str]:
    """What does not stop training but will weaken the model or its test score, with the items."""
    settings = params["validate"]
    found = []
    max_imbalance = settings.get("max_imbalance", 3)
    counts = {name: count for name, count in report["per_class"].items() if count}
    if report["imbalance"] and report["imbalance"] > max_imbalance:
        shown = ", ".join(f"{name} {count}" for name, count in counts.items())
        found.append(
            f"classes are imbalanced ({shown}: {report['imbalance']}x, above "
            f"validate.max_imbalance {max_imbalance}); collect more of "
            f"{min(counts, key=counts.__getitem__)}, the model will lean towards "
            f"{max(counts, key=counts.__getitem__)}"
        )
    min_per_class = settings.get("min_per_class", 20)
    tiny = [f"{name} ({count})" for name, count in counts.items() if count < min_per_class]
    if tiny:
        found.append(
            f"tiny class(es): {', '.join(tiny)} labeled, fewer than validate.min_per_class "
            f"{min_per_class}; their test scores will rest on a handful of items"
        )
    if report["too_small"]:
        found.append(
            f"{len(report['too_small'])} image(s) smaller than validate.min_image_size "
            f"{settings['min_image_size']} px: "
            + named([f"{entry['item']} ({entry['size'][0]}x{entry['size'][1]})"
                     for entry in report["too_small"]])
        )
    return found


def blocking_reasons(report: dict[str, Any], classes: list[str]) -> list[str]:
    """The problems that must be fixed before training, each as one sentence with the fix."""
    reasons = []
    if report["labeled"] == 0:
        reasons.append("nothing is labeled yet: label your data (or run `sample`) first")
    missing = [name for name in classes if report["per_class"][name] == 0]
    if report["labeled"] and missing:
        reasons.append(f"no labeled example of {missing}: label some, or drop them from classes")
    if report["unknown_labels"]:
        reasons.append(
            f"{len(report['unknown_labels'])} item(s) have labels outside classes: fix the "
            "labels or add the class to params.yaml"
        )
    if report["corrupt"]:
        reasons.append(f"{len(report['corrupt'])} unreadable file(s): delete or re-export them")
    if report["bad_boxes"]:
        reasons.append(f"{len(report['bad_boxes'])} box(es) of zero area or outside the image")
    if report["stem_clashes"]:
        reasons.append(
            f"{len(report['stem_clashes'])} file name(s) used twice in data/raw, which makes their "
            "labels ambiguous: rename one of each"
        )
    return reasons


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown, for people: a summary table, then the first items of each list."""
    lines = ["# Data quality", ""]
    if report["sample_data"]:
        lines += [
            "> **Sample data.** This dataset contains generated sample items (`source` = `sample`"
            " in data/manifest.csv). Numbers measured on it prove the pipeline runs, nothing more.",
            "",
        ]
    status = "BLOCKING problems found" if report["blocking"] else "no blocking problems"
    lines += [f"**{report['items']} items, {report['labeled']} labeled: {status}.**", ""]
    lines += [f"- {reason}" for reason in report["blocking_reasons"]]
    lines += [f"- warning: {warning}" for warning in report["warnings"]]
    lines += ["", "## Classes", "", "| class | count |", "| --- | --- |"]
    lines += [f"| {name} | {count} |" for name, count in report["per_class"].items()]
    if report["imbalance"]:
        lines += ["", f"Largest class / smallest class: {report['imbalance']}."]
    lines += ["", "## Checks", "", "| check | found |", "| --- | --- |"]
    checks = {
        "unreadable files": report["corrupt"],
        "too small": report["too_small"],
        "labels outside classes": report["unknown_labels"],
        "bad boxes": report["bad_boxes"],
        "file names used twice": report["stem_clashes"],
        "unlabeled items": report["unlabeled"],
        "exact duplicate groups": report["duplicates"]["exact"],
        "near-duplicate groups": report["duplicates"]["near"],
    }
    lines += [f"| {name} | {len(found)} |" for name, found in checks.items()]
    for name, found in checks.items():
        if found:
            lines += ["", f"### {name}", ""]
            lines += [f"- `{json.dumps(entry)}`" for entry in found[:SHOWN]]
            if len(found) > SHOWN:
                lines.append(f"- ... and {len(found) - SHOWN} more in {QUALITY_FILE}")
    return "\n".join(lines) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--strict", action="store_true",
                        help="exit non-zero when there are blocking problems (for CI)")
    parser.add_argument("--smoke", action="store_true", help=f"check only {SMOKE_ITEMS} items")


def run(args: argparse.Namespace) -> None:
    report = check(load_params(), args.smoke)
    QUALITY_FILE.parent.mkdir(parents=True, exist_ok=True)
    QUALITY_FILE.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    markdown_file = QUALITY_FILE.with_suffix(".md")
    markdown_file.write_text(markdown(report), encoding="utf-8")
    console.print(
        f"{report['items']} items, {report['labeled']} labeled; report in {markdown_file}"
        + (" [yellow](SAMPLE DATA)[/]" if report["sample_data"] else "")
    )
    for reason in report["blocking_reasons"]:
        console.print(f"[red]blocking:[/] {escape(reason)}")
    for warning in report["warnings"]:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    if args.strict and report["blocking"]:
        raise StageError(f"blocking data problems (see {markdown_file}); fix them and rerun.")
