"""The labeling stage's own logic, without a server: config, conversion, agreement, saving.

The round trip through a real Label Studio is tested by pocgen itself; these run in milliseconds.
"""

import json
from pathlib import Path

import pytest
from PIL import Image

from surgical_tool_detector import label, labelstudio
from surgical_tool_detector.config import BOX_LABELS_DIR, StageError, load_params
from surgical_tool_detector.dataset import Box, read_boxes

# The project's own classes: these tests hold for whatever classes params.yaml names.
PARAMS = load_params(Path(__file__).resolve().parents[1] / "params.yaml")
CLASSES = PARAMS["classes"]


def annotation(result, *, id=1, updated_at="2026-11-26T10:00:00.123456Z", ground_truth=False):
    """An annotation as Label Studio exports it (only the fields pull reads)."""
    return {
        "id": id,
        "result": result,
        "updated_at": updated_at,
        "ground_truth": ground_truth,
        "completed_by": 1,
    }


def rectangle(name, x, y, width, height):
    """One Label Studio rectangle: top-left corner and size in percent of the image."""
    return {
        "from_name": label.CONTROL,
        "to_name": label.OBJECT,
        "type": "rectanglelabels",
        "value": {"x": x, "y": y, "width": width, "height": height, "rectanglelabels": [name]},
    }


def test_labeling_config_offers_the_classes_in_order():
    config = label.label_config(CLASSES)
    assert labelstudio.config_classes(config) == CLASSES
    # Without `category` Label Studio numbers YOLO classes alphabetically.
    for index, name in enumerate(CLASSES):
        assert f'value="{name}" category="{index}"' in config
    assert 'canRotate="false"' in config


def test_the_ground_truth_annotation_wins_else_the_latest():
    early = annotation([], id=1, updated_at="2026-11-26T10:00:00Z")
    late = annotation([], id=2, updated_at="2026-11-26T11:00:00Z")
    marked = annotation([], id=3, updated_at="2026-11-26T09:00:00Z", ground_truth=True)
    assert labelstudio.choose_annotation([early, late])["id"] == 2
    assert labelstudio.choose_annotation([early, late, marked])["id"] == 3
    assert labelstudio.labeled_at(early) == "2026-11-26T10:00:00+00:00"


def test_items_must_still_be_where_push_found_them():
    assert label.resolve_item({"item": "a"}, {"a"}) == "a"
    with pytest.raises(ValueError, match="no longer in data/raw"):
        label.resolve_item({"item": "b"}, {"a"})


def test_images_are_addressed_under_the_servers_document_root(workdir, monkeypatch):
    Path("data/raw").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save("data/raw/a photo.png")
    monkeypatch.setenv("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT", str(workdir.parent))
    url = label.all_items()["a photo.png"][label.OBJECT]
    assert url == f"/data/local-files/?d={workdir.name}/data/raw/a%20photo.png"
    monkeypatch.setenv("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT", str(workdir / "elsewhere"))
    with pytest.raises(StageError, match="is not inside LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT"):
        label.all_items()


def test_rectangles_become_yolo_boxes_and_unknown_labels_are_refused():
    boxes = label.parse_result([rectangle(CLASSES[-1], 10, 20, 30, 40)], CLASSES)
    assert boxes == [Box(len(CLASSES) - 1, pytest.approx(0.25), pytest.approx(0.4), 0.3, 0.4)]
    assert label.parse_result([], CLASSES) == []  # an image with nothing in it
    with pytest.raises(ValueError, match="'bogus' is not one of the classes"):
        label.parse_result([rectangle("bogus", 10, 20, 30, 40)], CLASSES)
    with pytest.raises(ValueError, match="outside the image"):
        label.parse_result([rectangle(CLASSES[0], 90, 20, 30, 40)], CLASSES)


def test_box_iou_and_one_to_one_matching():
    box = Box(0, 0.5, 0.5, 0.2, 0.2)
    assert label.box_iou(box, box) == pytest.approx(1.0)
    assert label.box_iou(box, Box(0, 0.1, 0.1, 0.1, 0.1)) == 0.0
    half = Box(0, 0.6, 0.5, 0.2, 0.2)  # shifted by half its width: 1/3 overlap
    assert label.box_iou(box, half) == pytest.approx(1 / 3)
    # Boxes only match boxes of their own class, one to one.
    matches = label.match_boxes([box, Box(1, 0.5, 0.5, 0.2, 0.2)], [Box(1, 0.5, 0.5, 0.2, 0.2)])
    assert [(matched.class_id, round(overlap, 6)) for matched, overlap in matches] == [(1, 1.0)]


def test_detection_agreement_per_class():
    first = [Box(0, 0.5, 0.5, 0.2, 0.2)]
    second = [Box(0, 0.6, 0.5, 0.2, 0.2)]  # IoU 1/3: drawn, but not agreed at 0.5
    result = label.agreement([(first, first), (first, second)], CLASSES)
    assert result["pairs"] == 2
    assert result["per_class"][CLASSES[0]] == {
        "boxes": 4,
        "mean_iou": pytest.approx((1 + 1 / 3) / 2, abs=1e-4),
        "f1_50": 0.5,  # 2 x 1 agreed box / 4 boxes
    }
    for name in CLASSES[1:]:
        assert result["per_class"][name] is None  # nobody drew it twice


def test_save_labels_writes_yolo_and_coco_and_is_idempotent(workdir):
    Path("data/raw").mkdir(parents=True)
    Image.new("RGB", (200, 100)).save("data/raw/photo.png")
    boxes = {"photo.png": [Box(0, 0.5, 0.5, 0.2, 0.4)]}
    who = {"photo.png": {"annotator": "ann@example.com", "labeled_at": "2026-11-26T10:00:00+00:00"}}
    assert label.save_labels(boxes, who, CLASSES)["new"] == 1
    written = (BOX_LABELS_DIR / "photo.txt").read_bytes()
    coco = json.loads(label.COCO_FILE.read_text(encoding="utf-8"))
    assert coco["categories"] == [{"id": i, "name": name} for i, name in enumerate(CLASSES)]
    assert coco["annotations"][0]["bbox"] == [80.0, 30.0, 40.0, 40.0]
    assert coco["images"][0]["annotator"] == "ann@example.com"
    assert read_boxes(BOX_LABELS_DIR / "photo.txt", len(CLASSES)) == boxes["photo.png"]
    assert label.save_labels(boxes, who, CLASSES)["unchanged"] == 1
    assert (BOX_LABELS_DIR / "photo.txt").read_bytes() == written
