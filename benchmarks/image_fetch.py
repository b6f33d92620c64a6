"""Measure the claim: a minibatch of uncached images takes about as long as its slowest one.

A loopback server serves 25 COCO-sized (640x480) JPEGs, each answering after its own
delay from 0.1 s to 1.0 s. `ImageFetcher.fetch_many` fetches them once uncached (wall
time vs the slowest delay and vs the sum of delays), then again from the disk cache.

    python -m benchmarks.image_fetch          (from the repository root)
"""
from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks._machine import describe_machine
from core.data.image_cache import ImageFetcher
from tests.support.http_server import LoopbackServer, serve_delayed

NUM_IMAGES = 25
DELAYS = np.linspace(0.1, 1.0, NUM_IMAGES)     # seconds before each server answer


def photo_jpeg(seed: int) -> bytes:
    """A 640x480 JPEG with smooth shading and grain, about the size of a COCO image."""
    rng = np.random.default_rng(seed)
    shade = np.linspace(0, 200, 640)[None, :, None] * np.ones((480, 1, 3))       # (480, 640, 3)
    pixels = np.clip(shade + rng.normal(0, 20, (480, 640, 3)), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def timed_fetch(fetcher: ImageFetcher, urls: list[str]) -> tuple[float, int, int]:
    """(wall seconds, images fetched, of which from the cache) for one fetch_many call."""
    start = time.perf_counter()
    results = fetcher.fetch_many(urls)
    wall = time.perf_counter() - start
    return wall, sum(r.ok for r in results), sum(r.cached for r in results)


def main() -> None:
    print(describe_machine())
    bodies = [photo_jpeg(i) for i in range(NUM_IMAGES)]
    routes = {f"/{i}.jpg": serve_delayed(body, float(delay), "image/jpeg")
              for i, (body, delay) in enumerate(zip(bodies, DELAYS))}
    print(f"{NUM_IMAGES} JPEGs of 640x480, {np.mean([len(b) for b in bodies]) / 1e3:.0f} kB "
          f"on average, server delays {DELAYS[0]:.1f}-{DELAYS[-1]:.1f} s")
    with LoopbackServer(routes) as server, tempfile.TemporaryDirectory() as cache:
        urls = [server.url(path) for path in routes]
        with ImageFetcher(Path(cache), max_workers=32) as fetcher:
            wall, ok, cached = timed_fetch(fetcher, urls)
            print(f"uncached: {wall:.2f} s for {ok} images ({cached} from cache); "
                  f"slowest delay {DELAYS.max():.2f} s ({wall / DELAYS.max():.2f}x), "
                  f"sum of delays {DELAYS.sum():.2f} s ({wall / DELAYS.sum():.2f}x)")
            wall, ok, cached = timed_fetch(fetcher, urls)
            print(f"cached:   {wall * 1e3:.0f} ms for {ok} images ({cached} from cache), "
                  f"{wall * 1e3 / NUM_IMAGES:.1f} ms an image; "
                  f"server saw {len(server.requests)} requests in all")


if __name__ == "__main__":
    main()
