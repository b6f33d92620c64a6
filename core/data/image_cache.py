"""The app's image fetcher: a disk cache, a minibatch in parallel, dead links remembered.

`ImageFetcher` sits on top of `images.fetch_image` for the app, where one instance is
shared by every session (`st.cache_resource`): decoded images are cached on disk with a
size cap and least-recently-used eviction, a minibatch is fetched by a thread pool so it
takes as long as its slowest image, the reason a link failed is remembered for a while
so a rerun does not fetch it again, and a missing network is noticed once and then
skipped quickly. `pictures()` gives what a page shows (encoded, shrunk, kept in memory),
so a rerun does not decode or encode an image again. It never calls streamlit; the
sidebar shows `stats()`.
"""
from __future__ import annotations

import hashlib
import io
import os
import threading
import time
import uuid
from collections import Counter, OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
from PIL import Image

from ..text import message
from .images import (DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, DEFAULT_TIMEOUT, OFFLINE_NOTICE,
                     ImageResult, fetch_image, is_remote, local_path, url_label)


class _DiskCache:
    """Decoded images as .npy files in one folder, least recently used evicted past a byte cap.

    Files are written to a temporary name and moved into place, so a reader never sees
    half a file; they are read with allow_pickle=False. A file's mtime is its last use,
    so the order survives a restart.
    """

    def __init__(self, folder: Path, max_bytes: int):
        self.folder, self.max_bytes = folder, max_bytes
        folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._sizes: OrderedDict[str, int] = OrderedDict()   # key -> bytes, oldest use first
        self._total = 0
        entries = []
        for path in folder.glob("*.npy"):
            if _is_key(path.stem):
                try:
                    info = path.stat()
                except OSError:
                    continue
                entries.append((info.st_mtime, path.stem, info.st_size))
        with self._lock:
            for _, key, size in sorted(entries):
                self._sizes[key] = size
                self._total += size
            self._evict()

    def get(self, url: str) -> np.ndarray | None:
        """The cached image for `url`, or None."""
        key = _key(url)
        path = self.folder / f"{key}.npy"
        try:
            image = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            self._forget(key)
            return None
        except (OSError, ValueError, EOFError):
            self._forget(key, unlink=True)
            return None
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            self._forget(key, unlink=True)
            return None
        with self._lock:
            if key not in self._sizes:   # written by another process
                self._sizes[key] = path.stat().st_size if path.exists() else image.nbytes
                self._total += self._sizes[key]
            self._sizes.move_to_end(key)
        try:
            os.utime(path)
        except OSError:
            pass
        return image

    def put(self, url: str, image: np.ndarray) -> None:
        """Store `image` for `url` (best effort: a full disk just means no caching)."""
        if image.nbytes > self.max_bytes:
            return
        key = _key(url)
        path = self.folder / f"{key}.npy"
        tmp = self.folder / f".{key}.{uuid.uuid4().hex}.tmp"
        try:
            with open(tmp, "wb") as f:
                np.save(f, image, allow_pickle=False)
            os.replace(tmp, path)
            size = path.stat().st_size
        except OSError:
            tmp.unlink(missing_ok=True)
            return
        with self._lock:
            self._total += size - self._sizes.pop(key, 0)
            self._sizes[key] = size
            self._evict()

    def usage(self) -> tuple[int, int]:
        """(number of cached images, their total bytes)."""
        with self._lock:
            return len(self._sizes), self._total

    def _forget(self, key: str, unlink: bool = False) -> None:
        with self._lock:
            self._total -= self._sizes.pop(key, 0)
        if unlink:
            (self.folder / f"{key}.npy").unlink(missing_ok=True)

    def _evict(self) -> None:
        """Drop the least recently used files until under the cap (caller holds the lock)."""
        while self._total > self.max_bytes and self._sizes:
            key, size = self._sizes.popitem(last=False)
            self._total -= size
            try:
                (self.folder / f"{key}.npy").unlink(missing_ok=True)
            except OSError:
                pass


SMALL = 256                        # longest side up to which a picture is kept as PNG


@dataclass(frozen=True)
class Picture:
    """An image ready to show, encoded, its longest side at most the size asked for."""

    url: str
    data: bytes | None             # PNG or JPEG (see `encode`); None when there is no image
    error: str | None              # why not ("HTTP 404", "offline", ...)
    size: tuple[int, int] | None   # the original image's (height, width)

    @property
    def ok(self) -> bool:
        return self.data is not None

    @property
    def format(self) -> str:
        """"PNG" or "JPEG": pass it to `st.image(output_format=...)`, which otherwise encodes
        a PNG again, as JPEG, on every rerun."""
        return "PNG" if (self.data or b"").startswith(b"\x89PNG") else "JPEG"


