"""Get the real CS231n COCO captioning data in one step: stream, resume, verify, extract.

    folder = download_coco(progress=print, cancel=stop_event)

The course's archive (`coco_captioning.zip`, one top folder holding the files listed in
`coco.py`) is streamed to `<dest>.zip.part`, resumed with an HTTP Range request when
a previous attempt stopped, extracted into a hidden folder beside `dest` (each
member's CRC-32 is checked as it is read), checked with the loader's own checks, and
only then renamed to `dest`. So `dest` is either a complete, valid dataset or absent.

Library code: it never prints. Progress goes to a callback as `DownloadProgress`;
a `threading.Event` given as `cancel` stops it between chunks. Safe to run in a
background thread; two downloads into the same `dest` exclude each other.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import zipfile
import zlib
from collections import deque
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator

import requests
import urllib3

from core.data.coco import CAPTIONS_FILE, check_dataset, dataset_files
from core.data.errors import DatasetError
from core.data.h5files import fix_hint
from core.paths import data_root
from core.text import message

try:
    import fcntl
except ImportError:  # Windows: no cross-thread lock, the rest works
    fcntl = None

DEFAULT_URL = "http://cs231n.stanford.edu/coco_captioning.zip"
URL_ENV_VAR = "CAPTION_LAB_COCO_URL"


class DownloadError(DatasetError):
    """The download could not finish: HTTP error, lost connection, bad archive, no room."""


class DownloadCancelled(DownloadError):
    """The `cancel` event was set; a partial archive is kept for resuming."""


class ArchiveError(DownloadError):
    """The archive itself is bad (corrupt, missing files, unusable data); it is deleted."""


@dataclass(frozen=True)
class DownloadProgress:
    """One progress report, passed to the `progress` callback."""

    stage: str          # "download", "extract", "check" or "done"
    done: int           # bytes so far in this stage (archive bytes, then extracted bytes)
    total: int | None   # bytes this stage expects, None while unknown
    rate: float         # bytes per second over the last few seconds, 0.0 when unknown
    eta: float | None   # seconds left at that rate, None when unknown
    message: str        # one line for a person, e.g. "Downloading: 12.0 of 980.0 MB ..."

    @property
    def fraction(self) -> float | None:
        """done / total, or None while the total is unknown."""
        return min(1.0, self.done / self.total) if self.total else None


ProgressCallback = Callable[[DownloadProgress], None]


def default_dest() -> Path:
    """Where the dataset goes unless told otherwise: `<data root>/coco_captioning`."""
    return data_root() / "coco_captioning"


def resolve_url(url: str | None = None) -> str:
    """`url` if given, else `$CAPTION_LAB_COCO_URL`, else the course's archive."""
    return url or os.environ.get(URL_ENV_VAR) or DEFAULT_URL


# ---------------------------------------------------------------------------
# Progress


def _size(n: float) -> str:
    return f"{n / 1e6:.1f} MB" if n < 1e9 else f"{n / 1e9:.2f} GB"


def _duration(seconds: float) -> str:
    return message("{n:.0f} s", n=seconds) if seconds < 90 else message("{n:.0f} min", n=seconds / 60)


class _Meter:
    """Turns byte counts into at most ~10 `DownloadProgress` reports a second."""

    def __init__(self, callback: ProgressCallback | None, stage: str, verb: str,
                 total: int | None, done: int = 0):
        self.callback, self.stage, self.verb, self.total = callback, stage, verb, total
        self.window: deque[tuple[float, int]] = deque([(time.monotonic(), done)])
        self.last_report = 0.0

    def update(self, done: int, final: bool = False) -> None:
        now = time.monotonic()
        if self.callback is None or (not final and now - self.last_report < 0.1):
            return
        self.last_report = now
        self.window.append((now, done))
        while len(self.window) > 2 and now - self.window[0][0] > 5.0:
            self.window.popleft()
        t0, done0 = self.window[0]
        rate = (done - done0) / (now - t0) if now > t0 else 0.0
        eta = (self.total - done) / rate if self.total and rate > 0 else None
        values = dict(verb=self.verb, done=_size(done), total=_size(self.total or 0), rate=_size(rate))
        if eta is not None and not final:          # eta: a total and a rate are known
            text = message("{verb}: {done} of {total} at {rate}/s, {eta} left", eta=_duration(eta), **values)
        elif self.total and rate > 0:
            text = message("{verb}: {done} of {total} at {rate}/s", **values)
        elif self.total:
            text = message("{verb}: {done} of {total}", **values)
        elif rate > 0:
            text = message("{verb}: {done} at {rate}/s", **values)
        else:
            text = message("{verb}: {done}", **values)
        self.callback(DownloadProgress(self.stage, done, self.total, rate, eta, text))


