"""Run tasks that call a student's code, each in a forked child behind `confine`'s walls.

    outcomes = run_tasks([Task("rnn_forward", work)], workdir, Limits(seconds=5))

Each task runs in two processes of its own. The first, forked from the (single-threaded)
checker, which is itself a fresh `python -I` with nothing of the server's (see `client`),
starts a session, enters new user, network, pid and mount namespaces
(`walls.enter_namespaces`), mounts a small tmpfs on its folder (`walls.own_tmp`) and forks
the second, the first process of the new pid namespace, then waits for it and ends the
same way it did. When that second process ends, or the first is killed, the kernel kills
every process in the namespace: nothing the code forks outlives its task. The second
reads nothing from stdin, writes stdout and stderr into a pipe the parent drains (the
first `Limits.output_bytes` are kept, the rest only counted), is confined
(`confine.confine`: no network, reads only the Python installation, Caption Lab's `core`
and the student's files, writes only in its own folder, no socket, soft = hard limits on
memory, CPU, files and processes), then calls the task's function. The function reports progress with
`Channel.stage(text)` and returns plain data (numbers, strings, numeric arrays, lists,
dicts), which comes back through a second pipe as `wire` bytes, never as pickle.

The parent runs up to `parallel` children at once from one thread (no threads, so forking
is safe), kills a child's whole process group when its time is up, and tells how each
ended: `ok` (its data), `error` (an exception, its traceback trimmed to the student's
files, and the data gathered so far), `memory` (MemoryError, or killed as the kernel
kills a process out of memory), `timeout` (with the stage it was in) or `died` (os._exit,
a signal such as a segfault: with the exit code or the signal's name).
"""
from __future__ import annotations

import faulthandler
import os
import resource
import select
import signal
import struct
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..text import message
from . import walls, wire
from .confine import confine

MAX_ANSWER_BYTES = 96 << 20
MAGIC = b"\x00CL\x7f"                   # starts every packet: bytes the code wrote into the pipe are skipped


@dataclass(frozen=True)
class Limits:
    """What one task may use."""

    seconds: float = 10.0               # wall-clock time
    memory_mb: int = 2048               # address space on top of the checker's own
    output_bytes: int = 8_000           # of stdout and stderr, kept for the report
    tmp_mb: int = 64                    # the task's own folder, a tmpfs of this size
    processes: int = 64                 # processes and threads of the checker's user (RLIMIT_NPROC)


@dataclass(frozen=True)
class Task:
    """One child's work: `run(channel)` returns the data to send back."""

    key: str
    run: Callable[["Channel"], object]
    limits: Limits | None = None        # this task's own limits, else run_tasks'


@dataclass
class Outcome:
    """How one task ended."""

    key: str
    kind: str                           # ok, error, memory, timeout, died
    value: object = None                # what run() returned (ok), or the data gathered so far
    error: dict | None = None           # type, message, traceback (list of frames), student (bool)
    exit: str | None = None             # how the process ended, for died/timeout
    stage: str | None = None            # the last stage the task reported
    output: str = ""                    # stdout + stderr, truncated
    output_size: int = 0                # bytes printed in all
    seconds: float = 0.0
    sandbox: dict = field(default_factory=dict)   # what confine() applied


class Channel:
    """The child's side of the result pipe: stages while it works, then one answer."""

    def __init__(self, fd: int):
        self.fd = fd
        self.data: dict = {}             # filled by the task as it goes, sent even after an error
        self.sandbox: dict = {}

    def _send(self, kind: bytes, body: bytes) -> None:
        packet = MAGIC + kind + struct.pack("!I", len(body)) + body
        view = memoryview(packet)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]

    def stage(self, text: str) -> None:
        """Say what the task is doing now (a timeout report names the last one)."""
        self._send(b"S", text.encode()[:500])

    def walls(self, applied: dict) -> None:
        """Say which walls stand, before any of the student's code runs (a timeout still tells)."""
        self._send(b"W", wire.encode(applied))

    def answer(self, value) -> None:
        self._send(b"R", wire.encode(value))


