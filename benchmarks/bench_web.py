"""The browser demo against the Gradio app: page weight, time to the first answer, time per answer.

For each task a project is rendered and its own smoke pipeline trains and exports the model (the
same network the default config trains offline; only the weights differ, not the timings). Its
static site (`python -m <package> web --build`) is served from a loopback HTTP server and loaded in
headless Chromium; in the same run the project's Gradio app is started and called. Measured:

- page weight: the onnxruntime-web files plus the model (and their gzip size, what a server that
  compresses would send);
- cold start: navigation to the first answer of `window.pocgen.predict` in a fresh browser
  context (empty HTTP cache: the 14 MB .wasm is downloaded and compiled), read from the page's own
  clock (`performance.now()` counts from navigation); and the same on a reload (warm cache);
- warm: the time of one `window.pocgen.predict` call on a test example, in the page;
- the Gradio app: `python app/gradio_app.py` until it answers HTTP, and a request round trip
  with gradio_client on the same example.

With --default-networks, the image tasks are measured again with the network their default config
trains (MobileNetV3-Small encoder at params.yaml's input size), exported with untrained weights:
the same size and speed as a trained one, without the ImageNet download.

Run: python benchmarks/bench_web.py [--runs N] [--requests N] [--default-networks]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the same project factory and browser the tests use
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_demo import (  # noqa: E402
    CACHE,
    gradio_cold_start,
    median,
    p95,
    project_for,
    start_gradio,
)
from playwright.sync_api import Browser, sync_playwright  # noqa: E402
from smoke_project import package_of, project_env  # noqa: E402
from test_demo_browser import CHROMIUM_FLAGS, chromium  # noqa: E402
from test_web_demo import serve_site  # noqa: E402

TASKS = ("image-classification", "object-detection", "text-classification")
# In the page: wait for the model, answer once, and report the page's clock (ms since navigation).
FIRST_ANSWER = """async (input) => {
  await window.pocgen.ready;
  await window.pocgen.predict(input, 0.5);
  return performance.now();
}"""
# In the page: the time of each of `count` predictions, in ms.
WARM_ANSWERS = """async ([input, count]) => {
  const times = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await window.pocgen.predict(input, 0.5);
    times.push(performance.now() - start);
  }
  return times;
}"""


# Rebuild the smoke checkpoint as the default config's network (MobileNetV3-Small encoder at
# params.yaml's input size) with untrained weights: the same size and speed as a trained one, and
# no ImageNet download needed (this machine reaches no model hub).
DEFAULT_NETWORK = """
import torch, yaml
from {package}.config import CHECKPOINT_FILE
from {package}.model import build_model
checkpoint = torch.load(CHECKPOINT_FILE, map_location="cpu")
config = checkpoint["config"]
config["encoder"] = "mobilenet_v3_small"
config["name"] = config["name"].rsplit("-", 1)[0] + "-mobilenet_v3_small"
config["input_size"] = yaml.safe_load(open("params.yaml"))["train"]["input_size"]
checkpoint["state_dict"] = build_model(config).state_dict()
torch.save(checkpoint, CHECKPOINT_FILE)
"""


def default_network_project(task: str) -> Path:
    """A copy of the smoke project whose exported model is the default config's network."""
    project = CACHE / f"web-default-{task}"
    if not (project / "models" / "model.onnx").exists():
        shutil.rmtree(project, ignore_errors=True)
        shutil.copytree(project_for(task), project)
        for command in (["-c", DEFAULT_NETWORK.format(package=package_of(project))],
                        ["-m", package_of(project), "export"]):
            subprocess.run(
                [sys.executable, *command],
                cwd=project, env=project_env(project), check=True, capture_output=True,
            )
    return project


def build_site(project: Path, site: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", package_of(project), "web", "--build", str(site)],
        cwd=project, env=project_env(project), check=True, capture_output=True,
    )
    return site


def weight_mb(files: list[Path]) -> tuple[float, float]:
    """Size of the files as stored and gzipped, in MB."""
    raw = sum(path.stat().st_size for path in files)
    packed = sum(len(gzip.compress(path.read_bytes(), compresslevel=6)) for path in files)
    return raw / 1e6, packed / 1e6