def shrink(image: np.ndarray, max_side: int) -> np.ndarray:
    """`image` shrunk so its longest side is at most `max_side` (smaller ones stay as they are)."""
    if max(image.shape[:2]) <= max_side:
        return image
    im = Image.fromarray(image)
    im.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)  # box-reduce, then blend
    return np.asarray(im)


def encode(image: np.ndarray, max_side: int, quality: int = 90) -> bytes:
    """`image` shrunk to `max_side` and encoded: PNG when small (the demo's drawn scenes keep
    their sharp edges, in a few kilobytes), JPEG otherwise (photos, a tenth of PNG's size)."""
    small = shrink(image, max_side)
    out = io.BytesIO()
    if max(small.shape[:2]) <= SMALL:
        Image.fromarray(small).save(out, format="PNG", optimize=False)
    else:
        Image.fromarray(small).save(out, format="JPEG", quality=quality)
    return out.getvalue()


class _PictureCache:
    """Encoded pictures in memory, least recently used evicted past a byte cap."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, Picture] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Picture | None:
        with self._lock:
            picture = self._items.get(key)
            if picture is not None:
                self._items.move_to_end(key)
            return picture

    def put(self, key: tuple, picture: Picture) -> None:
        size = len(picture.data or b"")
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self._total += size - (len(old.data or b"") if old else 0)
            self._items[key] = picture
            while self._total > self.max_bytes and self._items:
                _, dropped = self._items.popitem(last=False)
                self._total -= len(dropped.data or b"")


def _key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()


def _is_key(name: str) -> bool:
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


class ImageFetcher:
    """Fetches the app's images: disk-cached, a minibatch in parallel, dead links remembered.

    One instance is shared by every Streamlit session, so every method is thread-safe.
    Remote images are cached on disk; local files are read each time. A failed remote
    link is not tried again for `failure_ttl` seconds. When the network is missing (a
    name that does not resolve, an unreachable network), remote fetches answer "offline"
    at once for `offline_ttl` seconds. `clock` is injectable for tests.
    """

    def __init__(self, cache_dir: Path, *, max_cache_bytes: int = 500_000_000,
                 failure_ttl: float = 600.0, offline_ttl: float = 30.0, max_workers: int = 32,
                 timeout: float = DEFAULT_TIMEOUT, max_bytes: int = DEFAULT_MAX_BYTES,
                 max_pixels: int = DEFAULT_MAX_PIXELS, max_picture_bytes: int = 64_000_000,
                 clock: Callable[[], float] = time.monotonic):
        self._cache = _DiskCache(Path(cache_dir), max_cache_bytes)
        self._limits = {"timeout": timeout, "max_bytes": max_bytes, "max_pixels": max_pixels}
        self._failure_ttl, self._offline_ttl, self._clock = failure_ttl, offline_ttl, clock
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="image-fetch")
        self._lock = threading.Lock()
        self._failures: dict[str, tuple[str, float]] = {}   # url -> (reason, expires at)
        self._health: dict[str, str | None] = {}            # url -> last reason, None if live
        self._inflight: dict[str, Future] = {}              # url -> the fetch under way
        self._offline_until = float("-inf")
        self._offline_announced = False
        self._notice_pending = False
        self._pictures = _PictureCache(max_picture_bytes)

    def fetch(self, url: object) -> ImageResult:
        """One image, from the cache, the failure memory or a fresh fetch. Never raises."""
        start = time.monotonic()
        try:
            return self._fetch(url, start)
        except Exception as exc:
            return ImageResult(url_label(url), None, message("unexpected error ({kind})", kind=type(exc).__name__),
                               time.monotonic() - start)

    def fetch_many(self, urls: Iterable[object]) -> list[ImageResult]:
        """Several images in parallel, in the order given; as slow as the slowest one."""
        urls = list(urls)
        try:
            return list(self._pool.map(self.fetch, urls))
        except RuntimeError:   # closed: the pool takes no more work, so fetch one by one
            return [self.fetch(url) for url in urls]

    def pictures(self, urls: Iterable[object], max_side: int) -> list[Picture]:
        """Several images encoded to show, at most `max_side` pixels on their longest side, in order.

        What a page shows: every session asks for the same few pictures on every rerun, so
        the encoded pictures are kept in memory (up to `max_picture_bytes`), and a rerun
        neither reads, decodes nor encodes an image again. A local file is read again
        when it changes; a failed fetch is not kept here (the failure memory decides
        when it is tried again).
        """
        urls = list(urls)
        keys = [self._picture_key(url, max_side) for url in urls]
        found = [self._pictures.get(k) if k else None for k in keys]
        missing = [i for i, p in enumerate(found) if p is None]
        for i, result in zip(missing, self.fetch_many([urls[i] for i in missing])):
            if result.ok:
                found[i] = Picture(result.url, encode(result.image, max_side), None, result.image.shape[:2])
                if keys[i]:
                    self._pictures.put(keys[i], found[i])
            else:
                found[i] = Picture(result.url, None, result.error, None)
        return found

    def picture(self, url: object, max_side: int) -> Picture:
        """One image encoded to show, at most `max_side` pixels on its longest side (see `pictures`)."""
        return self.pictures([url], max_side)[0]

    @staticmethod
    def _picture_key(url: object, max_side: int) -> tuple | None:
        if is_remote(url):
            return (url.strip(), max_side)
        path = local_path(url)
        try:
            info = os.stat(path)
        except (OSError, TypeError, ValueError):
            return None
        return (path, info.st_mtime_ns, info.st_size, max_side)

    @property
    def offline(self) -> bool:
        """True while remote fetches are skipped because the network seemed missing."""
        with self._lock:
            return self._clock() < self._offline_until

    def take_offline_notice(self) -> str | None:
        """A message to show once when the network goes missing; None every other time."""
        with self._lock:
            pending, self._notice_pending = self._notice_pending, False
        return OFFLINE_NOTICE if pending else None

    def stats(self) -> dict:
        """Dataset health: links live and dead so far, the reasons, and the cache's size."""
        cached, cache_bytes = self._cache.usage()
        with self._lock:
            reasons = Counter(r for r in self._health.values() if r is not None)
            live = sum(1 for r in self._health.values() if r is None)
            offline = self._clock() < self._offline_until
        return {"live": live, "dead": sum(reasons.values()), "cached": cached,
                "cache_bytes": cache_bytes, "offline": offline,
                "reasons": dict(reasons.most_common())}

    def close(self) -> None:
        """Stop the worker threads; later calls still work, one image at a time."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> "ImageFetcher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals

    def _fetch(self, url: object, start: float) -> ImageResult:
        if not is_remote(url):
            return self._record(fetch_image(url, **self._limits))
        url = url.strip()
        known = self._known(url, start)
        if known is not None:
            return known
        if self.offline:
            return ImageResult(url, None, "offline", time.monotonic() - start)
        return self._fetch_once(url, start)

    def _known(self, url: str, start: float) -> ImageResult | None:
        """The result for `url` without the network: a remembered failure or a cached image."""
        with self._lock:
            reason, expires = self._failures.get(url, (None, 0.0))
            if reason is not None and self._clock() >= expires:
                del self._failures[url]
                reason = None
        if reason is not None:
            return ImageResult(url, None, reason, time.monotonic() - start)
        image = self._cache.get(url)
        if image is None:
            return None
        with self._lock:
            self._health[url] = None
        return ImageResult(url, image, None, time.monotonic() - start, cached=True)

    def _fetch_once(self, url: str, start: float) -> ImageResult:
        """Fetch `url`, sharing the fetch with any other caller asking for it meanwhile."""
        with self._lock:
            pending = self._inflight.get(url)
            owner = pending is None
            if owner:
                pending = self._inflight[url] = Future()
        if not owner:
            return pending.result()
        result = None
        try:
            # Look again: a fetch that ended since the first look left its result behind.
            result = self._known(url, start) or self._download(url)
            return result
        finally:
            with self._lock:
                del self._inflight[url]
            if result is None:
                pending.set_exception(RuntimeError(f"fetch of {url} failed"))
            else:
                pending.set_result(result)

    def _download(self, url: str) -> ImageResult:
        """A fresh fetch over the network, cached and recorded."""
        result = fetch_image(url, **self._limits)
        if result.image is not None:
            self._cache.put(url, result.image)
        return self._record(result)

    def _record(self, result: ImageResult) -> ImageResult:
        """Update health, failure memory and the offline state from one fresh result."""
        remote = is_remote(result.url)
        with self._lock:
            now = self._clock()
            if result.error == "offline":
                if not self._offline_announced:
                    self._offline_announced = self._notice_pending = True
                self._offline_until = now + self._offline_ttl
                return result
            self._health[result.url] = result.error
            if result.error is None:
                self._failures.pop(result.url, None)
                if remote:   # the network is back: announce the next outage again
                    self._offline_announced = False
            elif remote:
                self._failures[result.url] = (result.error, now + self._failure_ttl)
        return result
