"""Tests for explorer/runs/crowd.py: the app server's word, and workers that keep off its core."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from core.data.demo import ensure_demo_dataset
from explorer.runs import crowd
from explorer.runs.local import LocalRunner
from explorer.runs.settings import RunConfig
from explorer.runs.store import RunFolder
from tests.support.waiting import wait_for

ALL = set(os.sched_getaffinity(0))
SPARED = ALL - {min(ALL)} if len(ALL) > 1 else ALL     # one core: nothing to spare, nothing changes


def affinity_of_every_thread(pid: int) -> list[set[int]]:
    return [os.sched_getaffinity(int(tid)) for tid in os.listdir(f"/proc/{pid}/task")]


def test_the_word_is_said_taken_back_and_goes_stale(tmp_path):
    assert not crowd.crowded(tmp_path)                              # never said
    crowd.say(tmp_path, True)
    assert crowd.crowded(tmp_path)
    assert not crowd.crowded(tmp_path, now=time.time() + crowd.FRESH + 1)   # a server gone mid-crowd
    listed = os.stat(tmp_path).st_mtime_ns
    crowd.say(tmp_path, False)
    assert not crowd.crowded(tmp_path)
    crowd.say(tmp_path, True)
    assert crowd.crowded(tmp_path) and os.stat(tmp_path).st_mtime_ns == listed   # the folder's listing kept


def test_saying_it_never_follows_a_link_nor_fails_on_a_folder_it_cannot_write(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("x")
    os.utime(target, (1000, 1000))
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / crowd.FLAG).symlink_to(target)
    crowd.say(runs, True)
    assert os.stat(target).st_mtime == 1000
    crowd.say(tmp_path / "missing" / "runs", True)                  # nothing there to write: no error
    assert not crowd.crowded(tmp_path / "missing" / "runs")


def test_cores_spare_the_first_only_when_there_is_another():
    assert crowd.cores(False) == ALL
    assert crowd.cores(True) == SPARED


def test_a_follower_moves_its_process_tree_off_the_core_and_back(tmp_path):
    script = "import subprocess, sys, threading, time\n" \
             "threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n" \
             "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n" \
             "print(child.pid, flush=True); time.sleep(60)\n"
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        follower = crowd.Follower(tmp_path, parent.pid)
        assert not follower.check()
        assert affinity_of_every_thread(parent.pid) == [ALL, ALL]
        crowd.say(tmp_path, True)
        assert follower.check()
        assert affinity_of_every_thread(parent.pid) == [SPARED, SPARED]
        assert affinity_of_every_thread(child) == [SPARED]
        crowd.say(tmp_path, False)
        assert not follower.check()
        assert affinity_of_every_thread(parent.pid) + affinity_of_every_thread(child) == [ALL, ALL, ALL]
    finally:
        parent.kill()
        parent.wait()
        subprocess.run(["pkill", "-P", str(parent.pid)], check=False)


def test_a_training_worker_keeps_off_the_core_while_the_server_is_crowded(tmp_path):
    dataset = {"base_dir": str(ensure_demo_dataset()), "pca_features": True, "is_demo": True}
    runner = LocalRunner(tmp_path / "runs")
    try:
        run_id = runner.start(RunConfig(hidden_dim=32, wordvec_dim=16, num_epochs=10_000), dataset, owner="alice")
        wait_for(lambda: runner.get(run_id).iteration >= 3, what="the run training")
        pid = RunFolder(tmp_path / "runs" / run_id).status()["pid"]
        assert all(cpus == ALL for cpus in affinity_of_every_thread(pid))
        crowd.say(tmp_path / "runs", True)
        wait_for(lambda: all(cpus == SPARED for cpus in affinity_of_every_thread(pid)), timeout=10,
                 what="the worker off the first core")
        before = runner.get(run_id).iteration
        wait_for(lambda: runner.get(run_id).iteration > before + 3, what="training on meanwhile")
        crowd.say(tmp_path / "runs", False)
        wait_for(lambda: all(cpus == ALL for cpus in affinity_of_every_thread(pid)), timeout=10,
                 what="the worker back on every core")
    finally:
        runner.shutdown()
