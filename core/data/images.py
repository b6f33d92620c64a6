"""Images by URL for the captioning datasets: fetch one safely, or many through a cache.

The course notebook's `image_from_url` crashes the cell on a dead link, and many of
COCO's Flickr links are dead now. Here a fetch never raises: it returns an (H, W, 3)
uint8 array, or None with a short reason a user can read ("HTTP 404", "offline").

    image = image_from_url(url)                    # the notebook's call; None on failure
    result = fetch_image(url, timeout=5.0)         # ImageResult(image, error, url, ...)

For the app, `image_cache.ImageFetcher` adds a disk cache, parallel minibatches and a
memory of dead links.

A "URL" is http(s), a `file://` URI or a plain filesystem path. Every remote fetch has
a total deadline, a byte cap checked while streaming, and a pixel cap checked before
decoding, so a slow, huge or hostile server costs at most a few seconds and megabytes.
This module never calls streamlit.
"""
from __future__ import annotations

import errno
import io
import os
import socket
import stat
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import numpy as np
import requests
from PIL import Image

from core.text import message

DEFAULT_TIMEOUT = 5.0            # seconds for a whole fetch: connect, redirects, body, decode
DEFAULT_MAX_BYTES = 20_000_000   # bytes of body read at most
DEFAULT_MAX_PIXELS = 40_000_000  # width * height decoded at most (a 20000x2000 panorama)
MAX_REDIRECTS = 10
CHUNK_BYTES = 64 * 1024
# Formats Pillow may open (JPEG includes MPO). Leaves out plugins that shell out (EPS)
# or that no photo uses.
FORMATS = ("JPEG", "PNG", "GIF", "BMP", "WEBP", "TIFF", "PPM")
NON_IMAGE_TYPES = ("text/", "application/json", "application/xml", "application/xhtml",
                   "application/javascript")
REQUEST_HEADERS = {"User-Agent": "caption-lab/0.1", "Accept": "image/*,*/*;q=0.5",
                   "Accept-Encoding": "identity"}   # images do not compress; no gzip bombs
OFFLINE_ERRNOS = {errno.ENETUNREACH, errno.ENETDOWN}
# A host name that does not resolve means "offline" only if these do not resolve either;
# otherwise that one domain is dead (old Flickr farm hosts, say), not the network.
DNS_PROBE_HOSTS = ("www.flickr.com", "images.cocodataset.org")
DNS_PROBE_TTL = 30.0             # seconds a probe's answer is reused
OFFLINE_NOTICE = message("No network connection: remote images are skipped for now. "
                         "Cached and local images still show.")

# Pillow warns (a RuntimeWarning) about huge images from inside Image.open, before we can
# look at the size. Turning that warning into an error means changing the process-wide
# warning filters, so only one thread at a time opens an image header.
_OPEN_LOCK = threading.Lock()


@dataclass(frozen=True, eq=False)
class ImageResult:
    """What one fetch gave: an image, or the reason there is none."""

    url: str                        # the address asked for (repr() of a non-string)
    image: np.ndarray | None        # (H, W, 3) uint8, or None
    error: str | None               # short reason for a user ("HTTP 404"), None on success
    elapsed: float = 0.0            # seconds this fetch took
    cached: bool = False            # served from the disk cache

    @property
    def ok(self) -> bool:
        """True when there is an image."""
        return self.image is not None


@dataclass(frozen=True)
class _Limits:
    timeout: float      # seconds for the whole fetch
    max_bytes: int      # body bytes
    max_pixels: int     # width * height


# --- one image -------------------------------------------------------------------------

