"""The browser demo's first answer on a real connection, before and after #21, and the Gradio app.

For each task a project is rendered and its own smoke pipeline trains and exports the model (the
same network the default config trains offline; only the weights differ, not the timings). Two
static sites are built from that one model: today's page, from the current template, and the page
as it was before (the template at BEFORE, a commit of this repository, rendered from git history
so the comparison can be repeated). Each is served from a loopback HTTP server and loaded in
headless Chromium with Chromium's own network throttling (what DevTools offers: the
`Network.emulateNetworkConditions` command, 20 ms latency). Measured, in the same run:

- first answer: navigation to the first answer of `window.pocgen.predict` on a test example, in a
  fresh browser context (empty caches), read from the page's own clock (`performance.now()` counts
  from navigation); at 10 and 40 Mbps, from a server that sends files as they are and from one
  that gzips every response but .gz files and pictures on the fly (as many hosts do; whether the
  Hub does for static Spaces is not documented);
- return visit: the same at 10 Mbps in a new tab of the same browser context (warm caches);
- bytes on the wire: the sum of the bodies the first visit transferred (Resource Timing);
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
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from contextlib import contextmanager
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
from known_artifacts import render  # noqa: E402
from playwright.sync_api import Browser, Page  # noqa: E402
from smoke_project import package_of, project_env  # noqa: E402
from test_demo_browser import chromium_browser  # noqa: E402
from test_web_demo import PROJECTS, QuietHandler, serve_site, throttle  # noqa: E402

# The last commit of main before #21 (the gzipped runtime, progress, cache and warm-up).
BEFORE = "e707526e4a5b8600fdd2830ab90d108596fa981b"
TASKS = ("image-classification", "object-detection", "text-classification")
NETWORKS = (10, 40)  # Mbps
# Files a compressing host leaves alone: already compressed.
PACKED = (".gz", ".jpg", ".jpeg", ".png", ".webp", ".gif")
# In the page: wait for the model, answer once, and report the page's clock (ms since navigation).
FIRST_ANSWER = """async (input) => {
  await window.pocgen.ready;
  await window.pocgen.predict(input, 0.5);
  return performance.now();
}"""
# In the page: the bytes of every body this visit transferred (0 for what came from a cache).
BYTES_ON_THE_WIRE = """() => performance.getEntriesByType("navigation")
  .concat(performance.getEntriesByType("resource"))
  .reduce((sum, entry) => sum + entry.encodedBodySize, 0)"""
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


class CompressingHandler(QuietHandler):
    """A host that gzips each response on the fly (level 6) when the browser accepts it."""

    packed: dict[str, bytes] = {}  # the gzipped files, made once: the server's CPU stays out

    def send_head(self):  # type: ignore[no-untyped-def]
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        accepts = "gzip" in self.headers.get("Accept-Encoding", "")
        if not accepts or not path.is_file() or path.name.endswith(PACKED):
            return super().send_head()
        body = self.packed.get(str(path))
        if body is None:
            body = self.packed[str(path)] = gzip.compress(path.read_bytes(), compresslevel=6)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return _Body(body)


class _Body:
    """The file-like object SimpleHTTPRequestHandler copies to the socket."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, size: int = -1) -> bytes:
        data, self.data = self.data, b""
        return data

    def close(self) -> None:
        pass


SERVERS = {"as is": QuietHandler, "gzip": CompressingHandler}

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
        for command in (
            ["-c", DEFAULT_NETWORK.format(package=package_of(project))],
            ["-m", package_of(project), "export"],
        ):
            subprocess.run(
                [sys.executable, *command],
                cwd=project,
                env=project_env(project),
                check=True,
                capture_output=True,
            )
    return project


def template_before(scratch: Path) -> Path:
    """The built-in template as it was at BEFORE, from this repository's history."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", BEFORE, "templates/poc"],
        capture_output=True,
    )
    if archive.returncode != 0:
        raise SystemExit(
            f"commit {BEFORE[:12]} is not in this clone ({archive.stderr.decode().strip()}); "
            "fetch the full history (git fetch --unshallow) and run again."
        )
    folder = scratch / "before"
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")
    return folder / "templates" / "poc"


def build_page(trained: Path, task: str, template: Path, folder: Path, cache: Path) -> Path:
    """The static site of `template` around `trained`'s model: render, copy the artifacts, build."""
    project = render(folder / "project", template=template, task=task, project_name=PROJECTS[task])
    for part in ("models", "reports", "data"):
        shutil.rmtree(project / part, ignore_errors=True)
        shutil.copytree(trained / part, project / part)
    site = folder / "site"
    env = {**project_env(project), "ORT_WEB_CACHE": str(cache)}
    subprocess.run(
        [sys.executable, "-m", package_of(project), "web", "--build", str(site)],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
    )
    return site


