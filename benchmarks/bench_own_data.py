"""A new user's first hour: from `pocgen new` to a demo answering on their own data, timed.

Two users, each with the project's default settings (no --smoke):

- **own photos**: a folder of real photographs, one subfolder per class (crops of the two
  photos scikit-learn ships, saved as a phone saves them), taken through an image classifier;
- **own CSV**: a spreadsheet export of support tickets with a `body` and a `label` column,
  taken through a text classifier.

Each runs exactly the commands its README's "Use your own data" section gives, as child
processes (`pocgen new`, `make own-data ...`), then starts the Gradio demo and times the first
answer through gradio_client, as a visitor would get it. Per step it prints the wall time, and
the machine's load average (a shared machine makes every step slower). The alternative it is
compared with is the same project on the built-in sample (`make pipeline`): the ratio says what
the user's own data cost over the sample's.

    python benchmarks/bench_own_data.py                    # both users, ~photos 40 per class
    python benchmarks/bench_own_data.py --users csv --per-class 60

The Python running this must have the generated projects' dependencies (the dev virtualenv has
them); nothing is installed: the project's `src/` goes on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from sklearn.datasets import load_sample_image

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "benchmarks"), str(REPO / "tests")]

from bench_demo import start_gradio  # noqa: E402  (the same start the demo benchmark times)
from smoke_project import project_env  # noqa: E402

TICKETS = {
    "billing": ["I was charged twice on invoice {n}", "Refund the payment for order {n}"],
    "technical": ["The app crashes when I open screen {n}", "Sync fails after update {n}"],
    "account": ["Reset my password for user {n}", "Close my account number {n}"],
}


def phone_photos(root: Path, per_class: int) -> Path:
    """PHOTOS/<class>/IMG_NNNN.jpg: crops of real photographs, 640x480 as a phone's preview."""
    for label, source in (("temple", "china.jpg"), ("flower", "flower.jpg")):
        photo = Image.fromarray(load_sample_image(source))  # 640 x 427
        folder = root / label
        folder.mkdir(parents=True)
        for index in range(per_class):
            left, top = (7 * index) % 320, (5 * index) % 160
            crop = photo.crop((left, top, left + 320, top + 240)).resize((640, 480))
            crop.save(folder / f"IMG_{index:04d}.jpg", quality=90)
    return root


def ticket_csv(path: Path, per_class: int) -> Path:
    """An export with the columns a help desk gives: id, body, label."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "body", "label"])
        for label, templates in TICKETS.items():
            for n in range(per_class):
                writer.writerow([f"{label}-{n}", templates[n % 2].format(n=n), label])
    return path


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> None:
    completed = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    if completed.returncode:
        raise SystemExit(
            f"{' '.join(argv)} failed:\n{completed.stdout[-2000:]}\n{completed.stderr[-3000:]}"
        )


def first_answer(project: Path, example: str | Path) -> None:
    """Start the Gradio demo and wait for its first prediction, as a visitor's browser would."""
    from gradio_client import Client, handle_file

    server, url, _ = start_gradio(project)
    try:
        given = handle_file(str(example)) if isinstance(example, Path) else example
        Client(url, verbose=False).predict(given, 0.5, api_name="/predict")
    finally:
        server.terminate()
        server.wait(timeout=30)


def timed(steps: list[tuple[str, Callable[[], None]]]) -> list[tuple[str, float, float]]:
    """Each step's wall time, with the 1-minute load average when it ended."""
    rows = []
    for name, action in steps:
        started = time.perf_counter()
        action()
        rows.append((name, time.perf_counter() - started, os.getloadavg()[0]))
        print(f"  {name}: {rows[-1][1]:.1f} s (load {rows[-1][2]:.1f})", flush=True)
    return rows


def user(kind: str, scratch: Path, per_class: int) -> tuple[list, list]:
    """The user's own run and, for comparison, the same project on the built-in sample."""
    task = "image-classification" if kind == "photos" else "text-classification"
    classes = "temple, flower" if kind == "photos" else "billing, technical, account"
    if kind == "photos":
        source = phone_photos(scratch / "My Photos", per_class)
        own = ["make", "own-data", f"SRC={source}/", f"PYTHON={sys.executable}"]
        example: str | Path = next((source / "flower").iterdir())
    else:
        source = ticket_csv(scratch / "tickets.csv", per_class)
        own = [
            "make",
            "own-data",
            f"SRC={source}",
            "COLLECT_ARGS=--text-column body",
            f"PYTHON={sys.executable}",
        ]
        example = "The app crashes when I open the settings screen"
    rows = {}
    for which in ("own", "sample"):
        project = scratch / f"{kind}-{which}"
        env = project_env(project)
        new = [
            sys.executable,
            "-m",
            "pocgen",
            "new",
            str(project),
            "--defaults",
            "--data",
            f"task={task}",
            "--data",
            f"classes={classes}",
            "--data",
            "project_name=First Hour",
        ]
        pipeline = own if which == "own" else ["make", "pipeline", f"PYTHON={sys.executable}"]
        print(f"{kind}, {which} data:", flush=True)
        rows[which] = timed(
            [
                (
                    "pocgen new",
                    lambda new=new: run(
                        new, scratch, {**os.environ, "PYTHONPATH": str(REPO / "src")}
                    ),
                ),
                (" ".join(pipeline[:2]), lambda p=pipeline, d=project, e=env: run(p, d, e)),
                ("demo's first answer", lambda d=project: first_answer(d, example)),
            ]
        )
    return rows["own"], rows["sample"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", nargs="+", choices=["photos", "csv"], default=["photos", "csv"])
    parser.add_argument("--per-class", type=int, default=40)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPU cores, load {os.getloadavg()[0]:.1f} at the start")
    table = []
    for kind in args.users:
        with tempfile.TemporaryDirectory() as scratch:
            own, sample = user(kind, Path(scratch), args.per_class)
        total_own, total_sample = sum(r[1] for r in own), sum(r[1] for r in sample)
        for (name, seconds, load), (_, base, _) in zip(own, sample, strict=True):
            table.append(f"| {kind} | {name} | {seconds:.1f} | {base:.1f} | {load:.1f} |")
        table.append(
            f"| {kind} | **total** | **{total_own:.1f}** | {total_sample:.1f} | "
            f"ratio {total_own / total_sample:.2f}x |"
        )
    print(
        f"\n| user | step | own data, s ({args.per_class} per class) | built-in sample, s "
        "| load after |"
    )
    print("| --- | --- | --- | --- | --- |")
    print("\n".join(table))


if __name__ == "__main__":
    main()