def image_from_url(url: object, *, timeout: float = DEFAULT_TIMEOUT,
                   max_bytes: int = DEFAULT_MAX_BYTES,
                   max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray | None:
    """The notebook's helper, made safe: an (H, W, 3) uint8 image, or None. Never raises."""
    return fetch_image(url, timeout=timeout, max_bytes=max_bytes, max_pixels=max_pixels).image


def fetch_image(url: object, *, timeout: float = DEFAULT_TIMEOUT,
                max_bytes: int = DEFAULT_MAX_BYTES,
                max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageResult:
    """Fetch and decode one image from http(s), a file:// URI or a path. Never raises.

    A remote fetch runs in its own thread and is abandoned (its socket shut) at
    `timeout` seconds, so a server trickling bytes cannot hold the caller longer.
    """
    start = time.monotonic()
    try:
        limits = _Limits(float(timeout), int(max_bytes), int(max_pixels))
        image, error = _fetch(url, limits, start + limits.timeout)
    except Exception as exc:  # a last resort: a page must never see a traceback from here
        image, error = None, message("unexpected error ({kind})", kind=type(exc).__name__)
    return ImageResult(url_label(url), image, error, time.monotonic() - start)


def url_label(url: object) -> str:
    """The address as a string for a result: a path as itself, junk as its repr()."""
    if isinstance(url, str):
        return url
    if isinstance(url, os.PathLike):
        return str(os.fspath(url))
    return repr(url)


def is_remote(url: object) -> bool:
    """True for an http(s) URL (fetched over the network, worth caching)."""
    try:
        return isinstance(url, str) and urlsplit(url.strip()).scheme.lower() in ("http", "https")
    except ValueError:   # e.g. "http://[::1"
        return False


def local_path(url: object) -> str | None:
    """The file a local address (a path, or a `file://` URI on this host) names; None otherwise."""
    if isinstance(url, os.PathLike):
        return os.fspath(url)
    if not isinstance(url, str) or not url.strip():
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme == "file":
        return url2pathname(parts.path) if parts.netloc in ("", "localhost") else None
    return url if len(scheme) <= 1 else None      # no scheme, or a Windows drive letter


def _fetch(url: object, limits: _Limits, deadline: float) -> tuple[np.ndarray | None, str | None]:
    """Dispatch on the kind of address: remote, file:// URI or plain path."""
    if isinstance(url, os.PathLike):
        return _read_local(os.fspath(url), limits)
    if not isinstance(url, str):
        return None, message("invalid URL")
    url = url.strip()
    if not url:
        return None, message("empty URL")
    try:
        parts = urlsplit(url)
    except ValueError:
        return None, message("invalid URL")
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return _fetch_remote(url, limits, deadline)
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            return None, message("unsupported file URI host ({host})", host=parts.netloc)
        return _read_local(url2pathname(parts.path), limits)
    if len(scheme) <= 1:   # no scheme, or a Windows drive letter
        return _read_local(url, limits)
    return None, message("unsupported URL scheme ({scheme})", scheme=scheme)


def _read_local(path: str | bytes, limits: _Limits) -> tuple[np.ndarray | None, str | None]:
    """Read and decode a local file, refusing directories, devices and oversized files."""
    try:                        # opened first, without blocking (a FIFO), then looked at
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limits.max_bytes:
            os.close(fd)
            if not stat.S_ISREG(info.st_mode):
                return None, message("not a file")
            return None, message("too large (> {size})", size=_megabytes(limits.max_bytes))
        with open(fd, "rb") as f:
            data = f.read(limits.max_bytes + 1)
    except FileNotFoundError:
        return None, message("file not found")
    except PermissionError:
        return None, message("permission denied")
    except (OSError, ValueError):   # ValueError: a path with a NUL byte
        return None, message("cannot read file")
    if len(data) > limits.max_bytes:
        return None, message("too large (> {size})", size=_megabytes(limits.max_bytes))
    return decode_image(data, limits.max_pixels)


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray | None, str | None]:
    """Decode image bytes to (H, W, 3) uint8, checking the pixel count before decoding.

    Returns (image, None) or (None, reason). Never raises.
    """
    if not data:
        return None, message("empty file")
    too_many = message("too many pixels (> {mp:.3g} MP)", mp=max_pixels / 1e6)
    try:
        with _OPEN_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None, too_many
    except Exception:  # UnidentifiedImageError, and whatever a broken header raises
        return None, message("not an image (undecodable data)")
    width, height = im.size
    if width * height > max_pixels:
        return None, too_many
    try:
        image = np.asarray(_to_rgb(im), dtype=np.uint8)
    except (Image.DecompressionBombError, MemoryError):
        return None, too_many
    except (OSError, EOFError, SyntaxError, ValueError, IndexError) as exc:
        truncated = isinstance(exc, EOFError) or "truncated" in str(exc).lower()
        return None, message("truncated image") if truncated else message("corrupt image")
    if image.ndim != 3 or image.shape[2] != 3 or image.size == 0:
        return None, message("corrupt image")
    return np.ascontiguousarray(image), None


def _to_rgb(im: Image.Image) -> Image.Image:
    """Greyscale, palette, 16-bit and CMYK to RGB; transparency composited onto white."""
    if im.mode == "RGB":
        return im
    if im.mode.startswith("I;16"):   # 16-bit greyscale: keep the top 8 bits
        grey = (np.asarray(im).astype(np.uint32) >> 8).astype(np.uint8)  # (H, W)
        return Image.fromarray(np.stack([grey] * 3, axis=-1))
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        canvas.alpha_composite(rgba)
        return canvas.convert("RGB")
    return im.convert("RGB")


def _megabytes(n: int) -> str:
    """A byte count for a message: '20 MB', '0.5 MB'."""
    return f"{n / 1e6:.3g} MB"


# --- remote fetches --------------------------------------------------------------------

def _fetch_remote(url: str, limits: _Limits, deadline: float) -> tuple[np.ndarray | None, str | None]:
    """Run a download in its own thread; walk away from it (and shut its socket) at the deadline."""
    download = _Download(url, limits, deadline)
    worker = threading.Thread(target=download.run, name="image-download", daemon=True)
    worker.start()
    if download.done.wait(max(0.0, deadline - time.monotonic())):
        return download.outcome
    download.abort()
    return None, message("timed out after {s:g} s", s=limits.timeout)


class _Download:
    """One http(s) fetch: follow redirects, stream the body under a byte cap, decode."""

    def __init__(self, url: str, limits: _Limits, deadline: float):
        self.url, self.limits, self.deadline = url, limits, deadline
        self.outcome: tuple[np.ndarray | None, str | None] = (None, "unexpected error")
        self.done = threading.Event()
        self._lock = threading.Lock()
        self._response: requests.Response | None = None
        self._aborted = False

    def run(self) -> None:
        """The thread's body: sets `outcome`, then `done`. Never raises."""
        try:
            with requests.Session() as session:
                self.outcome = self._download(session)
        except Exception as exc:
            self.outcome = (None, _describe_request_error(exc, self.limits.timeout))
        finally:
            self.done.set()

    def abort(self) -> None:
        """Give up: shut the socket so a blocked read ends now rather than at its timeout."""
        with self._lock:
            self._aborted = True
            response = self._response
        if response is not None:
            _shut_socket(response)

    def _track(self, response: requests.Response) -> None:
        """Remember the live response so `abort` can reach its socket."""
        with self._lock:
            self._response = response
            aborted = self._aborted
        if aborted:
            _shut_socket(response)

    def _download(self, session: requests.Session) -> tuple[np.ndarray | None, str | None]:
        response = self._open(session)
        if isinstance(response, str):
            return None, response
        with response:
            if response.status_code >= 400:
                return None, message("HTTP {status}", status=response.status_code)
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if content_type.startswith(NON_IMAGE_TYPES) or "html" in content_type:
                return None, message("not an image ({kind})", kind=content_type)
            body = self._read_body(response)
        if isinstance(body, str):
            return None, body
        return decode_image(body, self.limits.max_pixels)

    def _open(self, session: requests.Session) -> requests.Response | str:
        """GET the URL, following redirects by hand so none is read whole; or a reason."""
        url, seen = self.url, {self.url}
        for _ in range(MAX_REDIRECTS + 1):
            remaining = max(0.01, self.deadline - time.monotonic())
            response = session.get(url, stream=True, allow_redirects=False,
                                   timeout=(remaining, remaining), headers=REQUEST_HEADERS)
            self._track(response)
            location = session.get_redirect_target(response)
            if location is None:
                return response
            response.close()
            url = urljoin(response.url, location)
            if url in seen:
                return message("redirect loop")
            if _is_flickr_placeholder(url):
                return message("photo unavailable (Flickr placeholder)")
            if not is_remote(url):
                return message("bad redirect")
            seen.add(url)
        return message("too many redirects")

    def _read_body(self, response: requests.Response) -> bytes | str:
        """The body, or a reason; stops as soon as it would pass the byte cap."""
        too_large = message("too large (> {size})", size=_megabytes(self.limits.max_bytes))
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.limits.max_bytes:
            return too_large
        body = bytearray()
        for chunk in response.iter_content(CHUNK_BYTES):
            if len(body) + len(chunk) > self.limits.max_bytes:
                return too_large
            body += chunk
            if self._aborted or time.monotonic() > self.deadline:
                return message("timed out after {s:g} s", s=self.limits.timeout)
        return bytes(body)


def _is_flickr_placeholder(url: str) -> bool:
    """Flickr redirects a deleted photo to a grey 'photo unavailable' image."""
    return PurePosixPath(urlsplit(url).path).name.startswith("photo_unavailable")


def _shut_socket(response: requests.Response) -> None:
    """Shut the response's socket down, which wakes a read blocked in another thread."""
    sock = getattr(getattr(response.raw, "connection", None), "sock", None)
    if sock is None:
        return
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)   # the plain socket's, even under TLS
    except (OSError, ValueError):
        pass


