"""The local run engine: a queue inside the app server and one worker process per training run.

`LocalRunner` is the default engine (`explorer.runs.engine()` without
`CAPTION_LAB_REDIS_URL`): it needs nothing installed. `start` files a run and queues it;
at most `max_concurrent` runs (default: the number of cores) train at once, each in its
own worker process (`python -m explorer.runs.worker`, BLAS on one thread, at a lower CPU
priority), so training never holds the GIL of the Streamlit server and the pages of
thirty students stay responsive. The others wait in a first-in, first-out queue. A
watcher thread per worker records an ending the worker could not write (it was killed);
everything else is read back from the run folders (see `base.RunEngine`).

A run belongs to the session (owner id) that started it; only that owner, or the admin
(`owner=None`), may stop or delete it.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from pathlib import Path

from core import safe_files
from core.student.client import KEPT_ENV, isolated_command
from core.student.walls import remove_cgroup
from core.text import message
from explorer.i18n import N_
from explorer.runs import worker as worker_module

ROOT = Path(__file__).resolve().parents[2]
from explorer.runs.base import HOST, _LIVE_TOKENS, Capacity, RunEngine, RunLimitError
from explorer.runs.settings import RunConfig
from explorer.runs.store import ACTIVE, RunFolder, TrackedRun

MAX_RUNS_ENV = "CAPTION_LAB_MAX_RUNS"          # overrides the concurrency cap
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
STOP_GRACE_SECONDS = 30.0  # a worker asked to stop gets this long (or 5 iterations) to do so
MAX_QUEUED = 64            # runs waiting for a core, server-wide, at most
MAX_PER_OWNER = 4          # queued plus running runs of one person, at most


def check_config(config: RunConfig) -> None:
    """ValueError naming every problem of `config`."""
    problems = config.validate()
    if problems:
        raise ValueError("Invalid run settings: " + "; ".join(f"{k}: {v}" for k, v in problems.items()))


def new_run_id() -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


def new_run(runs_dir: Path, config: RunConfig, dataset: dict, owner: str, label: str | None, code,
            record: dict, run_id: str | None = None) -> tuple[str, TrackedRun]:
    """File a new run: its folder, config.json and status.json `record` (queued), all at once."""
    check_config(config)
    dataset = {"base_dir": str(dataset["base_dir"]), "pca_features": bool(dataset["pca_features"]),
               "is_demo": bool(dataset.get("is_demo", False))}
    created = time.time()
    run_id = run_id or new_run_id()
    label = label or (f"{'Your ' if code is not None else ''}{config.describe()} · "
                      f"{time.strftime('%H:%M', time.localtime(created))}")
    meta = {"run_id": run_id, "label": label, "owner": owner, "created": created,
            "config": config.to_dict(), "dataset": dataset}
    if code is not None:
        meta["code"] = {"package": code.package, "origin": code.origin, "digest": code.digest}
    record = {"status": "queued", "total": config.num_iterations, "iteration": 0, "host": HOST, **record}
    folder = RunFolder(Path(runs_dir) / run_id)
    folder.create(meta, record, code=code)
    return run_id, TrackedRun(folder, meta, record)


def limit_message(mine: int, limit: int) -> str:
    if mine > 1:
        return message("You already have {mine} runs queued or running; the limit is {limit} per person so "
                       "everyone gets a turn. Stop one or wait for it to finish.", mine=mine, limit=limit)
    return message("You already have {mine} run queued or running; the limit is {limit} per person so "
                   "everyone gets a turn. Stop one or wait for it to finish.", mine=mine, limit=limit)


def queue_full_message(waiting: int) -> str:
    return message("The server already has {waiting} runs waiting for a core. Try again when some of them "
                   "have finished.", waiting=waiting)


OWNER_ONLY = {"stop": N_("This run belongs to another session: you can watch it, but only the session "
                         "that started it (or the admin) can stop it.")}      # what -> its sentence


def owner_check(run: TrackedRun, owner: str | None, what: str) -> None:
    if owner is not None and run.meta["owner"] != owner:
        if what in OWNER_ONLY:
            raise PermissionError(message(OWNER_ONLY[what]))
        raise PermissionError(f"This run belongs to another session: you can watch it, but only the session "
                              f"that started it (or the admin) can {what} it.")


# what a worker is given of the server's environment: the locale, PATH, where the data is
WORKER_ENV = (*KEPT_ENV, "HOME", "CAPTION_LAB_DATA", "CAPTION_LAB_RUNS", "CAPTION_LAB_IMAGE_CACHE",
              worker_module.MAX_MINUTES_ENV, worker_module.FOLDER_MB_ENV)


def worker_command(python: str, folder: Path, nice: int) -> list[str]:
    """The command line of a training worker for the run in `folder`: a freshly exec'd,
    isolated interpreter (`python -I`), as the student checker's."""
    return isolated_command(python, worker_module.__name__, str(folder), "--nice", str(nice), "--watch-stdin")


