"""Real services on 127.0.0.1 for tests: a Redis server, RQ workers, app servers, nginx.

Each is Debian's own program (`redis-server`, `nginx`) or this project's (`python -m
explorer.runs worker`, `streamlit run`), started on a free port in a temporary folder and
stopped with its whole process group afterwards. Where a program is missing the tests
that need it skip with the reason, except in CI (`CI` set), where they fail.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.http_server import free_port

ROOT = Path(__file__).resolve().parents[2]


def need(program: str) -> str:
    """The path of `program`, or a skip (a failure in CI) saying it is missing."""
    path = shutil.which(program) or next((p for p in (f"/usr/sbin/{program}", f"/usr/bin/{program}")
                                          if Path(p).is_file()), None)
    if path is None:
        message = f"{program} is not installed (apt-get install {'redis-server' if 'redis' in program else program})"
        if os.environ.get("CI"):
            pytest.fail(f"these tests are mandatory in CI: {message}")
        pytest.skip(message)
    return path


def wait_port(port: int, timeout: float = 20.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited early with code {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing answered on port {port} within {timeout} s")


def stop(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """End a process started with start_new_session, and everything it started."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


class RedisServer:
    """`redis-server` on a free port, nothing saved to disk."""

    def __init__(self, folder: Path):
        self.folder, self.port = Path(folder), free_port()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [need("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)], stdout=open(self.folder / "redis.log", "ab"), stderr=subprocess.STDOUT,
            start_new_session=True)
        wait_port(self.port, process=self.process)

    def stop(self) -> None:
        stop(self.process)


def start_rq_worker(folder: Path, redis_url: str, runs: Path, name: str = "worker") -> subprocess.Popen:
    """`python -m explorer.runs worker` as an admin starts it, in a process group of its own."""
    env = {**os.environ, "CAPTION_LAB_REDIS_URL": redis_url, "CAPTION_LAB_RUNS": str(runs)}
    log = open(Path(folder) / f"{name}.log", "ab")
    process = subprocess.Popen([sys.executable, "-m", "explorer.runs", "worker"], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return process
