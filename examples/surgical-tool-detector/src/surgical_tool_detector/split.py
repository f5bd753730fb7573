"""Write leak-free train/val/test splits to data/splits/{train,val,test}.csv.

A random split by item leaks: frames of one video, photos of one object taken from one spot, or
resized copies of one image land on both sides, and the test score then measures memory instead
of generalisation.

So items are first joined into units that must stay together (same `group` in the manifest, or
near-duplicates of each other), and whole units are assigned to splits: greedily, largest first,
each to the split that most lacks its classes, which keeps every class near the ratios in
params.yaml (stratified). The order of equal-sized units is shuffled by the seed, so the same
seed gives the same split.
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from .config import MANIFEST_FILE, SPLITS_DIR, StageError, load_params
from .dataset import (
    box_file,
    box_problem,
    group_of,
    list_images,
    read_boxes,
    read_manifest,
    write_csv,
)
from .duplicates import clusters, fingerprint_images, near_duplicate_links, same_key_links
from .pipeline_lock import record_stage

console = Console(stderr=True)
SPLITS = ("train", "val", "test")
COLUMNS = ["path", "annotation", "group"]
NO_OBJECTS = "(no objects)"  # images without boxes are balanced across splits like a class
SMOKE_ITEMS = 24  # --smoke splits only about this many items


@dataclass
class Example:
    """One labeled item: its CSV row and the classes it counts towards when balancing."""

    key: str  # the item: its path inside data/raw, or its text id
    row: dict[str, str]
    classes: Counter[str]


def load_examples(
    params: dict, problems: list[str]
) -> tuple[list[Example], list[tuple[str, str]], int]:
    """The labeled, usable items; the links that must keep some together; the unlabeled count.

    Items that cannot be used are left out and described in `problems`.
    """
    classes: list[str] = params["classes"]
    examples: list[Example] = []
    unlabeled = 0
    fingerprints, corrupt = fingerprint_images(list_images())
    problems.extend(
        f"data/raw/{item}: unreadable, left out ({error})" for item, error in corrupt.items()
    )
    for item in fingerprints:
        path = box_file(item)
        if not path.exists():
            unlabeled += 1
            continue
        try:
            boxes = read_boxes(path, len(classes))
        except ValueError as error:
            problems.append(f"{error}; image left out")
            continue
        bad = [problem for problem in map(box_problem, boxes) if problem]
        if bad:
            problems.append(f"{path}: a box {bad[0]}; image left out")
            continue
        counts = Counter(classes[box.class_id] for box in boxes) or Counter({NO_OBJECTS: 1})
        row = {"path": f"data/raw/{item}", "annotation": path.as_posix()}
        examples.append(Example(item, row, counts))
    usable = {example.key: fingerprints[example.key] for example in examples}
    links = near_duplicate_links(usable, params["validate"]["near_duplicate_distance"])
    manifest = read_manifest()
    links += same_key_links({example.key: group_of(example.key, manifest) for example in examples})
    return examples, links, unlabeled


def assign(units: list[list[Example]], ratios: dict[str, float], seed: int) -> list[str]:
    """The split of each unit: greedy, largest unit first, to the split most short of its classes.

    A split's need for a class is how far its count is below its share of that class (divided
    by the class total, so rare classes count as much as common ones).
    """
    totals: Counter[str] = Counter()
    for unit in units:
        for example in unit:
            totals.update(example.classes)
    have = {name: Counter() for name in SPLITS}
    order = list(range(len(units)))
    random.Random(seed).shuffle(order)
    order.sort(key=lambda index: -len(units[index]))  # stable: equal sizes keep the shuffle
    chosen = [""] * len(units)
    for index in order:
        unit_classes: Counter[str] = Counter()
        for example in units[index]:
            unit_classes.update(example.classes)

        def need(name: str, unit_classes: Counter[str] = unit_classes) -> float:
            return sum(
                count * (ratios[name] * totals[label] - have[name][label]) / totals[label]
                for label, count in unit_classes.items()
            )

        chosen[index] = max(SPLITS, key=need)
        have[chosen[index]].update(unit_classes)
    # With very few units, a split can stay empty; give it the smallest unit of the largest split.
    for name in SPLITS:
        if name not in chosen:
            largest = max(SPLITS, key=chosen.count)
            candidates = [i for i in range(len(units)) if chosen[i] == largest]
            chosen[min(candidates, key=lambda i: len(units[i]))] = name
    return chosen


def smoke_units(units: list[list[Example]], seed: int) -> list[list[Example]]:
    """About SMOKE_ITEMS items for --smoke, in whole units (so the slice is leak-free too), the
    classes taken in turn: every class gets up to one unit per split, however small it is."""
    rng = random.Random(seed)
    by_class: dict[str, list[list[Example]]] = {}
    for unit in units:
        counts = sum((example.classes for example in unit), Counter())
        by_class.setdefault(max(sorted(counts), key=counts.__getitem__), []).append(unit)
    queues = [by_class[name] for name in sorted(by_class)]
    for queue in queues:
        rng.shuffle(queue)
    kept, size = [], 0
    for turn in range(max(map(len, queues), default=0)):
        if size >= SMOKE_ITEMS and turn >= len(SPLITS):
            break
        for queue in queues:
            if turn < len(queue):
                kept.append(queue[turn])
                size += len(queue[turn])
    return kept


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, help="random seed (params: seed)")
    for name in SPLITS:
        parser.add_argument(f"--{name}", type=float, help=f"share of {name} (params: split.{name})")
    parser.add_argument("--smoke", action="store_true", help=f"split only ~{SMOKE_ITEMS} items")


def run(args: argparse.Namespace) -> None:
    params = load_params()
    seed = params["seed"] if args.seed is None else args.seed
    ratios = {
        name: params["split"][name] if getattr(args, name) is None else getattr(args, name)
        for name in SPLITS
    }
    if any(value <= 0 for value in ratios.values()) or abs(sum(ratios.values()) - 1) > 1e-6:
        raise StageError(f"split shares must be positive and add up to 1 (got {ratios}).")
    problems: list[str] = []
    examples, links, unlabeled = load_examples(params, problems)
    for problem in problems:
        console.print(f"[red]problem:[/] {problem}")
    if unlabeled:
        console.print(f"{unlabeled} unlabeled item(s) left out: label them to use them.")
    by_key = {example.key: example for example in examples}
    units = [[by_key[key] for key in group] for group in clusters(by_key, links)]
    if args.smoke:
        units = smoke_units(units, seed)
    if len(units) < len(SPLITS):
        raise StageError(
            f"only {len(units)} independent group(s) of labeled items ({unlabeled} unlabeled): "
            "train, val and test need at least one each. Collect or label more data."
        )
    manifest = read_manifest()
    assigned: dict[str, list[tuple[Example, str]]] = {name: [] for name in SPLITS}
    for unit, name in zip(units, assign(units, ratios, seed), strict=True):
        group = min(group_of(example.key, manifest) for example in unit)  # names the unit
        assigned[name].extend((example, group) for example in unit)
    table = Table("split", "items", "per class", title=f"splits in {SPLITS_DIR}/")
    for name in SPLITS:
        pairs = sorted(assigned[name], key=lambda pair: pair[0].key)
        rows = [{**example.row, "group": group} for example, group in pairs]
        write_csv(SPLITS_DIR / f"{name}.csv", COLUMNS, rows)
        per_class = sum((example.classes for example, _ in pairs), Counter())
        counts = ", ".join(f"{label} {count}" for label, count in sorted(per_class.items()))
        table.add_row(name, str(len(rows)), counts)
    console.print(table)
    record_stage(
        "split",
        args,
        {**params, "seed": seed},
        ratios,
        reads=[MANIFEST_FILE],
        writes=[SPLITS_DIR / f"{name}.csv" for name in SPLITS],
    )
    if problems:
        raise StageError(
            f"{len(problems)} item(s) left out of the splits (listed above); the splits were "
            "written without them. Fix those items and rerun split."
        )
