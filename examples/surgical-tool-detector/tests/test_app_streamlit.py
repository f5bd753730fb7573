"""The Streamlit demo, driven by Streamlit's own test runner (AppTest) on a real exported model.

AppTest runs app/streamlit_app.py exactly as `streamlit run` would, without a browser, and lets
the test type, upload and move the slider like a visitor.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from surgical_tool_detector.config import load_params

APP = Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py"
# The project's own classes: these tests hold for whatever classes params.yaml names.
PARAMS = load_params(Path(__file__).resolve().parents[1] / "params.yaml")
CLASSES = PARAMS["classes"]


@pytest.fixture
def app(exported_project: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The app, started in a project folder that holds a trained and exported model."""
    monkeypatch.chdir(exported_project)
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception, at.exception
    return at


def shown_scores(at: AppTest) -> dict[str, float]:
    """The label: score pairs written on the probability bars."""
    texts = [bar.proto.text for bar in at.get("progress")]
    return {text.rsplit(": ", 1)[0]: float(text.rsplit(": ", 1)[1]) for text in texts}


def encoded(size: tuple[int, int], mode: str = "RGB", format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color="white").save(buffer, format=format)
    return buffer.getvalue()


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.radio[0].set_value("Upload a photo").run()
    at.file_uploader[0].set_value((name, data, "image/png"))
    return at.run()


def test_an_example_is_predicted_on_start(app: AppTest):
    # A visitor sees a prediction before doing anything: the first test-split example.
    assert app.subheader, "no prediction shown"
    assert app.subheader[0].value.startswith(("Found", "Nothing found"))


def test_an_uploaded_photo_is_predicted(app: AppTest, exported_project: Path):
    example = next((exported_project / "data" / "raw").rglob("*.jpg"))

    at = upload(app, example.name, example.read_bytes())

    assert not at.exception and not at.warning
    assert at.subheader[0].value.startswith(("Found", "Nothing found"))
    assert set(shown_scores(at)) <= set(CLASSES)


def test_a_camera_photo_is_predicted(app: AppTest):
    app.radio[0].set_value("Take a photo").run()
    app.camera_input[0].set_value(("camera.jpg", encoded((320, 240), format="JPEG"), "image/jpeg"))

    at = app.run()

    assert not at.exception and not at.warning
    assert at.subheader, "no prediction for the camera photo"


def test_a_file_that_is_not_an_image_gets_a_friendly_message(app: AppTest):
    at = upload(app, "notes.png", b"these are my notes, not a picture")

    assert not at.exception
    assert "not a picture" in at.warning[0].value
    assert not at.subheader


def test_a_huge_image_gets_a_friendly_message(app: AppTest):
    # 1-bit pixels keep the 48-megapixel test file small; the app reads the size from the header.
    at = upload(app, "huge.png", encoded((8000, 6000), mode="1"))

    assert not at.exception
    assert "megapixels" in at.warning[0].value


def test_the_threshold_hides_weak_boxes(app: AppTest):
    app.slider[0].set_value(1.0)

    at = app.run()

    assert at.subheader[0].value.startswith("Nothing found with confidence of at least 1.00")
    assert not shown_scores(at)


def test_the_about_panel_shows_the_problem_and_the_measured_metric(app: AppTest):
    about = "\n".join(block.value for block in app.sidebar.markdown)

    assert f"**Problem.** {PARAMS['problem']}" in about
    assert f"**Objective.** {PARAMS['objective']}" in about
    # Named as a reader says it, not by its key in metrics.json (the @ escaped for Markdown).
    readable = {
        "map50": "mAP\\@0.5",
        "map50_95": "mAP\\@0.5:0.95",
        "all_found_rate": "images with all found",
        "exact_scene_rate": "images read exactly",
        "class_recall": "recall",
        "recall_at_precision": "recall at fixed precision",
    }
    assert f"**{readable[PARAMS['evaluate']['metric']]}" in about
    assert "95% interval" in about  # how far the number could move on another test set
    assert "README.md" in about
    assert "From a --smoke run on a few items" in about  # where the numbers came from


def test_the_about_panel_says_when_the_images_were_synthesized(exported_workdir: Path):
    # evaluate records the manifest's sources in metrics.json; the About panel reads them there
    metrics_file = exported_workdir / "reports" / "metrics.json"
    metrics = json.loads(metrics_file.read_text())
    metrics.update(smoke=False, sample_data=False, data_sources={"synth": 40})
    metrics_file.write_text(json.dumps(metrics))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    about = "\n".join(block.value for block in at.sidebar.markdown)
    assert "All the images were synthesized by cut-and-paste, not photographed" in about
