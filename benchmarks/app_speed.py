"""Measure the app's speed claims in a real browser, the way a user meets them.

  1. Start-up: `python -m streamlit run explorer/app.py` from the repo root, until the
     Home page's title, the sidebar navigation and the dataset summary are drawn in
     headless Chromium. Fresh server each time; the demo dataset already built (the
     one-off build is not start-up). Claim: within 5 s.
  2. Re-sample, images cached: Browse with 25 cards, press Re-sample, until the new
     cards and all their images are drawn. On the demo dataset (local image files) and
     on a COCO-layout dataset whose 640x480 JPEGs come over HTTP from a loopback server
     and are already in the disk cache. Claim: under 1 s.
  3. Re-sample, 25 images not cached: the same over a loopback server that answers
     each image after its own delay (0.1 to 1.0 s). Compared with the slowest delay
     among the images fetched and with the sum of their delays. Claim: bounded by the
     slowest image, not the sum.

Chromium is Debian's /usr/bin/chromium (or $CHROMIUM), driven through Playwright. The
machine may be shared: the load average is printed with the CPU.

    python -m benchmarks.app_speed [--starts 3] [--resamples 7]      (from the repo root)
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import requests

from benchmarks._machine import describe_machine
from benchmarks.image_fetch import photo_jpeg
from core.data.demo import ensure_demo_dataset
from core.data.image_cache import ImageFetcher
from tests.support.http_server import LoopbackServer, free_port, serve_delayed
from tests.support.tiny_coco import write_tiny_coco

ROOT = Path(__file__).resolve().parents[1]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update"]
BATCH = 25
CARD_TITLE = re.compile(r"row [\d,]+ · image [\d,]+")

# JS: the visible card titles, and whether every card has finished drawing its image (an
# st.image, or one inline in the card's Markdown: image_grid.CARD_PICTURE)
CARDS_JS = """() => {
  const titles = [...document.querySelectorAll('button')]
    .filter(b => b.offsetParent !== null && /row [\\d,]+ · image [\\d,]+/.test(b.innerText))
    .map(b => b.innerText.match(/row [\\d,]+ · image [\\d,]+/)[0]);
  const imgs = [...document.querySelectorAll('[data-testid="stImage"] img, img.caption-lab-card')];
  const tiles = document.querySelectorAll('.caption-lab-missing').length;
  const loaded = imgs.every(i => i.complete && i.naturalWidth > 0);
  return {titles, images: imgs.length, tiles, loaded};
}"""


# --- the app as a user starts it -----------------------------------------------------------

def start_app(env: dict) -> tuple[subprocess.Popen, str, float]:
    """`python -m streamlit run explorer/app.py` from the repo root; (process, url, start time)."""
    port = free_port()
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "explorer/app.py", "--server.port", str(port),
         "--server.headless", "true", "--server.address", "127.0.0.1"],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    while True:
        if process.poll() is not None:
            raise RuntimeError("streamlit exited during start-up")
        try:
            if requests.get(f"{url}/_stcore/health", timeout=0.5).text == "ok":
                return process, url, start
        except requests.RequestException:
            time.sleep(0.02)
        if time.perf_counter() - start > 60:
            process.kill()
            raise RuntimeError("streamlit did not start within 60 s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_idle(page, quiet: float = 0.5, timeout: float = 60) -> None:
    """Until Streamlit's "Running…" indicator has been gone for `quiet` seconds."""
    deadline, since = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        running = page.evaluate("() => { const w = document.querySelector('[data-testid=\"stStatusWidget\"]');"
                                " return !!w && (w.innerText || '').includes('Running'); }")
        if running:
            since = None
        elif since is None:
            since = time.monotonic()
        elif time.monotonic() - since > quiet:
            return
        time.sleep(0.05)
    raise RuntimeError("the app kept running")


# --- 1. start-up -----------------------------------------------------------------------------

def time_startup(browser, env: dict) -> tuple[float, float]:
    """(seconds until the server answers, seconds until Home is drawn), from the process start."""
    process, url, start = start_app(env)
    healthy = time.perf_counter() - start
    try:
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.goto(url)
        page.wait_for_function(
            """() => [...document.querySelectorAll('h1')].some(h => h.innerText.includes('Caption Lab'))
                && document.querySelectorAll('[data-testid="stSidebarNavLink"]').length >= 6
                && (document.querySelector('[data-testid="stSidebar"]')?.innerText || '').includes('vocabulary:')""",
            polling=20, timeout=60_000)
        ready = time.perf_counter() - start
        page.close()
    finally:
        stop(process)
    return healthy, ready


# --- 2 and 3. re-sampling in Browse --------------------------------------------------------------

