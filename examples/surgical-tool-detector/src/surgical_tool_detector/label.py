"""Label your own data in Label Studio, started with `make label-serve`:

    python -m surgical_tool_detector label push    # send the items that have no label yet
    python -m surgical_tool_detector label pull    # bring finished annotations back into data/

- Label Studio is a program of its own, installed apart; this package only uses its client,
  label-studio-sdk (labelstudio.py). `make label-serve` (scripts/serve_label_studio.py) writes
  LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY to .env; an exported variable wins over .env.
- .label-studio/project.json remembers which project on the server belongs to this folder, so
  pushing twice never makes a second project or duplicate tasks.
- Label Studio accepts any label, even one missing from the labeling config, so pull checks every
  annotation against `classes` in params.yaml, by name, before it is saved.
- When two people labeled the same item, pull measures how much they agree, per class, in
  reports/labels.json: a class people disagree on is a class the model will struggle with too.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import json
import os
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

from PIL import Image
from rich.console import Console
from rich.progress import track

from .config import (
    BOX_LABELS_DIR,
    LABELS_JSON_FILE,
    ONNX_FILE,
    RAW_DIR,
    REPORTS_DIR,
    StageError,
    load_params,
)
from .dataset import Box, box_file, box_problem, list_images, read_boxes, write_boxes
from .labelstudio import (
    choose_annotation,
    connect,
    exported_tasks,
    find_project,
    labeled_at,
    open_project,
    run_on_server,
)
from .reports import write_json

console = Console(stderr=True, soft_wrap=True)

LABELING_REPORT = REPORTS_DIR / "labels.json"
COCO_FILE = BOX_LABELS_DIR / "coco.json"
SMOKE_ITEMS = 16  # push --smoke sends at most this many items
# Names inside the labeling config. Annotations refer to them, so pull looks results up by them.
CONTROL = "label"
OBJECT = "image"
# The local-files storage only grants access to data/raw; it must never import by itself
# (a "Sync" click in the UI would duplicate every task push made), so its filter matches nothing.
MATCH_NOTHING = "(?!)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    push = actions.add_parser("push", help="create or update the project; import unlabeled items")
    push.add_argument("--no-predictions", action="store_true", help="skip the model's guesses")
    push.add_argument("--threshold", type=float, default=0.5, help="pre-annotated boxes' score")
    push.add_argument("--smoke", action="store_true", help=f"push at most {SMOKE_ITEMS} items")
    actions.add_parser("pull", help="export finished annotations into data/ and measure agreement")


def run(args: argparse.Namespace) -> None:
    run_on_server({"push": push, "pull": pull}[args.action], args)


def label_config(classes: list[str]) -> str:
    """The labeling config (what the annotator sees) for this task, classes in params order.

    Each Label carries `category`, its index in `classes`: without it Label Studio numbers
    classes alphabetically in YOLO exports, and every class id would silently be wrong.
    Rotation is switched off because YOLO boxes are upright.
    """
    view = ET.Element("View")
    ET.SubElement(view, "Image", name=OBJECT, value=f"${OBJECT}")
    control = ET.SubElement(view, "RectangleLabels", name=CONTROL, toName=OBJECT, canRotate="false")
    for index, name in enumerate(classes):
        ET.SubElement(control, "Label", value=name, category=str(index))
    ET.indent(view)
    return ET.tostring(view, encoding="unicode")


# --- push: items out, with the model's guesses ------------------------------------------------


def all_items() -> dict[str, dict[str, str]]:
    """item -> the task data Label Studio shows for it, for every item in data/raw."""
    root = Path(os.environ.get("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT") or Path.cwd()).resolve()
    raw = RAW_DIR.resolve()
    if not raw.is_relative_to(root):
        raise StageError(
            f"{raw} is not inside LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT={root}, so Label "
            "Studio cannot show its images: set it to a folder that holds this project."
        )
    # Label Studio serves a local file by its path under the document root: no upload, no copy.
    prefix = "/data/local-files/?d=" + quote(raw.relative_to(root).as_posix())
    return {item: {OBJECT: f"{prefix}/{quote(item)}", "item": item} for item in list_images()}


def prediction_for(predictor: Any, data: dict[str, str], threshold: float) -> dict[str, Any]:
    """The model's answer as a Label Studio prediction, with a score = how sure it is.

    Label Studio's uncertainty sampling serves the lowest score first, so the annotator spends
    their time where the model is least sure (active learning).
    """
    with Image.open(RAW_DIR / data["item"]) as opened:
        image = opened.convert("RGB")
    # Look at every box the model suspects, keep the confident ones as pre-annotations, and
    # score the image by its least certain keep-or-drop decision: max(s, 1 - s) per box.
    candidates = predictor.predict(image, threshold=0.05)["boxes"]
    width, height = image.size
    result = []
    for found in (found for found in candidates if found["score"] >= threshold):
        x0, y0, x1, y1 = found["box"]  # pixels; Label Studio wants percent of the image
        value = {"x": 100 * x0 / width, "y": 100 * y0 / height, "rotation": 0}
        value.update(width=100 * (x1 - x0) / width, height=100 * (y1 - y0) / height)
        value["rectanglelabels"] = [found["label"]]
        region = {"from_name": CONTROL, "to_name": OBJECT, "type": "rectanglelabels"}
        region.update(original_width=width, original_height=height, score=found["score"])
        result.append({**region, "value": value})
    score = min((max(found["score"], 1 - found["score"]) for found in candidates), default=1.0)
    return {"result": result, "score": float(score)}


def pre_annotations(
    items: dict[str, dict[str, str]], classes: list[str], threshold: float
) -> dict[str, dict[str, Any]]:
    """item -> the exported model's prediction; none when the model is for other classes."""
    from .inference import Predictor

    predictor = Predictor(ONNX_FILE, LABELS_JSON_FILE)
    if predictor.classes != classes:
        console.print(f"[yellow]{ONNX_FILE} knows {predictor.classes}, not {classes}: no "
                      "pre-annotations (retrain and export to get them back).")  # fmt: skip
        return {}
    return {
        item: prediction_for(predictor, data, threshold)
        for item, data in track(items.items(), description="Pre-annotating", console=console)
    }


