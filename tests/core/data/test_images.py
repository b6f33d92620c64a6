"""Tests for core/data/images.py and image_cache.py against a real HTTP server on 127.0.0.1 and real files.

Nothing here touches the network beyond loopback: the one "offline" address is under
`.invalid`, which never resolves (RFC 6761), so it fails at name resolution locally.
"""
from __future__ import annotations

import io
import os
import struct
import threading
import time
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image

from core.data import images
from core.data.image_cache import ImageFetcher
from core.data.images import OFFLINE_NOTICE, decode_image, fetch_image, image_from_url, is_remote
from tests.support.http_server import (LoopbackServer, free_port, serve_bytes, serve_cut,
                                       serve_delayed,
                                       serve_redirect, serve_status, serve_stream, serve_trickle)

pytestmark = pytest.mark.timeout(60)

OFFLINE_URL = "http://nonexistent.invalid/x.jpg"


@pytest.fixture(autouse=True)
def no_dns(monkeypatch):
    """Name resolution "down" for the probe too, whatever this machine's network is like."""
    monkeypatch.setattr(images, "DNS_PROBE", images._DnsProbe(hosts=("nothing-here.invalid",)))


# --- helpers ---------------------------------------------------------------------------

def encode(array: np.ndarray, fmt: str, **options: object) -> bytes:
    """`array` saved by Pillow in format `fmt`, as bytes."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, **options)
    return buffer.getvalue()


def gradient(height: int = 24, width: int = 32) -> np.ndarray:
    """A smooth (H, W, 3) uint8 test picture built from np.linspace."""
    rows = np.linspace(0, 255, height)[:, None] * np.ones((1, width))    # (H, W)
    cols = np.ones((height, 1)) * np.linspace(255, 0, width)[None, :]     # (H, W)
    return np.stack([rows, cols, (rows + cols) / 2], axis=-1).astype(np.uint8)


def noise(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """Random (H, W, 3) uint8 pixels: they do not compress, so a cut file is really cut."""
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def png_header(width: int, height: int) -> bytes:
    """A tiny PNG that claims `width` x `height` pixels (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def hits(server: LoopbackServer, path: str) -> int:
    """How many requests `server` has seen for `path`."""
    return sum(1 for _, p, _ in server.requests if p == path)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="module")
def shared_server():
    with LoopbackServer() as live:    # one server: each shutdown costs its 0.5 s poll interval
        yield live


@pytest.fixture
def server(shared_server):
    """The loopback server with no routes and no requests seen yet."""
    shared_server.routes.clear()
    shared_server.requests.clear()
    return shared_server


# --- fetch_image: good images ------------------------------------------------------------

def test_png_rgb_round_trips_exactly(server):
    picture = gradient()
    server.routes["/a.png"] = serve_bytes(encode(picture, "PNG"), "image/png")
    result = fetch_image(server.url("/a.png"))
    assert result.ok and result.error is None
    assert result.image.dtype == np.uint8 and result.image.shape == (24, 32, 3)
    np.testing.assert_array_equal(result.image, picture)
    assert result.url == server.url("/a.png") and result.elapsed >= 0


def test_jpeg_rgb_decodes_close_to_the_original(server):
    picture = gradient(40, 56)
    server.routes["/a.jpg"] = serve_bytes(encode(picture, "JPEG", quality=95), "image/jpeg")
    image = image_from_url(server.url("/a.jpg"))
    assert image.shape == (40, 56, 3) and image.dtype == np.uint8
    assert np.abs(image.astype(float) - picture).mean() < 3.0


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_greyscale_becomes_three_equal_channels(server, fmt):
    grey = gradient()[..., 0]
    server.routes["/g"] = serve_bytes(encode(grey, fmt), f"image/{fmt.lower()}")
    image = image_from_url(server.url("/g"))
    assert image.shape == (24, 32, 3)
    np.testing.assert_array_equal(image[..., 0], image[..., 1])
    np.testing.assert_array_equal(image[..., 0], image[..., 2])
    assert np.abs(image[..., 0].astype(float) - grey).max() <= (0 if fmt == "PNG" else 8)


