"""The RQ run engine: runs queued in Redis, trained by RQ workers on any machine that sees the runs folder.

Chosen by setting `CAPTION_LAB_REDIS_URL` (for example `redis://127.0.0.1:6379/0`). Every
app server (replica) that points at the same Redis and the same runs folder (shared
storage, at the same path on every machine) sees the same runs:

- `start` reserves the run atomically in Redis (one Lua script: the owner's active runs
  under `max_per_owner`, the queue under `max_queued`, across all app servers), files its
  folder, and enqueues an RQ job (`train_job`) on the queue `caption-lab`;
- `python -m explorer.runs worker` starts a worker; each worker trains one run at a
  time, so the server-wide cap is the number of workers;
- `stop` writes the run's stop file (the worker, wherever it is, stops between
  iterations and saves) and, if it has not stopped after `stop_grace` seconds, sends RQ's
  stop-job command; a queued run is taken off the queue;
- progress, snapshots and checkpoints go to the run folder as with the local engine, and
  a worker that dies leaves its run to `refresh()`, which records it as interrupted.

If Redis cannot be reached, starting and stopping raise `EngineUnavailable` with the
address and the reason; reading saved runs from the folder goes on working.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis
from rq import Queue, Worker, get_current_job
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import StartedJobRegistry

from core.text import message
from explorer.i18n import N_
from explorer.runs import jobs
from explorer.runs.base import Capacity, EngineUnavailable, RunEngine, RunLimitError
from explorer.runs.local import (MAX_PER_OWNER, MAX_QUEUED, STOP_GRACE_SECONDS, check_config, limit_message,
                                 new_run, new_run_id, owner_check, queue_full_message)
from explorer.runs.settings import RunConfig
from explorer.runs.store import ACTIVE, TrackedRun
from explorer.runs.worker import MAX_MINUTES

QUEUE = "caption-lab"
PREFIX = "caption-lab:"
OWNER_KEY = PREFIX + "owner:{}"          # SET of the owner's queued and running run ids
PENDING_KEY = PREFIX + "pending"         # SET of runs reserved but not enqueued yet
JOB_TIMEOUT = int(MAX_MINUTES * 60 + 900)
CAPACITY_SECONDS = 1.0                   # how old the queue's counts shown on a page may be

# Reserve a place for run ARGV[1] of an owner, atomically for every app server:
# -1 the owner is at the limit, -2 the queue is full, else the owner's new count.
RESERVE = """
local mine = redis.call('SCARD', KEYS[1])
if mine >= tonumber(ARGV[2]) then return -1 end
local waiting = redis.call('LLEN', KEYS[2]) + redis.call('SCARD', KEYS[3])
if waiting >= tonumber(ARGV[3]) then return -2 end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
return mine + 1
"""


# what cannot be done while Redis is down, each in a whole sentence
UNAVAILABLE = {
    "no run can start now": N_("The run queue (Redis at {where}) cannot be reached, so no run can start now: "
                               "{error}. Saved runs still show; the admin has to start Redis again."),
    "the run could not be queued": N_("The run queue (Redis at {where}) cannot be reached, so the run could "
                                      "not be queued: {error}. Saved runs still show; the admin has to start "
                                      "Redis again."),
    "only the stop file was written (the run stops at its next iteration)": N_(
        "The run queue (Redis at {where}) cannot be reached, so only the stop file was written (the run stops "
        "at its next iteration): {error}. Saved runs still show; the admin has to start Redis again."),
    "the queue's state is unknown": N_("The run queue (Redis at {where}) cannot be reached, so the queue's "
                                       "state is unknown: {error}. Saved runs still show; the admin has to "
                                       "start Redis again."),
}


def safe_url(url: str) -> str:
    """A Redis URL without its password, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def release(connection, run_id: str, owner: str) -> None:
    """Free a run's place: out of its owner's set and out of the pending set."""
    pipe = connection.pipeline()
    pipe.srem(OWNER_KEY.format(owner), run_id)
    pipe.srem(PENDING_KEY, run_id)
    pipe.execute()


def train_job(folder: str) -> str:
    """What an RQ worker runs: train the run in `folder`, then free its owner's place."""
    connection = get_current_job().connection
    return jobs.train(folder, release=lambda run_id, owner: release(connection, run_id, owner))


