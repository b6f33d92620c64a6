"""One training run on disk: the files in `<runs dir>/<run id>/` and how to read and write them.

    config.json      who started it, when, the RunConfig and the data set (written once)
    status.json      queued, running, done, stopped, diverged, interrupted or failed, with
                     the worker's pid while it runs and the final loss when it ends
    history.jsonl    one line per iteration: {"i": 1, "loss": 58.9, "t": 0.02, "epoch": 0}
    samples.json     the fixed training images the evolution view follows, with their captions
    evolution.jsonl  one line per snapshot: {"i": 10, "captions": ["a red circle ...", ...]}
    snapshot.h5      the latest checkpoint while it trains; model.h5 the final one
    worker.log       the worker process's stderr (a crash's traceback ends up here)
    stop             exists once someone asked the run to stop
    heartbeat        touched every few seconds by the worker while it trains (its mtime is the beat)
    code/            a run of a student's own code: their package, as `core.student` reads it
                     (config.json's "code" names the package); history lines then also hold
                     "ref", the loss of Caption Lab's model trained beside it

A run folder appears with its config.json and status.json already in it, and JSON files
are replaced atomically, so a reader never sees half of one. A run of a student's code can
write anything in its folder, so every read here goes through `core.safe_files` (no link
followed, no FIFO opened, a bounded number of bytes read) and every write through a fresh
temporary file's own descriptor. The `.jsonl` files
are appended while the run goes on; readers (`TrackedRun`) read them incrementally and
leave a torn last line (a write in progress, or a crash mid-line) for the next read.
Nothing here knows about processes or streamlit.
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from core import DatasetError, safe_files
from core.data.coco import _read_urls
from core.data.layout import urls_file
from core.checkpoint import atomic_write_bytes
from core.text import Message, decode_message, encode_message

CONFIG, STATUS, HISTORY = "config.json", "status.json", "history.jsonl"
SAMPLES, EVOLUTION = "samples.json", "evolution.jsonl"
SNAPSHOT, FINAL, LOG, STOP = "snapshot.h5", "model.h5", "worker.log", "stop"
CODE, HEARTBEAT = "code", "heartbeat"

ACTIVE = ("queued", "running")               # the other statuses are endings
MESSAGE_TEXT = "message_text"                # status.json: the message's template and values (see below)
JSON_LIMIT = 16 << 20                        # a JSON file larger than this is not read
CHUNK_LIMIT = 8 << 20                        # a .jsonl file is read at most this much at a time
LOG_LIMIT = 64 << 10                         # what is read of worker.log's end


def write_json(path: Path, value) -> None:
    """Replace `path` with `value` as JSON, atomically."""
    atomic_write_bytes(path, json.dumps(value, indent=1, allow_nan=False).encode())


def read_json(path: Path) -> dict | None:
    """The JSON object in `path`, or None when it is missing or not a JSON object."""
    try:
        value = json.loads(safe_files.read_bytes(path, JSON_LIMIT))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


# --- a status message in the reader's language ---------------------------------------------
# A run's message is written in English ("message"); when it is a `core.text.Message`, its
# template and values go beside it ("message_text", `core.text.encode_message`), so the
# app can show it translated after it has come back from the JSON file. A message whose
# values JSON cannot hold stays English only.

def message_of(record: dict) -> str | None:
    """A status record's message: a `Message` when its template was kept and still says the
    same, else the English text as it was written."""
    text = record.get("message")
    if isinstance(text, Message) or not isinstance(text, str):
        return text
    kept = decode_message(record.get(MESSAGE_TEXT))
    return kept if kept is not None and kept == text else text


@dataclass
class JsonlTail:
    """Reads the complete lines appended to a .jsonl file since the last read."""

    path: Path
    offset: int = 0

    def read(self) -> list[dict]:
        """New complete records (a torn last line waits; a corrupt line is skipped)."""
        size = safe_files.size(self.path)
        if size <= self.offset:
            return []
        try:
            chunk = safe_files.read_bytes(self.path, min(size - self.offset, CHUNK_LIMIT), offset=self.offset)
        except OSError:
            return []
        end = chunk.rfind(b"\n")
        if end < 0:
            if len(chunk) >= CHUNK_LIMIT:       # a line longer than anything a run writes: skip it
                self.offset += len(chunk)
            return []
        self.offset += end + 1
        records = []
        for line in chunk[:end].splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append(record)
        return records


class RunFolder:
    """The files of one run; paths and small read/write helpers."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.run_id = self.path.name

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def create(self, meta: dict, status: dict, code=None) -> None:
        """Make the folder with its config.json and status.json (and `code`, a student's
        `core.student.Bundle`, under code/), all at once: it is built under a hidden name
        and renamed into place, so no reader (another server scanning the runs folder)
        ever sees a run without its config, its status or its code."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{self.run_id}.", suffix=".tmp", dir=self.path.parent))
        try:
            staging.chmod(0o755)            # mkdtemp makes it private; a run folder is not
            if code is not None:
                code.write(staging / CODE)
            write_json(staging / CONFIG, meta)
            write_json(staging / STATUS, status)
            os.rename(staging, self.path)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def meta(self) -> dict | None:
        return read_json(self / CONFIG)

    def status(self) -> dict | None:
        return read_json(self / STATUS)

    def status_mtime(self) -> float:
        try:
            return os.lstat(self / STATUS).st_mtime_ns
        except OSError:
            return 0

    def write_status(self, **status) -> None:
        encoded = encode_message(message_of(status))
        status.pop(MESSAGE_TEXT, None)
        if encoded is not None:
            status[MESSAGE_TEXT] = encoded
        write_json(self / STATUS, status)

    def checkpoint(self) -> Path | None:
        """The final checkpoint if there is one, else the latest snapshot, else None."""
        for name in (FINAL, SNAPSHOT):
            if safe_files.is_file(self / name):
                return self / name
        return None

    def request_stop(self) -> None:
        try:
            safe_files.touch_new(self / STOP)
        except OSError:                     # something (a link) is there already: it stops all the same
            pass

    def stop_requested(self) -> bool:
        return os.path.lexists(self / STOP)

    def beat(self) -> None:
        """Say the run's worker is alive (touch the heartbeat file)."""
        (self / HEARTBEAT).touch()

    def heartbeat_age(self) -> float:
        """Seconds since the worker's last heartbeat (infinity when it never beat)."""
        try:
            return max(0.0, time.time() - os.lstat(self / HEARTBEAT).st_mtime)
        except OSError:
            return float("inf")

    def log_tail(self, lines: int = 6) -> str:
        """The last lines of the worker's stderr, for a crash report."""
        try:
            text = safe_files.read_text(self / LOG, LOG_LIMIT, tail=True)
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])


