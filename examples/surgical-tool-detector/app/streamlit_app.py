"""Surgical Tool Detector: the Streamlit demo.

Run it from the project root with `streamlit run app/streamlit_app.py`. Streamlit reruns this file
top to bottom on every click, so the model sits behind `st.cache_resource` and loads only once.
"""

from __future__ import annotations

from pathlib import Path

import demo_support as support
import streamlit as st

st.set_page_config(page_title=support.ABOUT["title"], page_icon="🔍", layout="wide")


@st.cache_resource(show_spinner="Loading the model...")
def get_predictor() -> support.Predictor:
    """One predictor for all visitors and reruns: opening the ONNX session is the slow part."""
    return support.load_predictor()


def _file_name(path: str) -> str:
    return Path(path).name


st.title(support.ABOUT["title"])
st.caption(support.ABOUT["problem"])

with st.sidebar:
    threshold = st.slider(
        "Confidence threshold",
        min_value=0.0,
        max_value=1.0,
        value=support.DEFAULT_THRESHOLD,
        step=0.05,
        help="Boxes scored below this are hidden.",
    )
    st.header("About")
    st.markdown(support.about_markdown())

try:
    predictor = get_predictor()
except support.DemoError as error:
    st.error(str(error))
    st.stop()

source = st.radio("Input", ["Try an example", "Upload a photo", "Take a photo"], horizontal=True)
data: bytes | None = None
if source == "Try an example":
    choices = support.examples()
    if not choices:
        st.info("No examples yet: run `make pipeline` to write the test split.")
    else:
        chosen = st.selectbox("Example from the test split", choices, format_func=_file_name)
        data = Path(chosen).read_bytes()
elif source == "Upload a photo":
    upload = st.file_uploader("Upload a photo", type=["jpg", "jpeg", "png", "webp", "bmp"])
    data = upload.getvalue() if upload is not None else None
else:
    # The browser asks for permission first; on a phone this opens the camera.
    shot = st.camera_input("Take a photo")
    data = shot.getvalue() if shot is not None else None

if data is None:
    st.info("Choose an example, upload a photo or take one to see what the model finds.")
    st.stop()

try:
    image = support.read_image(data)
except support.DemoError as error:
    st.warning(str(error))
    st.stop()

result = predictor.predict(image, threshold=threshold)
picture, scores = st.columns([3, 2])
picture.image(support.draw_boxes(image, result["boxes"], predictor.classes), width="content")
scores.subheader(support.summary(result, threshold))
# Bars with their numbers written out, so the scores read the same to people and screen readers.
for label, score in support.score_rows(result):
    scores.progress(score, text=f"{label}: {score:.2f}")
