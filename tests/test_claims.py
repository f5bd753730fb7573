"""Each row of docs/claims.md, both ways: the claim appears with its evidence, never without.

A project starts from the known artifacts (every piece of evidence present); each row then sets
up the evidence for its claim, and separately takes it away, and reads everything the writeup
would write: the README and the three files in reports/.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from known_artifacts import METRICS, render, write_json, write_known_artifacts, write_lock

from pocgen.writeup.run import plan_writeup

DOCS = Path(__file__).resolve().parents[1] / "docs" / "claims.md"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("claims") / "defect-spotter")


@pytest.fixture
def finished(rendered: Path, tmp_path: Path) -> Path:
    project = Path(shutil.copytree(rendered, tmp_path / "defect-spotter"))
    write_known_artifacts(project)
    return project


def generated(project: Path) -> str:
    """Everything writeup would write, joined: the claim may be in any of the files."""
    plan = plan_writeup(project)
    return "\n".join([plan.readme_after] + [after for _, after in plan.outputs.values() if after])


def write_manifest(project: Path, source: str, n: int = 30) -> None:
    with (project / "data" / "manifest.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item", "source", "group", "collected_at", "original_path", "license"])
        writer.writerows(
            [f"{source}/{i}.jpg", source, f"g{i}", "2026", "x", "own"] for i in range(n)
        )


def set_annotator(project: Path, annotator: str) -> None:
    path = project / "data" / "labels.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({**row, "annotator": annotator} for row in rows)


def patch_json(project: Path, relative: str, *, by_hand: bool = False, **changes: object) -> None:
    """Change a report as its stage would write it (the lock follows), or `by_hand` after it."""
    path = project / relative
    data = json.loads(path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    write_json(path, data)
    if not by_hand:
        write_lock(project)


def gpu_run(train_seconds: float) -> Callable[[Path], None]:
    """reports/gpu.json of a Hugging Face Jobs run whose training took `train_seconds`; the
    training record says the model was trained on that GPU for 301.4 s."""

    def write(project: Path) -> None:
        patch_json(project, "reports/training.json", device="cuda", hardware="Tesla T4")
        record = {
            "schema_version": 1,
            "engine": "hf",
            "flavor": "t4-small",
            "run_id": "run-1",
            "device": "cuda",
            "gpu": "Tesla T4",
            "train_seconds": train_seconds,
            "job_seconds": 362.0,
            "cost_usd": 0.0467,
        }
        write_json(project / "reports" / "gpu.json", record)

    return write


def set_answer(project: Path, key: str, value: object) -> None:
    path = project / ".copier-answers.yml"
    answers = yaml.safe_load(path.read_text(encoding="utf-8"))
    answers[key] = value
    path.write_text(yaml.safe_dump(answers), encoding="utf-8")


def remove(*relatives: str) -> Callable[[Path], None]:
    return lambda project: [(project / r).unlink() for r in relatives] and None


def nothing(project: Path) -> None:
    """The known artifacts already hold this row's evidence."""


@dataclass
class Row:
    number: int
    claim: str  # a regular expression
    evidence: Callable[[Path], None]
    without: Callable[[Path], None]