def scan(runs_dir: Path) -> list[RunFolder]:
    """Every folder under `runs_dir` that holds a run's config.json."""
    try:
        entries = list(os.scandir(runs_dir))
    except OSError:
        return []
    return [RunFolder(Path(e.path)) for e in entries
            if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")
            and safe_files.is_file(os.path.join(e.path, CONFIG))]


# --- a run as a reader follows it -----------------------------------------------------

class TrackedRun:
    """A run folder as an engine follows it: its metadata, its status record (status.json)
    and what has been read of its files."""

    def __init__(self, folder: RunFolder, meta: dict, record: dict):
        self.folder, self.meta, self.record = folder, meta, record
        self.status_mtime = folder.status_mtime()
        self.history = JsonlTail(folder / HISTORY)
        self.iterations: list[int] = []
        self.losses: list[float] = []
        self.times: list[float] = []
        self.references: list[float] = []       # Caption Lab's loss beside a student's (NaN: none)
        self.history_loaded = False
        self.evolution = JsonlTail(folder / EVOLUTION)
        self.samples: list[dict] | None = None
        self.snapshots: list[tuple[int, list[str]]] = []
        self.synced = 0.0
        self.local = False          # this engine queued or started it
        self.forced_stop: float | None = None   # seconds the worker was given before it was ended

    @property
    def run_id(self) -> str:
        return self.folder.run_id

    @property
    def state(self) -> str:
        """The status: queued, running, done, stopped, diverged, interrupted or failed."""
        return self.record.get("status", "interrupted")

    def read_history(self) -> None:
        for r in self.history.read():
            try:
                i, loss, t = int(r["i"]), float(r["loss"]), float(r.get("t", 0.0))
                ref = float(r["ref"]) if r.get("ref") is not None else float("nan")
            except (KeyError, TypeError, ValueError):
                continue
            self.iterations.append(i)
            self.losses.append(loss)
            self.times.append(t)
            self.references.append(ref)
        self.history_loaded = True

    def read_evolution(self) -> None:
        if self.samples is None:
            samples = read_json(self.folder / SAMPLES)
            if samples is None:
                return
            self.samples = trusted_samples(samples.get("images"), self.meta.get("dataset") or {},
                                           self.folder.path.parent)
        for r in self.evolution.read():
            if isinstance(r.get("i"), int) and isinstance(r.get("captions"), list):
                self.snapshots.append((r["i"], [str(c) for c in r["captions"]]))


@functools.lru_cache(maxsize=8)
def _train_urls(base_dir: str):
    return _read_urls(Path(base_dir) / urls_file("train"), Path(base_dir))


def trusted_samples(images, dataset: dict, runs_dir: Path) -> list[dict]:
    """The evolution view's images, as samples.json lists them, with each address taken from
    the run's dataset by its index, never from the file: a run of a student's code could have
    written any path or URL there (a root-only file, an internal service) for the server to
    fetch. The dataset must not lie in the runs folder; an index it does not hold, or a
    dataset that cannot be read, leaves the image without an address (its caption still shows)."""
    if not isinstance(images, list):
        return []
    base = str(dataset.get("base_dir") or "")
    urls = None
    try:
        if base and not Path(base).resolve().is_relative_to(Path(runs_dir).resolve()):
            urls = _train_urls(str(Path(base).resolve()))
    except (OSError, ValueError, DatasetError):
        urls = None
    kept = []
    for image in images[:16]:
        if not isinstance(image, dict):
            continue
        index = image.get("image_idx")
        known = urls is not None and isinstance(index, int) and 0 <= index < len(urls)
        kept.append({"image_idx": index if known else None, "url": str(urls[index]) if known else None,
                     "truth": str(image.get("truth", ""))[:500]})
    return kept
