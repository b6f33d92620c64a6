"""What every run engine shares: the runs folder read back, an explicit refresh, and deleting.

A run engine (`local.LocalRunner`, `rq_engine.RQRunner`) decides where runs train; this
base reads what they write. Its getters (`runs`, `get`, `history`, `evolution`,
`load_model`, `code`, `capacity`) only read: they never end a run or write a status, so
any number of app servers can read one runs folder at once. Liveness is decided in one
place, `refresh()`, which a background thread calls every `REFRESH_SECONDS`: a run
nobody is training any more (its worker's process gone on this host, or its heartbeat
file stale for `stale_after` seconds anywhere) is recorded as interrupted there.

Deleting a run leaves a note of who deleted it (`deletion`), so the run's owner, whose page
was following it, can be told: one small JSON file per deleted run under `.deleted/`,
written atomically and forgotten after `KEEP_DELETIONS` seconds.

A worker touches its run's `heartbeat` file every few seconds (`worker.HEARTBEAT_SECONDS`),
so runs on other machines that share the runs folder are followed the same way.
"""
from __future__ import annotations

import os
import re
import socket
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core import CaptioningRNN, CheckpointError, load_checkpoint, safe_files
from core.student.source import read_bundle
from core.text import message
from explorer.runs import worker as worker_module
from explorer.runs.settings import RunConfig
from explorer.runs.store import ACTIVE, CODE, TrackedRun, message_of, read_json, scan, write_json

SYNC_SECONDS = 0.2         # re-read an active run's files at most this often
RESCAN_SECONDS = 2.0       # look for runs other servers added at most this often
REFRESH_SECONDS = 1.0      # how often the refresh thread checks that active runs still have a worker
STALE_AFTER = 30.0         # a heartbeat this old means the run's worker is gone
HOST = socket.gethostname()
DELETIONS = ".deleted"     # runs_dir/.deleted/<run id>.json: who deleted which run
KEEP_DELETIONS = 86400.0   # seconds a deletion is remembered
RUN_ID = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}"   # what a run id may look like (a folder name, never a path)


class RunLimitError(RuntimeError):
    """This owner already has as many queued or running runs as one person may (or the queue is full)."""


class EngineUnavailable(RuntimeError):
    """The run engine cannot be reached (Redis is down); the message says what and where."""


@dataclass(frozen=True)
class RunInfo:
    """What a page shows about one run, at one moment."""

    run_id: str
    label: str                      # short human name, e.g. "LSTM H=512 lr 5e-3 · 14:02"
    status: str                     # queued, running, done, stopped, diverged, interrupted, failed
    owner: str                      # the owner id of the session that started it
    config: dict                    # RunConfig as a dict: cell_type, hidden_dim, ...
    iteration: int                  # iterations finished so far
    total: int                      # iterations in the whole schedule
    final_loss: float | None        # the last iteration's loss once the run has ended
    has_checkpoint: bool            # load_model() can give a model (final, or latest snapshot)
    dataset: dict                   # base_dir, pca_features, is_demo
    message: str | None             # why it ended the way it did (diverged, failed, ...)
    created: float                  # when Start was pressed (seconds since the epoch)
    started: float | None = None    # when its worker began
    finished: float | None = None   # when it ended
    elapsed: float = 0.0            # seconds of training so far (the solver's clock)
    last_loss: float | None = None  # the latest iteration's loss, also while running
    queue_position: int | None = None     # 1-based place in the queue
    diverged_at: int | None = None
    checkpoint_iteration: int | None = None   # the iteration the checkpoint holds
    stopping: bool = False          # a stop was asked for and the worker has not ended yet
    code: dict | None = None        # a run of a student's own code: package, origin, digest

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def rate(self) -> float | None:
        """Iterations per second so far."""
        return self.iteration / self.elapsed if self.iteration and self.elapsed > 0 else None

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate, while running."""
        rate = self.rate
        return (self.total - self.iteration) / rate if rate and self.status == "running" else None

    @property
    def duration(self) -> float | None:
        """Seconds from the worker's start to the end (or to now, while running)."""
        if self.started is None:
            return None
        return (self.finished or time.time()) - self.started


