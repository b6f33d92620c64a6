"""Tests for explorer/runs/crowd.py: the app server's word, and workers that keep off its core."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

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


def test_the_word_holds_for_a_moment_after_it_is_said(tmp_path):
    assert not crowd.crowded(tmp_path)                              # never said
    crowd.say(tmp_path)
    assert crowd.crowded(tmp_path)
    assert not crowd.crowded(tmp_path, now=time.time() + crowd.CALM + 0.1)   # calm since, or a server gone
    crowd.say(tmp_path, when=time.time() - crowd.CALM - 1)          # its crowd passed a while ago
    assert not crowd.crowded(tmp_path)
    listed = os.stat(tmp_path / crowd.FOLDER).st_mtime_ns
    crowd.say(tmp_path)
    assert crowd.crowded(tmp_path) and os.stat(tmp_path / crowd.FOLDER).st_mtime_ns == listed   # touched only


def test_each_server_says_it_in_a_file_of_its_own_and_only_this_machine_is_heard(tmp_path):
    folder = tmp_path / crowd.FOLDER
    crowd.say(tmp_path, when=time.time() - 60)                      # this server: calm
    other = folder / f"{crowd._host()}.{os.getpid() + 1}"           # another server on this machine
    other.touch()
    assert crowd.crowded(tmp_path)                                  # its word is not overwritten by ours
    os.utime(other, (1, 1))
    assert not crowd.crowded(tmp_path)
    (folder / "another-machine.42").touch()                         # crowded elsewhere: not our cores
    assert not crowd.crowded(tmp_path)


def test_saying_it_never_follows_a_link_nor_fails_on_a_folder_it_cannot_write(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("x")
    os.utime(target, (1000, 1000))
    runs = tmp_path / "runs"
    (runs / crowd.FOLDER).mkdir(parents=True)
    (runs / crowd.FOLDER / f"{crowd._host()}.{os.getpid()}").symlink_to(target)
    crowd.say(runs)
    assert os.stat(target).st_mtime == 1000
    crowd.say(tmp_path / "missing" / "runs")                        # nothing there to write: no error
    assert not crowd.crowded(tmp_path / "missing" / "runs")


def test_files_of_servers_long_gone_are_dropped_once_there_are_many(tmp_path):
    folder = tmp_path / crowd.FOLDER
    folder.mkdir()
    for pid in range(crowd.KEEP + 1):
        (folder / f"{crowd._host()}.{10_000_000 + pid}").touch()
        os.utime(folder / f"{crowd._host()}.{10_000_000 + pid}", (1, 1))
    (folder / "recent.1").touch()
    crowd.say(tmp_path)                                             # a new server's first word
    assert sorted(p.name for p in folder.iterdir()) == sorted(["recent.1", f"{crowd._host()}.{os.getpid()}"])


def test_cores_spare_the_first_only_when_there_is_another():
    assert crowd.cores(False) == ALL
    assert crowd.cores(True) == SPARED


@pytest.mark.skipif(len(ALL) < 2, reason="one CPU: a worker has no core to keep off")
def test_a_follower_moves_its_process_tree_off_the_core_and_back(tmp_path):
    script = "import subprocess, sys, threading, time\n" \
             "threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n" \
             "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n" \
             "print(child.pid, flush=True); time.sleep(60)\n"
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = None
    try:
        child = int(parent.stdout.readline())
        follower = crowd.Follower(tmp_path, parent.pid)
        assert not follower.check()
        assert affinity_of_every_thread(parent.pid) == [ALL, ALL]
        crowd.say(tmp_path)
        assert follower.check()
        assert affinity_of_every_thread(parent.pid) == [SPARED, SPARED]
        assert affinity_of_every_thread(child) == [SPARED]
        crowd.say(tmp_path, when=time.time() - crowd.CALM - 1)
        assert not follower.check()
        assert affinity_of_every_thread(parent.pid) + affinity_of_every_thread(child) == [ALL, ALL, ALL]
    finally:
        if child:
            try:
                os.kill(child, 9)                                   # before its parent, which would orphan it
            except ProcessLookupError:
                pass
        parent.kill()
        parent.wait()


@pytest.mark.skipif(len(ALL) < 2, reason="one CPU: a worker has no core to keep off")
def test_a_training_worker_keeps_off_the_core_while_the_server_is_crowded(tmp_path):
    dataset = {"base_dir": str(ensure_demo_dataset()), "pca_features": True, "is_demo": True}
    runner = LocalRunner(tmp_path / "runs")
    calm, crowded = threading.Event(), threading.Event()

    def server():                                                   # says it while crowded, as Turns does
        while not calm.wait(0.2):
            if crowded.is_set():
                crowd.say(tmp_path / "runs")

    talking = threading.Thread(target=server, daemon=True)
    talking.start()
    try:
        run_id = runner.start(RunConfig(hidden_dim=32, wordvec_dim=16, num_epochs=10_000), dataset, owner="alice")
        wait_for(lambda: runner.get(run_id).iteration >= 3, what="the run training")
        pid = RunFolder(tmp_path / "runs" / run_id).status()["pid"]
        assert all(cpus == ALL for cpus in affinity_of_every_thread(pid))
        crowded.set()
        wait_for(lambda: all(cpus == SPARED for cpus in affinity_of_every_thread(pid)), timeout=10,
                 what="the worker off the first core")
        before = runner.get(run_id).iteration
        wait_for(lambda: runner.get(run_id).iteration > before + 3, what="training on meanwhile")
        assert all(cpus == SPARED for cpus in affinity_of_every_thread(pid))   # still, while it lasts
        crowded.clear()
        wait_for(lambda: all(cpus == ALL for cpus in affinity_of_every_thread(pid)), timeout=10,
                 what="the worker back on every core")
    finally:
        calm.set()
        runner.shutdown()
