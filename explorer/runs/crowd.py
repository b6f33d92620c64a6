"""The app server's crowd, told to the training workers on its machine: they then keep off one core.

When a class clicks at once, the app server runs 30 pages one after the other
(`explorer.turns`) on one core's worth of Python. A training worker that shares that core,
even at the lowest CPU priority, runs whenever the server waits a moment, and leaves the
server's data out of the core's caches: a page then costs the server about a third more.
So while a server is crowded it says so (`say`), and each worker on the same machine that
trains into the same runs folder moves its processes off the first core it may use
(`Follower`); they keep training on the others, and move back once no server on the
machine has been crowded for `CALM` seconds. A machine with one core changes nothing.

Each server says it by setting the modification time of its own file,
`.crowd/<host>.<pid>` in the runs folder, to the last moment it was crowded: several
servers sharing a folder never overwrite each other's word, and a worker reads only its
own machine's files, so no two machines' clocks are compared. A server that stops
mid-crowd leaves no worker off its core for longer than `CALM`. No file is ever followed
through a link; a day-old file of a server long gone is removed once there are many.
"""
from __future__ import annotations

import os
import socket
import stat
import time
from pathlib import Path

FOLDER = ".crowd"
CALM = 1.0               # seconds after a server's last crowded moment that its workers stay off the core
EVERY = 0.05             # seconds between a worker's looks at the word
REWALK = 1.0             # seconds between a spared worker's re-pinnings (its new threads, new children)
KEEP = 64                # a crowd folder with more files than this drops those a day old


def _host() -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in socket.gethostname())[:64] or "host"


def say(runs_dir: Path, when: float | None = None) -> None:
    """Tell the workers training into `runs_dir` that this server is crowded now (or was at
    `when`, a `time.time()`); a runs folder that cannot be written is left as it is."""
    folder = Path(runs_dir) / FOLDER
    path = folder / f"{_host()}.{os.getpid()}"
    stamp = time.time() if when is None else when
    for _attempt in range(2):
        try:
            os.utime(path, (stamp, stamp), follow_symlinks=False)
            return
        except FileNotFoundError:
            pass
        except OSError:
            return
        try:
            if not _is_folder(folder):
                os.mkdir(folder, 0o755)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644))
            _tidy(folder)                                 # a new server: drop those long gone
        except FileExistsError:
            pass                                          # made meanwhile: touch it on the next attempt
        except OSError:
            return


def crowded(runs_dir: Path, now: float | None = None) -> bool:
    """Whether a server on this machine said it was crowded within the last `CALM` seconds."""
    folder = Path(runs_dir) / FOLDER
    mine = _host() + "."
    now = time.time() if now is None else now
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith(mine):
                    try:
                        said = entry.stat(follow_symlinks=False).st_mtime
                    except OSError:
                        continue
                    if 0 <= now - said < CALM:
                        return True
    except OSError:
        pass
    return False


def _is_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _tidy(folder: Path) -> None:
    """Drop the files of servers long gone, once the folder holds more than `KEEP`."""
    try:
        entries = list(os.scandir(folder))
        if len(entries) <= KEEP:
            return
        for entry in entries:
            if time.time() - entry.stat(follow_symlinks=False).st_mtime > 86400:
                os.unlink(entry.path)
    except OSError:
        pass


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
    children off the spared core while a server on this machine is crowded, and back after;
    while spared it pins again every `REWALK` seconds, for threads and children started since."""

    def __init__(self, runs_dir: Path, pid: int | None = None, clock=time.monotonic):
        self.runs_dir, self.pid, self._clock = Path(runs_dir), pid or os.getpid(), clock
        self.spared, self._pinned = False, 0.0

    def check(self) -> bool:
        """Follow the servers' word; whether this process now keeps off a core."""
        spare = crowded(self.runs_dir)
        now = self._clock()
        if spare != self.spared or (spare and now - self._pinned >= REWALK):
            cpus = cores(spare)
            if cpus is not None:
                pin_process_tree(self.pid, cpus)
            self.spared, self._pinned = spare, now
        return self.spared
