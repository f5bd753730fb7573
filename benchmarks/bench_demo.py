"""How fast does the demo start and answer, how big is its Space, and what would torch cost?

For each image task, a project is rendered from the built-in template and its own smoke pipeline
trains and exports the model (offline, so the default config trains the same tiny network: only
the weights differ, not the latency). Then, on the same machine and in the same run:

- cold start, median of fresh processes: the Gradio app until it answers HTTP; the Streamlit
  script's first full run (AppTest: import, model load, first prediction); and a bare process
  that loads the model and predicts one photo, with onnxruntime and with torch;
- latency per request, warm: `Predictor.predict` through onnxruntime, the same `predict` with the
  network run by torch instead (same pre- and post-processing), and a full HTTP round trip to the
  Gradio app with gradio_client;
- peak memory of the bare load-and-predict process, onnxruntime against torch;
- the Space's size: the built dist/space/ folder, and the installed size of its runtime packages
  against the torch stack the app would otherwise need.

Run: python benchmarks/bench_demo.py [--runs N] [--requests N] [--threads N]
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata as metadata
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the same project factory the tests use

from smoke_project import package_of, project_env, smoke_project  # noqa: E402

CACHE = REPO / "benchmarks" / ".cache"
TASKS = ("image-classification", "object-detection")

# One fresh process that loads the model and predicts one photo; prints its peak memory in KB.
ONNX_COLD = """
import resource, sys
from PIL import Image
from {package}.inference import Predictor
predictor = Predictor("models/model.onnx", "models/labels.json")
predictor.predict(Image.open(sys.argv[1]), threshold=0.5)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
TORCH_COLD = """
import resource, sys
import torch
from PIL import Image
from {package}.inference import preprocess
from {package}.model import build_model
checkpoint = torch.load("models/model.pt", map_location="cpu")
config = checkpoint["config"]
model = build_model(config)
model.load_state_dict(checkpoint["state_dict"])
model.eval()
pixels = preprocess(Image.open(sys.argv[1]), config["input_size"], config["mean"], config["std"])
with torch.inference_mode():
    model(torch.from_numpy(pixels[None]))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
STREAMLIT_FIRST_RUN = """
import time
start = time.perf_counter()
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("{app}", default_timeout=120).run()
assert not at.exception and at.subheader, "the app showed no prediction"
print(time.perf_counter() - start)
"""


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def project_for(task: str) -> Path:
    """A smoke-trained project with both apps, reused between runs of this script."""
    project = CACHE / f"demo-{task}"
    if not (project / "models" / "model.onnx").exists():
        shutil.rmtree(project, ignore_errors=True)
        smoke_project(project, task=task, ui="both")
    return project


def first_test_photo(project: Path) -> str:
    with (project / "data" / "splits" / "test.csv").open(newline="") as handle:
        return next(csv.DictReader(handle))["path"]


def timed_process(project: Path, command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(
        command, cwd=project, env=project_env(project), capture_output=True, text=True, check=True
    )
    return time.perf_counter() - start, done.stdout.strip()


def cold_load(project: Path, script: str, runs: int) -> tuple[float, float]:
    """Median seconds and peak MB of a fresh process that loads the model and predicts once."""
    code = script.format(package=package_of(project))
    photo = first_test_photo(project)
    results = [timed_process(project, [sys.executable, "-c", code, photo]) for _ in range(runs)]
    return median([s for s, _ in results]), median([int(out) / 1024 for _, out in results])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gradio(project: Path) -> tuple[subprocess.Popen, str, float]:
    """Launch `python app/gradio_app.py`; return it, its URL and the seconds until it answered."""
    port = free_port()
    env = {**project_env(project), "GRADIO_SERVER_NAME": "127.0.0.1"}
    env["GRADIO_SERVER_PORT"] = str(port)
    start = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "app/gradio_app.py"],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return server, url, time.perf_counter() - start
        except OSError:
            if server.poll() is not None or time.perf_counter() - start > 120:
                server.kill()
                raise SystemExit("the Gradio app did not start") from None
            time.sleep(0.05)


def gradio_cold_start(project: Path, runs: int) -> float:
    times = []
    for _ in range(runs):
        server, _, seconds = start_gradio(project)
        server.terminate()
        server.wait()
        times.append(seconds)
    return median(times)


def streamlit_first_run(project: Path, runs: int) -> float:
    code = STREAMLIT_FIRST_RUN.format(app=project / "app" / "streamlit_app.py")
    return median(
        [float(timed_process(project, [sys.executable, "-c", code])[1]) for _ in range(runs)]
    )


# Warm latency of one runtime in its own process (a second runtime's idle threads would skew it).
# "torch" keeps Predictor's code and swaps only the network: the same pre- and post-processing.
LATENCY = """
import json, sys, time
import onnxruntime as ort
import torch
from PIL import Image
from {package}.inference import Predictor
from {package}.model import build_model
from {package} import export

class TorchSession:
    # Stands in for the onnxruntime session: same inputs and outputs, the network run by torch.
    def __init__(self, model):
        self.model = model
    def run(self, _names, feeds):
        with torch.inference_mode():
            out = self.model(torch.from_numpy(next(iter(feeds.values()))))
        return [o.numpy() for o in (out if isinstance(out, tuple) else (out,))]

predictor = Predictor("models/model.onnx", "models/labels.json")
threads = int(sys.argv[4])
if threads:  # the same thread budget for both runtimes; 0 keeps each runtime's default
    torch.set_num_threads(threads)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    predictor.session = ort.InferenceSession(
        "models/model.onnx", options, providers=["CPUExecutionProvider"]
    )