def allow_local_files(client: Any, project: Any) -> None:
    """Let Label Studio serve the images of data/raw: a local-files storage that covers them."""
    raw = str(RAW_DIR.resolve())
    if not any(s.path == raw for s in client.import_storage.local.list(project=project.id)):
        client.import_storage.local.create(
            project=project.id,
            path=raw,
            regex_filter=MATCH_NOTHING,
            use_blob_urls=True,
            title="data/raw (tasks come from `label push`; do not sync)",
        )


def push(args: argparse.Namespace) -> None:
    classes: list[str] = load_params()["classes"]
    items = all_items()
    labeled = {item for item in items if box_file(item).exists()}
    client, url = connect()
    project = open_project(client, url, label_config(classes))
    allow_local_files(client, project)
    tasks = {task.data.get("item"): task for task in client.tasks.list(project=project.id)}
    new = {item: data for item, data in items.items() if item not in labeled | tasks.keys()}
    if args.smoke:
        new = dict(itertools.islice(new.items(), SMOKE_ITEMS))
    # The exported model pre-annotates the new tasks, and the older unlabeled ones that
    # lack this model's guess. Its version is its file's hash: it changes with the model.
    version, predicted = "", {}
    if ONNX_FILE.exists() and LABELS_JSON_FILE.exists() and not args.no_predictions:
        version = f"model-{hashlib.sha256(ONNX_FILE.read_bytes()).hexdigest()[:12]}"
    waiting = {
        item: items[item]
        for item, task in tasks.items()
        if item in items and version and not task.total_annotations
        and version not in {guess.model_version for guess in task.predictions or []}
    }  # fmt: skip
    if version and (new or waiting):
        predicted = pre_annotations({**new, **waiting}, classes, args.threshold)
    # Most uncertain first, so the tasks' order in the list matches the labeling queue.
    order = sorted(new, key=lambda item: predicted.get(item, {}).get("score", 0.0))
    guesses = {item: [{"model_version": version, **guess}] for item, guess in predicted.items()}
    payload = [{"data": new[item], "predictions": guesses.get(item, [])} for item in order]
    if payload:
        client.projects.import_tasks(project.id, request=payload)
    for item in waiting.keys() & predicted.keys():
        client.predictions.create(task=tasks[item].id, model_version=version, **predicted[item])
    if predicted:  # annotators see pre-annotations of the project's model_version only
        sampling = "Uncertainty sampling"  # the least certain first
        client.projects.update(project.id, model_version=version, sampling=sampling)
    console.print(
        f"Pushed {len(payload)} new items to {url}/projects/{project.id} "
        f"({len(tasks)} were already there, {len(labeled)} are labeled here)"
        + (f"; pre-annotated with {version} ({len(predicted)} items)." if predicted else ".")
    )


# --- pull: annotations back, checked --------------------------------------------------------