def test_rgba_keeps_opaque_pixels_and_shows_transparent_ones_white(server):
    rgb = gradient()
    alpha = np.where(np.arange(32) < 16, 255, 0).astype(np.uint8)[None, :].repeat(24, axis=0)
    server.routes["/rgba.png"] = serve_bytes(encode(np.dstack([rgb, alpha]), "PNG"), "image/png")
    image = image_from_url(server.url("/rgba.png"))
    np.testing.assert_array_equal(image[:, :16], rgb[:, :16])
    assert (image[:, 16:] == 255).all()


def test_palette_with_transparency_becomes_rgb(tmp_path):
    palette = Image.new("P", (4, 2))
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    palette.putdata([0, 1, 1, 0, 1, 1, 0, 0])
    path = tmp_path / "palette.png"
    palette.save(path, transparency=0)
    image = image_from_url(str(path))
    assert image.shape == (2, 4, 3)
    assert tuple(image[0, 1]) == (255, 0, 0) and tuple(image[0, 0]) == (255, 255, 255)


def test_16_bit_greyscale_keeps_the_top_byte():
    grey16 = np.array([[0, 256, 4096, 65535]], dtype=np.uint16)
    image, error = decode_image(encode(grey16, "PNG"))
    assert error is None
    np.testing.assert_array_equal(image[0, :, 0], [0, 1, 16, 255])


# --- fetch_image: bad answers --------------------------------------------------------------

@pytest.mark.parametrize("status", [403, 404, 410, 500, 503])
def test_http_error_status_is_the_reason(server, status):
    server.routes["/x.jpg"] = serve_status(status, b"nope")
    result = fetch_image(server.url("/x.jpg"))
    assert result.image is None and result.error == f"HTTP {status}"


def test_html_page_is_not_an_image(server):
    page = b"<html><body>Photo not found</body></html>"
    server.routes["/x.jpg"] = serve_bytes(page, "text/html; charset=utf-8")
    result = fetch_image(server.url("/x.jpg"))
    assert result.image is None and result.error == "not an image (text/html)"


