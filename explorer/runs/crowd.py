"""The app server's crowd, told to the training workers on its machine: they then keep off one core.

When a class clicks at once, the app server runs 30 pages one after the other (`explorer.serve`)
on one core's worth of Python. A training worker that shares that core, even at the lowest
CPU priority, runs whenever the server waits a moment, and leaves the server's data out of
the core's caches: a page then costs the server about a third more. So while the server is
crowded it says so (`say`), and each worker on this machine that trains into the same runs
folder moves its processes off the first core it may use (`Follower`); they keep training on
the others, and move back once the crowd has passed. A machine with one core changes nothing.

The word is the modification time of `.crowded` in the runs folder: recent (within `FRESH`
seconds) while crowded, the epoch otherwise, so a server that stops mid-crowd leaves no
worker off its core for longer than that. The file is only ever touched, never followed
through a link, and the runs folder's own listing changes once, when it is first made.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

FLAG = ".crowded"
FRESH = 10.0             # seconds a "crowded" holds without being said again
EVERY = 0.05             # seconds between a worker's looks at the flag


def say(runs_dir: Path, crowded: bool) -> None:
    """Tell the workers training into `runs_dir` whether the app server is crowded; a runs
    folder that cannot be written is left as it is."""
    path = Path(runs_dir) / FLAG
    stamp = time.time() if crowded else 0.0
    try:
        os.utime(path, (stamp, stamp), follow_symlinks=False)
    except FileNotFoundError:
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644))
            os.utime(path, (stamp, stamp), follow_symlinks=False)
        except OSError:
            pass
    except OSError:
        pass


def crowded(runs_dir: Path, now: float | None = None) -> bool:
    """Whether the app server said it is crowded within the last `FRESH` seconds."""
    try:
        said = os.stat(Path(runs_dir) / FLAG, follow_symlinks=False).st_mtime
    except OSError:
        return False
    return 0 <= (time.time() if now is None else now) - said < FRESH


def cores(spare: bool) -> set[int] | None:
    """The cores a worker may use: all this process may use, less the first when `spare`
    and there are two or more; None where the system has no CPU affinity (macOS, Windows)."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    allowed = set(_ALLOWED)
    return allowed - {min(allowed)} if spare and len(allowed) > 1 else allowed


_ALLOWED = frozenset(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else frozenset()


def pin_process_tree(pid: int, cpus: set[int]) -> None:
    """Set the CPU affinity of every thread of process `pid` and of its descendants; a
    process or thread that has ended, or may not be changed, is left as it is."""
    pending, seen = [pid], set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            threads = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for tid in threads:
            try:
                os.sched_setaffinity(int(tid), cpus)
            except (OSError, ValueError):
                pass
            try:
                with open(f"/proc/{current}/task/{tid}/children") as children:
                    pending += [int(child) for child in children.read().split()]
            except (OSError, ValueError):
                pass


class Follower:
    """A worker's side: `check()` (every `EVERY` seconds) moves this process and its
    children off the spared core while the server is crowded, and back after."""

    def __init__(self, runs_dir: Path, pid: int | None = None):
        self.runs_dir, self.pid = Path(runs_dir), pid or os.getpid()
        self.spared = False

    def check(self) -> bool:
        """Follow the server's word; whether this process now keeps off a core."""
        spare = crowded(self.runs_dir)
        if spare != self.spared:
            cpus = cores(spare)
            if cpus is not None:
                pin_process_tree(self.pid, cpus)
            self.spared = spare
        return self.spared
