"""`python -m explorer.runs`: the admin's command line, on the local engine and on RQ."""
import json
import os
import subprocess
import sys
import time

import pytest

from core.data.demo import ensure_demo_dataset
from explorer.runs.local import LocalRunner
from explorer.runs.settings import RunConfig
from tests.support.services import ROOT, RedisServer, start_rq_worker, stop

SMALL = RunConfig(hidden_dim=32, wordvec_dim=16, num_epochs=10, snapshot_every=5)
LONG = SMALL.replace(hidden_dim=64, num_epochs=10_000)


def cli(runs, *args, redis_url=None):
    env = {**os.environ, "CAPTION_LAB_RUNS": str(runs)}
    env.pop("CAPTION_LAB_REDIS_URL", None)
    if redis_url:
        env["CAPTION_LAB_REDIS_URL"] = redis_url
    return subprocess.run([sys.executable, "-m", "explorer.runs", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def dataset():
    return {"base_dir": str(ensure_demo_dataset()), "pca_features": True, "is_demo": True}


def test_list_stop_and_delete_on_the_local_engine(tmp_path, dataset):
    runs = tmp_path / "runs"
    runner = LocalRunner(runs)
    try:
        done = runner.start(SMALL, dataset, owner="alice")
        assert runner.wait(done, timeout=120).status == "done"
        long = runner.start(LONG, dataset, owner="bob")
        listed = cli(runs, "list", "--json")
        assert listed.returncode == 0, listed.stderr
        lines = [json.loads(line) for line in listed.stdout.splitlines()]
        assert {(r["run_id"], r["owner"]) for r in lines} == {(done, "alice"), (long, "bob")}
        assert {r["status"] for r in lines} <= {"done", "queued", "running"}
        refused = cli(runs, "delete", long)                # still training
        assert refused.returncode == 1 and "stop it before deleting it" in refused.stderr
        assert cli(runs, "stop", long).returncode == 0     # bob's run, stopped by the admin
        assert runner.wait(long, timeout=60).status == "stopped"
        deadline = time.monotonic() + 30
        while runner.capacity().running and time.monotonic() < deadline:
            time.sleep(0.1)
        assert cli(runs, "delete", done).returncode == 0 and not (runs / done).exists()
        deleted = runner.deletion(done)                    # the note the owner's page reads: by the admin
        labels = {r["run_id"]: r["label"] for r in lines}
        assert (deleted.owner, deleted.by, deleted.label) == ("alice", None, labels[done])
        old = cli(runs, "delete", "--older-than", "0")
        assert old.returncode == 0 and "Deleted 1 run" in old.stdout and not (runs / long).exists()
        assert cli(runs, "list", "--json").stdout == ""
        missing = cli(runs, "stop", "no-such-run")
        assert missing.returncode == 1 and "No run 'no-such-run'" in missing.stderr
    finally:
        runner.shutdown()


def test_worker_and_submit_say_where_the_local_engine_trains(tmp_path):
    for args in (["worker"], ["submit", "--preset", "Notebook RNN overfit"]):
        done = cli(tmp_path / "runs", *args)
        assert done.returncode == 2 and "CAPTION_LAB_REDIS_URL" in done.stderr


def test_a_teacher_submits_a_preset_and_a_worker_trains_it(tmp_path):
    server = RedisServer(tmp_path / "redis")
    worker = None
    try:
        runs = tmp_path / "runs"
        submitted = cli(runs, "submit", "--preset", "Notebook RNN overfit", redis_url=server.url)
        assert submitted.returncode == 0, submitted.stderr
        run_id = submitted.stdout.strip()
        assert json.loads(cli(runs, "list", "--json", redis_url=server.url).stdout)["status"] == "queued"
        worker = start_rq_worker(tmp_path, server.url, runs)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            line = json.loads(cli(runs, "list", "--json", redis_url=server.url).stdout)
            if line["status"] == "done":
                break
            time.sleep(1)
        assert line["run_id"] == run_id and line["status"] == "done" and line["owner"] == "admin"
    finally:
        if worker is not None:
            stop(worker)
        server.stop()
