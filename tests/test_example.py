"""The flagship, examples/surgical-tool-detector: in step with the template, and its demo works.

The example is a project `pocgen new` made and the user then ran. Three things must hold:

- **No drift.** Re-rendered from its own `.copier-answers.yml`, the template produces the same
  files. What the user owns may differ: README text outside the template's own (the writeup
  markers, the sections the user writes, added sections) and the settings tuned in params.yaml.
  Files the template does not make (scripts/, docs/, reports/, models/) are the user's.
  When the template changes on purpose, `pocgen update examples/surgical-tool-detector` brings
  the example along and this test passes again.
- **The committed model works**: the ONNX model and its labels find the instruments of the
  committed preview images through `inference.Predictor`, and the Streamlit demo runs on them
  from the files a fresh clone has (AppTest, no browser).
- **The committed results are what the README claims**: the committed run meets the project's
  own target (test mAP@0.5 of at least `target_value`, 0.9; it reached 0.961), on real (not
  smoke, not sample) data of at least 1,000 images, and the writeup is fresh.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import REPO_ROOT, run_pocgen
from PIL import Image

from pocgen.templating.engines import RenderOptions
from pocgen.templating.new import create_project

EXAMPLE = REPO_ROOT / "examples" / "surgical-tool-detector"
PREVIEW = EXAMPLE / "docs" / "preview"
# params.yaml settings tuned by hand; the README's Decisions section says why.
TUNED = {
    ("collect", "objects"),
    ("collect", "scale"),
    ("train", "pretrained"),
    ("train", "epochs"),
}
# Copier's bookkeeping: which template version and where from; not part of the project.
ANSWER_BOOKKEEPING = {"_commit", "_src_path"}
MARKER = re.compile(r"<!-- (/?)pocgen:(\w+)[^>]*-->")
# Placeholder lines the template leaves for the user to replace with their own text.
USER_PLACEHOLDER = re.compile(r"^_Write what .*_$")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example rendered afresh from its recorded answers, with the current template."""
    answers = yaml.safe_load((EXAMPLE / ".copier-answers.yml").read_text(encoding="utf-8"))
    data = {key: value for key, value in answers.items() if not key.startswith("_")}
    dest = tmp_path_factory.mktemp("render") / EXAMPLE.name
    create_project(dest, data=data, options=RenderOptions(defaults=True))
    return dest


def template_lines(readme: str) -> list[str]:
    """README lines with marker bodies and user placeholders dropped, markers without their sha."""
    lines, inside = [], False
    for line in readme.splitlines():
        marker = MARKER.fullmatch(line.strip())
        if marker:
            inside = not marker.group(1)
            lines.append(f"<!-- {marker.group(1)}pocgen:{marker.group(2)} -->")
        elif not inside and not USER_PLACEHOLDER.match(line.strip()):
            lines.append(line)
    return lines


def without_tuned(params: dict) -> dict:
    trimmed = json.loads(json.dumps(params))
    for section, key in TUNED:
        del trimmed[section][key]
    return trimmed


def test_example_matches_a_fresh_render_of_its_answers(rendered: Path) -> None:
    drifted = []
    for path in sorted(p for p in rendered.rglob("*") if p.is_file()):
        relative = path.relative_to(rendered).as_posix()
        mine = EXAMPLE / relative
        if not mine.is_file():
            drifted.append(f"{relative}: missing from the example")
            continue
        theirs_text, mine_text = path.read_bytes(), mine.read_bytes()
        if relative == ".copier-answers.yml":
            theirs, ours = yaml.safe_load(theirs_text), yaml.safe_load(mine_text)
            same = {k: v for k, v in theirs.items() if k not in ANSWER_BOOKKEEPING} == {
                k: v for k, v in ours.items() if k not in ANSWER_BOOKKEEPING
            }
        elif relative == "README.md":
            # The template's lines must all still be there, in order; the user may add between.
            wanted = iter(template_lines(mine_text.decode()))
            same = all(line in wanted for line in template_lines(theirs_text.decode()))
        elif relative == "params.yaml":
            same = without_tuned(yaml.safe_load(theirs_text)) == without_tuned(
                yaml.safe_load(mine_text)
            )
        else:
            same = theirs_text == mine_text
        if not same:
            drifted.append(f"{relative}: differs from the template's")
    assert not drifted, (
        "examples/surgical-tool-detector drifted from the template; run "
        "`pocgen update examples/surgical-tool-detector` (then rerun its pipeline if the model "
        "code changed):\n" + "\n".join(drifted)
    )


