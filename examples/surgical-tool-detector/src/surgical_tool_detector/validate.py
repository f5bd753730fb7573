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
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from .config import MANIFEST_FILE, QUALITY_FILE, RAW_DIR, StageError, load_params
from .dataset import box_file, box_problem, is_sample_data, list_images, read_boxes, read_manifest
from .duplicates import clusters, fingerprint_images, near_duplicate_links, same_key_links
from .pipeline_lock import record_stage
from .reports import class_balance, duplicate_summary, label_problems, write_quality_report

console = Console(stderr=True)
SMOKE_ITEMS = 24  # --smoke checks only this many items
ON_CONSOLE = 8  # items named per warning on the console


def check(params: dict[str, Any], smoke: bool) -> dict[str, Any]:
    """Run every check and return the report as a dict (the content of data_quality.json)."""
    classes: list[str] = params["classes"]
    settings = params["validate"]
    manifest = read_manifest()

    # --- the files: readable, large enough, copies ---
    items = list_images()[:SMOKE_ITEMS] if smoke else list_images()
    fingerprints, corrupt = fingerprint_images(items)
    exact = clusters(fingerprints, same_key_links({i: f.sha256 for i, f in fingerprints.items()}))
    near_links = near_duplicate_links(fingerprints, settings["near_duplicate_distance"])
    near = [
        group
        for group in clusters(fingerprints, near_links)
        if len({fingerprints[item].sha256 for item in group}) > 1  # not only exact copies
    ]
    too_small = [
        {"item": item, "size": list(f.size)}
        for item, f in fingerprints.items()
        if min(f.size) < settings["min_image_size"]
    ]
    # Labels are found by file stem, so two images called x.jpg in different folders (or x.jpg
    # and x.png) would share data/labels/x.txt.
    stems = clusters(items, same_key_links({item: Path(item).stem for item in items}))

    # --- the boxes: readable, of a known class, inside the image ---
    per_class: Counter[str] = Counter({name: 0 for name in classes})
    unlabeled: list[str] = []
    unknown_labels: list[dict[str, str]] = []
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
                bad_boxes.append(
                    {"item": item, "box": [box.cx, box.cy, box.w, box.h], "problem": problem}
                )
            per_class[classes[box.class_id]] += 1

    imbalance, warnings = class_balance(dict(per_class), settings)
    if too_small:
        sizes = [f"{entry['item']} ({entry['size'][0]}x{entry['size'][1]})" for entry in too_small]
        warnings.append(
            f"{len(too_small)} image(s) smaller than validate.min_image_size "
            f"{settings['min_image_size']} px: {named(sizes)}"
        )
    missing = sorted(item for item in manifest if not (RAW_DIR / item).is_file())
    if missing:
        warnings.append(
            f"{len(missing)} item(s) of data/manifest.csv have no file in {RAW_DIR}/ (deleted "
            f"by hand?): {named(missing)}; collect their folder again to put them back, or "
            "delete them there and collect it with --prune"
        )
    report: dict[str, Any] = {
        "task": params["task"],
        "sample_data": is_sample_data(manifest),
        "items": len(items),
        "labeled": len(fingerprints) - len(unlabeled) - len(unknown_labels),
        "unlabeled": unlabeled,
        "unknown_labels": unknown_labels,
        "per_class": dict(per_class),
        "imbalance": imbalance,
        **duplicate_summary(exact, near, manifest),
        "corrupt": [{"item": item, "error": error} for item, error in corrupt.items()],
        "too_small": too_small,
        "bad_boxes": bad_boxes,
        "negatives": negatives,  # labeled images with no object: useful, not a problem
        "stem_clashes": [group for group in stems if len(group) > 1],
        "warnings": warnings,
    }
    report["blocking_reasons"] = blocking_reasons(report, classes)
    report["blocking"] = bool(report["blocking_reasons"])
    return report


def named(items: list[str]) -> str:
    """The first few of `items`, comma-separated, and how many more there are."""
    more = f" and {len(items) - ON_CONSOLE} more" if len(items) > ON_CONSOLE else ""
    return ", ".join(items[:ON_CONSOLE]) + more


def blocking_reasons(report: dict[str, Any], classes: list[str]) -> list[str]:
    """The problems that must be fixed before training, each as one sentence with the fix."""
    reasons = label_problems(report, classes)
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit non-zero when there are blocking problems (for CI)",
    )
    parser.add_argument("--smoke", action="store_true", help=f"check only {SMOKE_ITEMS} items")


def run(args: argparse.Namespace) -> None:
    params = load_params()
    report = check(params, args.smoke)
    markdown_file = write_quality_report(
        report,
        {
            "unreadable files": report["corrupt"],
            "too small": report["too_small"],
            "labels outside classes": report["unknown_labels"],
            "bad boxes": report["bad_boxes"],
            "file names used twice": report["stem_clashes"],
            "unlabeled items": report["unlabeled"],
            "exact duplicate groups": report["duplicates"]["exact"],
            "near-duplicate groups": report["duplicates"]["near"],
        },
    )
    record_stage(
        "validate",
        args,
        params,
        params.get("validate") or {},
        reads=[MANIFEST_FILE],
        writes=[QUALITY_FILE, markdown_file],
    )
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