@dataclass(frozen=True)
class Deletion:
    """Who deleted a run, and when."""

    run_id: str
    label: str                      # the run's label when it was deleted
    owner: str                      # whose run it was
    by: str | None                  # the owner id that deleted it; None: the admin
    when: float                     # seconds since the epoch


@dataclass(frozen=True)
class History:
    """A run's loss curve: one entry per iteration."""

    iterations: np.ndarray          # (n,) int, 1-based
    losses: np.ndarray              # (n,) float
    elapsed: np.ndarray             # (n,) seconds since training started
    reference: np.ndarray | None = None   # (n,) Caption Lab's loss beside a student's code run


@dataclass(frozen=True)
class Evolution:
    """The captions a run gave for a few fixed training images, every k iterations."""

    images: list[dict]              # {"image_idx", "url", "truth"} per image
    snapshots: list[tuple[int, list[str]]]   # (iteration, one caption per image), oldest first


@dataclass(frozen=True)
class Capacity:
    """How busy the engine is: runs training, runs waiting, and how many can train at once."""

    running: int
    queued: int
    max_concurrent: int


def _refresh_forever(ref: "weakref.ref[RunEngine]", stop: threading.Event) -> None:
    while not stop.wait(REFRESH_SECONDS):
        engine = ref()
        if engine is None:
            return
        try:
            engine.refresh()
        except Exception:            # a refresh that fails is tried again, never kills the thread
            pass
        del engine


