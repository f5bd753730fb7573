"""Both demo apps of a freshly generated project, served for real and used from a real browser.

Debian's Chromium, driven by Playwright, loads each app, uploads a photo from the project's test
split and waits until the prediction is on the page. The screenshots land where the writeup looks
for them: reports/figures/app_streamlit.png and app_gradio.png in the project under test.
"""

from __future__ import annotations

import csv
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from smoke_project import project_env, smoke_project

CHROMIUM = "/usr/bin/chromium"
# Keep Chromium from calling home on a closed network (see the notes on testing demo apps).
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CLASSES = ["ok", "defect"]
START_SECONDS = 90


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An image-classification project with both apps and a smoke-trained model."""
    return smoke_project(
        tmp_path_factory.mktemp("browser") / "defect-spotter",
        task="image-classification",
        project_name="Defect Spotter",
        ui="both",
    )


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser.new_page(viewport={"width": 1280, "height": 900})
        browser.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def first_test_photo(project: Path) -> Path:
    with (project / "data/splits/test.csv").open(newline="") as handle:
        return project / next(csv.DictReader(handle))["path"]


@contextmanager
def serve(project: Path, command: list[str], url: str, **env: str) -> Iterator[str]:
    """Run an app server in the project root until `url` answers; stop it afterwards."""
    server = subprocess.Popen(
        command,
        cwd=project,
        env={**project_env(project), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if server.poll() is not None:
                raise AssertionError(f"the app exited:\n{server.stdout.read()}")
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"the app did not answer at {url}") from None
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_streamlit_app_shows_a_prediction_in_a_browser(project: Path, page: Page):
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
    photo = first_test_photo(project)

    with serve(project, command, f"http://127.0.0.1:{port}/_stcore/health"):
        page.goto(f"http://127.0.0.1:{port}/")
        page.get_by_text("Upload a photo").click()
        page.locator("input[type=file]").set_input_files(photo)
        expect(
            page.get_by_text(re.compile(r"^Prediction: (ok|defect) \(\d\.\d\d\)"))
        ).to_be_visible(timeout=30_000)
        for name in CLASSES:  # each class's bar, labelled with its score
            expect(page.get_by_text(re.compile(rf"^{name}: \d\.\d\d$"))).to_be_visible()
        page.screenshot(path=project / "reports/figures/app_streamlit.png", full_page=True)

    assert (project / "reports/figures/app_streamlit.png").stat().st_size > 10_000


def test_gradio_app_shows_a_prediction_in_a_browser(project: Path, page: Page):
    port = free_port()
    command = [sys.executable, "app/gradio_app.py"]
    photo = first_test_photo(project)
    # Gradio reads its address from the environment, as it does on a Space.
    address = {"GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port)}

    with serve(project, command, f"http://127.0.0.1:{port}/", **address) as url:
        page.goto(url)
        page.locator("input[type=file]").first.set_input_files(photo)
        page.get_by_role("button", name="Predict").click()
        expect(page.get_by_text(re.compile(r"Prediction: (ok|defect) \(\d\.\d\d\)"))).to_be_visible(
            timeout=30_000
        )
        for name in CLASSES:  # gr.Label writes each class with its confidence in percent
            expect(page.get_by_test_id("label").get_by_text(name, exact=True).first).to_be_visible()
        expect(page.get_by_text(re.compile(r"^\d+(\.\d+)?%$")).first).to_be_visible()
        page.screenshot(path=project / "reports/figures/app_gradio.png", full_page=True)

    assert (project / "reports/figures/app_gradio.png").stat().st_size > 10_000