if sys.argv[2] == "torch":
    checkpoint = torch.load("models/model.pt", map_location="cpu")
    model = build_model(checkpoint["config"])
    model.load_state_dict(checkpoint["state_dict"])
    if hasattr(export, "WithSigmoid"):
        model = export.WithSigmoid(model)  # what export puts in the ONNX graph for detection
    predictor.session = TorchSession(model.eval())
photo = Image.open(sys.argv[1]).convert("RGB")
for _ in range(5):
    predictor.predict(photo, threshold=0.5)  # warm-up
times = []
for _ in range(int(sys.argv[3])):
    start = time.perf_counter()
    predictor.predict(photo, threshold=0.5)
    times.append(time.perf_counter() - start)
print(json.dumps(times))
"""


def warm_latency(project: Path, requests: int, threads: int) -> dict[str, list[float]]:
    """Seconds per predict: onnxruntime, torch behind the same Predictor code, Gradio over HTTP."""
    code = LATENCY.format(package=package_of(project))
    photo = first_test_photo(project)
    times = {
        runtime: json.loads(
            timed_process(
                project, [sys.executable, "-c", code, photo, runtime, str(requests), str(threads)]
            )[1]
        )
        for runtime in ("onnxruntime", "torch")
    }

    from gradio_client import Client, handle_file

    server, url, _ = start_gradio(project)
    try:
        client = Client(url, verbose=False)
        payload = handle_file(str(project / photo))
        client.predict(payload, 0.5, api_name="/predict")  # warm-up
        times["gradio"] = []
        for _ in range(requests):
            start = time.perf_counter()
            client.predict(payload, 0.5, api_name="/predict")
            times["gradio"].append(time.perf_counter() - start)
    finally:
        server.terminate()
        server.wait()
    return times


def installed_mb(names: list[str], follow: bool = True) -> float:
    """Installed size of packages and (if `follow`) all they require, extras excluded, in MB."""
    seen: set[str] = set()
    todo = list(names)
    total = 0
    while todo:
        name = re.split(r"[ ;<>=!~\[(]", todo.pop())[0].lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an optional or platform-specific requirement that is not installed
        total += sum(f.size or 0 for f in dist.files or [])
        if follow:
            todo += [r for r in dist.requires or [] if "extra ==" not in r]
    return total / 1e6


def space_mb(project: Path) -> float:
    subprocess.run(
        [sys.executable, "-m", "pocgen", "deploy", str(project), "--dry-run"],
        check=True,
        capture_output=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    folder = project / "dist" / "space"
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per cold start")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per runtime")
    parser.add_argument(
        "--threads", type=int, default=0, help="threads for both runtimes (0: their defaults)"
    )
    args = parser.parse_args()
    os.environ.setdefault("POCGEN_CACHE_DIR", tempfile.mkdtemp(prefix="pocgen-bench-"))
    print(f"load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs")

    ort_stack = installed_mb(["onnxruntime", "numpy", "pillow"])
    torch_stack = installed_mb(["torch", "torchvision", "numpy", "pillow"])
    torch_own = installed_mb(["torch", "torchvision", "numpy", "pillow"], follow=False)
    print("\n| runtime packages, installed size | MB | vs onnxruntime stack |")
    print("| --- | --- | --- |")
    print(f"| onnxruntime + numpy + pillow, with dependencies | {ort_stack:.0f} | 1.0x |")
    print(
        f"| torch + torchvision + numpy + pillow, own files | {torch_own:.0f} "
        f"| {torch_own / ort_stack:.1f}x |"
    )
    print(
        f"| the same with dependencies (CUDA libraries of this wheel) | {torch_stack:.0f} "
        f"| {torch_stack / ort_stack:.1f}x |"
    )

    for task in TASKS:
        project = project_for(task)
        onnx_s, onnx_mb = cold_load(project, ONNX_COLD, args.runs)
        torch_s, torch_mb = cold_load(project, TORCH_COLD, args.runs)
        gradio_s = gradio_cold_start(project, args.runs)
        streamlit_s = streamlit_first_run(project, args.runs)
        times = warm_latency(project, args.requests, args.threads)
        ms = {name: (median(v) * 1000, p95(v) * 1000) for name, v in times.items()}
        model = json.loads((project / "models" / "labels.json").read_text())["model"]
        print(f"\n## {task} (model {model})")
        print("| what | onnxruntime | torch | torch / onnxruntime |")
        print("| --- | --- | --- | --- |")
        print(
            f"| load + first predict, fresh process (s) | {onnx_s:.2f} | {torch_s:.2f} "
            f"| {torch_s / onnx_s:.2f}x |"
        )
        print(
            f"| peak memory of that process (MB) | {onnx_mb:.0f} | {torch_mb:.0f} "
            f"| {torch_mb / onnx_mb:.2f}x |"
        )
        print(
            f"| predict, warm: median / p95 (ms) | {ms['onnxruntime'][0]:.2f} / "
            f"{ms['onnxruntime'][1]:.2f} | {ms['torch'][0]:.2f} / {ms['torch'][1]:.2f} "
            f"| {ms['torch'][0] / ms['onnxruntime'][0]:.2f}x |"
        )
        print(f"\nGradio app cold start until HTTP answers: {gradio_s:.2f} s")
        print(f"Streamlit first script run with a prediction (AppTest): {streamlit_s:.2f} s")
        print(
            f"Gradio request round trip (gradio_client), median / p95: "
            f"{ms['gradio'][0]:.1f} / {ms['gradio'][1]:.1f} ms"
        )
        print(f"Space folder (dist/space, gradio): {space_mb(project):.2f} MB")


if __name__ == "__main__":
    main()