def parse_result(result: list[dict[str, Any]], classes: list[str]) -> list[Box]:
    """The YOLO boxes in one annotation; ValueError names the first thing that is wrong.

    Label Studio stores a rectangle's top-left corner and size in percent of the image.
    """
    boxes = []
    for region in result:
        if region.get("from_name") != CONTROL or region.get("type") != "rectanglelabels":
            continue
        value = region["value"]
        names = value.get("rectanglelabels") or []
        if len(names) != 1:
            raise ValueError(f"a box has {len(names)} labels instead of one")
        if names[0] not in classes:
            raise ValueError(f"label '{names[0]}' is not one of the classes {classes}")
        x, y, w, h = (value[key] / 100 for key in ("x", "y", "width", "height"))
        box = Box(classes.index(names[0]), x + w / 2, y + h / 2, w, h)
        if problem := box_problem(box):
            raise ValueError(f"a '{names[0]}' box is {problem}")
        boxes.append(box)
    return boxes


def resolve_item(data: dict[str, Any], known: set[str]) -> str:
    """The task's item, which must still be where push found it (a moved file is a new item)."""
    item = str(data.get("item", ""))
    if item not in known:
        raise ValueError(f"image {item} is no longer in data/raw (moved or deleted): put it back")
    return item


# --- agreement: how much do two annotators of one item agree? --------------------------------


def box_iou(first: Box, second: Box) -> float:
    """Intersection over union of two boxes (the same in fractions as in pixels)."""
    ax0, ay0, ax1, ay1 = first.to_pixels(1, 1)
    bx0, by0, bx1, by1 = second.to_pixels(1, 1)
    overlap = max(0.0, min(ax1, bx1) - max(ax0, bx0)) * max(0.0, min(ay1, by1) - max(ay0, by0))
    union = first.w * first.h + second.w * second.h - overlap
    return overlap / union if union > 0 else 0.0


def match_boxes(first: list[Box], second: list[Box]) -> list[tuple[Box, float]]:
    """Pair boxes of the same class one to one, highest IoU first, as detection metrics do:
    each matched box of `first`, with its IoU."""
    pairs = itertools.product(enumerate(first), enumerate(second))
    candidates = [(box_iou(a, b), i, j) for (i, a), (j, b) in pairs if a.class_id == b.class_id]
    partner: dict[int, tuple[int, float]] = {}  # box of first -> (box of second, IoU)
    for overlap, i, j in sorted(candidates, reverse=True):
        if overlap > 0 and i not in partner and j not in {k for k, _ in partner.values()}:
            partner[i] = (j, overlap)
    return [(first[i], overlap) for i, (_, overlap) in partner.items()]


def agreement(pairs: list[tuple[list[Box], list[Box]]], classes: list[str]) -> dict[str, Any]:
    """Per class: mean IoU of matched boxes, and F1 at IoU 0.5 (a box counts as agreed on when
    the other annotator drew the same class over it with IoU >= 0.5)."""

    def summary(ious: list[float], boxes: int) -> dict[str, Any] | None:
        if boxes == 0:
            return None  # nobody drew this class on a doubly labeled image
        f1 = 2 * sum(overlap >= 0.5 for overlap in ious) / boxes  # 2 TP / all boxes of both
        mean_iou = round(sum(ious) / len(ious), 4) if ious else 0.0
        return {"boxes": boxes, "mean_iou": mean_iou, "f1_50": round(f1, 4)}

    ious: dict[int, list[float]] = {index: [] for index in range(len(classes))}
    boxes: Counter[int] = Counter()
    for first, second in pairs:
        boxes.update(box.class_id for box in first + second)
        for box, overlap in match_boxes(first, second):
            ious[box.class_id].append(overlap)
    return {
        "pairs": len(pairs),
        "overall": summary([v for values in ious.values() for v in values], sum(boxes.values())),
        "per_class": {name: summary(ious[i], boxes[i]) for i, name in enumerate(classes)},
    }


