"""The Gradio demo, launched on 127.0.0.1 and called over HTTP with gradio_client.

This is the same path a visitor's browser and the Space take: the real server, the real API
endpoint `/predict`, the real error messages.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

APP_DIR = Path(__file__).resolve().parents[1] / "app"
CLASSES = ["scalpel", "forceps", "scissors", "needle holder", "retractor"]


@pytest.fixture(scope="module")
def client(exported_project: Path) -> Iterator[Client]:
    """The app imported in a project folder with a trained model, served on a free local port."""
    # The app loads the model from the current folder at import, as `python app/gradio_app.py`
    # would in the project root; its helpers sit next to it in app/.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        patch.chdir(exported_project)
        patch.syspath_prepend(str(APP_DIR))
        spec = importlib.util.spec_from_file_location("gradio_app", APP_DIR / "gradio_app.py")
        app = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(app)
        app.demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
        try:
            yield Client(app.demo.local_url, verbose=False)
        finally:
            app.demo.close()


def scores(label: dict) -> dict[str, float]:
    """gr.Label's value over the API: {"label": top, "confidences": [{"label", "confidence"}]}."""
    return {item["label"]: item["confidence"] for item in label["confidences"]}


def test_a_photo_is_predicted(client: Client, exported_project: Path):
    photo = next((exported_project / "data" / "raw").rglob("*.jpg"))
    picture, label, summary = client.predict(handle_file(str(photo)), 0.0, api_name="/predict")

    assert Path(picture).is_file()  # the photo with the boxes drawn on it
    assert summary.startswith("Found")  # threshold 0: every local peak is a box
    names = {name.split(". ", 1)[1] for name in scores(label)}
    assert names <= set(CLASSES)


def test_a_file_that_is_not_an_image_gets_a_friendly_message(client: Client, tmp_path: Path):
    notes = tmp_path / "notes.png"
    notes.write_text("these are my notes, not a picture")

    with pytest.raises(AppError, match="not a picture"):
        client.predict(handle_file(str(notes)), 0.5, api_name="/predict")


def test_no_photo_gets_a_friendly_message(client: Client):
    with pytest.raises(AppError, match="Upload a photo"):
        client.predict(None, 0.5, api_name="/predict")
