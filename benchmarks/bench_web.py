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

Run: python benchmarks/bench_web.py [--runs N] [--requests N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the same project factory and browser the tests use
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_demo import gradio_cold_start, median, p95, project_for, start_gradio  # noqa: E402
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
    args = parser.parse_args()
    os.environ.setdefault("POCGEN_CACHE_DIR", tempfile.mkdtemp(prefix="pocgen-bench-"))
    print(f"load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs")
    rows: dict[str, dict[str, str]] = {}
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as scratch:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        for task in TASKS:
            project = project_for(task)
            site = build_site(project, Path(scratch) / task)
            first = json.loads((site / "examples.json").read_text(encoding="utf-8"))[0]["input"]
            image_task = task != "text-classification"
            runtime_mb = weight_mb(sorted((site / "ort").iterdir()))
            model_mb = weight_mb([site / "models" / "model.onnx"])
            with serve_site(site) as url:
                times = browser_times(browser, url, first, args.runs, args.requests)
            gradio_start = gradio_cold_start(project, args.runs)
            example = site / first if image_task else first
            trips = gradio_round_trips(project, example, args.requests)
            model = json.loads((site / "models" / "labels.json").read_text())["model"]
            rows[f"{task} ({model})"] = {
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