# --- the child ------------------------------------------------------------------------------

def describe_exception(error: BaseException, roots: list[Path]) -> dict:
    """An exception as data: its type, message and the traceback's frames in `roots` only
    (the student's files), or its last frame when none is (the error surfaced elsewhere)."""
    frames = traceback.extract_tb(error.__traceback__)
    root_texts = [str(r) + os.sep for r in roots]
    own = [f for f in frames if any(f.filename.startswith(r) for r in root_texts)]

    def show(frame) -> dict:
        name = frame.filename
        for r in root_texts:
            if name.startswith(r):
                name = name[len(r):]
        return {"file": name, "line": frame.lineno, "function": frame.name, "code": frame.line or ""}

    text = str(error)
    if isinstance(error, SyntaxError) and error.lineno:
        text = f"{error.msg} (line {error.lineno})"
    return {"type": type(error).__name__, "message": text[:2000],
            "traceback": [show(f) for f in (own or frames[-1:])], "student": bool(own)}


CORE = Path(__file__).resolve().parents[1]          # Caption Lab's core, which the checks import
# whether the checker (root, whom RLIMIT_NPROC does not bind) put itself and so every task it
# starts into a pids cgroup (`walls.pids_cgroup`, set by `supervise`)
PIDS_CGROUP = False


def _middle(task: Task, limits: Limits, folder: Path, roots: list[Path], result_fd: int, output_fd: int) -> None:
    """The task's first process: namespaces and the tmpfs, then the second process; it ends
    as that one did (the same exit code, or killed by the same signal). It never returns."""
    code = 71
    try:
        os.setsid()
        namespaces = walls.enter_namespaces()
        tmp = "mount" in namespaces and walls.own_tmp(folder, limits.tmp_mb)
        os.chdir(folder)
        pid = os.fork()
        if pid == 0:
            _child(task, limits, folder, roots, result_fd, output_fd, namespaces, tmp)
        os.close(result_fd)
        os.close(output_fd)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            signal.signal(number, signal.SIG_DFL)
            os.kill(os.getpid(), number)
            code = 128 + number
        else:
            code = os.WEXITSTATUS(status)
    except BaseException:
        pass
    finally:
        os._exit(code)


def _child(task: Task, limits: Limits, folder: Path, roots: list[Path], result_fd: int,
           output_fd: int, namespaces: list[str], tmp: bool) -> None:
    """Everything the process that runs the student's code does; it never returns."""
    code = 0
    channel = Channel(result_fd)
    try:
        walls.die_with_parent()                    # the first process killed: this one, and all it started
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        os.close(output_fd)
        os.close(null)
        os.closerange(3, result_fd)                # nothing of the checker's (other tasks' pipes) but
        os.closerange(result_fd + 1, 1 << 16)      # its own answer pipe
        # print() must reach those descriptors even where sys.stdout was replaced (pytest, a notebook)
        sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False)
        sys.stderr = open(2, "w", encoding="utf-8", errors="replace", closefd=False)
        faulthandler.enable(file=sys.stderr)       # a segfault's Python traceback goes into the output
        os.chdir(folder)
        for name in ("HOME", "TMPDIR", "MPLCONFIGDIR"):
            os.environ[name] = str(folder)
        import tempfile
        tempfile.tempdir = str(folder)
        try:                                       # out of memory, the kernel ends the student's code first
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write("1000")
        except OSError:
            pass
        channel.sandbox = confine([folder], readable=[*roots, CORE], namespaces=namespaces,
                                  memory_bytes=limits.memory_mb << 20, cpu_seconds=limits.seconds + 1,
                                  processes=limits.processes)
        channel.sandbox["tmp_mb"] = limits.tmp_mb if tmp else 0
        channel.sandbox["processes_by"] = "RLIMIT_NPROC" if os.getuid() != 0 else "pids cgroup" \
            if PIDS_CGROUP else ""
        channel.walls(channel.sandbox)
        value = task.run(channel)
        _flush()
        channel.answer({"kind": "ok", "value": value, "sandbox": channel.sandbox})
    except BaseException as e:        # the student's code may raise anything, SystemExit too
        _flush()
        kind = "memory" if isinstance(e, MemoryError) else "error"
        try:
            channel.answer({"kind": kind, "error": describe_exception(e, roots), "value": channel.data,
                            "sandbox": channel.sandbox})
        except BaseException:
            code = 70
    finally:
        os._exit(code)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