class _DnsProbe:
    """Whether name resolution works at all, asked of a few well-known hosts, remembered a while."""

    def __init__(self, hosts: tuple[str, ...] = DNS_PROBE_HOSTS, ttl: float = DNS_PROBE_TTL,
                 timeout: float = 2.0):
        self.hosts, self.ttl, self.timeout = hosts, ttl, timeout
        self._lock = threading.Lock()
        self._answer: tuple[float, bool] | None = None

    def works(self) -> bool:
        with self._lock:
            if self._answer and time.monotonic() - self._answer[0] < self.ttl:
                return self._answer[1]
            ok = any(self._resolves(host) for host in self.hosts)
            self._answer = (time.monotonic(), ok)
            return ok

    def _resolves(self, host: str) -> bool:
        found: list[bool] = []

        def look() -> None:
            try:
                found.append(bool(socket.getaddrinfo(host, 80)))
            except OSError:
                found.append(False)

        thread = threading.Thread(target=look, daemon=True)
        thread.start()
        thread.join(self.timeout)
        return bool(found and found[0])


DNS_PROBE = _DnsProbe()


def _describe_request_error(exc: BaseException, timeout: float) -> str:
    """A short reason for a failed request; 'offline' when the network itself is missing."""
    causes = _causes(exc)
    if any(isinstance(c, socket.gaierror) for c in causes):
        return message("offline") if not DNS_PROBE.works() else message("host not found")
    if any(isinstance(c, OSError) and c.errno in OFFLINE_ERRNOS for c in causes):
        return message("offline")
    if any(isinstance(c, (requests.Timeout, TimeoutError)) or "timed out" in str(c).lower()
           for c in causes):
        return message("timed out after {s:g} s", s=timeout)
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return message("connection refused")
    if any(isinstance(c, requests.exceptions.SSLError) for c in causes):
        return message("TLS error")
    if any(type(c).__name__ == "IncompleteRead" for c in causes):
        return message("truncated download")
    if any(isinstance(c, (requests.exceptions.ChunkedEncodingError, ConnectionResetError))
           for c in causes):
        return message("connection lost")
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.URLRequired,
                        requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
                        UnicodeError, ValueError)):
        return message("invalid URL")
    return message("connection failed")


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (requests nests urllib3 nests socket errors)."""
    found: list[BaseException] = []
    stack: list[object] = [exc]
    while stack and len(found) < 32:
        item = stack.pop()
        if not isinstance(item, BaseException) or any(item is f for f in found):
            continue
        found.append(item)
        stack += [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
    return found
