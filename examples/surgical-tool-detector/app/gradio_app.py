"""Surgical Tool Detector: the Gradio demo.

Run it from the project root with `python app/gradio_app.py`; on a Hugging Face Space the same file
runs as the Space's app. The model loads once, when this module is imported, and every visitor's
request reuses it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import demo_support as support
import gradio as gr

try:
    # Hugging Face's ZeroGPU package exists only on a Space; elsewhere nothing needs declaring.
    from spaces import GPU as gpu_function
except ImportError:

    def gpu_function(function):
        """Off a Space, spaces.GPU itself returns the function unchanged; so does this."""
        return function


# On ZeroGPU, Gradio queues at most one waiting visitor unless told otherwise.
QUEUE_SIZE = 20

try:
    PREDICTOR = support.load_predictor()
except support.DemoError as error:
    sys.exit(f"error: {error}")


@gpu_function
def gpu_placeholder() -> None:
    """Never called. ZeroGPU stops an app that declares no @spaces.GPU function at start-up, so
    this declares one. Prediction stays undecorated on purpose: onnxruntime runs on the CPU, and
    each call of a decorated function would book GPU time from the visitor's daily quota.
    """


def predict(photo: dict[str, Any] | None, threshold: float) -> tuple[Any, dict[str, float], str]:
    """Run the model on one uploaded, webcam or example photo; bad files get a friendly message.

    `photo` is Gradio's raw file record ({"path": ...}): the events below pass preprocess=False,
    because Gradio would otherwise decode the file itself and answer a non-image with a generic
    "Error". Decoding here lets the app refuse bad and oversized files in plain words.
    """
    if not photo or not photo.get("path"):
        raise gr.Error("Upload a photo, take one with the webcam, or pick an example first.")
    try:
        image = support.read_image(Path(photo["path"]).read_bytes())
    except support.DemoError as error:
        # gr.Error shows the message to the visitor instead of a generic "Error".
        raise gr.Error(str(error)) from None
    result = PREDICTOR.predict(image, threshold=threshold)
    picture = support.draw_boxes(image, result["boxes"], PREDICTOR.classes)
    # gr.Label keeps one score per name, so number the boxes: two scalpels stay two rows.
    rows = support.score_rows(result)
    scores = {f"{rank}. {label}": score for rank, (label, score) in enumerate(rows, start=1)}
    return picture, scores, support.summary(result, threshold)


with gr.Blocks(title=support.ABOUT["title"]) as demo:
    gr.Markdown(f"# {support.ABOUT['title']}\n{support.ABOUT['problem']}")
    with gr.Row():
        with gr.Column():
            item = gr.Image(sources=["upload", "webcam", "clipboard"], label="Photo")
            threshold = gr.Slider(
                0.0, 1.0, value=support.DEFAULT_THRESHOLD, step=0.05, label="Confidence threshold"
            )
            submit = gr.Button("Predict", variant="primary")
            examples = support.examples()
            if examples:
                gr.Examples([[example] for example in examples], inputs=[item])
        with gr.Column():
            picture = gr.Image(label="Detections", type="pil", interactive=False)
            summary = gr.Markdown()
            scores = gr.Label(label="Detections", num_top_classes=10)
    with gr.Accordion("About", open=True):
        gr.Markdown(support.about_markdown())

    outputs = [picture, scores, summary]
    events = {"inputs": [item, threshold], "outputs": outputs, "preprocess": False}
    submit.click(predict, api_name="predict", **events)
    # Re-run when the visitor moves the slider, so the threshold's effect is visible at once.
    threshold.release(predict, api_name=False, **events)

demo.queue(max_size=QUEUE_SIZE)

if __name__ == "__main__":
    # Gradio reads GRADIO_SERVER_NAME and GRADIO_SERVER_PORT, which a Space sets for its app.
    # Refuse oversized uploads before they reach the model; read_image checks the same limit.
    demo.launch(max_file_size=support.MAX_UPLOAD_BYTES)