def browser_times(browser: Browser, url: str, example: str, runs: int, requests: int) -> dict:
    """Seconds to the first answer (fresh and reloaded), and ms per warm answer."""
    cold, reloaded, warm = [], [], []
    for _ in range(runs):
        context = browser.new_context()  # its own, empty HTTP cache
        page = context.new_page()
        page.goto(url)
        cold.append(page.evaluate(FIRST_ANSWER, example) / 1000)
        page.reload()
        reloaded.append(page.evaluate(FIRST_ANSWER, example) / 1000)
        warm += page.evaluate(WARM_ANSWERS, [example, requests])
        context.close()
    return {"cold": cold, "reloaded": reloaded, "warm": warm}


def gradio_round_trips(project: Path, example: Any, requests: int) -> list[float]:
    """Seconds per request to the running Gradio app, the way a browser's request travels."""
    from gradio_client import Client, handle_file

    server, url, _ = start_gradio(project)
    try:
        client = Client(url, verbose=False)
        payload = handle_file(str(example)) if isinstance(example, Path) else example
        client.predict(payload, 0.5, api_name="/predict")  # warm-up
        times = []
        for _ in range(requests):
            start = time.perf_counter()
            client.predict(payload, 0.5, api_name="/predict")
            times.append(time.perf_counter() - start)
    finally:
        server.terminate()
        server.wait()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh browser contexts / app starts")
    parser.add_argument("--requests", type=int, default=30, help="timed warm predictions")
    parser.add_argument(
        "--default-networks", action="store_true",
        help="also the image tasks' default networks (MobileNetV3-Small encoder, untrained)",
    )
    args = parser.parse_args()
    os.environ.setdefault("POCGEN_CACHE_DIR", tempfile.mkdtemp(prefix="pocgen-bench-"))
    print(f"load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs")
    rows: dict[str, dict[str, str]] = {}
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as scratch:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        projects = [(task, project_for(task)) for task in TASKS]
        if args.default_networks:
            projects += [(task, default_network_project(task)) for task in TASKS[:2]]
        for task, project in projects:
            site = build_site(project, Path(scratch) / project.name)
            first = json.loads((site / "examples.json").read_text(encoding="utf-8"))[0]["input"]
            image_task = task != "text-classification"
            runtime_mb = weight_mb(sorted((site / "ort").iterdir()))
            model_mb = weight_mb([site / "models" / "model.onnx"])
            with serve_site(site) as url:
                times = browser_times(browser, url, first, args.runs, args.requests)
            gradio_start = gradio_cold_start(project, args.runs)
            example = site / first if image_task else first
            trips = gradio_round_trips(project, example, args.requests)
            labels = json.loads((site / "models" / "labels.json").read_text())
            size = f", {labels['input_size']} px" if "input_size" in labels else ""
            rows[f"{task} ({labels['model']}{size})"] = {
                "page weight: runtime + model, MB (gzip)": (
                    f"{runtime_mb[0] + model_mb[0]:.1f} ({runtime_mb[1] + model_mb[1]:.1f}); "
                    f"model {model_mb[0]:.2f}"
                ),
                "browser: navigation to first answer, empty cache (s)": (
                    f"{median(times['cold']):.2f}"
                ),
                "browser: the same on reload, warm cache (s)": f"{median(times['reloaded']):.2f}",
                "browser: one prediction, warm: median / p95 (ms)": (
                    f"{median(times['warm']):.1f} / {p95(times['warm']):.1f}"
                ),
                "Gradio app: start until HTTP answers (s)": f"{gradio_start:.2f}",
                "Gradio app: request round trip: median / p95 (ms)": (
                    f"{median(trips) * 1000:.0f} / {p95(trips) * 1000:.0f}"
                ),
            }
        browser.close()
    names = list(rows)
    print("\n| what | " + " | ".join(names) + " |")
    print("| --- |" + " --- |" * len(names))
    for what in rows[names[0]]:
        print(f"| {what} | " + " | ".join(rows[name][what] for name in names) + " |")


if __name__ == "__main__":
    main()
