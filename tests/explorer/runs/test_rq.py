"""The RQ engine with a real redis-server and real RQ worker processes, as a class server runs it.

Two `RQRunner`s on one runs folder and one Redis stand for two app servers (replicas).
"""
import json
import os
import signal
import threading
import time

import pytest
import redis
from rq import Worker

from core.data.demo import ensure_demo_dataset
from explorer.runs.base import EngineUnavailable, RunLimitError
from explorer.runs.rq_engine import RQRunner
from explorer.runs.settings import RunConfig
from tests.support.services import RedisServer, start_rq_worker, stop
from tests.support.waiting import wait_for

SMALL = RunConfig(hidden_dim=32, wordvec_dim=16, num_epochs=10, snapshot_every=5)   # 20 iterations
LONG = SMALL.replace(hidden_dim=64, num_epochs=10_000)                               # minutes


@pytest.fixture(scope="module")
def dataset():
    return {"base_dir": str(ensure_demo_dataset()), "pca_features": True, "is_demo": True}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = RedisServer(tmp_path_factory.mktemp("redis"))
    yield s
    s.stop()


@pytest.fixture
def cluster(server, tmp_path):
    """(make an app-side engine, start n workers): both on this test's runs folder and a clean Redis."""
    redis.Redis.from_url(server.url).flushdb()
    engines, workers = [], []

    def engine(**options):
        e = RQRunner(tmp_path / "runs", server.url, stop_grace=5.0, **options)
        engines.append(e)
        return e

    def add_workers(n):
        for _ in range(n):
            workers.append(start_rq_worker(tmp_path, server.url, tmp_path / "runs", name=f"worker-{len(workers)}"))
        deadline = time.monotonic() + 30
        probe = engine()
        while probe.capacity().max_concurrent < len(workers):
            assert time.monotonic() < deadline, "the RQ workers did not register"
            time.sleep(0.1)

    yield engine, add_workers
    for e in engines:
        for info in e.runs():
            if info.is_active:
                try:
                    e.stop(info.run_id, None)
                except Exception:
                    pass
    for w in workers:
        stop(w)
    for e in engines:
        e.close()


def test_a_run_trains_on_a_worker_and_every_server_sees_it(cluster, dataset):
    engine, add_workers = cluster
    a, b = engine(), engine()
    add_workers(1)
    run_id = a.start(SMALL, dataset, owner="me")
    info = b.wait(run_id, timeout=120)                    # followed through the other server
    assert info.status == "done" and info.iteration == SMALL.num_iterations and info.has_checkpoint
    assert len(b.history(run_id).losses) == SMALL.num_iterations
    model, _ = b.load_model(run_id)
    assert model.hidden_dim == 32


def test_a_run_started_through_one_server_is_stopped_from_the_other(cluster, dataset):
    engine, add_workers = cluster
    a, b = engine(), engine()
    add_workers(1)
    run_id = a.start(LONG, dataset, owner="me")
    wait_for(lambda: b.get(run_id).iteration > 20, what="the run to train")
    with pytest.raises(PermissionError):
        b.stop(run_id, owner="someone else")
    b.stop(run_id, owner="me")
    info = a.wait(run_id, timeout=60)
    assert info.status == "stopped" and "what it learned so far is saved" in info.message and info.has_checkpoint


def test_the_cap_is_the_number_of_workers(cluster, dataset):
    engine, add_workers = cluster
    e = engine()
    add_workers(2)
    ids = [e.start(LONG, dataset, owner=f"student-{k}") for k in range(3)]
    wait_for(lambda: [e.get(i).status for i in ids].count("running") == 2, what="two runs to train")
    time.sleep(1.0)
    statuses = [e.get(i).status for i in ids]
    assert statuses.count("running") == 2 and statuses.count("queued") == 1
    assert e.capacity().max_concurrent == 2 and e.get(ids[statuses.index("queued")]).queue_position == 1


def test_the_per_person_limit_and_the_queue_cap_hold_across_servers_under_concurrent_starts(cluster, dataset):
    engine, _ = cluster                                   # no worker: every run stays queued
    servers = [engine(max_per_owner=4, max_queued=6), engine(max_per_owner=4, max_queued=6)]
    results = []

    def start(k):
        try:
            results.append(servers[k % 2].start(SMALL, dataset, owner="same student"))
        except RunLimitError as e:
            results.append(e)

    threads = [threading.Thread(target=start, args=(k,)) for k in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    started = [r for r in results if isinstance(r, str)]
    assert len(started) == 4 and all("limit is 4 per person" in str(r) for r in results if r not in started)
    others = []
    for k in range(4):
        try:
            others.append(servers[k % 2].start(SMALL, dataset, owner=f"other-{k}"))
        except RunLimitError as e:
            others.append(e)
    assert sum(isinstance(r, str) for r in others) == 2           # 6 waiting at most, whoever asks
    assert "waiting for a core" in str(next(r for r in others if not isinstance(r, str)))


def _kill_worker(e, run_id, runs, training_too):
    """SIGKILL the RQ worker that trains `run_id`: its main process and its work horse (and the
    training process too, as when the worker's machine goes down)."""
    record = json.loads((runs / run_id / "status.json").read_text())
    for w in Worker.all(queue=e.queue):
        os.kill(w.pid, signal.SIGKILL)
    os.kill(record["horse"], signal.SIGKILL)
    if training_too:
        os.kill(record["pid"], signal.SIGKILL)


@pytest.mark.parametrize("training_too", [False, True], ids=["worker dies", "machine dies"])
def test_killing_a_worker_marks_its_run_interrupted(cluster, dataset, tmp_path, training_too):
    engine, add_workers = cluster
    e = engine()
    add_workers(1)
    run_id = e.start(LONG, dataset, owner="me")
    wait_for(lambda: e.get(run_id).checkpoint_iteration, what="the run to train and save a snapshot")
    _kill_worker(e, run_id, tmp_path / "runs", training_too)
    info = wait_for(lambda: (lambda i: i if not i.is_active else None)(e.get(run_id)), timeout=60,
                    what="the run to be recorded as ended")
    assert info.status == "interrupted", info.message
    assert info.has_checkpoint                            # what it learned is not lost


def test_redis_going_away_gives_a_clear_message_and_loses_no_saved_run(tmp_path, dataset):
    server = RedisServer(tmp_path / "redis")
    e = RQRunner(tmp_path / "runs", server.url)
    worker = start_rq_worker(tmp_path, server.url, tmp_path / "runs")
    try:
        run_id = e.start(SMALL, dataset, owner="me")
        assert e.wait(run_id, timeout=120).status == "done"
    finally:
        stop(worker)
    server.stop()
    with pytest.raises(EngineUnavailable, match=rf"Redis at redis://127.0.0.1:{server.port}/0\) cannot be reached"):
        e.start(SMALL, dataset, owner="me")
    with pytest.raises(EngineUnavailable):
        e.capacity()
    assert [i.run_id for i in e.runs()] == [run_id] and e.get(run_id).status == "done"
    e.refresh()                                           # a refresh with Redis down ends nothing
    again = RQRunner(tmp_path / "runs", server.url)      # a server started while Redis is down
    assert again.get(run_id).status == "done" and again.load_model(run_id)[0].hidden_dim == 32
    e.close()
    again.close()