def boxes_of(label_file: Path, size: tuple[int, int]) -> list[tuple[int, list[float]]]:
    """YOLO label lines as (class id, [x0, y0, x1, y1]) in pixels."""
    width, height = size
    found = []
    for line in label_file.read_text().splitlines():
        class_id, cx, cy, w, h = line.split()
        cx, cy, w, h = float(cx) * width, float(cy) * height, float(w) * width, float(h) * height
        found.append((int(class_id), [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]))
    return found


def iou(a: list[float], b: list[float]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - width * height
    return width * height / union if union else 0.0


def test_committed_model_finds_the_instruments_of_the_preview_images() -> None:
    spec = importlib.util.spec_from_file_location(
        "flagship_inference", EXAMPLE / "src" / "surgical_tool_detector" / "inference.py"
    )
    inference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(inference)
    models = EXAMPLE / "models"
    assert (models / "model.onnx").stat().st_size <= 15 * 1024 * 1024
    predictor = inference.Predictor(str(models / "model.onnx"), str(models / "labels.json"))
    threshold = yaml.safe_load((EXAMPLE / "params.yaml").read_text())["evaluate"]["threshold"]
    truth_total, found, false_boxes = 0, 0, 0
    images = sorted((PREVIEW / "images").glob("*.jpg"))
    assert len(images) == 8
    for image_path in images:
        with Image.open(image_path) as image:
            predicted = predictor.predict(image.convert("RGB"), threshold=threshold)["boxes"]
            truth = boxes_of(PREVIEW / "labels" / f"{image_path.stem}.txt", image.size)
        if not truth:
            assert not predicted, f"{image_path.name} is an empty table: {predicted}"
        truth_total += len(truth)
        unmatched = list(predicted)
        for class_id, box in truth:
            name = predictor.classes[class_id]
            match = next(
                (p for p in unmatched if p["label"] == name and iou(p["box"], box) >= 0.5), None
            )
            if match:
                found += 1
                unmatched.remove(match)
        false_boxes += len(unmatched)
    # The committed model (test mAP@0.5 0.961) finds 19 of the preview's 21 instruments at
    # evaluate's threshold, with 3 stray boxes: a model that finds fewer has regressed.
    assert found >= 0.85 * truth_total, f"found {found} of {truth_total} boxes"
    assert false_boxes <= 3, f"{false_boxes} boxes where there is no instrument"


@pytest.fixture
def demo_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """What a fresh clone has for the demo: the app, the code, the committed model and metrics."""
    folder = tmp_path / EXAMPLE.name
    for relative in ("app", "src"):
        shutil.copytree(EXAMPLE / relative, folder / relative)
    for relative in ("models/model.onnx", "models/labels.json", "reports/metrics.json"):
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(EXAMPLE / relative, folder / relative)
    monkeypatch.chdir(folder)
    monkeypatch.syspath_prepend(str(folder / "src"))
    return folder


def test_streamlit_demo_runs_on_the_committed_model(demo_folder: Path) -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(demo_folder / "app" / "streamlit_app.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    photo = sorted((PREVIEW / "images").glob("*.jpg"))[-1]
    at.radio[0].set_value("Upload a photo").run()
    at.file_uploader[0].set_value((photo.name, photo.read_bytes(), "image/jpeg"))
    at = at.run()

    assert not at.exception and not at.warning
    assert at.subheader[0].value.startswith(("Found", "Nothing found"))


def test_committed_results_are_real_and_the_writeup_is_fresh() -> None:
    metrics = json.loads((EXAMPLE / "reports" / "metrics.json").read_text())
    answers = yaml.safe_load((EXAMPLE / ".copier-answers.yml").read_text())
    assert not metrics["smoke"] and not metrics["sample_data"]
    assert metrics["headline"]["metric"] == answers["target_metric"] == "map50"
    assert metrics["headline"]["value"] >= answers["target_value"] == 0.9
    assert metrics["baseline"]["metrics"]["map50"] < 0.9
    assert sum(metrics["dataset"][split] for split in ("train", "val", "test")) >= 1000

    result = run_pocgen("writeup", EXAMPLE, "--check")
    assert result.exit_code == 0, result.stdout + result.stderr