def test_garbage_with_an_image_content_type_is_rejected(server):
    server.routes["/x.jpg"] = serve_bytes(b"\x00garbage\xff" * 300, "image/jpeg")
    result = fetch_image(server.url("/x.jpg"))
    assert result.image is None and result.error == "not an image (undecodable data)"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_image_is_rejected(server, fmt):
    data = encode(noise(), fmt)
    server.routes["/cut"] = serve_bytes(data[: len(data) * 2 // 3], f"image/{fmt.lower()}")
    result = fetch_image(server.url("/cut"))
    assert result.image is None and result.error == "truncated image"


def test_connection_dropped_mid_body_is_a_truncated_download(server):
    data = encode(noise(), "PNG")
    server.routes["/drop.png"] = serve_cut(data, keep=len(data) // 2)
    result = fetch_image(server.url("/drop.png"))
    assert result.image is None and result.error == "truncated download"


def test_trickling_server_cannot_hold_the_call_past_its_deadline(server):
    data = encode(gradient(8, 8), "PNG")                 # ~100 bytes: ~20 s at 0.2 s a byte
    server.routes["/slow.png"] = serve_trickle(data, delay=0.2)
    start = time.monotonic()
    result = fetch_image(server.url("/slow.png"), timeout=1.0)
    took = time.monotonic() - start
    assert result.image is None and result.error == "timed out after 1 s"
    assert len(data) * 0.2 > 10 and took < 2.5
    assert hits(server, "/slow.png") == 1


def test_a_server_that_never_answers_is_abandoned_at_the_deadline(server):
    server.routes["/silent.png"] = serve_delayed(encode(gradient(), "PNG"), delay=6.0)
    result = fetch_image(server.url("/silent.png"), timeout=0.5)
    assert result.image is None and result.error == "timed out after 0.5 s"
    assert result.elapsed < 1.5


def test_declared_200_mb_body_is_refused_without_reading_it(server):
    head = encode(gradient(), "JPEG")
    server.routes["/huge.jpg"] = serve_stream(head, total=200_000_000)
    start = time.monotonic()
    result = fetch_image(server.url("/huge.jpg"))
    assert result.image is None and result.error == "too large (> 20 MB)"
    assert time.monotonic() - start < 2.0


def test_undeclared_200_mb_body_is_cut_off_at_the_cap_without_holding_it(server):
    head = encode(gradient(), "JPEG")
    server.routes["/huge.jpg"] = serve_stream(head, total=200_000_000, declare_length=False)
    tracemalloc.start()
    try:
        result = fetch_image(server.url("/huge.jpg"), max_bytes=5_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.image is None and result.error == "too large (> 5 MB)"
    assert peak < 30_000_000            # the cap plus slack, far from 200 MB


def test_redirect_loop_is_named(server):
    server.routes["/a"] = serve_redirect("/b")
    server.routes["/b"] = serve_redirect(server.url("/a"))
    result = fetch_image(server.url("/a"))
    assert result.image is None and result.error == "redirect loop"
    assert hits(server, "/a") == 1 and hits(server, "/b") == 1


def test_redirect_to_an_image_is_followed(server):
    picture = gradient()
    server.routes["/moved.png"] = serve_redirect("/real.png", status=301)
    server.routes["/real.png"] = serve_bytes(encode(picture, "PNG"), "image/png")
    np.testing.assert_array_equal(image_from_url(server.url("/moved.png")), picture)


def test_flickr_placeholder_for_a_deleted_photo_counts_as_dead(server):
    server.routes["/1234_abcd_z.jpg"] = serve_redirect("/images/photo_unavailable_z.png")
    server.routes["/images/photo_unavailable_z.png"] = serve_bytes(encode(gradient(), "PNG"), "image/png")
    result = fetch_image(server.url("/1234_abcd_z.jpg"))
    assert result.image is None and result.error == "photo unavailable (Flickr placeholder)"
    assert hits(server, "/images/photo_unavailable_z.png") == 0


@pytest.mark.parametrize("size", [(30000, 30000), (10000, 10000), (8000, 8000)])
def test_decompression_bomb_is_refused_before_decoding(server, recwarn, size):
    # Pillow itself raises at 30000^2, warns at 10000^2; 8000^2 only passes our own cap.
    server.routes["/bomb.png"] = serve_bytes(png_header(*size), "image/png")
    result = fetch_image(server.url("/bomb.png"))
    assert result.image is None and result.error == "too many pixels (> 40 MP)"
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]


def test_pixel_cap_is_configurable():
    data = encode(gradient(100, 100), "PNG")
    assert decode_image(data, max_pixels=10_000)[1] is None
    assert decode_image(data, max_pixels=9_999) == (None, "too many pixels (> 0.01 MP)")


def test_connection_refused_is_not_offline():
    result = fetch_image(f"http://127.0.0.1:{free_port()}/x.jpg")
    assert result.image is None and result.error == "connection refused"


def test_unresolvable_host_is_offline_and_fails_fast():
    result = fetch_image(OFFLINE_URL)
    assert result.image is None and result.error == "offline"
    assert result.elapsed < 1.0


def test_a_dead_domain_while_names_resolve_is_not_offline(monkeypatch):
    monkeypatch.setattr(images, "DNS_PROBE", images._DnsProbe(hosts=("localhost",)))
    result = fetch_image(OFFLINE_URL)
    assert result.image is None and result.error == "host not found"


# --- fetch_image: local files and junk -------------------------------------------------------

def test_file_uri_plain_path_and_path_object_all_work(tmp_path):
    picture = gradient()
    path = tmp_path / "an image.png"                   # a space, so the URI is percent-encoded
    path.write_bytes(encode(picture, "PNG"))
    for url in (path.as_uri(), str(path), path):
        np.testing.assert_array_equal(image_from_url(url), picture)
    assert "%20" in path.as_uri() and not is_remote(path.as_uri())


def test_missing_file_directory_and_oversized_file(tmp_path):
    assert fetch_image(str(tmp_path / "missing.jpg")).error == "file not found"
    assert fetch_image((tmp_path / "missing.jpg").as_uri()).error == "file not found"
    assert fetch_image(str(tmp_path)).error == "not a file"
    big = tmp_path / "big.png"
    big.write_bytes(encode(noise(), "PNG"))
    assert fetch_image(big, max_bytes=1000).error == "too large (> 0.001 MB)"


@pytest.mark.parametrize("junk", [None, 42, 3.5, b"http://x/y.jpg", object(), [], "", "   ",
                                  "not a url", "ftp://example.com/x.jpg", "mailto:a@b",
                                  "http://", "http://[::1", "https://exa mple.com/x",
                                  "file://otherhost/x.jpg", "\x00", "\ud800"])
def test_junk_input_never_raises(junk):
    assert image_from_url(junk) is None
    result = fetch_image(junk)
    assert result.image is None and isinstance(result.error, str) and result.error
    assert not result.error.startswith("unexpected") and result.elapsed < 1.0


# --- ImageFetcher ---------------------------------------------------------------------------

def test_second_fetch_is_a_cache_hit_even_after_a_restart(server, tmp_path):
    picture = gradient()
    server.routes["/a.png"] = serve_bytes(encode(picture, "PNG"), "image/png")
    url = server.url("/a.png")
    with ImageFetcher(tmp_path / "cache") as fetcher:
        first, second = fetcher.fetch(url), fetcher.fetch(url)
    with ImageFetcher(tmp_path / "cache") as restarted:
        third = restarted.fetch(url)
        as_numpy_str = restarted.fetch(np.asarray([url])[0])   # how the COCO loader holds URLs
    assert not first.cached and second.cached and third.cached and as_numpy_str.cached
    for result in (first, second, third):
        np.testing.assert_array_equal(result.image, picture)
    assert hits(server, "/a.png") == 1
    assert [p.suffix for p in (tmp_path / "cache").iterdir()] == [".npy"]


def test_least_recently_used_image_is_evicted_under_the_cap(server, tmp_path):
    for name in "abc":
        server.routes[f"/{name}.png"] = serve_bytes(encode(noise(16, 16), "PNG"), "image/png")
    entry = 16 * 16 * 3 + 128                          # one .npy file: pixels plus header
    with ImageFetcher(tmp_path, max_cache_bytes=int(2.5 * entry)) as fetcher:
        fetcher.fetch(server.url("/a.png"))
        fetcher.fetch(server.url("/b.png"))
        assert fetcher.fetch(server.url("/a.png")).cached   # a is now the most recent
        fetcher.fetch(server.url("/c.png"))                 # evicts b, the least recent
        assert fetcher.stats()["cached"] == 2
        assert fetcher.fetch(server.url("/a.png")).cached
        assert not fetcher.fetch(server.url("/b.png")).cached
    assert (hits(server, "/a.png"), hits(server, "/b.png"), hits(server, "/c.png")) == (1, 2, 1)
    assert sum(p.stat().st_size for p in tmp_path.glob("*.npy")) <= 2.5 * entry


def test_a_dead_link_is_remembered_until_its_ttl_expires(server, tmp_path):
    server.routes["/dead.jpg"] = serve_status(404)
    clock = FakeClock()
    with ImageFetcher(tmp_path, failure_ttl=60.0, clock=clock) as fetcher:
        first = fetcher.fetch(server.url("/dead.jpg"))
        clock.advance(59.0)
        second = fetcher.fetch(server.url("/dead.jpg"))
        assert hits(server, "/dead.jpg") == 1
        clock.advance(2.0)
        third = fetcher.fetch(server.url("/dead.jpg"))
    assert first.error == second.error == third.error == "HTTP 404"
    assert hits(server, "/dead.jpg") == 2


def test_a_minibatch_is_fetched_in_parallel(server, tmp_path):
    pictures = [noise(8, 8, seed=i) for i in range(8)]
    for i, picture in enumerate(pictures):
        server.routes[f"/{i}.png"] = serve_delayed(encode(picture, "PNG"), delay=0.5)
    urls = [server.url(f"/{i}.png") for i in range(8)]
    with ImageFetcher(tmp_path) as fetcher:
        start = time.monotonic()
        results = fetcher.fetch_many(urls)
        took = time.monotonic() - start
    assert took < 2.0                                  # the sum of delays would be 4 s
    assert [r.url for r in results] == urls
    for result, picture in zip(results, pictures):
        np.testing.assert_array_equal(result.image, picture)


def test_concurrent_sessions_share_one_fetch_per_url(server, tmp_path):
    for i in range(5):
        server.routes[f"/{i}.png"] = serve_delayed(encode(noise(8, 8, seed=i), "PNG"), delay=0.3)
    urls = [server.url(f"/{i}.png") for i in range(5)] * 2
    outcomes: list[list] = []
    with ImageFetcher(tmp_path) as fetcher:
        sessions = [threading.Thread(target=lambda: outcomes.append(fetcher.fetch_many(urls)))
                    for _ in range(6)]
        for session in sessions:
            session.start()
        for session in sessions:
            session.join()
        stats = fetcher.stats()
    assert len(outcomes) == 6 and all(r.ok for results in outcomes for r in results)
    assert len(server.requests) == 5
    assert (stats["live"], stats["dead"], stats["cached"]) == (5, 0, 5)


def test_offline_is_detected_fast_said_once_and_short_circuits(server, tmp_path):
    picture = gradient()
    server.routes["/cached.png"] = serve_bytes(encode(picture, "PNG"), "image/png")
    server.routes["/new.png"] = serve_bytes(encode(picture, "PNG"), "image/png")
    local = tmp_path / "local.png"
    local.write_bytes(encode(picture, "PNG"))
    clock = FakeClock()
    with ImageFetcher(tmp_path / "cache", offline_ttl=30.0, clock=clock) as fetcher:
        fetcher.fetch(server.url("/cached.png"))
        assert not fetcher.offline and fetcher.take_offline_notice() is None
        gone = fetcher.fetch(OFFLINE_URL)
        assert gone.error == "offline" and gone.elapsed < 1.0 and fetcher.offline
        assert fetcher.take_offline_notice() == OFFLINE_NOTICE
        assert fetcher.take_offline_notice() is None
        assert fetcher.fetch(server.url("/new.png")).error == "offline"
        assert hits(server, "/new.png") == 0               # not even tried
        assert fetcher.fetch(server.url("/cached.png")).cached
        assert fetcher.fetch(local.as_uri()).ok
        fetcher.fetch(OFFLINE_URL)
        assert fetcher.take_offline_notice() is None       # still the same outage
        assert fetcher.stats()["dead"] == 0 and fetcher.stats()["offline"]
        clock.advance(31.0)
        assert not fetcher.offline
        assert fetcher.fetch(server.url("/new.png")).ok
    assert hits(server, "/new.png") == 1


def test_connection_refused_counts_as_dead_not_offline(tmp_path):
    with ImageFetcher(tmp_path) as fetcher:
        result = fetcher.fetch(f"http://127.0.0.1:{free_port()}/x.jpg")
        assert result.error == "connection refused"
        assert not fetcher.offline and fetcher.take_offline_notice() is None
        assert fetcher.stats()["reasons"] == {"connection refused": 1}


def test_stats_count_live_and_dead_links_with_reasons(server, tmp_path):
    server.routes["/ok.png"] = serve_bytes(encode(gradient(), "PNG"), "image/png")
    server.routes["/page"] = serve_bytes(b"<html></html>", "text/html")
    local = tmp_path / "local.png"
    local.write_bytes(encode(gradient(), "PNG"))
    urls = [server.url("/ok.png"), server.url("/gone1"), server.url("/gone2"),
            server.url("/page"), str(local), str(tmp_path / "nope.png"), server.url("/ok.png")]
    with ImageFetcher(tmp_path / "cache") as fetcher:
        results = fetcher.fetch_many(urls)
        stats = fetcher.stats()
    assert [r.ok for r in results] == [True, False, False, False, True, False, True]
    assert (stats["live"], stats["dead"], stats["cached"]) == (2, 4, 1)
    assert stats["reasons"] == {"HTTP 404": 2, "not an image (text/html)": 1, "file not found": 1}
    assert stats["cache_bytes"] > 0 and stats["offline"] is False


def test_local_files_are_not_copied_into_the_cache(tmp_path):
    path = tmp_path / "local.png"
    path.write_bytes(encode(gradient(), "PNG"))
    with ImageFetcher(tmp_path / "cache") as fetcher:
        assert fetcher.fetch(path.as_uri()).ok and fetcher.fetch(str(path)).ok
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_damaged_cache_file_is_dropped_and_fetched_again(server, tmp_path):
    picture = gradient()
    server.routes["/a.png"] = serve_bytes(encode(picture, "PNG"), "image/png")
    with ImageFetcher(tmp_path) as fetcher:
        fetcher.fetch(server.url("/a.png"))
        [cached] = tmp_path.glob("*.npy")
        cached.write_bytes(b"\x93NUMPY garbage")
        again = fetcher.fetch(server.url("/a.png"))
    assert not again.cached
    np.testing.assert_array_equal(again.image, picture)
    assert hits(server, "/a.png") == 2


def test_unrelated_files_in_the_cache_folder_are_left_alone(tmp_path):
    keep = tmp_path / "notes.npy"
    np.save(keep, np.zeros(10_000))
    with ImageFetcher(tmp_path, max_cache_bytes=100) as fetcher:
        assert fetcher.stats()["cached"] == 0
    assert keep.exists()


@pytest.mark.parametrize("junk", [None, 7, "", "http://[::1", "\x00"])
def test_fetcher_never_raises_on_junk(tmp_path, junk):
    with ImageFetcher(tmp_path) as fetcher:
        [result] = fetcher.fetch_many([junk])
    assert result.image is None and isinstance(result.error, str)


def test_a_closed_fetcher_still_answers(server, tmp_path):
    picture = gradient()
    server.routes["/a.png"] = serve_bytes(encode(picture, "PNG"), "image/png")
    fetcher = ImageFetcher(tmp_path)
    fetcher.close()
    [result] = fetcher.fetch_many([server.url("/a.png")])
    np.testing.assert_array_equal(result.image, picture)


# --- ImageFetcher.pictures: what a page shows ---------------------------------------------

@pytest.fixture
def encodes(monkeypatch):
    """The sizes `image_cache.encode` was called with, in order."""
    from core.data import image_cache
    original, calls = image_cache.encode, []

    def counting(image, max_side):
        calls.append(max_side)
        return original(image, max_side)

    monkeypatch.setattr(image_cache, "encode", counting)
    return calls


def decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_pictures_are_encoded_once_then_served_from_memory(server, tmp_path, encodes):
    photo, drawing = noise(480, 640), gradient(128, 128)
    server.routes["/photo.jpg"] = serve_bytes(encode(photo, "JPEG", quality=95), "image/jpeg")
    local = tmp_path / "drawing.png"
    local.write_bytes(encode(drawing, "PNG"))
    urls = [server.url("/photo.jpg"), local.as_uri(), server.url("/missing.png")]
    with ImageFetcher(tmp_path / "cache") as fetcher:
        first = fetcher.pictures(urls, 320)
        again = fetcher.pictures(urls, 320)
    big, small, dead = first
    assert big.ok and big.format == "JPEG" and big.size == (480, 640)
    assert decoded(big.data).shape == (240, 320, 3)                   # shrunk to 320 on its longest side
    assert small.format == "PNG" and small.size == (128, 128)
    np.testing.assert_array_equal(decoded(small.data), drawing)      # a small drawing stays exact
    assert not dead.ok and dead.error == "HTTP 404"
    assert encodes == [320, 320]                                      # the second call encoded nothing
    assert again[0].data is big.data and again[1].data is small.data
    assert again[2].error == "HTTP 404" and hits(server, "/photo.jpg") == 1 and hits(server, "/missing.png") == 1


def test_a_changed_local_file_and_another_size_are_encoded_again(tmp_path, encodes):
    local = tmp_path / "drawing.png"
    local.write_bytes(encode(gradient(128, 128), "PNG"))
    with ImageFetcher(tmp_path / "cache") as fetcher:
        fetcher.picture(str(local), 320)
        changed = noise(100, 120)
        local.write_bytes(encode(changed, "PNG"))
        os.utime(local, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
        now = fetcher.picture(str(local), 320)
        smaller = fetcher.picture(str(local), 60)
        local.unlink()
        gone = fetcher.picture(str(local), 60)
    np.testing.assert_array_equal(decoded(now.data), changed)
    assert decoded(smaller.data).shape == (50, 60, 3) and encodes == [320, 320, 60]
    assert not gone.ok and gone.error == "file not found"


def test_pictures_past_the_memory_cap_are_dropped_oldest_first(tmp_path, encodes):
    paths = []
    for k in range(3):
        paths.append(tmp_path / f"{k}.png")
        paths[-1].write_bytes(encode(noise(64, 64, seed=k), "PNG"))
    one = len(ImageFetcher(tmp_path / "probe").picture(str(paths[0]), 64).data)
    encodes.clear()
    with ImageFetcher(tmp_path / "cache", max_picture_bytes=int(2.5 * one)) as fetcher:
        for path in paths:                     # 0, 1, 2: holding 2 drops 0
            fetcher.picture(str(path), 64)
        fetcher.picture(str(paths[2]), 64)     # still there
        fetcher.picture(str(paths[0]), 64)     # dropped: encoded again
    assert len(encodes) == 4
