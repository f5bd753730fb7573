"""Both demo apps of a freshly generated project, served as their Space serves them, in a browser.

Each app runs from the folder `pocgen deploy` builds (dist/space/), with the command the Space
runs: the Dockerfile's CMD for Streamlit, `python app.py` for Gradio, and no PYTHONPATH, so the
folder must stand on its own. Debian's Chromium, driven by Playwright, loads each app, uploads a
photo from the project's test split and waits until the prediction is on the page. The
screenshots land where the writeup looks for them: reports/figures/app_streamlit.png and
app_gradio.png in the project under test.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import run_pocgen
from playwright.sync_api import Browser, Page, expect, sync_playwright
from smoke_project import smoke_project

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.training]

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


def chromium() -> str:
    """Debian's Chromium; installed with apt when missing and we may (CI runs as root).

    Playwright's own browser download needs the open internet, which CI does not have, while
    Debian's package comes from a package registry like everything else the tests install.
    """
    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        for command in (
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "-qq", "chromium"],
        ):
            subprocess.run(
                command,
                check=True,
                capture_output=True,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            )
        return shutil.which("chromium") or "/usr/bin/chromium"
    pytest.fail("the browser tests need Chromium: install it (Debian: apt-get install chromium).")


@contextmanager
def chromium_browser(*flags: str) -> Iterator[Browser]:
    """Headless Chromium with the quiet flags (and any `flags`), closed afterwards."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium(), args=[*CHROMIUM_FLAGS, *flags]
        )
        yield browser
        browser.close()


@contextmanager
def chromium_page() -> Iterator[Page]:
    """A desktop-sized page in headless Chromium, closed afterwards."""
    with chromium_browser() as browser:
        yield browser.new_page(viewport={"width": 1280, "height": 900})


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    with chromium_page() as opened:
        yield opened


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def first_test_photo(project: Path) -> Path:
    with (project / "data/splits/test.csv").open(newline="") as handle:
        return project / next(csv.DictReader(handle))["path"]


@contextmanager
def serve(folder: Path, command: list[str], url: str, env: dict[str, str]) -> Iterator[str]:
    """Run an app server in `folder` until `url` answers; stop it afterwards."""
    server = subprocess.Popen(
        command,
        cwd=folder,
        env=env,
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


def build_space(project: Path, ui: str) -> Path:
    """`pocgen deploy --dry-run`: the folder a Space would get, built for one app."""
    result = run_pocgen("deploy", project, "--dry-run", "--ui", ui)
    assert result.exit_code == 0, result.stderr
    return project / "dist" / "space"


def space_env() -> dict[str, str]:
    """No PYTHONPATH: the Space folder must run on its own, as it will on the Hub."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return {**env, "GRADIO_ANALYTICS_ENABLED": "False"}


def dockerfile_command(space: Path, port: int) -> list[str]:
    """The Dockerfile's CMD, on a local port and address instead of the Space's 7860."""
    text = (space / "Dockerfile").read_text().replace("\\\n", "")
    command = json.loads(next(line[4:] for line in text.splitlines() if line.startswith("CMD ")))
    assert command[0] == "streamlit" and "--server.port=7860" in command
    local = {
        "--server.port=7860": f"--server.port={port}",
        "--server.address=0.0.0.0": "--server.address=127.0.0.1",
    }
    return [sys.executable, "-m", "streamlit", *(local.get(arg, arg) for arg in command[1:])]


def test_streamlit_space_shows_a_prediction_in_a_browser(project: Path, page: Page):
    space = build_space(project, "streamlit")
    port = free_port()
    photo = first_test_photo(project)

    with serve(
        space,
        dockerfile_command(space, port),
        f"http://127.0.0.1:{port}/_stcore/health",
        space_env(),
    ):
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


def test_gradio_space_shows_a_prediction_in_a_browser(project: Path, page: Page):
    space = build_space(project, "gradio")
    port = free_port()
    photo = first_test_photo(project)
    # A Gradio Space runs `python app.py` and sets the address in the environment.
    env = {**space_env(), "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port)}

    with serve(space, [sys.executable, "app.py"], f"http://127.0.0.1:{port}/", env) as url:
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