def open_browse(page, url: str, coco_folder: Path | None) -> None:
    page.goto(url)
    wait_idle(page)
    if coco_folder is not None:
        page.get_by_text("COCO folder", exact=True).click()
        wait_idle(page)
        page.get_by_placeholder("/path/to/coco_captioning").fill(str(coco_folder))
        page.keyboard.press("Enter")
        wait_idle(page)
    page.locator('[data-testid="stSidebarNavLink"]', has_text="Browse").first.click()
    wait_idle(page)
    page.get_by_role("slider").first.focus()
    page.keyboard.press("End")                        # batch size 25
    wait_idle(page)


def cards(page) -> dict:
    return page.evaluate(CARDS_JS)


def time_resample(page) -> float:
    """Seconds from the Re-sample click until 25 new cards have drawn their images."""
    before = cards(page)["titles"]
    start = time.perf_counter()
    page.get_by_role("button", name="Re-sample").click()
    page.wait_for_function(
        f"""(before) => {{ const c = ({CARDS_JS})();
            return c.titles.length === {BATCH} && c.titles.join('|') !== before.join('|')
                && c.loaded && c.images + c.tiles === {BATCH}; }}""",
        arg=before, polling=10, timeout=120_000)
    elapsed = time.perf_counter() - start
    wait_idle(page)
    return elapsed


def image_routes(num_images: int, delays: np.ndarray) -> dict:
    bodies = [photo_jpeg(i) for i in range(5)]
    return {f"/train2014/tiny_{i:06d}.jpg": serve_delayed(bodies[i % 5], float(delays[i]), "image/jpeg")
            for i in range(num_images)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--starts", type=int, default=3, help="fresh server starts to time")
    parser.add_argument("--resamples", type=int, default=7, help="re-samples to time per case")
    args = parser.parse_args()

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(describe_machine())
    print(f"load average {load} | Chromium {CHROMIUM}")
    ensure_demo_dataset()

    from playwright.sync_api import sync_playwright
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        tmp = Path(tmp)
        env = {"CAPTION_LAB_RUNS": str(tmp / "runs"), "CAPTION_LAB_IMAGE_CACHE": str(tmp / "image-cache")}
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)

        # 1. start-up
        times = [time_startup(browser, env) for _ in range(args.starts)]
        healthy, ready = zip(*times)
        print(f"\n1. start-up to Home drawn: median {statistics.median(ready):.2f} s "
              f"(runs: {', '.join(f'{t:.2f}' for t in ready)}); the server answered after "
              f"{statistics.median(healthy):.2f} s. Claim < 5 s.")

        # 2 and 3 share one server; the datasets are switched in the sidebar as a user would
        cached_n, uncached_n = 120, 3000
        uncached_delays = 0.1 + 0.9 * ((np.arange(uncached_n) * 7919) % 1000) / 999
        with LoopbackServer(image_routes(cached_n, np.zeros(cached_n))) as fast, \
                LoopbackServer(image_routes(uncached_n, uncached_delays)) as slow:
            cached = write_tiny_coco(tmp / "coco-cached", num_train_images=cached_n, url_base=fast.url(""))
            uncached = write_tiny_coco(tmp / "coco-uncached", num_train_images=uncached_n,
                                       url_base=slow.url(""))
            urls = [fast.url(p) for p in fast.routes]
            with ImageFetcher(tmp / "image-cache") as warm:     # the app's disk cache, filled
                assert all(r.ok for r in warm.fetch_many(urls))
            process, url, _ = start_app(env)
            try:
                page = browser.new_page(viewport={"width": 1440, "height": 1000})
                open_browse(page, url, None)
                demo = [time_resample(page) for _ in range(args.resamples)]
                print(f"\n2. re-sample, {BATCH} cards, demo dataset (local PNGs): median "
                      f"{statistics.median(demo):.2f} s, max {max(demo):.2f} s. Claim < 1 s.")

                open_browse(page, url, cached)
                warm_times = [time_resample(page) for _ in range(args.resamples)]
                print(f"   re-sample, {BATCH} cards, COCO-layout dataset, 640x480 JPEGs over HTTP "
                      f"all in the disk cache: median {statistics.median(warm_times):.2f} s, "
                      f"max {max(warm_times):.2f} s. Claim < 1 s.")
                assert len(fast.requests) == len(urls), "a cached image was fetched again"

                open_browse(page, url, uncached)
                print(f"\n3. re-sample, {BATCH} cards, images not cached, each served after "
                      f"0.1-1.0 s:")
                for _ in range(min(args.resamples, 5)):
                    seen = len(slow.requests)
                    wall = time_resample(page)
                    fetched = [int(p[len("/train2014/tiny_"):-4]) for _, p, _ in slow.requests[seen:]]
                    delays = uncached_delays[fetched]
                    print(f"   {wall:.2f} s for {len(fetched)} new images: slowest delay "
                          f"{delays.max():.2f} s ({wall - delays.max():+.2f} s), sum of delays "
                          f"{delays.sum():.1f} s ({wall / delays.sum():.2f}x)")
            finally:
                stop(process)
        browser.close()


if __name__ == "__main__":
    main()
