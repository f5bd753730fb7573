"""Run the exported model with onnxruntime: the one way every part of the project makes predictions.

`predict`, `evaluate` and the demo apps all call `Predictor`, so the numbers in reports/metrics.json
describe exactly what the demo shows. This file imports only numpy, Pillow and onnxruntime
(never torch, never another module of this package), so it can be copied into a Hugging Face Space
or any other app on its own:

    from surgical_tool_detector.inference import Predictor
    predictor = Predictor("models/model.onnx", "models/labels.json")
    predictor.predict(Image.open("photo.jpg"), threshold=0.5)

The browser demo repeats these steps in JavaScript (app/web/model.js): a change here needs the
same change there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from PIL import Image


def preprocess(image: Image.Image, size: int, mean: list[float], std: list[float]) -> np.ndarray:
    """A picture as the network's input: RGB, resized to size x size, normalised, channels first.

    Training uses this same function, so the model never sees pixels prepared differently from
    the ones it was trained on. Resizing to a square ignores the aspect ratio on purpose: it keeps
    the code simple, and the model learns on equally stretched images.
    """
    rgb = image.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
    pixels = np.asarray(rgb, dtype=np.float32) / 255.0
    pixels = (pixels - np.array(mean, dtype=np.float32)) / np.array(std, dtype=np.float32)
    return pixels.transpose(2, 0, 1)  # height, width, channel -> channel, height, width


def local_maxima(heatmap: np.ndarray) -> np.ndarray:
    """True where a cell is the highest of its 3x3 neighbourhood, in each class map.

    This replaces non-maximum suppression: an object lights up a small blob of cells around its
    centre, and keeping only the top of each blob leaves one detection per object.
    """
    padded = np.pad(heatmap, ((0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(1, 2))
    return heatmap >= windows.max(axis=(-2, -1))


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boxes (x0, y0, x1, y1): 0 apart, 1 identical."""
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def decode(
    heatmap: np.ndarray,
    box: np.ndarray,
    stride: int,
    threshold: float,
    max_detections: int,
    nms_iou: float = 0.5,
) -> list[tuple[int, float, np.ndarray]]:
    """Turn the network's maps for one image into (class id, score, [x0, y0, x1, y1]) boxes.

    heatmap is (classes, G, G) of probabilities and box is (4, G, G): the offset of the centre
    inside its cell and the log width and log height of the box, all in cells. The boxes come back
    in pixels of the network's input, best score first.

    A small model sometimes lights up two peaks a couple of cells apart for one object, so a box
    that overlaps a better one of the same class by more than `nms_iou` is dropped (non-maximum
    suppression, done here in a few lines because there are at most `max_detections` boxes).
    """
    scores = np.where(local_maxima(heatmap), heatmap, 0.0)
    # Best first; equal scores keep their (class, row, column) order, so the result does not
    # depend on the sorting algorithm numpy picks for this CPU (the browser demo sorts the same).
    best = np.argsort(-scores, axis=None, kind="stable")[:max_detections]
    best = best[scores.ravel()[best] >= threshold]
    class_ids, rows, cols = np.unravel_index(best, scores.shape)
    dx, dy, log_w, log_h = box[:, rows, cols]
    cx, cy = (cols + dx) * stride, (rows + dy) * stride
    w, h = np.exp(log_w) * stride, np.exp(log_h) * stride
    corners = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    kept: list[tuple[int, float, np.ndarray]] = []
    for c, s, xyxy in zip(class_ids, scores[class_ids, rows, cols], corners, strict=True):
        if all(c != k or overlap(xyxy, other) <= nms_iou for k, _, other in kept):
            kept.append((int(c), float(s), xyxy))
    return kept


class Predictor:
    """The exported model and its labels, loaded once and reused for every prediction."""

    def __init__(self, model_path: str | Path, labels_path: str | Path) -> None:
        self.config: dict[str, Any] = json.loads(Path(labels_path).read_text(encoding="utf-8"))
        self.task: str = self.config["task"]
        self.classes: list[str] = list(self.config["classes"])
        # CPU is what a laptop and a free Space have; it is also what evaluate times.
        self.session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def predict(self, item: Image.Image, threshold: float = 0.5) -> dict[str, Any]:
        """{"boxes": [{"label", "score", "box": [x0, y0, x1, y1]}]} in pixels of `item`.

        Only boxes with score >= threshold are returned, best first. Use a low threshold to see
        everything the model suspects (evaluate uses 0.01 to draw the precision-recall curve).
        """
        size = self.config["input_size"]
        pixels = preprocess(item, size, self.config["mean"], self.config["std"])
        heatmap, box = self.session.run(None, {self.input_name: pixels[None]})
        settings = self.config["decode"]
        found = decode(
            heatmap[0],
            box[0],
            settings["stride"],
            threshold,
            settings["max_detections"],
            settings["nms_iou"],
        )
        # The network saw a size x size copy; scale the boxes back to the picture's own pixels.
        picture = np.array([item.width, item.height, item.width, item.height])
        scale = picture / size
        return {
            "boxes": [
                {
                    "label": self.classes[class_id],
                    "score": score,
                    "box": [round(float(v), 1) for v in np.clip(xyxy * scale, 0, picture)],
                }
                for class_id, score, xyxy in found
            ]
        }