def _say(callback: ProgressCallback | None, stage: str, text: str) -> None:
    if callback is not None:
        callback(DownloadProgress(stage, 0, None, 0.0, None, text))


def _check_cancel(cancel: threading.Event | None, text: str) -> None:
    if cancel is not None and cancel.is_set():
        raise DownloadCancelled(text)


def _check_space(folder: Path, need: int, reserve: int, what: str) -> None:
    free = shutil.disk_usage(folder).free
    if free < need + reserve:
        values = dict(folder=folder, what=what, need=_size(need), reserve=_size(reserve), free=_size(free))
        raise DownloadError(message(
            "Not enough disk space in {folder}: {what} needs {need} (plus {reserve} kept free), but only "
            "{free} is free. Free some space or choose another --dest.", **values) if reserve else message(
            "Not enough disk space in {folder}: {what} needs {need}, but only "
            "{free} is free. Free some space or choose another --dest.", **values))


# ---------------------------------------------------------------------------
# Streaming with resume


def _total_from_content_range(response: requests.Response) -> tuple[int | None, int | None]:
    """(start, total) from `Content-Range: bytes START-END/TOTAL` (or `bytes */TOTAL`)."""
    value = response.headers.get("Content-Range", "")
    try:
        span, total = value.split(" ", 1)[1].split("/")
        start = None if span == "*" else int(span.split("-")[0])
        return start, (None if total == "*" else int(total))
    except (IndexError, ValueError):
        return None, None


def _fetch(url: str, part: Path, *, progress: ProgressCallback | None,
           cancel: threading.Event | None, timeout: float, reserve_bytes: int,
           chunk_size: int) -> None:
    """Stream `url` into `part`, resuming from its current size; return when complete."""
    for _ in range(2):  # a second try only after throwing away a part that does not fit
        offset = part.stat().st_size if part.exists() else 0
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        try:
            response = requests.get(url, headers=headers, stream=True, timeout=timeout)
        except requests.RequestException as err:
            raise DownloadError(message("Could not connect to {url} ({reason}). Check the address "
                                        "and your connection, then try again.", url=url,
                                        reason=_reason(err))) from None
        with response:
            if response.status_code == 416 and offset:
                if _total_from_content_range(response)[1] == offset:
                    return  # the part file is already the whole archive
                part.unlink()
                continue
            if response.status_code == 206:
                start, total = _total_from_content_range(response)
                if start != offset:
                    part.unlink()
                    continue
            elif response.status_code == 200:
                offset, total = 0, None  # the server ignored Range: start again
                if response.headers.get("Content-Length", "").isdigit():
                    total = int(response.headers["Content-Length"])
            else:
                raise DownloadError(message("HTTP {status} {reason} from {url}. Check the address (or ${setting}).",
                                            status=response.status_code, reason=response.reason, url=url,
                                            setting=URL_ENV_VAR))
            if total is not None:  # the rest of the archive, and at least as much to extract
                _check_space(part.parent, (total - offset) + total, reserve_bytes,
                             message("the {size} archive and its extracted files", size=_size(total)))
            _stream(response, part, offset, total, url=url, progress=progress,
                    cancel=cancel, chunk_size=chunk_size)
            return
    raise DownloadError(message("{url} keeps answering ranges that do not match {part}; "
                                "delete {part} and try again.", url=url, part=part))


def _reason(err: requests.RequestException) -> str:
    """A few words on why a request failed, instead of urllib3's nested repr."""
    text = str(err)
    if isinstance(err, requests.Timeout):
        return "timed out"
    if "Name or service not known" in text or "NameResolution" in text or "nodename" in text:
        return "host name not found: no network?"
    if "Connection refused" in text:
        return "connection refused"
    if "Network is unreachable" in text:
        return "network unreachable"
    return type(err).__name__


def _chunks(response: requests.Response, chunk_size: int) -> Iterator[bytes]:
    """The body as it arrives. `read1` hands over every byte received before a broken
    connection raises, where `iter_content` would drop a half-filled chunk."""
    try:
        while chunk := response.raw.read1(chunk_size, decode_content=False):
            yield chunk
    except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as err:
        raise _Broken(err) from None


