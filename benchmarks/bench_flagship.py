"""The flagship example against the obvious alternative, and how long a PoC takes from nothing.

Two measurements, on the same machine and its 2 CPU cores:

1. **Template detector vs Ultralytics YOLO11n, same wall-clock budget.** The example's own
   detector (`centernet-tiny`, trained by `python -m surgical_tool_detector train`) took
   `reports/training.json`'s seconds; YOLO11n, built from `yolo11n.yaml` (no pretrained weights),
   trains on exactly the same train/val split of examples/surgical-tool-detector for exactly that
   long (Ultralytics' `time` argument counts its validation too). Both are then scored on the same
   test split by the same code: the example's `evaluate.detection_metrics` (COCO 101-point AP).
   The template's side is the committed run unless `--retrain` trains it again here first.
2. **Time-to-PoC.** From `pocgen new` (object detection, every default) through the default
   pipeline on the generated sample data (sample, validate, split, train, export, evaluate) to the
   Gradio demo answering a prediction request over HTTP (gradio_client).

Ultralytics is AGPL-3.0: it is only in pocgen's optional `bench` extra, never a dependency of
pocgen or of a generated project. Offline, it would try to download fonts and weights; this script
builds the model from its YAML, turns plots off and points its settings at a temporary folder, so
nothing is fetched. The example's data must exist (run examples/surgical-tool-detector/scripts/
reproduce.sh, or its collect/validate/split steps).

    pip install -e '.[bench]'                 # ultralytics, for YOLO11n
    python benchmarks/bench_flagship.py --json results.json
    python benchmarks/bench_flagship.py --only poc     # just time-to-PoC
    python benchmarks/bench_flagship.py --only yolo \
        --experiment examples/surgical-tool-detector/reports/experiments/yolo11n-scratch.json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the same project helpers the tests use

from bench_demo import start_gradio  # noqa: E402  (this folder is on sys.path: run as a script)
from smoke_project import project_env  # noqa: E402

EXAMPLE = REPO / "examples" / "surgical-tool-detector"
PACKAGE = "surgical_tool_detector"
IMAGE_SIZE = 256  # the example's train.input_size: both detectors see the same pixels


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def read_split(name: str) -> list[dict[str, str]]:
    with (EXAMPLE / "data" / "splits" / f"{name}.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def run_example_stage(*stage: str) -> None:
    env = project_env(EXAMPLE)
    subprocess.run([sys.executable, "-m", PACKAGE, *stage], cwd=EXAMPLE, env=env, check=True)


def yolo_dataset(folder: Path, classes: list[str]) -> Path:
    """The example's splits in the layout Ultralytics reads: images/<split>, labels/<split>.

    Images and label files are copied unchanged: the example already stores boxes in YOLO
    format, and empty label files (empty tables) are negatives for both detectors.
    """
    for split in ("train", "val", "test"):
        (folder / "images" / split).mkdir(parents=True)
        (folder / "labels" / split).mkdir(parents=True)
        for row in read_split(split):
            image, label = EXAMPLE / row["path"], EXAMPLE / row["annotation"]
            shutil.copy(image, folder / "images" / split / image.name)
            shutil.copy(label, folder / "labels" / split / f"{image.stem}.txt")
    config = folder / "data.yaml"
    names = "\n".join(f"  {index}: {name}" for index, name in enumerate(classes))
    config.write_text(
        f"path: {folder}\ntrain: images/train\nval: images/val\ntest: images/test\n"
        f"names:\n{names}\n"
    )
    return config


def train_yolo(config: Path, seconds: float, folder: Path) -> tuple[object, dict]:
    """YOLO11n from scratch for `seconds` of wall time on the CPU; the model and what it did."""
    # Settings, fonts and runs go to a temporary folder; nothing is downloaded or synced.
    os.environ["YOLO_CONFIG_DIR"] = str(folder / "config")
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "false"  # never pip-install a missing package mid-run
    from ultralytics import YOLO, settings

    settings.update({"sync": False, "runs_dir": str(folder / "runs")})
    model = YOLO("yolo11n.yaml")  # the architecture only: random weights, no .pt download
    parameters = sum(p.numel() for p in model.model.parameters())
    started = time.perf_counter()
    model.train(
        data=str(config),
        imgsz=IMAGE_SIZE,
        epochs=1000,
        time=seconds / 3600,
        pretrained=False,
        device="cpu",
        workers=0,
        batch=16,
        plots=False,
        amp=False,
        project=str(folder / "runs"),
        name="yolo11n",
        exist_ok=True,
        verbose=False,
        seed=42,
        deterministic=False,
    )
    wall = time.perf_counter() - started
    epochs = model.trainer.epoch + 1
    best = Path(model.trainer.best)
    return YOLO(str(best)), {"seconds": round(wall, 1), "epochs": epochs, "parameters": parameters}


def score_yolo(model: object, classes: list[str]) -> dict:
    """YOLO's test-split boxes, scored by the example's own evaluation code."""
    sys.path.insert(0, str(EXAMPLE / "src"))
    from surgical_tool_detector import evaluate

    rows = read_split("test")
    predictions = []
    for row in rows:
        result = model.predict(
            str(EXAMPLE / row["path"]),
            imgsz=IMAGE_SIZE,
            conf=0.001,
            max_det=100,
            device="cpu",
            verbose=False,
        )[0]
        boxes = [
            {"label": classes[int(c)], "score": float(s), "box": [float(v) for v in xyxy]}
            for c, s, xyxy in zip(
                result.boxes.cls.tolist(),
                result.boxes.conf.tolist(),
                result.boxes.xyxy.tolist(),
                strict=True,
            )
        ]
        predictions.append({"boxes": boxes})
    cwd = Path.cwd()
    os.chdir(EXAMPLE)  # split paths are relative to the project root
    try:
        truth = evaluate.ground_truth(rows, classes)
    finally:
        os.chdir(cwd)
    detections = evaluate.detections_of(predictions, classes)
    return evaluate.detection_metrics(truth, detections, classes)["metrics"]


def as_experiment(found: dict, metrics: dict, machine: str) -> dict:
    """YOLO's run in the layout of the example's metrics.json, for reports/experiments/: the
    writeup's Decisions table then shows it beside the chosen model."""
    yolo = found["yolo11n"]
    return {
        "schema_version": 1,
        "task": metrics["task"],
        "sample_data": False,
        "smoke": False,
        "classes": metrics["classes"],
        "dataset": metrics["dataset"],
        "headline": {"metric": "map50", "value": yolo["map50"]},
        "metrics": {"map50": yolo["map50"], "map50_95": yolo["map50_95"]},
        "baseline": metrics["baseline"],  # the same splits, so the same baseline
        "model": {"name": "yolo11n", "pretrained": False, "parameters": yolo["parameters"]},
        "training": {
            "seconds": yolo["train_seconds"],
            "epochs": yolo["epochs"],
            "device": "cpu",
            "hardware": machine,
            "budget_seconds": found["budget_seconds"],
            "measured_by": "benchmarks/bench_flagship.py (Ultralytics, same splits and AP code)",
        },
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def detector_vs_yolo(retrain: bool) -> dict:
    if retrain:
        for stage in ("train", "export", "evaluate"):
            run_example_stage(stage)
    training = json.loads((EXAMPLE / "reports" / "training.json").read_text())
    metrics = json.loads((EXAMPLE / "reports" / "metrics.json").read_text())
    if metrics.get("smoke") or training.get("smoke"):
        raise SystemExit("the example's reports come from a --smoke run: rerun its pipeline.")
    classes = metrics["classes"]
    budget = float(training["seconds"])
    load_before = load()
    with tempfile.TemporaryDirectory(prefix="bench-flagship-") as name:
        folder = Path(name)
        config = yolo_dataset(folder / "data", classes)
        model, run = train_yolo(config, budget, folder)
        yolo_metrics = score_yolo(model, classes)
    ours = metrics["metrics"]
    return {
        "budget_seconds": budget,
        "template": {
            "model": metrics["model"]["name"],
            "parameters": metrics["model"]["parameters"],
            "train_seconds": budget,
            "epochs": training["epochs"],
            **ours,
            "load": "committed run (see the example's README)" if not retrain else load_before,
        },
        "yolo11n": {
            "model": "yolo11n (from scratch)",
            "train_seconds": run["seconds"],
            "epochs": run["epochs"],
            "parameters": run["parameters"],
            **yolo_metrics,
            "load_before": load_before,
            "load_after": load(),
        },
        "map50_ratio": round(ours["map50"] / yolo_metrics["map50"], 2)
        if yolo_metrics["map50"]
        else None,
    }


def time_to_poc() -> dict:
    """`pocgen new` to the demo answering, timed step by step, as a user would run them."""
    from gradio_client import Client, handle_file

    steps: dict[str, float] = {}
    load_before = load()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-poc-") as name:
        project = Path(name) / "my-poc"
        mark = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "pocgen", "new", str(project), "--defaults"],
            check=True,
            capture_output=True,
        )
        steps["pocgen new"] = time.perf_counter() - mark
        env = project_env(project)
        for stage in ("sample", "validate", "split", "train", "export", "evaluate"):
            mark = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "my_poc", stage],
                cwd=project,
                env=env,
                check=True,
                capture_output=True,
            )
            steps[stage] = time.perf_counter() - mark
        mark = time.perf_counter()
        server, url, _ = start_gradio(project)
        try:
            client = Client(url, verbose=False)
            photo = next((project / "data" / "raw").rglob("*.jpg"))
            _, _, summary = client.predict(handle_file(str(photo)), 0.5, api_name="/predict")
        finally:
            server.terminate()
            server.wait(timeout=20)
        steps["demo answers"] = time.perf_counter() - mark
        metrics = json.loads((project / "reports" / "metrics.json").read_text())
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "steps": {k: round(v, 1) for k, v in steps.items()},
        "headline": metrics["headline"],
        "demo_said": summary,
        "load_before": load_before,
        "load_after": load(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["yolo", "poc"], help="run one of the two measurements")
    parser.add_argument("--retrain", action="store_true", help="train the example's model again")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument(
        "--experiment", type=Path, help="also write YOLO's run as reports/experiments/<name>.json"
    )
    args = parser.parse_args()
    python = platform.python_version()
    machine = f"{os.cpu_count()} CPU cores ({platform.machine()}), Python {python}"
    results: dict = {"machine": machine}
    if args.only != "poc":
        results["detector_vs_yolo"] = found = detector_vs_yolo(args.retrain)
        print(
            f"same budget {found['budget_seconds']:.0f} s: template mAP@0.5 "
            f"{found['template']['map50']:.3f} ({found['template']['epochs']} epochs), "
            f"YOLO11n {found['yolo11n']['map50']:.3f} ({found['yolo11n']['epochs']} epochs); "
            f"ratio {found['map50_ratio']}"
        )
        if args.experiment:
            metrics = json.loads((EXAMPLE / "reports" / "metrics.json").read_text())
            args.experiment.parent.mkdir(parents=True, exist_ok=True)
            experiment = as_experiment(found, metrics, machine)
            args.experiment.write_text(json.dumps(experiment, indent=2) + "\n")
    if args.only != "yolo":
        results["time_to_poc"] = poc = time_to_poc()
        headline = poc["headline"]
        print(
            f"time to PoC: {poc['seconds']:.0f} s ({poc['steps']}); "
            f"{headline['metric']} {headline['value']:.3f}; demo: {poc['demo_said']}"
        )
    print(f"{machine}; load average now {load()}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
