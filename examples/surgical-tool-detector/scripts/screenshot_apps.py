"""Take the README's demo screenshots for real: each demo served locally, driven in Chromium.

The three demos run from the project root on 127.0.0.1 with the committed model: Streamlit,
Gradio, and the browser demo (`python -m surgical_tool_detector web`, the page a free static
Space serves, where the model runs in the visitor's browser). Chromium (Debian's package;
Playwright's own browser download needs the open internet) uploads a preview image with
instruments on it, waits until the demo reports what it found, and saves the page to
reports/figures/app_<ui>.png, where `pocgen writeup` looks for them.

Needs: pip install playwright; apt-get install chromium (or CHROMIUM=/path/to/chrome).
Run: python scripts/screenshot_apps.py
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

PHOTO = Path("docs/preview/images/synth-100.jpg")  # two scissors, a scalpel, a needle holder
FIGURES = Path("reports/figures")
# Keep Chromium from calling home: the machine that took these had no open internet.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
FOUND = re.compile(r"Found \d+ objects?:")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serve(command: list[str], url: str, env: dict[str, str]) -> Iterator[None]:
    """Run an app until `url` answers (90 s at most); stop it afterwards, by its own process."""
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            if server.poll() is not None:
                raise SystemExit(f"{command[2]} exited before it answered")
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"nothing answered at {url} within 90 s") from None
                time.sleep(0.5)
        yield
    finally:
        server.terminate()
        server.wait(timeout=20)


def streamlit(page: Page, env: dict[str, str]) -> None:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app/streamlit_app.py",
        f"--server.port={port}",
        "--server.address=127.0.0.1",
        "--server.headless=true",
        "--browser.gatherUsageStats=false",
    ]
    with serve(command, f"http://127.0.0.1:{port}/_stcore/health", env):
        page.goto(f"http://127.0.0.1:{port}/")
        page.get_by_text("Upload a photo").click()
        page.locator("input[type=file]").set_input_files(PHOTO)
        expect(page.get_by_text(FOUND)).to_be_visible(timeout=60_000)
        page.wait_for_timeout(1000)  # let the annotated image finish drawing
        page.screenshot(path=FIGURES / "app_streamlit.png", full_page=True)


def gradio(page: Page, env: dict[str, str]) -> None:
    port = free_port()
    env = {**env, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port)}
    with serve([sys.executable, "app/gradio_app.py"], f"http://127.0.0.1:{port}/", env):
        page.goto(f"http://127.0.0.1:{port}/")
        page.locator("input[type=file]").first.set_input_files(PHOTO)
        page.get_by_role("button", name="Predict").click()
        expect(page.get_by_text(FOUND)).to_be_visible(timeout=60_000)
        page.wait_for_timeout(1000)
        page.screenshot(path=FIGURES / "app_gradio.png", full_page=True)


def web(page: Page, env: dict[str, str]) -> None:
    port = free_port()
    command = [sys.executable, "-m", "surgical_tool_detector", "web", "--port", str(port)]
    with serve(command, f"http://127.0.0.1:{port}/", env):
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_function("() => window.pocgen !== undefined", timeout=60_000)
        page.evaluate("() => window.pocgen.ready")  # resolves once the model is loaded
        page.locator("#file").set_input_files(PHOTO)
        expect(page.locator("#summary")).to_have_text(FOUND, timeout=60_000)
        page.wait_for_timeout(500)  # let the canvas finish drawing the boxes
        page.screenshot(path=FIGURES / "app_web.png", full_page=True)


def main() -> None:
    env = {
        **os.environ,
        "GRADIO_ANALYTICS_ENABLED": "False",
        "PYTHONPATH": os.pathsep.join(filter(None, ["src", os.environ.get("PYTHONPATH")])),
    }
    FIGURES.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=CHROMIUM_FLAGS
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        streamlit(page, env)
        gradio(page, env)
        web(page, env)
        browser.close()
    print(f"saved app_streamlit.png, app_gradio.png and app_web.png in {FIGURES}")


if __name__ == "__main__":
    main()
