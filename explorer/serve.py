"""`python -m explorer.serve [options]`: `streamlit run explorer/app.py [options]`, without Nagle's delay.

Streamlit's server binds its listening socket as `socket.socket(family)`, protocol 0, and
asyncio turns on TCP_NODELAY only for sockets whose protocol says TCP. So on every page
the server sends its first message at once and holds the rest until the browser
acknowledges it, which a browser delays (40 ms on Linux, up to 200 ms on Windows): a
page that takes 5 ms to run arrives after 45 ms, on every click of every session.
Measured with `benchmarks.classroom_load` (the README quotes it). This launcher binds the
same socket with the TCP protocol number, so every connection gets TCP_NODELAY, then
runs Streamlit's own command line: every option of `streamlit run` works the same.

It also hands a page's messages from the script's thread to the server's event loop in
batches (`batch_events`): Streamlit schedules two event-loop callbacks per element a page
draws, each a write to the loop's wake-up socket and a loop turn; the first, from the
script's thread, now joins a batch: the first waiting message schedules one callback that
runs every message waiting by then, in order; the second, from the loop itself
(`Runtime._enqueued_some_message`: "a message is waiting, wake up and send"), now sets the
sending loop's event directly when it runs on the loop's own thread, instead of writing to
the wake-up socket once per element (`wake_directly`). With a class clicking at once, 30
pages' worth of messages queue up.

And it lets page runs take turns (`take_turns`): Streamlit starts a script thread per
session, so a class clicking at once runs 30 scripts side by side, and Python's lock
passes between 30 threads every few milliseconds, each time to a thread whose data has
left the CPU's caches; a page then costs the server about a third more CPU than alone,
and every page arrives at the end of the burst. Now one page runs at a time, in the order
the clicks came; a run that has had its turn for `LEASE` seconds (one waiting on a slow
download, say) stops counting, and the next starts beside it, so no page holds up the
class by more than that.

`make run` and `deploy.cluster` start the app this way; plain `streamlit run
explorer/app.py` still works, only slower. If a Streamlit version no longer has a
function patched here, the app starts as plain `streamlit run` would, and says so.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import socket
import sys
import threading
import time
from collections import deque
from contextlib import contextmanager
from pathlib import Path

APP = Path(__file__).resolve().with_name("app.py")
AT_ONCE, LEASE = 1, 0.1          # page runs that go at once; seconds after which a run stops counting
CROWD = 2                        # page runs waiting that make a crowd (until none waits or runs)


def tcp_socket(sock: socket.socket) -> socket.socket:
    """The same bound, listening socket, re-labelled with protocol TCP (no new bind: the
    file descriptor moves over), so that asyncio sets TCP_NODELAY on its connections."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto == socket.IPPROTO_TCP:
        return sock
    timeout = sock.gettimeout()
    fixed = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    fixed.settimeout(timeout)
    fixed.set_inheritable(True)
    return fixed


def install() -> bool:
    """Patch Streamlit's socket binding (see the module docstring); whether it could be."""
    try:
        from streamlit.web.server.starlette import starlette_server as server
    except ImportError:
        return False
    bind = getattr(server, "_bind_socket", None)
    if bind is None or getattr(bind, "caption_lab_nodelay", False):
        return bind is not None

    def bind_with_nodelay(*args, **kwargs):
        return tcp_socket(bind(*args, **kwargs))

    bind_with_nodelay.caption_lab_nodelay = True
    server._bind_socket = bind_with_nodelay
    return True