class RunEngine:
    """The runs of one runs folder as an engine sees them; subclasses start, queue and stop.

    `stale_after`: seconds of silence from a worker's heartbeat after which its run counts
    as interrupted. `refresh_thread`: run `refresh()` in the background (tests may call it
    themselves instead).
    """

    def __init__(self, runs_dir: Path, *, stale_after: float = STALE_AFTER, refresh_thread: bool = True):
        self.runs_dir = Path(runs_dir)
        self.stale_after = stale_after
        self._lock = threading.RLock()
        self._runs: dict[str, TrackedRun] = {}
        self._dir_mtime = None
        self._scanned = 0.0
        self._closed = threading.Event()
        with self._lock:
            self._rescan(force=True)
        self.refresh()                           # runs left active by a server that is gone
        if refresh_thread:
            threading.Thread(target=_refresh_forever, args=(weakref.ref(self), self._closed),
                             name="runs-refresh", daemon=True).start()

    # --- for subclasses ---------------------------------------------------------------

    def _supervises(self, run: TrackedRun) -> bool:
        """Whether this engine itself holds the run's worker (then `refresh` leaves it alone)."""
        return False

    def _queue_position(self, run: TrackedRun) -> int | None:
        return None

    def _queued_alive(self, run: TrackedRun) -> bool:
        """Whether someone still holds a queued run that this engine does not (default: yes)."""
        return True

    def _ended(self, run: TrackedRun) -> None:
        """Hear that a run ended (an engine may free what it reserved for it)."""

    def capacity(self) -> Capacity:
        raise NotImplementedError

    def close(self) -> None:
        """Stop the refresh thread."""
        self._closed.set()

    # --- what pages read --------------------------------------------------------------

    def runs(self) -> list[RunInfo]:
        """Every run of the folder, newest first."""
        with self._lock:
            self._rescan()
            infos = [self._info(r) for r in self._runs.values()]
        return sorted(infos, key=lambda i: i.created, reverse=True)

    def get(self, run_id: str) -> RunInfo:
        """One run; KeyError when there is no such run."""
        with self._lock:
            return self._info(self._run(run_id))

    def history(self, run_id: str) -> History:
        """The run's loss curve so far."""
        with self._lock:
            run = self._run(run_id)
            if not run.history_loaded:
                run.read_history()
            self._sync(run)
            reference = np.array(run.references, dtype=float) if run.meta.get("code") else None
            return History(np.array(run.iterations, dtype=int), np.array(run.losses, dtype=float),
                           np.array(run.times, dtype=float), reference)

    def evolution(self, run_id: str) -> Evolution:
        """The run's evolution captions so far (no images until its worker has loaded the data)."""
        with self._lock:
            run = self._run(run_id)
            if run.samples is None or run.state in ACTIVE:
                run.read_evolution()
            return Evolution(list(run.samples or []), list(run.snapshots))

    def load_model(self, run_id: str) -> tuple[CaptioningRNN, dict]:
        """The run's final checkpoint, or while it runs its latest snapshot: (model, metadata).

        Raises ValueError (a CheckpointError for a damaged file) when there is none.
        """
        with self._lock:
            run = self._run(run_id)
        path = run.folder.checkpoint()
        if path is None:
            raise ValueError(message("Run “{label}” has no checkpoint yet: the first one is saved after "
                                     "{every} iterations.", label=run.meta["label"],
                                     every=run.meta["config"]["snapshot_every"]))
        try:
            return load_checkpoint(path, follow_links=False)
        except CheckpointError:
            final = run.folder.checkpoint()         # the final checkpoint replaced the snapshot meanwhile
            if final is None or final == path:
                raise
            return load_checkpoint(final, follow_links=False)

    def code(self, run_id: str):
        """The student's code a run trains (a `core.student.Bundle`), or None for Caption Lab's model."""
        with self._lock:
            run = self._run(run_id)
        code = run.meta.get("code")
        if not code:
            return None
        return read_bundle(run.folder / CODE, code["package"], origin=code.get("origin", ""))

    def wait(self, run_id: str, timeout: float = 120.0, poll: float = 0.1) -> RunInfo:
        """Block until the run has ended; TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            info = self.get(run_id)
            if not info.is_active:
                return info
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} is still {info.status} after {timeout} s")
            time.sleep(poll)

    # --- deleting ---------------------------------------------------------------------

    def delete(self, run_id: str, owner: str | None = None) -> None:
        """Delete a run that has ended, all at once: its folder is renamed out of sight, then
        removed, so no reader ever sees half a run. `owner` None is the admin (anyone's run).

        Raises KeyError (no such run), PermissionError (another session's run), ValueError
        (it is still queued or training: stop it first)."""
        with self._lock:
            run = self._run(run_id)
            self._sync(run, force=True)
            if owner is not None and run.meta["owner"] != owner:
                raise PermissionError(message("This run belongs to another session: only the session that "
                                              "started it (or the admin) can delete it."))
            if run.state == "queued":
                raise ValueError(message("Run “{label}” is still queued: stop it before deleting it.",
                                         label=run.meta["label"]))
            if run.state in ACTIVE:
                raise ValueError(message("Run “{label}” is still running: stop it before deleting it.",
                                         label=run.meta["label"]))
            if self._supervises(run):
                raise ValueError(message("Run “{label}” is still finishing: try again in a moment.",
                                         label=run.meta["label"]))
            hidden = run.folder.path.with_name(f".deleted-{run_id}-{uuid.uuid4().hex[:6]}")
            os.rename(run.folder.path, hidden)
            self._runs.pop(run_id, None)
        safe_files.remove_tree(hidden)           # (a student's run may hold folders too deep for rmtree)
        self._note_deletion(Deletion(run_id, run.meta["label"], run.meta["owner"], owner, time.time()))

    def deletion(self, run_id: str) -> Deletion | None:
        """Who deleted run `run_id` in the last `KEEP_DELETIONS` seconds, if it was deleted
        (through any server sharing this runs folder, or the command line); None otherwise.
        `run_id` may come from a link: anything but a run id's shape is None."""
        if not isinstance(run_id, str) or not re.fullmatch(RUN_ID, run_id):
            return None
        note = read_json(self.runs_dir / DELETIONS / f"{run_id}.json")
        try:
            deletion = Deletion(run_id, str(note["label"]), str(note["owner"]),
                                None if note["by"] is None else str(note["by"]), float(note["when"]))
        except (TypeError, KeyError, ValueError):
            return None
        return deletion if time.time() - deletion.when < KEEP_DELETIONS else None

    def _note_deletion(self, deletion: Deletion) -> None:
        """Write the note `deletion` reads, and forget notes older than a day (a note that
        cannot be written costs the owner only the sentence saying who deleted the run)."""
        folder = self.runs_dir / DELETIONS
        try:
            folder.mkdir(exist_ok=True)
            write_json(folder / f"{deletion.run_id}.json", {"label": deletion.label, "owner": deletion.owner,
                                                            "by": deletion.by, "when": deletion.when})
            for note in folder.glob("*.json"):
                if time.time() - note.stat().st_mtime > KEEP_DELETIONS:
                    note.unlink(missing_ok=True)
        except OSError:
            pass

    def delete_older_than(self, days: float) -> list[str]:
        """Delete (as the admin) every ended run that finished more than `days` days ago; their ids."""
        cutoff = time.time() - days * 86400
        gone = []
        for info in self.runs():
            if not info.is_active and (info.finished or info.created) < cutoff:
                try:
                    self.delete(info.run_id)
                    gone.append(info.run_id)
                except (KeyError, ValueError, OSError):
                    pass
        return gone

    # --- the one place that decides a run is gone -----------------------------------------

    def refresh(self) -> None:
        """Re-read every active run; record as interrupted those that nobody trains any more."""
        with self._lock:
            self._rescan()
            for run in list(self._runs.values()):
                if run.state not in ACTIVE:
                    continue
                self._sync(run, force=True)
                if run.state in ACTIVE and not self._supervises(run) and not self._alive(run):
                    self._interrupt(run)
                if run.state not in ACTIVE:
                    self._ended(run)

    def _alive(self, run: TrackedRun) -> bool:
        record = run.record
        if record.get("pid") is not None:                 # a worker started: its process, or its heartbeat
            if record.get("host") == HOST:
                return worker_alive(record["pid"], run.run_id)
            return run.folder.heartbeat_age() < self.stale_after
        if record.get("host") == HOST and record.get("server_pid") not in (None, os.getpid()):
            if record.get("engine") == "local":            # another app server's own queue on this host
                return pid_alive(record.get("server_pid"))
        if record.get("engine") == "local" and record.get("server_pid") == os.getpid():
            return record.get("runner") in _LIVE_TOKENS    # a LocalRunner of this process still queues it
        return self._queued_alive(run)

    def _interrupt(self, run: TrackedRun) -> None:
        latest = run.folder.status()                       # it may have finished just now
        if latest and latest.get("status") not in ACTIVE:
            run.record, run.status_mtime = latest, run.folder.status_mtime()
            return
        run.read_history()
        kept = run.folder.checkpoint()
        if run.state == "queued" or not run.iterations:
            why = message("The run's server or worker stopped before this run started.")
        elif kept:
            why = message("The run's worker stopped while it trained; its snapshot from iteration "
                          "{iteration} was kept.", iteration=run.record.get("checkpoint_iteration", "?"))
        else:
            why = message("The run's worker stopped while it trained, before its first snapshot.")
        self._end(run, "interrupted", why)

    # --- reading the folders -------------------------------------------------------------

    def _run(self, run_id: str) -> TrackedRun:
        run = self._runs.get(run_id)
        if run is None:
            self._rescan(force=True)
            run = self._runs.get(run_id)
            if run is None:
                raise KeyError(f"No run {run_id!r} in {self.runs_dir}")
        return run

    def _rescan(self, force: bool = False) -> None:
        """Pick up run folders not seen yet (saved runs, other servers' runs); forget deleted ones."""
        now = time.monotonic()
        if not force and now - self._scanned < RESCAN_SECONDS:
            return
        self._scanned = now
        try:
            mtime = self.runs_dir.stat().st_mtime_ns
        except OSError:
            return
        if mtime == self._dir_mtime and not force:
            return
        # a folder added later within the same clock tick would leave the mtime as it is:
        # trust an mtime only once it is a second old
        self._dir_mtime = mtime if time.time() - mtime / 1e9 > 1.0 else None
        present = set()
        for folder in scan(self.runs_dir):
            present.add(folder.run_id)
            if folder.run_id in self._runs:
                continue
            meta = usable_meta(folder.meta())
            if meta is None:
                continue
            record = folder.status() or {"status": "interrupted",
                                          "message": message("This run's status file is missing.")}
            run = TrackedRun(folder, meta, record)
            self._runs[folder.run_id] = run
            if run.state in ACTIVE:
                run.read_history()
        for run_id in [r for r in self._runs if r not in present
                       and not (self._runs[r].local and self._runs[r].state in ACTIVE)]:
            del self._runs[run_id]                       # deleted through another server, or its folder removed

    def _sync(self, run: TrackedRun, force: bool = False) -> None:
        """Re-read an active run's status and the lines appended to its files (reading only)."""
        now = time.monotonic()
        if not force and (run.state not in ACTIVE or now - run.synced < SYNC_SECONDS):
            return
        run.synced = now
        mtime = run.folder.status_mtime()
        if mtime != run.status_mtime:
            run.record = run.folder.status() or run.record
            run.status_mtime = mtime
        if run.history_loaded:
            run.read_history()
        if run.samples is not None:
            run.read_evolution()

    # --- writing a status (only where an ending is recorded) ------------------------------

    def _set_status(self, run: TrackedRun, **changes) -> None:
        run.record = {**run.record, **changes}
        run.folder.write_status(**run.record)
        run.status_mtime = run.folder.status_mtime()

    def _end(self, run: TrackedRun, status: str, message: str) -> None:
        """Record an ending the worker could not write itself."""
        if not run.history_loaded:
            run.read_history()
        self._set_status(run, status=status, message=message, finished=time.time(),
                         iteration=run.iterations[-1] if run.iterations else 0,
                         final_loss=run.losses[-1] if run.losses else None,
                         elapsed=run.times[-1] if run.times else 0.0)
        self._ended(run)

    def _info(self, run: TrackedRun) -> RunInfo:
        self._sync(run)
        s, meta = run.record, run.meta
        active = run.state in ACTIVE
        if active and not run.history_loaded:
            run.read_history()
        iteration = run.iterations[-1] if active and run.iterations else int(s.get("iteration") or 0)
        last = run.losses[-1] if run.losses else s.get("final_loss")
        elapsed = run.times[-1] if run.times else float(s.get("elapsed") or 0.0)
        return RunInfo(
            run_id=run.run_id, label=meta["label"], status=run.state, owner=meta["owner"],
            config=dict(meta["config"]), iteration=iteration,
            total=int(s.get("total") or RunConfig.from_dict(meta["config"]).num_iterations),
            final_loss=None if active else s.get("final_loss"),
            has_checkpoint=run.folder.checkpoint() is not None, dataset=dict(meta["dataset"]),
            message=message_of(s), created=meta["created"], started=s.get("started"),
            finished=s.get("finished"), elapsed=elapsed, last_loss=last,
            queue_position=self._queue_position(run) if run.state == "queued" else None,
            diverged_at=s.get("diverged_at"), checkpoint_iteration=s.get("checkpoint_iteration"),
            stopping=active and run.folder.stop_requested(), code=meta.get("code"))


# tokens of the LocalRunners alive in this process (a queued run names the one that queues it)
_LIVE_TOKENS: "weakref.WeakValueDictionary[str, object]" = weakref.WeakValueDictionary()


def usable_meta(meta: dict | None) -> dict | None:
    """A saved config.json with its RunConfig filled in to the current fields, or None
    when it is not a run this app can show (a damaged file, another program's folder)."""
    if not isinstance(meta, dict):
        return None
    try:
        code = meta.get("code")
        if code is not None and not (isinstance(code, dict) and isinstance(code.get("package"), str)):
            return None
        return {**meta, "config": RunConfig.from_dict(meta["config"]).to_dict(),
                "dataset": {**meta["dataset"], "base_dir": str(meta["dataset"]["base_dir"])},
                "owner": str(meta["owner"]), "label": str(meta["label"]), "created": float(meta["created"])}
    except (KeyError, TypeError, ValueError):
        return None


def pid_alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def worker_alive(pid, run_id: str) -> bool:
    """Whether `pid` is a live training worker of this run (not a reused pid, not a zombie)."""
    if not pid_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return not os.path.exists("/proc/self")
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        state = ""
    return state != "Z" and worker_module.__name__.encode() in cmdline and run_id.encode() in cmdline