def write_coco(classes: list[str], provenance: dict[str, dict[str, str]]) -> None:
    """data/labels/coco.json: every YOLO file in data/labels again as COCO, for other tools.

    Category ids are YOLO class ids; each image says who labeled it and when (this pull says,
    else the last coco.json).
    """
    earlier = json.loads(COCO_FILE.read_text(encoding="utf-8")) if COCO_FILE.exists() else {}
    who = {image["file_name"]: image for image in earlier.get("images", [])} | provenance
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for item in (item for item in list_images() if box_file(item).exists()):
        with Image.open(RAW_DIR / item) as opened:
            width, height = opened.size
        image = {"id": len(images) + 1, "file_name": item, "width": width, "height": height}
        record = who.get(item, {})
        images.append({**image, **{key: record.get(key) for key in ("annotator", "labeled_at")}})
        for box in read_boxes(box_file(item), len(classes)):
            x0, y0, x1, y1 = box.to_pixels(width, height)
            bbox = [round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)]
            annotations.append(
                {"id": len(annotations) + 1, "image_id": image["id"], "category_id": box.class_id,
                 "bbox": bbox, "area": round(bbox[2] * bbox[3], 2), "iscrowd": 0}
            )  # fmt: skip
    categories = [{"id": index, "name": name} for index, name in enumerate(classes)]
    coco = {"images": images, "annotations": annotations, "categories": categories}
    COCO_FILE.parent.mkdir(parents=True, exist_ok=True)
    COCO_FILE.write_text(json.dumps(coco, indent=1) + "\n", encoding="utf-8")


def save_labels(
    labels: dict[str, list[Box]], provenance: dict[str, dict[str, str]], classes: list[str]
) -> Counter[str]:
    """Write data/labels/<stem>.txt for each item, then coco.json; count new/updated/unchanged."""
    outcome: Counter[str] = Counter()
    for item, boxes in sorted(labels.items()):
        path = box_file(item)
        before = path.read_bytes() if path.exists() else None
        write_boxes(path, boxes)
        changed = "updated" if path.read_bytes() != before else "unchanged"
        outcome["new" if before is None else changed] += 1
    write_coco(classes, provenance)
    return outcome


def pull(args: argparse.Namespace) -> None:
    params = load_params()
    classes: list[str] = params["classes"]
    client, url = connect()
    project = find_project(client)
    if project is None:
        raise StageError(
            f"this project has no Label Studio project on {url} (never pushed, or deleted "
            "there): run `python -m surgical_tool_detector label push` to create it and "
            "send the unlabeled items; labels already pulled stay in data/."
        )
    exported = exported_tasks(client, project)
    emails = {user.id: user.email for user in client.users.list()}
    known = set(list_images())
    labels: dict[str, Any] = {}
    provenance: dict[str, dict[str, str]] = {}
    pairs: list[tuple[Any, Any]] = []
    rejected: list[dict[str, Any]] = []
    for task in exported:
        # Skipped tasks and cancelled annotations are not labels; an unlabeled task never
        # becomes an empty label.
        done = [a for a in task.get("annotations", []) if not a.get("was_cancelled")]
        if not done:
            continue
        try:
            item = resolve_item(task["data"], known)
            chosen = choose_annotation(done)
            labels[item] = parse_result(chosen["result"], classes)
        except ValueError as error:
            item = task["data"].get("item")
            rejected.append({"task": task["id"], "item": item, "reason": str(error)})
            continue
        author = chosen.get("completed_by")
        provenance[item] = {
            "annotator": emails.get(author, f"user {author}"),
            "labeled_at": labeled_at(chosen),
        }
        # Every pair of valid annotations of one item is one comparison between two people.
        valid = []
        for annotation in sorted(done, key=lambda a: a["id"]):
            with contextlib.suppress(ValueError):
                valid.append(parse_result(annotation["result"], classes))
        pairs.extend(itertools.combinations(valid, 2))
    try:
        outcome = save_labels(labels, provenance, classes)
    except ValueError as error:  # coco.json rereads every label file; one was malformed
        raise StageError(f"{error}: fix that file and pull again.") from None
    annotators = Counter(record["annotator"] for record in provenance.values())
    report = {
        "task": params["task"],
        "classes": classes,
        "project": {"url": url, "id": project.id},
        "labeled_items": len(labels),
        "annotators": dict(sorted(annotators.items())),
        "agreement": agreement(pairs, classes),
        "rejected": rejected,
    }
    write_json(LABELING_REPORT, report)
    console.print(
        f"Pulled {len(labels)} labeled items from {url}/projects/{project.id}: "
        f"{outcome['new']} new, {outcome['updated']} updated, {outcome['unchanged']} unchanged; "
        f"{len(pairs)} double annotations compared in {LABELING_REPORT}."
    )
    if rejected:
        first = rejected[0]
        raise StageError(
            f"{len(rejected)} labeled item(s) were not saved (all listed in {LABELING_REPORT}); "
            f"first, task {first['task']}: {first['reason']}. Fix them (annotations at "
            f"{url}/projects/{project.id}) and pull again; the other items were saved."
        )
