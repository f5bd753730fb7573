"""`train`: a real (tiny) training run on the sample data, its report, and its refusals."""

import json

import numpy as np
import pytest
import torch

from surgical_tool_detector.cli import main
from surgical_tool_detector.config import CHECKPOINT_FILE, SPLITS_DIR, TRAINING_FILE, load_params
from surgical_tool_detector.dataset import Box, read_csv
from surgical_tool_detector.inference import decode
from surgical_tool_detector.model import STRIDE, build_model
from surgical_tool_detector.train import heatmap_targets


@pytest.fixture
def split_sample(workdir):
    """The smoke-sized sample data, split: what `train` reads."""
    main(["sample", "--smoke"])
    main(["split", "--smoke"])
    return workdir


def test_smoke_training_saves_the_model_and_its_report_and_repeats(split_sample):
    main(["train", "--smoke"])
    assert CHECKPOINT_FILE.exists()
    report = json.loads(TRAINING_FILE.read_text())
    assert report["smoke"] is True
    assert report["task"] == load_params()["task"]
    assert report["dataset"]["train"] > 0
    assert report["model"]["parameters"] > 0
    assert report["seconds"] >= 0
    assert report["device"] and report["hardware"]
    assert "git_commit" in report
    assert len(report["history"]) == 1  # smoke: one epoch (or one C value)
    assert report["model"]["pretrained"] is False  # smoke never downloads weights
    assert np.isfinite(report["history"][0]["train_loss"])
    checkpoint = torch.load(CHECKPOINT_FILE)
    assert checkpoint["config"]["classes"] == load_params()["classes"]
    assert checkpoint["config"]["encoder"] == "tiny"

    # Same seed, same data: a second run learns the same thing.
    main(["train", "--smoke"])
    again = json.loads(TRAINING_FILE.read_text())["history"]
    assert again[0]["train_loss"] == pytest.approx(report["history"][0]["train_loss"], rel=1e-4)


def test_training_without_splits_names_the_missing_stage(workdir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--smoke"])
    assert exit_info.value.code == 1
    assert "split" in capsys.readouterr().err
    assert not CHECKPOINT_FILE.exists()


def test_an_unknown_class_in_the_labels_is_refused(split_sample, capsys):
    row = (SPLITS_DIR / "train.csv").read_text().splitlines()[1]
    label_file = split_sample / row.split(",")[1]
    label_file.write_text("7 0.5 0.5 0.2 0.2\n")  # class id 7 does not exist
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--smoke"])
    assert exit_info.value.code == 1
    assert "class id 7" in capsys.readouterr().err
    assert not CHECKPOINT_FILE.exists()


def test_an_unreadable_image_in_a_split_is_named(split_sample, capsys):
    path = read_csv(SPLITS_DIR / "train.csv")[0]["path"]
    (split_sample / path).write_bytes(b"not an image any more")
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--smoke"])
    assert exit_info.value.code == 1
    error = capsys.readouterr().err
    assert path in error and "validate" in error


def test_the_pretrained_architecture_builds_offline():
    # The ImageNet weights need the internet; the network they load into does not.
    config = {
        "classes": ["a", "b", "c"],
        "encoder": "mobilenet_v3_small",
        "input_size": 128,
        "channels": 32,
    }
    model = build_model(config).eval()
    with torch.no_grad():
        output = model(torch.zeros(2, 3, 128, 128))
    heatmap, box = output
    assert heatmap.shape == (2, 3, 128 // STRIDE, 128 // STRIDE)
    assert box.shape == (2, 4, 128 // STRIDE, 128 // STRIDE)


def test_training_targets_decode_back_to_the_boxes():
    # Encoding boxes as heatmap targets and decoding them must be exact inverses, or the model
    # would learn to predict boxes that inference then misreads.
    boxes = [Box(0, 0.25, 0.3, 0.2, 0.1), Box(2, 0.7, 0.6, 0.3, 0.4)]
    heatmap, box, mask = heatmap_targets(boxes, num_classes=3, grid=64)
    assert mask.sum() == 2
    found = decode(heatmap, box, STRIDE, threshold=0.99, max_detections=10)
    assert sorted(class_id for class_id, _, _ in found) == [0, 2]
    size = 64 * STRIDE
    for class_id, score, xyxy in found:
        expected = next(b for b in boxes if b.class_id == class_id).to_pixels(size, size)
        assert score == pytest.approx(1.0)
        np.testing.assert_allclose(xyxy, expected, atol=1e-3)
