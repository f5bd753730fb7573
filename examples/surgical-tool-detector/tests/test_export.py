"""`export`: the ONNX model and labels.json the apps load, checked against the trained model."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from surgical_tool_detector import inference
from surgical_tool_detector.cli import main
from surgical_tool_detector.config import LABELS_JSON_FILE, ONNX_FILE, PARAMS_FILE, load_params
from surgical_tool_detector.dataset import read_split
from surgical_tool_detector.inference import Predictor, decode


def test_export_writes_a_model_that_predicts_per_the_contract(exported_workdir):
    ONNX_FILE.unlink()
    LABELS_JSON_FILE.unlink()
    main(["export", "--smoke"])
    labels = json.loads(LABELS_JSON_FILE.read_text())
    params = load_params()
    assert labels["task"] == params["task"]
    assert labels["classes"] == params["classes"]
    # What the demo says the project is for: params.yaml's words, carried with the model.
    assert labels["about"] == {key: params[key] for key in ("title", "problem", "objective")}
    assert labels["input_size"] > 0 and len(labels["mean"]) == len(labels["std"]) == 3
    assert labels["decode"]["stride"] == 4

    predictor = Predictor(ONNX_FILE, LABELS_JSON_FILE)
    image = Image.open(read_split("test")[0]["path"])
    boxes = predictor.predict(image, threshold=0.0)["boxes"]
    assert boxes, "threshold 0 keeps the most likely boxes"
    scores = [b["score"] for b in boxes]
    assert scores == sorted(scores, reverse=True)
    for box in boxes:
        assert box["label"] in labels["classes"]
        x0, y0, x1, y1 = box["box"]
        assert 0 <= x0 <= x1 <= image.width and 0 <= y0 <= y1 <= image.height
    high = predictor.predict(image, threshold=0.5)["boxes"]
    assert all(b["score"] >= 0.5 for b in high)


def test_export_without_a_trained_model_names_the_missing_stage(workdir, capsys):
    main(["sample", "--smoke"])
    main(["split", "--smoke"])
    with pytest.raises(SystemExit) as exit_info:
        main(["export"])
    assert exit_info.value.code == 1
    assert "train" in capsys.readouterr().err
    assert not ONNX_FILE.exists()


def test_a_model_trained_on_other_classes_is_not_exported(exported_workdir, capsys):
    before = ONNX_FILE.read_bytes()  # the working model the smoke pipeline exported
    PARAMS_FILE.write_text(PARAMS_FILE.read_text().replace("classes:", "classes: [x, y] #", 1))
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "--smoke"])
    assert exit_info.value.code == 1
    assert "run `train` again" in capsys.readouterr().err
    assert ONNX_FILE.read_bytes() == before  # the working model was kept


def test_inference_needs_no_torch_and_no_other_module_of_the_package():
    # The demo apps and a Hugging Face Space load inference.py alone, without torch installed.
    source = Path(inference.__file__)
    tree = ast.parse(source.read_text(encoding="utf-8"))
    imported = {
        (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    allowed = {"__future__", "json", "pathlib", "typing", "numpy", "onnxruntime", "PIL"}
    assert imported <= allowed
    code = "import sys, surgical_tool_detector.inference; print('torch' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(source.parents[1])},  # works installed or not
    )
    assert loaded.stdout.strip() == "False"


def test_decoding_keeps_one_box_per_object():
    # Two peaks two cells apart with the same box: one object seen twice. A third peak of
    # another class at the same place is a different answer and stays.
    heatmap = np.zeros((2, 16, 16), dtype=np.float32)
    heatmap[0, 5, 5], heatmap[0, 5, 7], heatmap[1, 5, 6] = 0.9, 0.8, 0.7
    box = np.zeros((4, 16, 16), dtype=np.float32)
    box[2:] = np.log(10.0)  # every box 10 cells (40 px) wide and high
    found = decode(heatmap, box, stride=4, threshold=0.5, max_detections=10, nms_iou=0.5)
    assert [(class_id, round(score, 2)) for class_id, score, _ in found] == [(0, 0.9), (1, 0.7)]
    np.testing.assert_allclose(found[0][2], [0, 0, 40, 40], atol=1e-4)  # centre at 20 px
