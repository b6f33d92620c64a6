"""A real app in a real browser: `python -m explorer.serve` (what `make run` starts: `streamlit
run explorer/app.py` without Nagle's delay; plain `streamlit run` where a test says so) on a
free port, driven by headless Chromium through Playwright.

Debian's `/usr/bin/chromium` is used (Playwright's own browser download does not work
here), through the session's `browser` fixture in tests/conftest.py. Where it is missing these
tests skip with the reason, except in CI (`CI` set), where they fail: CI must never pass
without having run them. Screenshots go to
`artifacts/screenshots/` (override with `$CAPTION_LAB_SCREENSHOTS`).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support.http_server import free_port

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("CAPTION_LAB_SCREENSHOTS", ROOT / "artifacts" / "screenshots"))


def start_app(tmp: Path, port: int | None = None, env: dict | None = None, plain: bool = False):
    """Start the app from the repo root as a user would (`plain`: as `streamlit run
    explorer/app.py`, with none of `explorer.serve`'s patches); returns (process, url)."""
    port = port or free_port()
    environment = {**os.environ, "CAPTION_LAB_RUNS": str(tmp / "runs"),
                   "CAPTION_LAB_IMAGE_CACHE": str(tmp / "image-cache"), **(env or {})}
    log = open(tmp / f"streamlit-{port}.log", "w")
    command = ["streamlit", "run", "explorer/app.py"] if plain else ["explorer.serve"]
    process = subprocess.Popen(
        [sys.executable, "-m", *command, "--server.port", str(port),
         "--server.headless", "true", "--server.address", "127.0.0.1"],
        cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{(tmp / f'streamlit-{port}.log').read_text()}")
        try:
            if requests.get(f"{url}/_stcore/health", timeout=1).text == "ok":
                return process, url
        except requests.RequestException:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("streamlit did not answer its health check within 60 s")


def stop_app(process) -> None:
    """Stop an app `start_app` started (killed when it does not stop within 10 s)."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("app")
    process, url = start_app(tmp)
    yield url
    stop_app(process)


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    p = context.new_page()
    p.set_default_timeout(30_000)
    p.goto(app_url)
    wait_idle(p)
    yield p
    context.close()


# --- helpers for the tests -----------------------------------------------------------

def wait_idle(page, timeout: float = 60.0, quiet: float = 0.8) -> None:
    """Wait until the app has rendered and Streamlit's "running" indicator has been gone for
    `quiet` seconds (after a click, the indicator may take a moment to appear)."""
    page.wait_for_selector('[data-testid="stAppViewContainer"]', timeout=timeout * 1000)
    page.wait_for_selector('[data-testid="stSidebarNavLink"]', timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    quiet_since = None
    while time.monotonic() < deadline:
        # one atomic look: the widget can vanish between a count() and an inner_text()
        running = page.evaluate(
            "() => !!document.querySelector('[data-testid=\"stStatusWidgetRunningIcon\"]')"
            " || (document.querySelector('[data-testid=\"stStatusWidget\"]')?.innerText || '')"
            ".includes('Running')")
        if running:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > quiet:
            return
        time.sleep(0.1)
    raise AssertionError("the app kept running for too long")


def open_page(page, title: str) -> None:
    """Click a page in the sidebar navigation and wait for it to render."""
    page.locator('[data-testid="stSidebarNavLink"]', has_text=title).first.click()
    wait_idle(page)


def load_checkpoint_in_sidebar(page, path) -> None:
    """Choose "Checkpoint file" in the sidebar's model picker and load the file at `path`."""
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Checkpoint file", exact=True).click()
    wait_idle(page)
    box = sidebar.get_by_placeholder("/path/to/model.h5")
    box.fill(str(path))
    box.press("Enter")
    wait_idle(page)


def assert_no_errors(page) -> None:
    """No exception box and no error alert anywhere on the page."""
    exceptions = page.locator('[data-testid="stException"]')
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()
    assert errors.count() == 0, errors.first.inner_text()


def screenshot(page, name: str) -> Path:
    """A screenshot of the whole app. Streamlit scrolls inside its main area, not the
    document, so the viewport is stretched to that area's height for the picture."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    size = page.viewport_size
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')?.scrollHeight || 0")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], int(height))})
    wait_idle(page, quiet=0.4)      # the callers waited for the app already: this lets the layout settle
    page.screenshot(path=str(path))
    page.set_viewport_size(size)
    return path
