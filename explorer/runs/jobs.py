"""The job an RQ worker runs for one training run: the same worker process the local engine starts.

`train(folder)` is what `RQRunner.start` enqueues. It marks the run running, starts
`python -m explorer.runs.worker FOLDER` in a session of its own (so an RQ stop or a
killed work horse does not kill it mid-write: its stdin closes and it stops between
iterations, saving what it learned), waits for it, records an ending it could not write
itself, and frees the owner's slot in Redis. It returns the run's final status.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from core import safe_files
from core.student.walls import remove_cgroup
from core.text import message
from explorer.runs.local import death_message, worker_command, worker_env
from explorer.runs.store import ACTIVE, RunFolder

NICE = 10


def train(folder: str, release=None) -> str:
    """Train the run in `folder`; `release(run_id, owner)` is called once it has ended."""
    run = RunFolder(Path(folder))
    meta = run.meta() or {}
    record = run.status() or {}
    try:
        if run.stop_requested():
            run.write_status(**{**record, "status": "stopped", "finished": time.time(),
                                "message": message("Stopped while queued; it never trained.")})
            return "stopped"
        run.write_status(**{**record, "status": "running", "started": time.time(), "host": socket.gethostname(),
                            "engine": "rq", "horse": os.getpid()})
        log = safe_files.open_append(run / "worker.log")     # never through a link an earlier try left
        try:
            proc = subprocess.Popen(worker_command(sys.executable, run.path, NICE), stdin=subprocess.PIPE,
                                    stdout=subprocess.DEVNULL, stderr=log, env=worker_env(1),
                                    start_new_session=True)
        finally:
            os.close(log)
        code = proc.wait()
        remove_cgroup(proc.pid, wait=2.0)       # the pids cgroup a root worker of a student's code made
        final = run.status() or {}
        if final.get("status") in ACTIVE:
            run.write_status(**{**final, "status": "failed", "finished": time.time(),
                                "message": death_message(code, run)})
        return (run.status() or {}).get("status", "failed")
    finally:
        if release is not None:
            release(run.run_id, meta.get("owner", ""))