class _Broken(Exception):
    """The connection failed mid-body (wraps the network error)."""


def _stream(response: requests.Response, part: Path, offset: int, total: int | None, *,
            url: str, progress: ProgressCallback | None, cancel: threading.Event | None,
            chunk_size: int) -> None:
    meter = _Meter(progress, "download", message("Downloading {name}", name=PurePosixPath(url).name), total, offset)
    done = offset
    of_total = f" of {_size(total)}" if total else ""
    with open(part, "ab" if offset else "wb") as out:
        try:
            for chunk in _chunks(response, chunk_size):
                _check_cancel(cancel, f"Download cancelled at {_size(done)}{of_total}; the part "
                                      f"is kept in {part}; run the download again to resume.")
                out.write(chunk)
                done += len(chunk)
                meter.update(done)
        except _Broken as err:
            values = dict(url=url, done=_size(done), total=_size(total or 0), error=err.args[0], part=part)
            raise DownloadError(message(
                "The transfer from {url} broke off at {done} of {total} ({error}). The part is kept in "
                "{part}; run the download again to resume.", **values) if total else message(
                "The transfer from {url} broke off at {done} ({error}). The part is kept in "
                "{part}; run the download again to resume.", **values)) from None
        out.flush()
        os.fsync(out.fileno())
    if total is not None and done != total:
        raise DownloadError(message("The transfer from {url} ended at {done} of {total}. The part "
                                    "is kept in {part}; run the download again to resume.",
                                    url=url, done=_size(done), total=_size(total), part=part))
    meter.update(done, final=True)


# ---------------------------------------------------------------------------
# Verifying and extracting


def _dataset_members(zf: zipfile.ZipFile, source: str) -> dict[str, zipfile.ZipInfo]:
    """The archive's files under the folder holding the captions file, by relative path."""
    tops = [info.filename[: -len(CAPTIONS_FILE)] for info in zf.infolist()
            if PurePosixPath(info.filename).name == CAPTIONS_FILE
            and not info.filename.startswith("__MACOSX/")]
    prefix = min(tops, key=len) if tops else ""
    members = {info.filename[len(prefix):]: info for info in zf.infolist()
               if info.filename.startswith(prefix) and not info.is_dir()}
    missing = [name for name in dataset_files(True) if name not in members]
    if missing:
        raise ArchiveError(message("The archive from {source} lacks {files}: it is not "
                                   "the COCO captioning archive. Check the URL.", source=source,
                                   files=", ".join(missing)))
    for name in members:
        path = PurePosixPath(name)
        if path.is_absolute() or ".." in path.parts:
            raise ArchiveError(message("The archive from {source} has an unsafe member {name!r}.",
                                       source=source, name=name))
    return members


