"""The sandbox: each task in a confined child, and every way a child can end reported as data.

The confinement tests need Landlock and a network namespace, which Linux gives here; where
the kernel lacks them they skip with the reason, except in CI, where they must run.
"""
import os
import signal
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from core.student import wire
from core.student.confine import landlock_abi
from core.student.sandbox import Limits, Task, run_tasks


def run(tmp_path, *functions, seconds=2.0, parallel=2, **limits):
    tasks = [Task(f.__name__, f) for f in functions]
    return {o.key: o for o in run_tasks(tasks, tmp_path / "work", Limits(seconds=seconds, **limits),
                                        roots=[tmp_path], parallel=parallel)}


def needs_landlock():
    if landlock_abi() < 1:
        if os.environ.get("CI"):
            pytest.fail("the sandbox tests are mandatory in CI, and this kernel has no Landlock")
        pytest.skip("this kernel has no Landlock")


def test_data_comes_back_and_the_stage_is_reported(tmp_path):
    def answer(channel):
        channel.stage("counting")
        return {"x": np.arange(4.0), "pair": (1, None), "name": "ok", "nan": float("nan")}

    outcome = run(tmp_path, answer)["answer"]
    assert outcome.kind == "ok" and outcome.stage == "counting"
    assert np.array_equal(outcome.value["x"], np.arange(4.0))
    assert outcome.value["pair"] == (1, None) and outcome.value["name"] == "ok"
    assert np.isnan(outcome.value["nan"])


def test_every_way_of_ending_is_told_apart(tmp_path):
    def loops(channel):
        channel.stage("looping")
        while True:
            pass

    def exits(channel):
        os._exit(3)

    def segfaults(channel):
        import ctypes
        ctypes.string_at(0)

    def allocates(channel):
        return np.ones(40_000_000_000 // 8)

    def raises(channel):
        raise ValueError("boom")

    outcomes = run(tmp_path, loops, exits, segfaults, allocates, raises, seconds=1.5)
    assert outcomes["loops"].kind == "timeout" and outcomes["loops"].stage == "looping"
    assert outcomes["exits"].kind == "died" and outcomes["exits"].exit == "exit code 3"
    assert outcomes["segfaults"].kind == "died" and "SIGSEGV" in outcomes["segfaults"].exit
    assert outcomes["allocates"].kind == "memory"
    assert outcomes["allocates"].error["type"] in ("MemoryError", "_ArrayMemoryError")
    assert outcomes["raises"].kind == "error" and outcomes["raises"].error["message"] == "boom"


def test_output_is_captured_and_truncated(tmp_path):
    def prints(channel):
        print("y" * 3_000_000)
        return "done"

    outcome = run(tmp_path, prints, output_bytes=1000)["prints"]
    assert outcome.kind == "ok" and outcome.value == "done"
    assert outcome.output_size == 3_000_001
    assert outcome.output.startswith("y" * 1000) and "more bytes not shown" in outcome.output


def test_a_task_cannot_write_outside_its_folder(tmp_path):
    needs_landlock()
    outside = tmp_path / "outside.txt"

    def writes(channel):
        Path("inside.txt").write_text("fine")            # its own folder is writable
        outside.write_text("not fine")

    outcome = run(tmp_path, writes)["writes"]
    assert outcome.kind == "error" and outcome.error["type"] == "PermissionError"
    assert not outside.exists()
    assert outcome.sandbox["files"].startswith("Landlock")


def test_a_task_has_no_network(tmp_path):
    needs_landlock()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(10)
    accepted = []
    threading.Thread(target=lambda: accepted.append(_accept(server)), daemon=True).start()
    port = server.getsockname()[1]

    def connects(channel):
        socket.create_connection(("127.0.0.1", port), timeout=2)
        return "connected"

    outcome = run(tmp_path, connects)["connects"]
    server.close()
    assert outcome.kind == "error", outcome.value
    assert outcome.error["type"] in ("PermissionError", "OSError", "ConnectionRefusedError")
    assert accepted in ([], [None])


def _accept(server):
    try:
        return server.accept()
    except OSError:
        return None


def test_a_task_cannot_kill_the_process_that_started_it(tmp_path):
    needs_landlock()
    me = os.getpid()

    def kills(channel):
        os.kill(me, signal.SIGKILL)                      # its own pid namespace: no such process there
        return "alive"

    def kills_its_parent(channel):
        os.kill(os.getppid(), signal.SIGKILL)            # the first process of a pid namespace has none
        return "alive"

    outcomes = run(tmp_path, kills, kills_its_parent)    # this test process is still here to see it
    assert outcomes["kills"].kind == "error"
    assert outcomes["kills"].error["type"] in ("PermissionError", "ProcessLookupError")
    assert outcomes["kills_its_parent"].kind in ("ok", "error")      # signal 0 is its own group: pid 1 ignores it
    assert os.getpid() == me


def test_tasks_run_side_by_side_and_come_back_in_order(tmp_path):
    def first(channel):
        import time
        time.sleep(0.3)
        return 1

    def second(channel):
        return 2

    outcomes = run_tasks([Task("first", first), Task("second", second)], tmp_path / "w", Limits(seconds=5),
                         roots=[tmp_path], parallel=2)
    assert [o.key for o in outcomes] == ["first", "second"] and [o.value for o in outcomes] == [1, 2]


def test_wire_never_unpickles_and_says_what_did_not_cross():
    class Thing:
        pass

    blob = wire.encode({"object": Thing(), "objects": np.array([Thing()], dtype=object), "ok": [1.5, "a"]})
    value = wire.decode(blob)
    assert isinstance(value["object"], wire.Opaque) and value["object"].type_name == "Thing"
    assert isinstance(value["objects"], wire.Opaque) and "object" in value["objects"].why
    assert value["ok"] == [1.5, "a"]