# --- the parent -----------------------------------------------------------------------------

@dataclass
class _Job:
    task: Task
    limits: Limits
    pid: int
    result_fd: int | None
    output_fd: int | None
    started: float
    result: bytearray = field(default_factory=bytearray)
    output: bytearray = field(default_factory=bytearray)
    output_size: int = 0
    exit_status: int | None = None
    exited_at: float | None = None


def _signal_name(number: int) -> str:
    try:
        return f"signal {number} ({signal.Signals(number).name})"
    except ValueError:
        return f"signal {number}"


def _messages(buffer: bytearray) -> list[tuple[bytes, bytes]]:
    """The complete (kind, body) packets in `buffer`, in order: anything else the student's
    code wrote into the pipe (it is the code's process's own descriptor) is skipped."""
    found, at, head = [], 0, len(MAGIC) + 5
    while True:
        at = buffer.find(MAGIC, at)
        if at < 0 or len(buffer) - at < head:
            return found
        kind = bytes(buffer[at + len(MAGIC):at + len(MAGIC) + 1])
        (size,) = struct.unpack("!I", buffer[at + len(MAGIC) + 1:at + head])
        if kind in (b"S", b"R", b"W") and len(buffer) - at - head >= size:
            found.append((kind, bytes(buffer[at + head:at + head + size])))
            at += head + size
        else:
            at += 1


def _finish(job: _Job, timed_out: bool) -> Outcome:
    seconds = time.monotonic() - job.started
    output = job.output.decode(errors="replace")
    if job.output_size > len(job.output):
        output += f"\n… ({job.output_size - len(job.output):,} more bytes not shown)"
    outcome = Outcome(job.task.key, "died", output=output, output_size=job.output_size, seconds=seconds)
    answer = None
    for kind, body in _messages(job.result):
        if kind == b"S":
            outcome.stage = body.decode(errors="replace")
        elif kind == b"W":
            try:
                walls_ = wire.decode(body)
                outcome.sandbox = walls_ if isinstance(walls_, dict) else {}
            except Exception:
                pass
        elif kind == b"R":
            try:
                answer = wire.decode(body)
            except Exception as e:         # a child that wrote rubbish into its own pipe
                outcome.error = {"type": "BadAnswer", "message": f"unreadable answer: {e}",
                                 "traceback": [], "student": False}
    status = job.exit_status
    if timed_out:
        outcome.kind = "timeout"
        outcome.exit = message("stopped after {seconds:g} s", seconds=job.limits.seconds)
    elif isinstance(answer, dict) and answer.get("kind") in ("ok", "error", "memory"):
        outcome.kind = answer["kind"]
        outcome.value = answer.get("value")
        outcome.error = answer.get("error")
        outcome.sandbox = answer.get("sandbox") or outcome.sandbox
    elif status is not None and os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        outcome.kind = "memory" if number == signal.SIGKILL else "died"
        outcome.exit = (message("{signal}, most likely out of memory", signal=_signal_name(number))
                        if number == signal.SIGKILL else _signal_name(number))
        if number == signal.SIGXCPU:
            outcome.kind, outcome.exit = "timeout", message("used more than {seconds:g} s of CPU time",
                                                            seconds=job.limits.seconds)
    elif status is not None:
        outcome.exit = message("exit code {code}", code=os.WEXITSTATUS(status))
    return outcome