def first_visit(browser: Browser, url: str, example: str, megabits: float) -> dict[str, Any]:
    """Seconds to the first answer and bytes on the wire, fresh; then a return visit."""
    context = browser.new_context()
    try:
        page = context.new_page()
        throttle(page, megabits)
        page.goto(url, timeout=120_000)
        seconds = page.evaluate(FIRST_ANSWER, example) / 1000
        wire = page.evaluate(BYTES_ON_THE_WIRE)
        again: Page = context.new_page()
        throttle(again, megabits)
        again.goto(url, timeout=120_000)
        return {
            "first": seconds,
            "wire": wire,
            "return": again.evaluate(FIRST_ANSWER, example) / 1000,
        }
    finally:
        context.close()


def warm_answers(browser: Browser, url: str, example: str, requests: int) -> list[float]:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url)
        page.evaluate(FIRST_ANSWER, example)
        return page.evaluate(WARM_ANSWERS, [example, requests])
    finally:
        context.close()


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


@contextmanager
def served(site: Path, server: str):
    CompressingHandler.packed = {}
    with serve_site(site, SERVERS[server]) as url:
        yield url


def measure(browser: Browser, site: Path, example: str, runs: int) -> dict[str, str]:
    """The page's first answers over each network and server, as table cells."""
    cells = {}
    for megabits in NETWORKS:
        for server in SERVERS:
            with served(site, server) as url:
                visits = [first_visit(browser, url, example, megabits) for _ in range(runs)]
            first = median([visit["first"] for visit in visits])
            wire = median([visit["wire"] for visit in visits]) / 1e6
            cells[f"first answer, {megabits} Mbps, server {server}: s (MB on the wire)"] = (
                f"{first:.1f} ({wire:.1f})"
            )
            if megabits == NETWORKS[0]:
                back = median([visit["return"] for visit in visits])
                cells[f"return visit, {megabits} Mbps, server {server}: s"] = f"{back:.1f}"
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="fresh browser contexts per cell")
    parser.add_argument("--requests", type=int, default=30, help="timed warm predictions")
    parser.add_argument(
        "--default-networks",
        action="store_true",
        help="also the image tasks' default networks (MobileNetV3-Small encoder, untrained)",
    )
    args = parser.parse_args()
    os.environ.setdefault("POCGEN_CACHE_DIR", tempfile.mkdtemp(prefix="pocgen-bench-"))
    print(f"load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs")
    rows: dict[str, dict[str, str]] = {}
    with chromium_browser() as browser, tempfile.TemporaryDirectory() as scratch:
        before = template_before(Path(scratch))
        projects = [(task, project_for(task)) for task in TASKS]
        if args.default_networks:
            projects += [(task, default_network_project(task)) for task in TASKS[:2]]
        for number, (task, trained) in enumerate(projects):
            labels = json.loads((trained / "models" / "labels.json").read_text())
            size = f", {labels['input_size']} px" if "input_size" in labels else ""
            name = f"{task} ({labels['model']}{size})"
            pages = {
                "before": build_page(
                    trained, task, before, Path(scratch) / f"{number}-before", CACHE / "ort-before"
                ),
                "after": build_page(
                    trained,
                    task,
                    REPO / "templates" / "poc",
                    Path(scratch) / f"{number}-after",
                    CACHE / "ort-after",
                ),
            }
            for label, site in pages.items():
                example = json.loads((site / "examples.json").read_text())[0]["input"]
                print(f"{name}, {label}...", flush=True)
                row = measure(browser, site, example, args.runs)
                with served(site, "as is") as url:
                    warm = warm_answers(browser, url, example, args.requests)
                row["one prediction, warm: median / p95 (ms)"] = (
                    f"{median(warm):.1f} / {p95(warm):.1f}"
                )
                rows[f"{name}, {label}"] = row
            example = json.loads((pages["after"] / "examples.json").read_text())[0]["input"]
            image_task = task != "text-classification"
            trips = gradio_round_trips(
                trained, pages["after"] / example if image_task else example, args.requests
            )
            rows[f"{name}, Gradio app"] = {
                "Gradio: start until HTTP answers (s)": f"{gradio_cold_start(trained, 1):.1f}",
                "Gradio: request round trip, median / p95 (ms)": (
                    f"{median(trips) * 1000:.0f} / {p95(trips) * 1000:.0f}"
                ),
            }
    columns = list(dict.fromkeys(column for row in rows.values() for column in row))
    print("\n| page | " + " | ".join(columns) + " |")
    print("| --- |" + " --- |" * len(columns))
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(row.get(column, "") for column in columns) + " |")


if __name__ == "__main__":
    main()
