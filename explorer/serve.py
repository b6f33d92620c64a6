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
runs every message waiting by then, in order (the second, from the loop itself, is left
as it is). With a class clicking at once, 30 pages' worth of messages queue up.

`make run` and `deploy.cluster` start the app this way; plain `streamlit run
explorer/app.py` still works, only slower. If a Streamlit version no longer has a
function patched here, the app starts as plain `streamlit run` would, and says so.
"""
from __future__ import annotations

import contextvars
import socket
import sys
import threading
from collections import deque
from pathlib import Path

APP = Path(__file__).resolve().with_name("app.py")


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


def main(argv: list[str] | None = None) -> int:
    from streamlit.web import cli
    if not install():
        print("Caption Lab: this Streamlit has no _bind_socket to patch; pages answer up to 40 ms later.",
              file=sys.stderr)
    if not batch_events():
        print("Caption Lab: this Streamlit has no AppSession._call_soon_on_event_loop to patch; "
              "a class clicking at once waits longer.", file=sys.stderr)
    args = list(sys.argv[1:] if argv is None else argv)
    return cli.main(args=["run", str(APP), *args], prog_name="streamlit", standalone_mode=True)


if __name__ == "__main__":
    sys.exit(main())