class LoopBatches:
    """Callbacks for event loops from other threads, run in batches: `call_soon(loop, fn)`
    schedules one loop callback for everything queued for `loop` until it runs, which
    then calls each in the order they came, each in the context it was queued from (as
    `call_soon_threadsafe` does). An exception in one is reported to the loop's exception
    handler, as asyncio reports a callback's, and the rest still run; SystemExit and
    KeyboardInterrupt propagate, as in asyncio, with the rest put back for a later turn."""

    def __init__(self):
        self._lock = threading.Lock()
        self._waiting: dict[object, deque] = {}          # loop -> (context, callback) not yet run

    def call_soon(self, loop, callback) -> None:
        with self._lock:
            queue = self._waiting.get(loop)
            first = queue is None
            if first:
                queue = self._waiting[loop] = deque()
            queue.append((contextvars.copy_context(), callback))
        if first:
            self._schedule(loop)

    def _schedule(self, loop) -> None:
        try:
            loop.call_soon_threadsafe(self._run, loop)
        except BaseException:                            # a closed loop (RuntimeError): nothing
            with self._lock:                             # stays queued for it
                self._waiting.pop(loop, None)
            raise

    def _run(self, loop) -> None:
        with self._lock:
            queue = self._waiting.pop(loop, deque())
        while queue:
            context, callback = queue.popleft()
            try:
                context.run(callback)
            except (SystemExit, KeyboardInterrupt):
                if queue:
                    with self._lock:
                        later = self._waiting.get(loop)
                        self._waiting[loop] = queue
                        if later:
                            queue.extend(later)
                    if not later:
                        self._schedule(loop)
                raise
            except BaseException as error:               # noqa: BLE001 - as asyncio's Handle reports it
                loop.call_exception_handler({"message": "Exception in a batched callback",
                                             "exception": error})


def batch_events() -> bool:
    """Patch Streamlit's AppSession to send its script runners' events to the event loop
    in batches (see the module docstring); whether it could be."""
    try:
        from streamlit.runtime.app_session import AppSession
    except ImportError:
        return False
    schedule = getattr(AppSession, "_call_soon_on_event_loop", None)    # it calls self._event_loop's
    if schedule is None:                                                # call_soon_threadsafe
        return False
    if getattr(schedule, "caption_lab_batches", False):
        return True
    batches = LoopBatches()

    def call_soon_in_batches(self, callback) -> None:
        try:
            batches.call_soon(self._event_loop, callback)
        except RuntimeError:
            if not self._event_loop.is_closed():
                raise                                    # Streamlit drops events only for a closed loop

    call_soon_in_batches.caption_lab_batches = True
    AppSession._call_soon_on_event_loop = call_soon_in_batches
    return True


def wake_directly() -> bool:
    """Patch Streamlit's Runtime so that "a message is waiting" (`_enqueued_some_message`),
    when it is said on the event loop's own thread, sets the sending loop's event there and
    then, as the scheduled callback would have a moment later; from any other thread it is
    scheduled as before (`call_soon_threadsafe`). Whether it could be patched."""
    try:
        from streamlit.runtime.runtime import Runtime
    except ImportError:
        return False
    enqueued = getattr(Runtime, "_enqueued_some_message", None)
    if enqueued is None or not hasattr(Runtime, "_get_async_objs"):
        return False
    if getattr(enqueued, "caption_lab_direct", False):
        return True

    def enqueued_some_message(self) -> None:
        objects = self._get_async_objs()
        if asyncio._get_running_loop() is objects.eventloop:     # on the loop's thread, running
            objects.need_send_data.set()
        else:
            objects.eventloop.call_soon_threadsafe(objects.need_send_data.set)

    enqueued_some_message.caption_lab_direct = True
    Runtime._enqueued_some_message = enqueued_some_message
    return True


class _Ticket:
    __slots__ = ("wake", "admitted")

    def __init__(self):
        self.wake, self.admitted = threading.Event(), False