class RQRunner(RunEngine):
    """Runs queued in Redis and trained by RQ workers (see the module docstring)."""

    def __init__(self, runs_dir: Path, url: str, *, max_per_owner: int = MAX_PER_OWNER, max_queued: int = MAX_QUEUED,
                 stop_grace: float = STOP_GRACE_SECONDS, queue: str = QUEUE, **options):
        self.url, self.where = url, safe_url(url)
        self.max_per_owner, self.max_queued, self.stop_grace = max_per_owner, max_queued, stop_grace
        self.redis = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self.queue = Queue(queue, connection=self.redis)
        self._reserve = self.redis.register_script(RESERVE)
        self._capacity_lock = threading.Lock()
        self._capacity: Capacity | Exception | None = None
        self._capacity_at = float("-inf")
        super().__init__(runs_dir, **options)

    def _unavailable(self, what: str, error: Exception) -> EngineUnavailable:
        """`what` is one of UNAVAILABLE's keys."""
        return EngineUnavailable(message(UNAVAILABLE[what], where=self.where, error=str(error)))

    # --- starting and stopping -------------------------------------------------------

    def start(self, config: RunConfig, dataset: dict, owner: str, label: str | None = None, code=None) -> str:
        """Reserve, file and enqueue a run; its id. ValueError for bad settings, RunLimitError
        when the owner or the queue is full, EngineUnavailable when Redis is down."""
        check_config(config)
        run_id = new_run_id()
        try:
            placed = self._reserve(keys=[OWNER_KEY.format(owner), self.queue.key, PENDING_KEY],
                                   args=[run_id, self.max_per_owner, self.max_queued])
        except redis.RedisError as e:
            raise self._unavailable("no run can start now", e) from None
        if placed == -1:
            raise RunLimitError(limit_message(self.max_per_owner, self.max_per_owner))
        if placed == -2:
            raise RunLimitError(queue_full_message(self.max_queued))
        try:
            run_id, run = new_run(self.runs_dir, config, dataset, owner, label, code, {"engine": "rq"}, run_id=run_id)
        except BaseException:
            self._release(run_id, owner)
            raise
        try:
            self.queue.enqueue_call(train_job, args=(str(run.folder.path),), job_id=run_id, timeout=JOB_TIMEOUT,
                                    result_ttl=7 * 86400, failure_ttl=7 * 86400,
                                    description=f"train {run.meta['label']}")
            self.redis.srem(PENDING_KEY, run_id)
        except redis.RedisError as e:
            self._end(run, "failed", message("The run could not be queued: Redis at {where} failed ({error}).",
                                             where=self.where, error=str(e)))
            self._release(run_id, owner)
            raise self._unavailable("the run could not be queued", e) from None
        with self._lock:
            self._runs[run_id] = run
            run.history_loaded = True
        return run_id

    def stop(self, run_id: str, owner: str | None) -> None:
        """Stop a run wherever it trains (it keeps what it learned), or take it off the queue.
        `owner` None is the admin."""
        with self._lock:
            run = self._run(run_id)
            owner_check(run, owner, "stop")
            self._sync(run, force=True)
            if run.state not in ACTIVE:
                return
            run.folder.request_stop()
            try:
                job = Job.fetch(run_id, connection=self.redis)
                status = job.get_status(refresh=True)
            except NoSuchJobError:
                job, status = None, None
            except redis.RedisError as e:
                raise self._unavailable("only the stop file was written (the run stops at its next iteration)", e) \
                    from None
            if run.state == "queued" and status is not None and status.value in ("queued", "deferred", "scheduled"):
                job.cancel()
                self._end(run, "stopped", message("Stopped while queued; it never trained."))
                return
        timer = threading.Timer(self.stop_grace, self._force_stop, args=(run_id,))
        timer.daemon = True
        timer.start()

    def _force_stop(self, run_id: str) -> None:
        """RQ's stop-job command, for a run still going `stop_grace` seconds after its stop file."""
        try:
            with self._lock:
                run = self._run(run_id)
                self._sync(run, force=True)
                if run.state not in ACTIVE:
                    return
            send_stop_job_command(self.redis, run_id)
        except (InvalidJobOperation, NoSuchJobError, KeyError, redis.RedisError):
            pass

    def shutdown(self, timeout: float = 30.0) -> None:
        """Runs belong to the workers, not to this app server: only stop following them."""
        self.close()

    # --- the engine's side of the shared machinery -------------------------------------------

    def capacity(self) -> Capacity:
        """Runs training, waiting, and the number of workers: asked of Redis at most once per
        `CAPACITY_SECONDS` per app server, however many sessions show it (each asking is a
        handful of round trips)."""
        with self._capacity_lock:
            now = time.monotonic()
            if now - self._capacity_at >= CAPACITY_SECONDS:
                try:
                    self._capacity = Capacity(running=StartedJobRegistry(queue=self.queue).count,
                                              queued=self.queue.count,
                                              max_concurrent=len(Worker.all(queue=self.queue)))
                except redis.RedisError as e:
                    self._capacity = e
                self._capacity_at = now
            if isinstance(self._capacity, Exception):
                raise self._unavailable("the queue's state is unknown", self._capacity) from None
            return self._capacity

    def _queue_position(self, run: TrackedRun) -> int | None:
        try:
            position = self.queue.get_job_position(run.run_id)
        except redis.RedisError:
            return None
        return None if position is None else position + 1

    def _queued_alive(self, run: TrackedRun) -> bool:
        try:
            job = Job.fetch(run.run_id, connection=self.redis)
            return job.get_status(refresh=True).value in ("queued", "deferred", "scheduled", "started")
        except NoSuchJobError:
            return run.run_id in self._pending()
        except redis.RedisError:
            return True                            # Redis down is not a dead run: keep it as it is

    def _pending(self) -> set[str]:
        try:
            return {m.decode() for m in self.redis.smembers(PENDING_KEY)}
        except redis.RedisError:
            return set()

    def _ended(self, run: TrackedRun) -> None:
        self._release(run.run_id, run.meta["owner"])

    def _release(self, run_id: str, owner: str) -> None:
        try:
            release(self.redis, run_id, owner)
        except redis.RedisError:
            pass
