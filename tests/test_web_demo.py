"""The browser demo of each task gives the Python model's answers, checked in a real browser.

For each task a project is rendered and its own smoke pipeline trains and exports a tiny model.
`python -m <package> web --build` writes the static site a Space would get; a loopback HTTP server
serves it, and Debian's Chromium (driven by Playwright) loads it. The page's handle
`window.pocgen.predict` then runs onnxruntime-web on every example the site ships, and each answer
is compared with `python -m <package> predict --json` on the same file or text: the same top label
and scores within 1e-3, or the same boxes (IoU >= 0.99). A screenshot per task lands in the
project's reports/figures/app_web.png.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from smoke_project import package_of, project_env, smoke_project
from test_demo_browser import chromium_page

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.training]

PROJECTS = {
    "image-classification": "Defect Spotter",
    "object-detection": "Tool Finder",
    "text-classification": "Ticket Router",
}
# Detection is compared at two thresholds: the default, and a low one that keeps weak boxes too.
THRESHOLDS = {"object-detection": (0.5, 0.1)}
SCORE_TOLERANCE = 1e-3
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
MIN_IOU = 0.99
# Browsers refuse a module script served with another type; http.server guesses from the suffix.
CONTENT_TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm"}


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **CONTENT_TYPES}

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve_site(site: Path) -> Iterator[str]:
    """Serve a static folder on a free loopback port, as a static Space would; yield its URL."""
    handler = functools.partial(QuietHandler, directory=str(site))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/"
        finally:
            server.shutdown()


def run_project(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", package_of(project), *args],
        cwd=project,
        env=project_env(project),
        capture_output=True,
        text=True,
    )


def build_site(project: Path, site: Path) -> Path:
    """`python -m <package> web --build site`: the folder a static Space is made of."""
    result = run_project(project, "web", "--build", str(site))
    assert result.returncode == 0, result.stderr
    return site


def python_predictions(
    project: Path, task: str, inputs: list[str], threshold: float
) -> list[dict[str, Any]]:
    """`python -m <package> predict --json` on the site's examples: the reference answers."""
    text = ("--text",) if task == "text-classification" else ()
    options = ("--json", "--threshold", str(threshold), *text)
    result = run_project(project, "predict", *options, *inputs)
    assert result.returncode == 0, result.stderr
    return [entry["prediction"] for entry in json.loads(result.stdout)]


# The network's input as Python prepares it, for each picture named: inference.preprocess.
PYTHON_PIXELS = """
import json, sys
from PIL import Image
from {package}.inference import preprocess
config = json.load(open("models/labels.json"))
print(json.dumps([
    preprocess(Image.open(path), config["input_size"], config["mean"], config["std"]).tolist()
    for path in sys.argv[1:]
]))
"""
# The same in the page: model.js's readPixels and preprocess, flattened.
BROWSER_PIXELS = """async ([input, config]) => {
  const model = await import("./model.js");
  const picture = await model.readPixels(input);
  return Array.from(model.preprocess(picture, config.input_size, config.mean, config.std).data);
}"""


def python_pixels(project: Path, paths: list[str]) -> list[list[float]]:
    code = PYTHON_PIXELS.format(package=package_of(project))
    result = subprocess.run(
        [sys.executable, "-c", code, *paths],
        cwd=project, env=project_env(project), capture_output=True, text=True, check=True,
    )
    return [list(flatten(tensor)) for tensor in json.loads(result.stdout)]


def flatten(nested: Any) -> Iterator[float]:
    if isinstance(nested, list):
        for item in nested:
            yield from flatten(item)
    else:
        yield nested