def _extract(archive: Path, into: Path, source: str, *, progress: ProgressCallback | None,
             cancel: threading.Event | None, reserve_bytes: int) -> None:
    """Unpack the dataset folder of `archive` into the empty folder `into`, checking CRCs."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as err:
        raise ArchiveError(message("The file from {source} is not a readable zip archive ({error}).",
                                   source=source, error=str(err))) from None
    with zf:
        members = _dataset_members(zf, source)
        total = sum(info.file_size for info in members.values())
        _check_space(into, total, reserve_bytes, "extracting the archive")
        meter = _Meter(progress, "extract", message("Extracting"), total)
        done = 0
        for name, info in members.items():
            target = into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, open(target, "wb") as out:
                    for chunk in iter(lambda: src.read(1 << 20), b""):
                        _check_cancel(cancel, "Extraction cancelled; the downloaded archive is "
                                              "kept, run the download again to finish.")
                        out.write(chunk)
                        done += len(chunk)
                        meter.update(done)
            except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as err:
                raise ArchiveError(message("The archive from {source} is corrupt: member {name} "
                                           "fails its check ({error}).", source=source, name=info.filename,
                                           error=str(err))) from None
        meter.update(done, final=True)


def _move_into_place(folder: Path, dest: Path) -> None:
    """Rename `folder` to `dest`, replacing an existing `dest` only once `folder` is ready."""
    if not dest.exists():
        os.rename(folder, dest)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".old", dir=dest.parent))
    os.rename(dest, old / dest.name)
    try:
        os.rename(folder, dest)
    except OSError:
        os.rename(old / dest.name, dest)
        raise
    shutil.rmtree(old, ignore_errors=True)


class _FolderLock:
    """An exclusive, non-blocking lock on `.<dest>.lock` beside `dest` (no-op without fcntl)."""

    def __init__(self, dest: Path):
        self.dest = dest
        self.path = dest.with_name(f".{dest.name}.lock")
        self.file = None

    def __enter__(self) -> "_FolderLock":
        if fcntl is not None:
            self.file = open(self.path, "a")
            try:
                fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                self.file.close()
                raise DownloadError(message("Another download into {dest} is running; wait for it to finish.",
                                            dest=self.dest)) from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.file is not None:
            self.file.close()  # closing releases the lock


def _holds_dataset(dest: Path, force: bool) -> bool:
    """True if `dest` already holds a valid dataset; raise if it holds something that
    may not be replaced (anything but a broken dataset, with `force`)."""
    if not dest.exists():
        return False
    if not dest.is_dir():
        raise DownloadError(message("{dest} is a file, not a folder; choose another destination.", dest=dest))
    if not any(dest.iterdir()):
        return False
    try:
        check_dataset(dest)
        return True
    except DatasetError as err:
        known = set(dataset_files(True)) | set(dataset_files(False))
        if not force:
            problem = err.args[0] if len(err.args) == 1 and isinstance(err.args[0], str) else str(err)
            raise DownloadError(message("{dest} exists but is not a usable dataset; pass force=True "
                                        "(--force) to replace it. The problem: {problem}", dest=dest,
                                        problem=problem)) from None
        if not any(path.name in known for path in dest.iterdir()):
            raise DownloadError(message("{dest} holds other files, not a COCO dataset; it will not be "
                                        "replaced. Choose another destination.", dest=dest)) from None
        return False


# ---------------------------------------------------------------------------
# The one step


def download_coco(dest: str | Path | None = None, url: str | None = None, *,
                  progress: ProgressCallback | None = None,
                  cancel: threading.Event | None = None, force: bool = False,
                  timeout: float = 30.0, reserve_bytes: int = 0,
                  chunk_size: int = 1 << 16) -> Path:
    """Download, verify and unpack the COCO captioning dataset into `dest`; return `dest`.

    `dest` defaults to `<data root>/coco_captioning`; `url` to `$CAPTION_LAB_COCO_URL`
    or `DEFAULT_URL`. If `dest` already holds a valid dataset nothing is fetched,
    unless `force`. A broken-off or cancelled download keeps `<dest>.zip.part` and the
    next call resumes it. `timeout` bounds each connect and each wait for data, in
    seconds; `reserve_bytes` is disk space to leave free. Raises `DownloadError` (a
    `DatasetError`) with a message for a person; `DownloadCancelled` if cancelled.
    """
    dest = Path(dest).expanduser().absolute() if dest is not None else default_dest()
    url = resolve_url(url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".zip.part")
    with _FolderLock(dest):
        if _holds_dataset(dest, force) and not force:
            _say(progress, "done", message("{dest} already holds a valid dataset; nothing to download.", dest=dest))
            return dest

        _fetch(url, part, progress=progress, cancel=cancel, timeout=timeout,
               reserve_bytes=reserve_bytes, chunk_size=chunk_size)

        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".extracting",
                                        dir=dest.parent))
        staging.chmod(0o755)  # mkdtemp makes it private; the dataset is not
        try:
            _extract(part, staging, url, progress=progress, cancel=cancel,
                     reserve_bytes=reserve_bytes)
            _say(progress, "check", message("Checking the dataset files"))
            try:
                if check_dataset(staging).has_fc7:
                    check_dataset(staging, pca_features=False)
            except DatasetError as err:
                # the loader names the hidden staging folder and how to fix a folder in
                # place; neither means anything to the user of a deleted download
                problem = str(err).replace(f" {fix_hint(staging)}", "").replace(f"{staging}{os.sep}", "")
                raise ArchiveError(message("The archive from {url} unpacked, but its data is not "
                                           "usable: {problem}", url=url, problem=problem)) from None
        except ArchiveError as err:
            shutil.rmtree(staging, ignore_errors=True)
            part.unlink(missing_ok=True)
            first = err.args[0] if len(err.args) == 1 and isinstance(err.args[0], str) else str(err)
            raise ArchiveError(message("{error} The download was deleted; run it again to fetch a "
                                       "fresh copy.", error=first)) from None
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _move_into_place(staging, dest)
        part.unlink(missing_ok=True)
    _say(progress, "done", message("The COCO captioning dataset is ready in {dest}.", dest=dest))
    return dest
