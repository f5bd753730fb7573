"""The Gradio demo, launched on 127.0.0.1 and called over HTTP with gradio_client.

This is the same path a visitor's browser and the Space take: the real server, the real API
endpoint `/predict`, the real error messages.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from surgical_tool_detector.config import load_params

APP_DIR = Path(__file__).resolve().parents[1] / "app"
# The project's own classes: these tests hold for whatever classes params.yaml names.
PARAMS = load_params(Path(__file__).resolve().parents[1] / "params.yaml")
CLASSES = PARAMS["classes"]


@pytest.fixture(scope="module")
def app(exported_project: Path) -> Iterator[ModuleType]:
    """The app imported in a project folder with a trained model, served on a free local port.

    `spaces` is made unimportable, as it is everywhere but on a Hugging Face Space, so these tests
    prove the app starts and answers without it.
    """
    # The app loads the model from the current folder at import, as `python app/gradio_app.py`
    # would in the project root; its helpers sit next to it in app/.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        patch.setitem(sys.modules, "spaces", None)  # `import spaces` now raises ImportError
        patch.chdir(exported_project)
        patch.syspath_prepend(str(APP_DIR))
        spec = importlib.util.spec_from_file_location("gradio_app", APP_DIR / "gradio_app.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
        try:
            yield module
        finally:
            module.demo.close()


@pytest.fixture(scope="module")
def client(app: ModuleType) -> Client:
    return Client(app.demo.local_url, verbose=False)


def test_the_app_is_ready_for_zerogpu(app: ModuleType):
    # ZeroGPU stops an app without one @spaces.GPU function, and queues one visitor by default.
    assert app.gpu_function(app.predict) is app.predict  # off a Space: inference undecorated
    assert callable(app.gpu_placeholder)
    assert app.demo._queue.max_size == app.QUEUE_SIZE > 1


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