ROWS = [
    Row(
        1,
        r"from the built-in sample|\*\*Sample data\.\*\*",
        lambda p: write_manifest(p, "sample"),
        nothing,
    ),
    Row(2, r"synthesized by cut-and-paste", lambda p: write_manifest(p, "synth"), nothing),
    Row(3, r"from a folder of photos", nothing, lambda p: write_manifest(p, "video")),
    Row(3, r"as frames of videos", lambda p: write_manifest(p, "video"), nothing),
    Row(3, r"from a CSV or JSON-lines file", lambda p: write_manifest(p, "text"), nothing),
    Row(
        4,
        r"labeled in Label Studio by 2 annotators|Ran labeling in Label Studio",
        nothing,
        # A pull report, but the labels in data/ were made by no one it names.
        lambda p: set_annotator(p, "folder name"),
    ),
    Row(
        4,
        r"Label Studio by|labeling in Label Studio",
        nothing,
        lambda p: patch_json(p, "reports/labels.json", labeled_items=0),
    ),
    Row(
        5,
        r"taken from the names of the folders",
        lambda p: set_annotator(p, "folder name"),
        nothing,
    ),
    Row(5, r"came with the built-in sample", lambda p: set_annotator(p, "sample"), nothing),
    Row(
        6,
        r"Live demo|Shipped a live|demo is online",
        nothing,
        remove("reports/deploy.json"),
    ),
    Row(7, r"accuracy 0\.873", nothing, remove("reports/metrics.json")),
    Row(
        8,
        r"meeting the accuracy ≥ 0\.9 target|\*\*met\*\*",
        lambda p: patch_json(
            p,
            "reports/metrics.json",
            headline={"metric": "accuracy", "value": 0.95},
            metrics={"accuracy": 0.95, "macro_f1": 0.9},
        ),
        nothing,
    ),
    Row(
        9,
        r"95% bootstrap interval of the accuracy: 0\.812 to 0\.921|95% CI 0\.812–0\.921",
        lambda p: patch_json(
            p, "reports/metrics.json", headline={**METRICS["headline"], "ci95": [0.812, 0.921]}
        ),
        nothing,
    ),
    Row(
        10,
        r"\*\*Caution\.\*\* Only 36 test items",
        lambda p: patch_json(p, "reports/metrics.json", warnings=["only 36 test items"]),
        nothing,
    ),
    Row(
        11,
        r"3\.4 ms per",
        nothing,
        lambda p: patch_json(p, "reports/metrics.json", latency_ms=None),
    ),
    Row(12, r"checked 240 items", nothing, remove("reports/data_quality.json")),
    Row(13, r"\n- Built an image classification", nothing, lambda p: write_manifest(p, "sample")),
    Row(13, r"\n- Built an image classification", nothing, lambda p: set_answer(p, "demo", True)),
    Row(
        14, r"# Defect Spotter: a proof of concept", nothing, lambda p: set_answer(p, "demo", True)
    ),
    Row(
        15,
        r"\| files added \| 1: `src/defect_spotter/augment\.py` \|",
        lambda p: (p / "src" / "defect_spotter" / "augment.py").write_text("FLIP = True\n"),
        nothing,
    ),
    Row(
        16,
        r"## Limitations\n\nScratches under 1 mm are missed\.",
        lambda p: (p / "README.md").write_text(
            (p / "README.md")
            .read_text(encoding="utf-8")
            .replace(
                "_Write what this model does not do well, and where its data falls short._",
                "Scratches under 1 mm are missed.",
            ),
            encoding="utf-8",
        ),
        nothing,
    ),
    Row(17, r"\*\*Demo project\.\*\*", lambda p: set_answer(p, "demo", True), nothing),
    Row(
        18,
        r"consistent with the committed model, split and settings",
        nothing,
        remove("reports/pipeline.lock"),
    ),
    Row(
        19,
        r"\*\*Figures not stated\.\*\* Reports/metrics\.json was changed after `evaluate`",
        lambda p: patch_json(p, "reports/metrics.json", by_hand=True, test_size=36),
        nothing,
    ),
    Row(13, r"\n- Built an image classification", nothing, remove("reports/pipeline.lock")),
    Row(13, r"\n- Built an image classification", nothing, lambda p: write_manifest(p, "synth")),
    Row(7, r"accuracy 0\.873", nothing, remove("reports/pipeline.lock")),
    Row(
        20,
        r"\*\*Synthesized data\.\*\* These numbers were measured on images synthesized",
        lambda p: write_manifest(p, "synth"),
        nothing,
    ),
    Row(
        21,
        r"\(leak-free: |so no source leaks between training and test",
        lambda p: patch_json(p, "reports/data_quality.json", duplicates_across_groups=0),
        nothing,
    ),
    Row(
        22,
        r"Real photographs, before it is measured on them",
        lambda p: write_manifest(p, "synth"),
        nothing,
    ),
    Row(
        23,
        r"share of images read exactly \(all found, no false alarm\)",
        lambda p: patch_json(
            p, "reports/metrics.json", metrics={**METRICS["metrics"], "exact_scene_rate": 0.81}
        ),
        nothing,
    ),
    Row(
        24,
        r"changed, not counted \| `src/defect_spotter/empty\.py` \(empty\)",
        lambda p: (p / "src" / "defect_spotter" / "empty.py").write_text("\n"),
        nothing,
    ),
    Row(
        25,
        r"Variants measured",
        lambda p: write_json(p / "reports" / "experiments" / "a.json", METRICS),
        lambda p: write_json(p / "reports" / "experiments" / "a.json", dict(METRICS, smoke=True)),
    ),
    Row(
        26,
        r"\*\*Smoke run\.\*\*",
        lambda p: patch_json(p, "reports/training.json", smoke=True),
        nothing,
    ),
    Row(
        13,
        r"\n- Built an image classification",
        nothing,
        lambda p: patch_json(p, "reports/training.json", smoke=True),
    ),
    Row(
        27,
        r"model kept \| the best `val_macro_f1` on the validation split",
        lambda p: patch_json(p, "reports/training.json", selected_by="val_macro_f1"),
        nothing,
    ),
    Row(
        28,
        r"trained on \| Hugging Face Jobs, `t4-small`; the job ran 6 min 2 s, \$0\.05",
        gpu_run(301.4),
        gpu_run(120.0),  # the model was trained again since the GPU run
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[f"row{r.number}-{r.claim[:30]}" for r in ROWS])
def test_claim_appears_with_its_evidence_and_never_without(finished: Path, row: Row) -> None:
    with_dir = finished.parent / "with"
    shutil.copytree(finished, with_dir)
    row.evidence(with_dir)
    assert re.search(row.claim, generated(with_dir)), f"row {row.number}: claim missing"
    row.without(finished)
    assert not re.search(row.claim, generated(finished)), f"row {row.number}: claim unbacked"


def test_every_row_of_the_table_is_tested() -> None:
    table_rows = {
        int(match) for match in re.findall(r"^\| (\d+) \|", DOCS.read_text(encoding="utf-8"), re.M)
    }
    assert table_rows == {row.number for row in ROWS}


def test_no_claim_of_doing_everything_by_hand(finished: Path) -> None:
    text = generated(finished)
    for phrase in ("Did every step myself", "labeled myself", "collected and labeled"):
        assert phrase not in text


def test_synthesized_detection_boxes_are_the_synthesizers(tmp_path: Path) -> None:
    """Row 5 for detection: YOLO label files record no annotator, so boxes made by `collect synth`
    are credited to the synthesizer by the manifest's source, and no label pull is awaited."""
    project = render(tmp_path / "tray-check", task="object-detection", labeling="label-studio")
    write_manifest(project, "synth", n=12)
    text = generated(project)
    assert "12 labels measured by the cut-and-paste synthesizer" in text
    assert "No labels pulled yet" not in text
    write_manifest(project, "folder", n=12)  # photos the user brought: their boxes need a person
    assert "measured by the cut-and-paste synthesizer" not in generated(project)