def _start(task: Task, limits: Limits, workdir: Path, roots: list[Path], index: int) -> _Job:
    folder = workdir / f"{index:02d}-{''.join(c if c.isalnum() else '_' for c in task.key)[:40]}"
    folder.mkdir(parents=True, exist_ok=True)
    result_r, result_w = os.pipe()
    output_r, output_w = os.pipe()
    _flush()
    pid = os.fork()
    if pid == 0:                                      # the child
        os.close(result_r)
        os.close(output_r)
        _middle(task, limits, folder, roots, result_w, output_w)
    os.close(result_w)
    os.close(output_w)
    for fd in (result_r, output_r):
        os.set_blocking(fd, False)
    return _Job(task, limits, pid, result_r, output_r, time.monotonic())


def _kill(job: _Job) -> None:
    for target in (lambda: os.killpg(job.pid, signal.SIGKILL), lambda: os.kill(job.pid, signal.SIGKILL)):
        try:
            target()
        except (ProcessLookupError, PermissionError):
            pass


def _read(job: _Job, fd: int) -> bool:
    """Read what is there; False at end of file."""
    try:
        chunk = os.read(fd, 1 << 16)
    except BlockingIOError:
        return True
    except OSError:
        chunk = b""
    if not chunk:
        return False
    if fd == job.result_fd:
        job.result += chunk
        if len(job.result) > MAX_ANSWER_BYTES:
            _kill(job)
            return False
    else:
        job.output_size += len(chunk)
        room = job.limits.output_bytes - len(job.output)
        if room > 0:
            job.output += chunk[:room]
    return True


def _close(job: _Job, which: str) -> None:
    fd = getattr(job, which)
    if fd is not None:
        os.close(fd)
        setattr(job, which, None)


def run_tasks(tasks: list[Task], workdir: Path, limits: Limits, *, roots: list[Path],
              parallel: int = 1, on_done: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Run every task in its own confined child, `parallel` at a time; outcomes in task order.

    `roots` are the folders of the student's files (tracebacks keep their frames only).
    `on_done` hears each outcome as soon as it is known.
    """
    workdir = Path(workdir)
    walls.libc()                                  # looked up once, here, not in every child
    pending = list(enumerate(tasks))
    running: list[tuple[int, _Job]] = []
    done: dict[int, Outcome] = {}
    while pending or running:
        while pending and len(running) < max(1, parallel):
            index, task = pending.pop(0)
            running.append((index, _start(task, task.limits or limits, workdir, roots, index)))
        fds = [fd for _, job in running for fd in (job.result_fd, job.output_fd) if fd is not None]
        now = time.monotonic()
        wait = min(job.started + job.limits.seconds for _, job in running) - now
        if fds:
            ready, _, _ = select.select(fds, [], [], max(0.0, min(wait, 0.05)))
        else:
            ready = []
            time.sleep(max(0.0, min(wait, 0.01)))
        for _, job in running:
            for which in ("result_fd", "output_fd"):
                fd = getattr(job, which)
                if fd is not None and fd in ready and not _read(job, fd):
                    _close(job, which)
        still = []
        for index, job in running:
            if job.exit_status is None:
                pid, status = os.waitpid(job.pid, os.WNOHANG)
                if pid:
                    job.exit_status, job.exited_at = status, time.monotonic()
            now = time.monotonic()
            pipes_open = job.result_fd is not None or job.output_fd is not None
            # a child that exited may have left a grandchild holding its pipes: give it 0.2 s
            finished = job.exit_status is not None and (not pipes_open or now - job.exited_at > 0.2)
            timed_out = not finished and now > job.started + job.limits.seconds
            if finished or timed_out:
                _kill(job)
                if job.exit_status is None:
                    _, job.exit_status = os.waitpid(job.pid, 0)
                for which in ("result_fd", "output_fd"):
                    fd = getattr(job, which)
                    if fd is not None:
                        while _read(job, fd) and getattr(job, which) is not None:
                            try:
                                if not select.select([fd], [], [], 0)[0]:
                                    break
                            except (OSError, ValueError):
                                break
                        _close(job, which)
                outcome = _finish(job, timed_out)
                done[index] = outcome
                if on_done is not None:
                    on_done(outcome)
            else:
                still.append((index, job))
        running = still
    return [done[i] for i in range(len(tasks))]
