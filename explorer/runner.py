"""Background training runs for the whole server: a queue, worker processes, saved runs.

`Runner` is the server's one run manager (`state.runner()`). `start` files a run and
queues it; at most `max_concurrent` runs (default: the number of cores) train at once,
each in its own worker process (`python -m explorer.train_worker`, BLAS on one thread, at
a lower CPU priority), so training never holds the GIL of the Streamlit server and the
pages of thirty students stay responsive. The others wait in a first-in, first-out queue.

Everything a run produces goes into its folder (`run_store`); the Runner reads those
files back incrementally, so pages only ever poll `runs()`, `get()`, `history()` and
`evolution()`, which are cheap and never call streamlit. The same files make runs survive
the server: a new Runner on the same folder lists every saved run, and shows a run whose
worker is gone without having finished as "interrupted". A run belongs to the session
(owner id) that started it; only that owner may stop it.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
import weakref
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core import CaptioningRNN, CheckpointError, load_checkpoint
from core.student.source import read_bundle
from explorer.run_config import RunConfig
from explorer.run_store import ACTIVE, CODE, RunFolder, TrackedRun, scan

ROOT = Path(__file__).resolve().parent.parent
MAX_RUNS_ENV = "CAPTION_LAB_MAX_RUNS"          # overrides the concurrency cap
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
SYNC_SECONDS = 0.2         # re-read an active run's files at most this often
RESCAN_SECONDS = 2.0       # look for runs other servers added at most this often
PID_CHECK_SECONDS = 1.0    # check that another server's worker is alive at most this often
STOP_GRACE_SECONDS = 30.0  # a worker asked to stop gets this long (or 5 iterations) to do so
MAX_QUEUED = 64            # runs waiting for a core, server-wide, at most

_LIVE: "weakref.WeakValueDictionary[str, Runner]" = weakref.WeakValueDictionary()


class RunLimitError(RuntimeError):
    """This owner already has as many queued or running runs as one person may."""


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
    queue_position: int | None = None     # 1-based place in this server's queue
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


class Runner:
    """The server's training runs: start, queue, stop, poll, reload.

    runs_dir: where run folders live. max_concurrent: runs that train at once (default
    `$CAPTION_LAB_MAX_RUNS`, else the number of cores). max_per_owner: queued plus
    running runs one owner may have. nice: how much lower the workers' CPU priority is.
    blas_threads: threads each worker's BLAS may use (None: the library's default, one
    per core, which oversubscribes the cores as soon as two runs train).
    """

    def __init__(self, runs_dir: Path, *, max_concurrent: int | None = None, max_per_owner: int = 4,
                 max_queued: int = MAX_QUEUED, nice: int = 10, blas_threads: int | None = 1,
                 python: str | None = None, stop_grace: float = STOP_GRACE_SECONDS):
        self.runs_dir = Path(runs_dir)
        self.max_concurrent = max(1, max_concurrent or int(os.environ.get(MAX_RUNS_ENV) or 0)
                                  or os.cpu_count() or 1)
        self.max_per_owner = max_per_owner
        self.max_queued = max_queued
        self.stop_grace = stop_grace
        self.nice = nice
        self.blas_threads = blas_threads
        self.python = python or sys.executable
        self.token = uuid.uuid4().hex
        self._lock = threading.RLock()
        self._runs: dict[str, TrackedRun] = {}
        self._queue: deque[str] = deque()
        self._procs: dict[str, subprocess.Popen] = {}
        self._dir_mtime = None
        self._scanned = 0.0
        _LIVE[self.token] = self
        with self._lock:
            self._rescan(force=True)

    # --- starting and stopping -------------------------------------------------------

    def start(self, config: RunConfig, dataset: dict, owner: str, label: str | None = None,
              code=None) -> str:
        """Queue a run of `config` on `dataset` (base_dir, pca_features, is_demo); returns its id.

        With `code` (a student's `core.student.Bundle`) the run trains their own
        CaptioningRNN, confined, with Caption Lab's model beside it (`train_worker`).
        Raises ValueError when the config is invalid, RunLimitError when `owner` already
        has `max_per_owner` runs queued or running.
        """
        problems = config.validate()
        if problems:
            raise ValueError("Invalid run settings: " + "; ".join(f"{k}: {v}" for k, v in problems.items()))
        dataset = {"base_dir": str(dataset["base_dir"]), "pca_features": bool(dataset["pca_features"]),
                   "is_demo": bool(dataset.get("is_demo", False))}
        with self._lock:
            mine = [r for r in self._runs.values() if r.meta["owner"] == owner and r.state in ACTIVE]
            if len(self._queue) >= self.max_queued:
                raise RunLimitError(f"The server already has {len(self._queue)} runs waiting for a "
                                    f"core. Try again when some of them have finished.")
            if len(mine) >= self.max_per_owner:
                raise RunLimitError(f"You already have {len(mine)} run{'s' * (len(mine) > 1)} queued or "
                                    f"running; the limit is "
                                    f"{self.max_per_owner} per person so everyone gets a turn. "
                                    f"Stop one or wait for it to finish.")
            created = time.time()
            run_id = f"{time.strftime('%Y%m%d-%H%M%S', time.localtime(created))}-{uuid.uuid4().hex[:6]}"
            label = label or (f"{'Your ' if code is not None else ''}{config.describe()} · "
                              f"{time.strftime('%H:%M', time.localtime(created))}")
            meta = {"run_id": run_id, "label": label, "owner": owner, "created": created,
                    "config": config.to_dict(), "dataset": dataset}
            if code is not None:
                meta["code"] = {"package": code.package, "origin": code.origin, "digest": code.digest}
            status = {"status": "queued", "total": config.num_iterations, "iteration": 0,
                      "server_pid": os.getpid(), "runner": self.token}
            folder = RunFolder(self.runs_dir / run_id)
            folder.create(meta, status, code=code)
            run = TrackedRun(folder, meta, status)
            run.local = True
            run.history_loaded = True
            self._runs[run_id] = run
            self._queue.append(run_id)
            self._schedule()
        return run_id

    def stop(self, run_id: str, owner: str) -> None:
        """Stop a run between iterations (it keeps what it learned), or take it off the queue.

        Raises PermissionError when `owner` did not start it, KeyError for an unknown id.
        """
        with self._lock:
            run = self._run(run_id)
            if run.meta["owner"] != owner:
                raise PermissionError("This run belongs to another session: you can watch it, "
                                      "but only the session that started it can stop it.")
            if run_id in self._queue:
                self._queue.remove(run_id)
                self._end(run, "stopped", "Stopped while queued; it never trained.")
            elif run.state in ACTIVE:
                run.folder.request_stop()
                proc = self._procs.get(run_id)
                if proc is not None:
                    info = self._info(run)
                    grace = max(self.stop_grace, 5 / info.rate if info.rate else 0.0)
                    timer = threading.Timer(grace, self._force_stop, args=(run, proc, grace))
                    timer.daemon = True
                    timer.start()

    def _force_stop(self, run: TrackedRun, proc: subprocess.Popen, grace: float) -> None:
        """End a worker that did not stop between iterations within `grace` seconds."""
        if proc.poll() is not None:
            return
        run.forced_stop = grace
        proc.terminate()
        try:
            proc.wait(min(5.0, grace))
        except subprocess.TimeoutExpired:
            proc.kill()

    def shutdown(self, timeout: float = 30.0) -> None:
        """Take queued runs off the queue and stop running ones; wait for their workers."""
        with self._lock:
            for run_id in list(self._queue):
                self._end(self._runs[run_id], "stopped", "Stopped while queued: the app shut down.")
            self._queue.clear()
            procs = list(self._procs.items())
            for run_id, _ in procs:
                self._runs[run_id].folder.request_stop()
        deadline = time.monotonic() + timeout
        for _, proc in procs:
            try:
                proc.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                proc.kill()
        for _ in range(50):                     # let the watcher threads record the endings
            with self._lock:
                if not self._procs:
                    return
            time.sleep(0.05)

    # --- what pages poll -------------------------------------------------------------

    def runs(self) -> list[RunInfo]:
        """Every run, this server's and saved ones, newest first."""
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
            raise ValueError(f"Run “{run.meta['label']}” has no checkpoint yet: the first one is saved "
                             f"after {run.meta['config']['snapshot_every']} iterations.")
        try:
            return load_checkpoint(path)
        except CheckpointError:
            final = run.folder.checkpoint()         # the final checkpoint replaced the snapshot meanwhile
            if final is None or final == path:
                raise
            return load_checkpoint(final)

    def code(self, run_id: str):
        """The student's code a run trains (a `core.student.Bundle`), or None for Caption Lab's model."""
        with self._lock:
            run = self._run(run_id)
        code = run.meta.get("code")
        if not code:
            return None
        return read_bundle(run.folder / CODE, code["package"], origin=code.get("origin", ""))

    def load(self) -> dict:
        """This server's load: runs training, runs queued, and the cap."""
        with self._lock:
            return {"running": len(self._procs), "queued": len(self._queue),
                    "max_concurrent": self.max_concurrent}

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

    # --- the queue and the workers ---------------------------------------------------

    def _schedule(self) -> None:
        """Start queued runs while there is room (holding the lock)."""
        while self._queue and len(self._procs) < self.max_concurrent:
            run = self._runs[self._queue.popleft()]
            if run.folder.stop_requested():
                self._end(run, "stopped", "Stopped while queued; it never trained.")
                continue
            self._launch(run)

    def _launch(self, run: TrackedRun) -> None:
        blas = {var: str(self.blas_threads) for var in BLAS_THREAD_VARS} if self.blas_threads else {}
        env = {**os.environ, **blas,
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        self._set_status(run, status="running", started=time.time())
        try:
            with open(run.folder / "worker.log", "ab") as log:
                proc = subprocess.Popen(
                    [self.python, "-m", "explorer.train_worker", str(run.folder.path),
                     "--nice", str(self.nice), "--watch-stdin"],
                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log, env=env,
                    start_new_session=True)
        except OSError as e:
            self._end(run, "failed", f"The training process could not start: {e}")
            return
        self._procs[run.run_id] = proc
        threading.Thread(target=self._watch, args=(run, proc), name=f"run-{run.run_id}",
                         daemon=True).start()

    def _watch(self, run: TrackedRun, proc: subprocess.Popen) -> None:
        """Wait for a worker to exit; record a death it could not report; start the next run."""
        code = proc.wait()
        try:
            proc.stdin.close()
        except OSError:
            pass
        with self._lock:
            self._procs.pop(run.run_id, None)
            try:
                self._sync(run, force=True)
                if run.state in ACTIVE and run.forced_stop is not None:
                    kept = " Its last snapshot is kept." if run.folder.checkpoint() else ""
                    self._end(run, "stopped", f"It did not stop within {run.forced_stop:.0f} s of "
                                              f"being asked to, so it was ended.{kept}")
                elif run.state in ACTIVE:
                    how = f"was killed (signal {-code})" if code < 0 else f"exited with code {code}"
                    if code == -signal.SIGKILL:
                        how += (", most likely because the server ran out of memory (try a smaller "
                                "batch or hidden size),")
                    tail = run.folder.log_tail()
                    self._end(run, "failed", f"The training process {how} before the run finished."
                                             + (f"\n\n{tail}" if tail else ""))
            finally:                            # the queue moves on even if that record failed
                self._schedule()

    # --- reading the folders -----------------------------------------------------------

    def _run(self, run_id: str) -> TrackedRun:
        run = self._runs.get(run_id)
        if run is None:
            self._rescan(force=True)
            run = self._runs.get(run_id)
            if run is None:
                raise KeyError(f"No run {run_id!r} in {self.runs_dir}")
        return run

    def _rescan(self, force: bool = False) -> None:
        """Pick up run folders this Runner has not seen (saved runs, other servers' runs)."""
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
        for folder in scan(self.runs_dir):
            if folder.run_id in self._runs:
                continue
            meta = _usable_meta(folder.meta())
            if meta is None:
                continue
            status = folder.status() or {"status": "interrupted", "message": "This run's status file is missing."}
            run = TrackedRun(folder, meta, status)
            self._runs[folder.run_id] = run
            if run.state in ACTIVE:
                run.read_history()
                self._check_alive(run)

    def _sync(self, run: TrackedRun, force: bool = False) -> None:
        """Re-read an active run's status and the lines appended to its files."""
        now = time.monotonic()
        if not force and (run.state not in ACTIVE or now - run.synced < SYNC_SECONDS):
            return
        run.synced = now
        mtime = run.folder.status_mtime()
        if mtime != run.status_mtime:
            run.status = run.folder.status() or run.status
            run.status_mtime = mtime
        if run.history_loaded:
            run.read_history()
        if run.samples is not None:
            run.read_evolution()
        if not run.local and run.state in ACTIVE and now - run.pid_checked > PID_CHECK_SECONDS:
            self._check_alive(run)

    def _check_alive(self, run: TrackedRun) -> None:
        """Mark another server's active run interrupted when nothing is left to finish it."""
        run.pid_checked = time.monotonic()
        status = run.status
        if status.get("pid") is not None:
            alive = _worker_alive(status["pid"], run.run_id)
        elif status.get("server_pid") == os.getpid():
            alive = status.get("runner") in _LIVE          # a Runner of this process still queues it
        else:
            alive = _pid_alive(status.get("server_pid"))
        if alive:
            return
        latest = run.folder.status()                       # it may have finished just now
        if latest and latest.get("status") not in ACTIVE:
            run.status, run.status_mtime = latest, run.folder.status_mtime()
            return
        run.read_history()
        kept = run.folder.checkpoint()
        if run.state == "queued" or not run.iterations:
            message = "The app's server stopped before this run started."
        elif kept:
            message = (f"The app's server stopped while this run trained; its snapshot from iteration "
                       f"{status.get('checkpoint_iteration', '?')} was kept.")
        else:
            message = "The app's server stopped while this run trained, before its first snapshot."
        self._end(run, "interrupted", message)

    # --- status ----------------------------------------------------------------------

    def _set_status(self, run: TrackedRun, **changes) -> None:
        run.status = {**run.status, **changes}
        run.folder.write_status(**run.status)
        run.status_mtime = run.folder.status_mtime()

    def _end(self, run: TrackedRun, status: str, message: str) -> None:
        """Record an ending the worker could not write itself."""
        if not run.history_loaded:
            run.read_history()
        self._set_status(run, status=status, message=message, finished=time.time(),
                         iteration=run.iterations[-1] if run.iterations else 0,
                         final_loss=run.losses[-1] if run.losses else None,
                         elapsed=run.times[-1] if run.times else 0.0)

    def _info(self, run: TrackedRun) -> RunInfo:
        self._sync(run)
        s, meta = run.status, run.meta
        active = run.state in ACTIVE
        if active and not run.history_loaded:
            run.read_history()
        iteration = run.iterations[-1] if active and run.iterations else int(s.get("iteration") or 0)
        last = run.losses[-1] if run.losses else s.get("final_loss")
        elapsed = run.times[-1] if run.times else float(s.get("elapsed") or 0.0)
        position = self._queue.index(run.run_id) + 1 if run.run_id in self._queue else None
        return RunInfo(
            run_id=run.run_id, label=meta["label"], status=run.state, owner=meta["owner"],
            config=dict(meta["config"]), iteration=iteration,
            total=int(s.get("total") or RunConfig.from_dict(meta["config"]).num_iterations),
            final_loss=None if active else s.get("final_loss"),
            has_checkpoint=run.folder.checkpoint() is not None, dataset=dict(meta["dataset"]),
            message=s.get("message"), created=meta["created"], started=s.get("started"),
            finished=s.get("finished"), elapsed=elapsed, last_loss=last, queue_position=position,
            diverged_at=s.get("diverged_at"), checkpoint_iteration=s.get("checkpoint_iteration"),
            stopping=active and run.folder.stop_requested(), code=meta.get("code"))


def _usable_meta(meta: dict | None) -> dict | None:
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


def _pid_alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _worker_alive(pid, run_id: str) -> bool:
    """Whether `pid` is a live training worker of this run (not a reused pid, not a zombie)."""
    if not _pid_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return sys.platform != "linux"
    return b"train_worker" in cmdline and run_id.encode() in cmdline