def iou(a: list[float], b: list[float]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else float(a == b)


def same_box(mine: dict[str, Any], theirs: dict[str, Any]) -> bool:
    return (
        mine["label"] == theirs["label"]
        and abs(mine["score"] - theirs["score"]) <= SCORE_TOLERANCE
        and iou(mine["box"], theirs["box"]) >= MIN_IOU
    )


def assert_same_answer(browser: dict[str, Any], python: dict[str, Any], limit: int = 0) -> None:
    """Same label and scores, or the same boxes; `limit` is the detector's max_detections."""
    if "boxes" in python:
        # Matched as sets: boxes whose scores differ by less than the runtimes' rounding (1e-7)
        # may come out in either order. When both lists stop at `limit` boxes, such a near-tie at
        # the cut may keep a different box on each side (an untrained network's flat heatmap).
        unmatched = list(browser["boxes"])
        missing = []
        for theirs in python["boxes"]:
            match = next((mine for mine in unmatched if same_box(mine, theirs)), None)
            if match is None:
                missing.append(theirs)
            else:
                unmatched.remove(match)
        assert len(browser["boxes"]) == len(python["boxes"]), (browser, python)
        cut = python["boxes"][-1]["score"] + SCORE_TOLERANCE if python["boxes"] else 0.0
        at_cut = len(python["boxes"]) == limit
        for box in missing + unmatched:
            assert at_cut and box["score"] <= cut, (box, browser, python)
        return
    assert browser["label"] == python["label"], (browser, python)
    assert browser["scores"].keys() == python["scores"].keys()
    for name, score in python["scores"].items():
        assert abs(browser["scores"][name] - score) <= SCORE_TOLERANCE, (browser, python)


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    with chromium_page() as opened:
        yield opened


@pytest.mark.parametrize("task", list(PROJECTS))
def test_browser_demo_gives_the_python_answers(task: str, page: Page, tmp_path: Path):
    project = smoke_project(tmp_path / "project", task=task, project_name=PROJECTS[task], ui="both")
    site = build_site(project, tmp_path / "site")
    examples = json.loads((site / "examples.json").read_text(encoding="utf-8"))
    assert examples, "the site ships the test examples"
    image_task = task != "text-classification"
    inputs = [str(site / e["input"]) if image_task else e["input"] for e in examples]

    with serve_site(site) as url:
        page.set_viewport_size(DESKTOP)  # the tasks share the page; the phone check shrinks it
        page.goto(url)
        page.wait_for_function("window.pocgen && window.pocgen.ready", timeout=60_000)
        page.evaluate("window.pocgen.ready")
        config = json.loads((site / "models" / "labels.json").read_text(encoding="utf-8"))
        limit = config.get("decode", {}).get("max_detections", 0)
        if image_task:
            # The decoded, resized and normalised pixels match Python's to float precision, so
            # the model's answers can only differ by the runtimes' arithmetic.
            for example, pixels in zip(examples, python_pixels(project, inputs), strict=True):
                mine = page.evaluate(BROWSER_PIXELS, [example["input"], config])
                assert len(mine) == len(pixels)
                assert max(abs(a - b) for a, b in zip(mine, pixels, strict=True)) <= 1e-6
        for threshold in THRESHOLDS.get(task, (0.5,)):
            expected = python_predictions(project, task, inputs, threshold)
            for example, python in zip(examples, expected, strict=True):
                browser = page.evaluate(
                    "([input, threshold]) => window.pocgen.predict(input, threshold)",
                    [example["input"], threshold],
                )
                assert_same_answer(browser, python, limit)

        # What a visitor sees: click the first example, wait for the sentence the apps share.
        # The lowest threshold compared above, so a smoke-trained detector shows some boxes.
        page.locator("#threshold").fill(str(min(THRESHOLDS.get(task, (0.5,)))))
        page.locator("#examples button").first.click()
        expect(page.locator("#summary")).to_have_text(
            re.compile(r"^(Prediction: |Found |Nothing found)"), timeout=30_000
        )
        expect(page.locator("#metrics")).to_contain_text("on the test split")
        screenshot = project / "reports" / "figures" / "app_web.png"
        page.screenshot(path=screenshot, full_page=True)
        page.set_viewport_size(PHONE)  # readable on a phone: nothing wider than the screen
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        if image_task:  # an upload that is no picture gets the Python apps' sentence
            notes = {"name": "notes.png", "mimeType": "image/png", "buffer": b"my notes"}
            page.locator("#file").set_input_files(files=[notes])
            expect(page.locator("#status")).to_have_text(re.compile("not a picture"))
            expect(page.locator("#summary")).to_be_empty()
    assert screenshot.stat().st_size > 10_000
