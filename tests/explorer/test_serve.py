"""Tests for explorer/serve.py: the app's connections get TCP_NODELAY (Streamlit's own are without it),
a page's events go to the event loop in batches, page runs take turns."""
from __future__ import annotations

import asyncio
import socket
import time

from explorer import serve
from tests.support.waiting import run_coroutine, wait_for


def bound_as_streamlit_binds() -> socket.socket:
    """A listening socket made the way Streamlit's `_bind_socket` makes it: protocol 0."""
    sock = socket.socket(family=socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    return sock


def nodelay_of_accepted(sock: socket.socket) -> int:
    """TCP_NODELAY on the server's side of one connection accepted by an asyncio server on `sock`
    (what uvicorn does with the socket Streamlit hands it)."""
    async def main() -> int:
        accepted = asyncio.get_running_loop().create_future()

        def connected(reader, writer):
            accepted.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(connected, sock=sock)
        port = sock.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        value = await asyncio.wait_for(accepted, 10)
        writer.close()
        server.close()
        await server.wait_closed()
        return value

    return run_coroutine(main())


def test_a_socket_bound_as_streamlit_binds_it_leaves_nagle_on():
    assert nodelay_of_accepted(bound_as_streamlit_binds()) == 0        # the delay explorer.serve removes


def test_relabelled_as_tcp_its_connections_get_nodelay_and_it_keeps_its_address():
    plain = bound_as_streamlit_binds()
    address = plain.getsockname()
    fixed = serve.tcp_socket(plain)
    assert fixed.proto == socket.IPPROTO_TCP and fixed.getsockname() == address and not fixed.getblocking()
    assert nodelay_of_accepted(fixed) == 1


def test_install_patches_streamlits_binding_once(monkeypatch):
    from streamlit.web.server.starlette import starlette_server
    monkeypatch.setattr(starlette_server, "_bind_socket", starlette_server._bind_socket)   # restored after
    assert serve.install() and serve.install()
    patched = starlette_server._bind_socket
    assert patched.caption_lab_nodelay and serve.install() and starlette_server._bind_socket is patched
    sock = patched("127.0.0.1", 0, 8)
    try:
        assert sock.proto == socket.IPPROTO_TCP and nodelay_of_accepted(sock) == 1
    finally:
        sock.close()


# --- events in batches ---------------------------------------------------------------

def test_batched_callbacks_from_many_threads_all_run_in_order_with_few_loop_turns():
    """Eight threads each queue 500 callbacks for one loop: every callback runs once, each
    thread's in the order it queued them, on the loop's thread, in far fewer loop callbacks
    than callbacks."""
    import threading

    batches = serve.LoopBatches()

    async def main():
        loop = asyncio.get_running_loop()
        seen, turns, threads_seen = [], [0], set()
        scheduled = loop.call_soon_threadsafe

        def counting(callback, *args):                   # the loop callbacks the batches schedule
            turns[0] += 1
            return scheduled(callback, *args)

        loop.call_soon_threadsafe = counting

        def record(sender, k):
            seen.append((sender, k))
            threads_seen.add(threading.get_ident())

        def send(sender):
            for k in range(500):
                batches.call_soon(loop, lambda k=k: record(sender, k))

        senders = [threading.Thread(target=send, args=(s,)) for s in range(8)]
        for thread in senders:
            thread.start()
        deadline = loop.time() + 30
        while (any(thread.is_alive() for thread in senders) or len(seen) < 4000) and loop.time() < deadline:
            await asyncio.sleep(0.01)
        return seen, turns[0], threads_seen, threading.get_ident()

    seen, turns, threads_seen, loop_thread = run_coroutine(main())
    assert len(seen) == 4000 and len(set(seen)) == 4000
    for sender in range(8):
        assert [k for s, k in seen if s == sender] == list(range(500))
    assert threads_seen == {loop_thread}
    assert 1 <= turns < 4000


def test_a_failing_callback_is_reported_and_the_rest_of_its_batch_still_runs():
    batches = serve.LoopBatches()

    async def main():
        loop = asyncio.get_running_loop()
        reported, ran = [], []
        loop.set_exception_handler(lambda _loop, context: reported.append(context["exception"]))

        def fail():
            raise ValueError("a page's event went wrong")

        batches.call_soon(loop, lambda: ran.append(1))
        batches.call_soon(loop, fail)
        batches.call_soon(loop, lambda: ran.append(3))
        await asyncio.sleep(0.05)
        return reported, ran

    reported, ran = run_coroutine(main())
    assert ran == [1, 3]
    assert len(reported) == 1 and isinstance(reported[0], ValueError)


def test_a_closed_loop_refuses_and_a_later_loop_still_gets_its_batches():
    import pytest

    batches = serve.LoopBatches()
    closed = asyncio.new_event_loop()
    closed.close()
    for _ in range(2):                                   # nothing stays queued for it: refused again
        with pytest.raises(RuntimeError):
            batches.call_soon(closed, lambda: None)

    async def main():
        ran = []
        batches.call_soon(asyncio.get_running_loop(), lambda: ran.append("after"))
        await asyncio.sleep(0.05)
        return ran

    assert run_coroutine(main()) == ["after"]


def test_batch_events_patches_app_session_once_and_drops_events_for_a_closed_loop(monkeypatch):
    from streamlit.runtime.app_session import AppSession

    monkeypatch.setattr(AppSession, "_call_soon_on_event_loop", AppSession._call_soon_on_event_loop)
    original = AppSession._call_soon_on_event_loop
    assert serve.batch_events() and serve.batch_events()
    patched = AppSession._call_soon_on_event_loop
    assert patched is not original and patched.caption_lab_batches
    assert serve.batch_events() and AppSession._call_soon_on_event_loop is patched

    class Session:                                       # what the patched method reads of an AppSession
        pass

    session = Session()
    session._event_loop = asyncio.new_event_loop()
    session._event_loop.close()
    patched(session, lambda: None)                       # dropped, as Streamlit drops it: no error

    async def main():
        ran = []
        session._event_loop = asyncio.get_running_loop()
        patched(session, lambda: ran.append("sent"))
        await asyncio.sleep(0.05)
        return ran

    assert run_coroutine(main()) == ["sent"]


def test_each_batched_callback_runs_in_the_context_it_was_queued_from():
    import contextvars

    batches = serve.LoopBatches()
    who = contextvars.ContextVar("who", default="loop")

    async def main():
        loop = asyncio.get_running_loop()
        seen = []

        def queue_as(name):
            who.set(name)
            batches.call_soon(loop, lambda: seen.append(who.get()))
            batches.call_soon(loop, lambda: who.set("changed by " + name))

        for name in ("first page", "second page"):
            contextvars.copy_context().run(queue_as, name)
        await asyncio.sleep(0.05)
        return seen, who.get()

    assert run_coroutine(main()) == (["first page", "second page"], "loop")


def test_a_keyboard_interrupt_propagates_and_the_rest_of_its_batch_runs_on_a_later_turn():
    import pytest

    from concurrent.futures import ThreadPoolExecutor

    batches = serve.LoopBatches()
    ran = []

    def interrupt():
        raise KeyboardInterrupt

    def run_twice():             # in a thread of its own: a browser test may keep the main thread's loop
        loop = asyncio.new_event_loop()
        try:
            for callback in (lambda: ran.append(1), interrupt, lambda: ran.append(3), lambda: ran.append(4)):
                batches.call_soon(loop, callback)
            with pytest.raises(KeyboardInterrupt):
                loop.run_until_complete(asyncio.sleep(0.01))
            assert ran == [1]
            batches.call_soon(loop, lambda: ran.append(5))
            loop.run_until_complete(asyncio.sleep(0.01))
            assert ran == [1, 3, 4, 5]
        finally:
            loop.close()

    with ThreadPoolExecutor(1) as thread:
        thread.submit(run_twice).result()


# --- page runs take turns --------------------------------------------------------------

def start_in_line(turns, name, log, hold):
    """A thread that takes a turn, notes when it got it and let it go, and holds it until `hold` is set."""
    import threading

    def take():
        with turns.turn():
            log.append(("in", name, time.monotonic()))
            hold.wait(10)
            log.append(("out", name, time.monotonic()))

    thread = threading.Thread(target=take, name=name, daemon=True)
    thread.start()
    return thread


def line_length(turns):
    return len(turns._waiting)


def test_turns_go_one_at_a_time_in_the_order_they_were_asked_for():
    import threading

    turns = serve.Turns(at_once=1, lease=3600)
    log, holds, threads = [], {}, []
    for name in "abcde":
        holds[name] = threading.Event()
        threads.append(start_in_line(turns, name, log, holds[name]))
        wait_for(lambda: log or line_length(turns) == len(threads) - 1, what=f"{name} in line")
    for name in "abcde":
        wait_for(lambda: ("in", name) in [(kind, who) for kind, who, _ in log], what=f"{name}'s turn")
        assert [who for kind, who, _ in log if kind == "in"][-1] == name
        holds[name].set()
    for thread in threads:
        thread.join(10)
    assert [(kind, who) for kind, who, _ in log] == [(k, n) for n in "abcde" for k in ("in", "out")]


def test_a_turn_held_past_its_lease_lets_the_next_one_go_beside_it():
    import threading

    turns = serve.Turns(at_once=1, lease=0.2)
    log, slow, quick = [], threading.Event(), threading.Event()
    quick.set()
    first = start_in_line(turns, "slow", log, slow)
    wait_for(lambda: log, what="the slow one's turn")
    second = start_in_line(turns, "quick", log, quick)
    second.join(10)
    began = {who: at for kind, who, at in log if kind == "in"}
    assert ("out", "quick") in [(kind, who) for kind, who, _ in log] and ("out", "slow") not in [
        (kind, who) for kind, who, _ in log]                     # it went while the slow one still held
    assert began["quick"] - began["slow"] >= 0.2 - 0.01           # not before the lease ran out
    slow.set()
    first.join(10)


def test_one_interrupted_while_waiting_leaves_the_line_and_the_rest_still_go():
    import threading

    armed = threading.Event()

    def clock():
        if armed.is_set() and threading.current_thread().name == "b":
            armed.clear()
            raise KeyboardInterrupt                               # in b, while it waits its turn
        return time.monotonic()

    turns = serve.Turns(at_once=1, lease=3600, clock=clock)
    log, hold_a, go = [], threading.Event(), threading.Event()
    go.set()
    errors = []
    a = start_in_line(turns, "a", log, hold_a)
    wait_for(lambda: log, what="a's turn")

    def b_waits():
        try:
            with turns.turn():
                log.append(("in", "b", 0))
        except KeyboardInterrupt:
            errors.append("b")

    armed.set()
    b = threading.Thread(target=b_waits, name="b", daemon=True)
    b.start()
    b.join(10)
    c = start_in_line(turns, "c", log, go)
    wait_for(lambda: line_length(turns) == 1, what="c in line")
    hold_a.set()
    for thread in (a, c):
        thread.join(10)
    assert errors == ["b"] and [who for kind, who, _ in log if kind == "in"] == ["a", "c"]
    assert line_length(turns) == 0 and not turns._holding


def test_a_crowd_is_said_once_when_it_forms_and_once_when_it_has_passed():
    import threading

    said = []
    turns = serve.Turns(at_once=1, lease=3600, crowd=2, on_crowd=said.append)
    log, hold, threads = [], threading.Event(), []
    threads.append(start_in_line(turns, "a", log, hold))
    wait_for(lambda: log, what="a's turn")
    threads.append(start_in_line(turns, "b", log, hold))
    wait_for(lambda: line_length(turns) == 1, what="b in line")
    assert said == [] and not turns.crowded                      # one waiting is no crowd
    threads.append(start_in_line(turns, "c", log, hold))
    wait_for(lambda: said, what="the crowd said")
    assert said == [True] and turns.crowded
    hold.set()
    for thread in threads:
        thread.join(10)
    assert said == [True, False] and not turns.crowded


def test_turns_refuse_nonsense():
    import pytest

    for options in ({"at_once": 0}, {"lease": 0}, {"lease": float("nan")}, {"crowd": 0}):
        with pytest.raises(ValueError):
            serve.Turns(**options)


def test_take_turns_patches_the_script_runner_once_and_runs_scripts_in_turn(monkeypatch):
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

    ran = []
    monkeypatch.setattr(ScriptRunner, "_run_script", lambda self, data: ran.append(data))   # restored after
    turns = serve.Turns(at_once=1, lease=3600)
    assert serve.take_turns(turns) and serve.take_turns()
    patched = ScriptRunner._run_script
    assert patched.caption_lab_turns and serve.take_turns() and ScriptRunner._run_script is patched
    patched(None, "rerun data")
    assert ran == ["rerun data"] and not turns._holding and not turns._waiting


def test_wake_directly_sets_the_send_event_at_once_on_the_loop_and_later_from_another_thread(monkeypatch):
    import threading
    from types import SimpleNamespace

    from streamlit.runtime.runtime import Runtime

    monkeypatch.setattr(Runtime, "_enqueued_some_message", Runtime._enqueued_some_message)
    assert serve.wake_directly() and serve.wake_directly()
    patched = Runtime._enqueued_some_message
    assert patched.caption_lab_direct

    async def main():
        objects = SimpleNamespace(eventloop=asyncio.get_running_loop(), need_send_data=asyncio.Event())
        runtime = SimpleNamespace(_get_async_objs=lambda: objects)
        patched(runtime)
        on_the_loop = objects.need_send_data.is_set()            # no turn of the loop in between
        objects.need_send_data.clear()
        thread = threading.Thread(target=patched, args=(runtime,))
        thread.start()
        thread.join(10)
        from_a_thread_before = objects.need_send_data.is_set()   # scheduled, not yet run
        await asyncio.wait_for(objects.need_send_data.wait(), 10)
        return on_the_loop, from_a_thread_before

    assert run_coroutine(main()) == (True, False)
