"""`sample`: the built-in dataset is generated, marked as sample, repeatable and removable."""

import hashlib
from pathlib import Path

from surgical_tool_detector.cli import main
from surgical_tool_detector.config import MANIFEST_FILE, RAW_DIR, load_params
from surgical_tool_detector.dataset import (
    MANIFEST_COLUMNS,
    append_csv,
    box_file,
    box_problem,
    list_images,
    read_boxes,
    read_manifest,
)


def digest(folder: Path) -> str:
    """One hash over every file under `folder`, to compare two runs."""
    files = sorted(path for path in folder.rglob("*") if path.is_file() and path.suffix != ".csv")
    return hashlib.sha256(b"".join(path.read_bytes() for path in files)).hexdigest()


def test_smoke_sample_is_marked_and_labeled(workdir):
    main(["sample", "--smoke"])
    manifest = read_manifest()
    assert len(manifest) == 24
    assert {row["source"] for row in manifest.values()} == {"sample"}
    classes = load_params()["classes"]
    seen = set()
    for item in list_images():
        boxes = read_boxes(box_file(item), len(classes))
        assert all(box_problem(box) is None for box in boxes)
        seen.update(classes[box.class_id] for box in boxes)
    assert seen == set(classes)


def test_same_seed_same_data_and_rerun_replaces(workdir):
    main(["sample", "--smoke"])
    first = digest(Path("data"))
    main(["sample", "--smoke"])
    assert digest(Path("data")) == first
    assert len(read_manifest()) == 24  # replaced, not added
    main(["sample", "--smoke", "--seed", "7"])
    assert digest(Path("data")) != first


def test_remove_deletes_only_the_sample(workdir):
    main(["sample", "--smoke"])
    own = RAW_DIR / "mine" / "photo.jpg"
    own.parent.mkdir(parents=True)
    own.write_bytes(b"my own bytes")
    item = "mine/photo.jpg"
    append_csv(MANIFEST_FILE, MANIFEST_COLUMNS, [{"item": item, "source": "folder", "group": item}])
    main(["sample", "--remove"])
    assert list(read_manifest()) == [item]
    assert list_images() == [item]
    assert own.read_bytes() == b"my own bytes"