class Turns:
    """At most `at_once` holders at a time, admitted in the order they asked (`with
    turns.turn(): ...`); a holder that has had its turn for `lease` seconds no longer
    counts, so the next one in line goes beside it. `on_crowd(True)` is called when
    `crowd` wait at once, `on_crowd(False)` when, after that, none waits or holds a turn;
    one call at a time, each saying the latest state."""

    def __init__(self, at_once: int = AT_ONCE, lease: float = LEASE, crowd: int = CROWD,
                 on_crowd=None, clock=time.monotonic):
        if at_once < 1 or not lease > 0 or crowd < 1:
            raise ValueError(f"Turns needs at_once >= 1, lease > 0 and crowd >= 1, "
                             f"not {at_once}, {lease} and {crowd}")
        self.at_once, self.lease, self.crowd, self._clock = at_once, lease, crowd, clock
        self._on_crowd = on_crowd
        self._lock = threading.Lock()
        self._waiting: deque[_Ticket] = deque()
        self._holding: dict[_Ticket, float] = {}        # ticket -> when its turn began
        self._crowded = self._told = False
        self._telling = threading.Lock()                # one on_crowd call at a time

    @contextmanager
    def turn(self):
        ticket = _Ticket()
        try:
            with self._lock:
                self._waiting.append(ticket)
                self._admit()
                self._crowded = self._crowded or len(self._waiting) >= self.crowd
            self._tell()
            while not ticket.admitted:
                with self._lock:                         # only the first in line watches the clock
                    timeout = self._until_a_lease_ends() if self._waiting and self._waiting[0] is ticket else None
                ticket.wake.wait(timeout)
                with self._lock:
                    ticket.wake.clear()
                    self._admit()
        except BaseException:                            # interrupted while waiting: out of the line
            with self._lock:
                if ticket in self._waiting:
                    was_first = self._waiting[0] is ticket
                    self._waiting.remove(ticket)
                    if was_first and self._waiting:
                        self._waiting[0].wake.set()
                else:
                    self._holding.pop(ticket, None)
                    self._admit()
                self._crowded = self._crowded and bool(self._waiting or self._holding)
            self._tell()
            raise
        try:
            yield
        finally:
            with self._lock:
                del self._holding[ticket]
                self._admit()
                self._crowded = self._crowded and bool(self._waiting or self._holding)
            self._tell()

    @property
    def crowded(self) -> bool:
        return self._crowded

    def _tell(self) -> None:
        if self._on_crowd is None or self._told == self._crowded:
            return
        with self._telling:
            crowded = self._crowded
            if crowded != self._told:
                self._told = crowded
                try:
                    self._on_crowd(crowded)
                except Exception:                        # noqa: BLE001 - never a page's problem
                    logging.getLogger(__name__).exception("on_crowd(%s) failed", crowded)

    def _counting(self, now: float) -> list[float]:
        return [began for began in self._holding.values() if now - began < self.lease]

    def _until_a_lease_ends(self) -> float | None:
        now = self._clock()
        counting = self._counting(now)
        return max(0.0, min(counting) + self.lease - now) if counting else None

    def _admit(self) -> None:
        """Give turns to the first in line while fewer than `at_once` count; wake the new first."""
        now, admitted = self._clock(), False
        while self._waiting and len(self._counting(now)) < self.at_once:
            ticket = self._waiting.popleft()
            ticket.admitted, self._holding[ticket] = True, now
            ticket.wake.set()
            admitted = True
        if admitted and self._waiting:
            self._waiting[0].wake.set()                  # to start watching the clock


def _tell_the_workers(crowded: bool) -> None:
    from core.paths import runs_dir
    from explorer.runs import crowd
    crowd.say(runs_dir(), crowded)


def take_turns(turns: Turns | None = None) -> bool:
    """Patch Streamlit's ScriptRunner so that page runs take turns (see the module
    docstring); whether it could be."""
    try:
        from streamlit.runtime.scriptrunner.script_runner import ScriptRunner
    except ImportError:
        return False
    run_script = getattr(ScriptRunner, "_run_script", None)
    if run_script is None:
        return False
    if getattr(run_script, "caption_lab_turns", False):
        return True
    turns = turns or Turns(on_crowd=_tell_the_workers)

    def run_script_in_turn(self, rerun_data) -> None:
        with turns.turn():
            run_script(self, rerun_data)

    run_script_in_turn.caption_lab_turns = True
    ScriptRunner._run_script = run_script_in_turn
    return True


def main(argv: list[str] | None = None) -> int:
    from streamlit.web import cli
    if not install():
        print("Caption Lab: this Streamlit has no _bind_socket to patch; pages answer up to 40 ms later.",
              file=sys.stderr)
    if not batch_events():
        print("Caption Lab: this Streamlit has no AppSession._call_soon_on_event_loop to patch; "
              "a class clicking at once waits longer.", file=sys.stderr)
    if not take_turns():
        print("Caption Lab: this Streamlit has no ScriptRunner._run_script to patch; "
              "a class clicking at once waits longer.", file=sys.stderr)
    if not wake_directly():
        print("Caption Lab: this Streamlit has no Runtime._enqueued_some_message to patch; "
              "a class clicking at once waits longer.", file=sys.stderr)
    args = list(sys.argv[1:] if argv is None else argv)
    return cli.main(args=["run", str(APP), *args], prog_name="streamlit", standalone_mode=True)


if __name__ == "__main__":
    sys.exit(main())