def worker_env(blas_threads: int | None) -> dict:
    """A worker's environment, explicit and minimal: no secret of the server's (an admin token,
    the Redis URL) reaches a process that may import a student's code."""
    blas = {var: str(blas_threads) for var in BLAS_THREAD_VARS} if blas_threads else {}
    return {**{k: os.environ[k] for k in WORKER_ENV if k in os.environ}, **blas}


class LocalRunner(RunEngine):
    """The server's training runs, trained on this machine: start, queue, stop, poll, reload.

    runs_dir: where run folders live. max_concurrent: runs that train at once (default
    `$CAPTION_LAB_MAX_RUNS`, else the number of cores). max_per_owner: queued plus
    running runs one owner may have. nice: how much lower the workers' CPU priority is.
    blas_threads: threads each worker's BLAS may use (None: the library's default, one
    per core, which oversubscribes the cores as soon as two runs train).
    """

    def __init__(self, runs_dir: Path, *, max_concurrent: int | None = None, max_per_owner: int = MAX_PER_OWNER,
                 max_queued: int = MAX_QUEUED, nice: int = 10, blas_threads: int | None = 1,
                 python: str | None = None, stop_grace: float = STOP_GRACE_SECONDS, **options):
        self.max_concurrent = max(1, max_concurrent or int(os.environ.get(MAX_RUNS_ENV) or 0)
                                  or os.cpu_count() or 1)
        self.max_per_owner = max_per_owner
        self.max_queued = max_queued
        self.stop_grace = stop_grace
        self.nice = nice
        self.blas_threads = blas_threads
        self.python = python or sys.executable
        self.token = uuid.uuid4().hex
        self._queue: deque[str] = deque()
        self._procs: dict[str, subprocess.Popen] = {}
        _LIVE_TOKENS[self.token] = self
        super().__init__(runs_dir, **options)

    # --- starting and stopping -------------------------------------------------------

    def start(self, config: RunConfig, dataset: dict, owner: str, label: str | None = None, code=None) -> str:
        """Queue a run of `config` on `dataset` (base_dir, pca_features, is_demo); returns its id.

        With `code` (a student's `core.student.Bundle`) the run trains their own
        CaptioningRNN, confined, with Caption Lab's model beside it (see `worker`).
        Raises ValueError when the config is invalid, RunLimitError when `owner` already
        has `max_per_owner` runs queued or running or the queue is full.
        """
        with self._lock:
            mine = [r for r in self._runs.values() if r.meta["owner"] == owner and r.state in ACTIVE]
            if len(self._queue) >= self.max_queued:
                raise RunLimitError(queue_full_message(len(self._queue)))
            if len(mine) >= self.max_per_owner:
                raise RunLimitError(limit_message(len(mine), self.max_per_owner))
            run_id, run = new_run(self.runs_dir, config, dataset, owner, label, code,
                                  {"server_pid": os.getpid(), "runner": self.token, "engine": "local"})
            run.local = True
            run.history_loaded = True
            self._runs[run_id] = run
            self._queue.append(run_id)
            self._schedule()
        return run_id

    def stop(self, run_id: str, owner: str | None) -> None:
        """Stop a run between iterations (it keeps what it learned), or take it off the queue.

        `owner` None is the admin. Raises PermissionError when `owner` did not start it,
        KeyError for an unknown id.
        """
        with self._lock:
            run = self._run(run_id)
            owner_check(run, owner, "stop")
            if run_id in self._queue:
                self._queue.remove(run_id)
                self._end(run, "stopped", message("Stopped while queued; it never trained."))
            elif run.state in ACTIVE:
                run.folder.request_stop()              # a worker anywhere stops between iterations
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
                self._end(self._runs[run_id], "stopped", message("Stopped while queued: the app shut down."))
            self._queue.clear()
            procs = list(self._procs.items())
            for run_id, _ in procs:
                if run_id in self._runs:
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
                    break
            time.sleep(0.05)
        self.close()

    def capacity(self) -> Capacity:
        """Runs training here, runs queued here, and how many train at once."""
        with self._lock:
            return Capacity(running=len(self._procs), queued=len(self._queue), max_concurrent=self.max_concurrent)

    # --- the queue and the workers ---------------------------------------------------

    def _supervises(self, run: TrackedRun) -> bool:
        return run.run_id in self._procs or run.run_id in self._queue

    def _queue_position(self, run: TrackedRun) -> int | None:
        return self._queue.index(run.run_id) + 1 if run.run_id in self._queue else None

    def _schedule(self) -> None:
        """Start queued runs while there is room (holding the lock)."""
        while self._queue and len(self._procs) < self.max_concurrent:
            run = self._runs[self._queue.popleft()]
            if run.folder.stop_requested():
                self._end(run, "stopped", message("Stopped while queued; it never trained."))
                continue
            self._launch(run)

    def _launch(self, run: TrackedRun) -> None:
        self._set_status(run, status="running", started=time.time())
        try:
            log = safe_files.open_append(run.folder / "worker.log")    # never through a link left there
            try:
                proc = subprocess.Popen(worker_command(self.python, run.folder.path, self.nice),
                                        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log,
                                        env=worker_env(self.blas_threads), start_new_session=True)
            finally:
                os.close(log)
        except OSError as e:
            self._end(run, "failed", message("The training process could not start: {error}", error=str(e)))
            return
        self._procs[run.run_id] = proc
        threading.Thread(target=self._watch, args=(run, proc), name=f"run-{run.run_id}",
                         daemon=True).start()

    def _watch(self, run: TrackedRun, proc: subprocess.Popen) -> None:
        """Wait for a worker to exit; record a death it could not report; start the next run."""
        code = proc.wait()
        remove_cgroup(proc.pid, wait=2.0)       # the pids cgroup a root worker of a student's code made
        try:
            proc.stdin.close()
        except OSError:
            pass
        with self._lock:
            self._procs.pop(run.run_id, None)
            try:
                self._sync(run, force=True)
                if run.state in ACTIVE and run.forced_stop is not None:
                    grace = float(run.forced_stop)
                    self._end(run, "stopped", message(
                        "It did not stop within {seconds:.0f} s of being asked to, so it was ended. Its last "
                        "snapshot is kept.", seconds=grace) if run.folder.checkpoint() else message(
                        "It did not stop within {seconds:.0f} s of being asked to, so it was ended.",
                        seconds=grace))
                elif run.state in ACTIVE:
                    self._end(run, "failed", death_message(code, run.folder))
            finally:                            # the queue moves on even if that record failed
                self._schedule()


def death_message(code: int, folder: RunFolder) -> str:
    """Why a training process ended before its run did, for the run's message."""
    if code == -signal.SIGKILL:
        why = message("The training process was killed (signal {signal}), most likely because the machine ran "
                      "out of memory (try a smaller batch or hidden size), before the run finished.",
                      signal=-code)
    elif code < 0:
        why = message("The training process was killed (signal {signal}) before the run finished.", signal=-code)
    else:
        why = message("The training process exited with code {code} before the run finished.", code=code)
    tail = folder.log_tail()
    return message("{reason}\n\n{log}", reason=why, log=tail) if tail else why
