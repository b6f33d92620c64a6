"""Tests for explorer/serve.py: the app's connections get TCP_NODELAY (Streamlit's own are without it),
a page's events go to the event loop in batches, page runs take turns."""
from __future__ import annotations

import asyncio
import socket
import sys
import threading
import time

import pytest

from explorer import serve
from explorer.turns import Turns
from tests.support.waiting import run_coroutine, wait_for


def bound_as_streamlit_binds() -> socket.socket:
    """A listening socket made the way Streamlit's `_bind_socket` makes it: protocol 0."""
    sock = socket.socket(family=socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    return sock


def nodelay_of_accepted(sock: socket.socket, loop_factory=None) -> int:
    """TCP_NODELAY on the server's side of one connection accepted by an asyncio server on `sock`
    (what uvicorn does with the socket Streamlit hands it), on a loop from `loop_factory`
    (asyncio's own by default)."""
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

    return run_coroutine(main(), loop_factory)


def test_a_socket_bound_as_streamlit_binds_it_leaves_nagle_on():
    assert nodelay_of_accepted(bound_as_streamlit_binds()) == 0        # the delay explorer.serve removes


def test_relabelled_as_tcp_its_connections_get_nodelay_and_it_keeps_its_address():
    plain = bound_as_streamlit_binds()
    address = plain.getsockname()
    fixed = serve.tcp_socket(plain)
    assert fixed.proto == socket.IPPROTO_TCP and fixed.getsockname() == address and not fixed.getblocking()
    assert nodelay_of_accepted(fixed) == 1


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop has no Windows build: Streamlit runs asyncio's loop there")
def test_streamlit_serves_on_uvloop_whose_connections_all_get_nodelay():
    """requirements.txt asks for `streamlit[performance]`: Streamlit's server loop is then uvloop's
    (with httptools and orjson, about an eighth of a page run's server CPU less), and uvloop
    turns TCP_NODELAY on even for a socket bound as Streamlit binds it."""
    import uvloop
    from streamlit.web import bootstrap
    assert bootstrap._get_uvloop_loop_factory() is uvloop.new_event_loop
    assert nodelay_of_accepted(bound_as_streamlit_binds(), uvloop.new_event_loop) == 1


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


# --- page runs take turns (explorer/turns.py has the line itself) -------------------------

class Runner:
    """Stands in for a ScriptRunner: the patched methods use only its __dict__ and the originals."""


def test_take_turns_patches_the_script_runner_once_and_runs_scripts_in_turn(monkeypatch):
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

    ran = []
    monkeypatch.setattr(ScriptRunner, "_run_script", lambda self, data: ran.append(data))   # restored after
    monkeypatch.setattr(ScriptRunner, "request_stop", lambda self: None)
    turns = Turns(at_once=1, lease=3600)
    assert serve.take_turns(turns) and serve.take_turns()
    patched = ScriptRunner._run_script
    assert patched.caption_lab_turns and serve.take_turns() and ScriptRunner._run_script is patched
    runner = Runner()
    patched(runner, "rerun data")
    assert ran == ["rerun data"] and not turns._holding and not turns._waiting
    assert "_caption_lab_ticket" not in runner.__dict__
    ScriptRunner.request_stop(runner)                   # stopped after its run: nothing to excuse
    assert not turns._holding and not turns._waiting


def test_a_runner_stopped_while_it_waits_its_turn_runs_at_once_to_its_stop(monkeypatch):
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

    hold, ran, stopped = threading.Event(), [], []

    def run_script(self, data):
        ran.append(data)
        if data == "first":
            hold.wait(30)

    monkeypatch.setattr(ScriptRunner, "_run_script", run_script)
    monkeypatch.setattr(ScriptRunner, "request_stop", lambda self: stopped.append(self))
    turns = Turns(at_once=1, lease=3600)
    assert serve.take_turns(turns)
    first, second = Runner(), Runner()
    threads = [threading.Thread(target=ScriptRunner._run_script, args=(first, "first"), daemon=True)]
    threads[0].start()
    wait_for(lambda: ran == ["first"], timeout=10, poll=0.005, what="the first run")
    threads.append(threading.Thread(target=ScriptRunner._run_script, args=(second, "second"), daemon=True))
    threads[1].start()
    wait_for(lambda: len(turns._waiting) == 1, timeout=10, poll=0.005, what="the second in line")
    ScriptRunner.request_stop(second)                   # its browser clicked again, or left
    assert stopped == [second]                          # Streamlit's own stop request still made
    threads[1].join(10)
    assert ran == ["first", "second"] and not threads[1].is_alive()   # while the first still runs
    hold.set()
    threads[0].join(10)
    assert not turns._holding and not turns._waiting


def test_a_runner_stopped_before_it_took_a_ticket_does_not_wait_in_line(monkeypatch):
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

    hold, ran = threading.Event(), []

    def run_script(self, data):
        ran.append(data)
        if data == "first":
            hold.wait(30)

    monkeypatch.setattr(ScriptRunner, "_run_script", run_script)
    monkeypatch.setattr(ScriptRunner, "request_stop", lambda self: None)
    turns = Turns(at_once=1, lease=3600)
    assert serve.take_turns(turns)
    first, stopped = Runner(), Runner()
    holder = threading.Thread(target=ScriptRunner._run_script, args=(first, "first"), daemon=True)
    holder.start()
    wait_for(lambda: ran == ["first"], timeout=10, poll=0.005, what="the first run")
    ScriptRunner.request_stop(stopped)                  # before its thread reached its turn
    late = threading.Thread(target=ScriptRunner._run_script, args=(stopped, "stopped"), daemon=True)
    late.start()
    late.join(10)
    assert ran == ["first", "stopped"] and not late.is_alive()
    hold.set()
    holder.join(10)
    assert not turns._holding and not turns._waiting


def test_a_crowded_server_gathers_messages_before_it_wakes_the_loop():
    gather = [0.0]
    batches = serve.LoopBatches(gather=lambda: gather[0])

    async def main():
        loop, ran = asyncio.get_running_loop(), []
        gather[0] = 0.2
        started = loop.time()
        batches.call_soon(loop, lambda: ran.append(loop.time() - started))
        await asyncio.sleep(0.02)
        batches.call_soon(loop, lambda: ran.append(loop.time() - started))   # joins the same batch
        await asyncio.sleep(0.6)
        gathered = list(ran)
        gather[0], ran[:] = 0.0, []
        started = loop.time()
        batches.call_soon(loop, lambda: ran.append(loop.time() - started))
        await asyncio.sleep(0.1)
        return gathered, list(ran)

    gathered, at_once = run_coroutine(main())
    assert len(gathered) == 2 and abs(gathered[0] - gathered[1]) < 0.01 and gathered[0] >= 0.2 - 0.01   # one batch
    assert len(at_once) == 1 and at_once[0] < 0.15               # not held for 0.2 s


def test_remember_arg_names_reads_a_signature_once_and_still_skips_underscored_arguments(monkeypatch):
    from streamlit.runtime.caching import cache_utils

    looked_up = []
    original = cache_utils._get_positional_arg_name

    def counting(func, index):
        looked_up.append((func.__name__, index))
        return original(func, index)

    monkeypatch.setattr(cache_utils, "_get_positional_arg_name", counting)   # restored after
    assert serve.remember_arg_names() and serve.remember_arg_names()
    remembered = cache_utils._get_positional_arg_name
    assert remembered.caption_lab_remembered

    def cached(key, _model, *rest):
        return key

    assert [remembered(cached, i) for i in range(3)] * 2 == ["key", "_model", None] * 2
    assert looked_up == [("cached", 0), ("cached", 1), ("cached", 2)]
    method = Runner().__init__                          # a bound method: remembered or not, right
    assert remembered(method, 0) == original(method, 0)


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


KEYED_WIDGETS = """
import streamlit as st
st.session_state.setdefault("plain", 3)
st.session_state.setdefault("blank", None)
st.session_state.setdefault("$$STREAMLIT_INTERNAL_KEY_hidden", 1)
st.number_input("n", key="n", value=None)
st.radio("r", ["a", "b"], key="r")
st.selectbox("keyless", ["x", "y"])
st.text_input("t", key="t")
st.slider("s", 0, 10, key="s")
st.date_input("d", key="d", value=None)
st.selectbox("preset", ["p", "q"], key="preset")
st.write(f"preset={st.session_state.preset!r} n={st.session_state.n!r}")
"""


def one_key_patched(monkeypatch):
    """Install look_up_one_key, to be undone after the test."""
    import importlib
    for name in serve.KEY_READERS:
        module = importlib.import_module(f"streamlit.elements.widgets.{name}")
        monkeypatch.setattr(module, "get_session_state", module.get_session_state)
    assert serve.look_up_one_key() and serve.look_up_one_key()        # twice: wrapped once


def test_one_key_view_answers_as_the_whole_filtered_state_would(monkeypatch):
    from streamlit.testing.v1 import AppTest
    one_key_patched(monkeypatch)
    at = AppTest.from_string(KEYED_WIDGETS).run()
    assert not at.exception
    at.radio(key="r").set_value("b").run()
    safe = at.session_state._state
    whole = safe.filtered_state
    view = serve._WidgetSessionState(safe).filtered_state
    widget_ids = [k for k in safe._state._keys() if k.startswith("$$ID")]
    assert {"plain", "blank", "n", "r", "t", "s", "d", "preset"} <= set(whole) and len(widget_ids) == 7     # six keyed, one not
    asked = [*whole, *widget_ids, "$$STREAMLIT_INTERNAL_KEY_hidden", "absent", ""]
    for key in asked:
        assert (key in view) == (key in whole), key
        if key in whole:
            assert view[key] == whole[key], key
        else:
            try:
                view[key]
                raise AssertionError(f"{key!r} should be missing")
            except KeyError:
                pass
    assert whole["r"] == "b" and whole["n"] is None and dict(view) == whole and len(view) == len(whole)
    assert 5 not in view


def test_widgets_keep_a_none_in_their_key_with_one_key_look_ups(monkeypatch):
    """What the widgets look up the key for: a key set to None empties the widget, another
    value selects it, as without the patch."""
    from streamlit.testing.v1 import AppTest
    one_key_patched(monkeypatch)
    at = AppTest.from_string(KEYED_WIDGETS)
    at.session_state["preset"] = None
    at.run()
    assert not at.exception and at.selectbox(key="preset").value is None
    assert at.number_input(key="n").value is None and at.date_input(key="d").value is None
    at.session_state["preset"] = "q"
    at.run()
    assert at.selectbox(key="preset").value == "q"
    at.number_input(key="n").set_value(4).run()
    assert "preset='q' n=4" in at.markdown[-1].value
    from streamlit.elements.widgets import selectbox
    assert selectbox.get_session_state.caption_lab_one_key


SETTLE = r"""
import gc, json, sys
from explorer import serve
frozen = serve.settle_the_heap(("explorer", "core", "broken_pkg"))
left = len(gc.get_objects())
session = [[]]
session[0].append(session)                       # what a session builds after the start: a cycle
del session
print(json.dumps({"frozen": frozen, "left": left, "collected": gc.collect(),
                  "imported": [m for m in ("explorer.components.strategy_view", "core.fast", "broken_pkg.fine")
                               if m in sys.modules],
                  "not_imported": [m for m in ("explorer.app", "explorer.serve.__main__", "broken_pkg.broken")
                                   if m not in sys.modules]}))
"""


def test_the_heap_settles_at_the_start_with_every_page_module_imported(tmp_path):
    """In a process of its own, as `serve.main` does it: the modules a page run imports are
    imported, what they built is frozen, a module that fails to import is only logged, and
    what comes later is still collected."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    package = tmp_path / "broken_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "fine.py").write_text("VALUE = 1\n")
    (package / "broken.py").write_text("raise RuntimeError('broken on import')\n")
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", SETTLE], cwd=root, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{tmp_path}"})
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["frozen"] > 100_000 and result["left"] < result["frozen"] / 20
    assert result["collected"] >= 2                        # not frozen: collected as ever
    assert result["imported"] == ["explorer.components.strategy_view", "core.fast", "broken_pkg.fine"]
    assert result["not_imported"] == ["explorer.app", "explorer.serve.__main__", "broken_pkg.broken"]
    assert "could not import broken_pkg.broken ahead" in done.stderr


def test_one_key_view_skips_a_widget_no_longer_known_as_the_dict_does():
    """A key whose widget id has a value but no metadata any more: filtered_state skips it
    (its KeyError caught); the view must answer False, not raise into the widget."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState
    from streamlit.runtime.state.safe_session_state import SafeSessionState
    from streamlit.runtime.state.session_state import Serialized, SessionState

    state = SessionState()
    widget = "$$ID-0123456789abcdef-K"
    state._key_id_mapper["K"] = widget
    state._new_widget_state.states[widget] = Serialized(WidgetState(id=widget, int_value=1))
    safe = SafeSessionState(state, lambda: None)
    view = serve._WidgetSessionState(safe).filtered_state
    assert "K" not in safe.filtered_state and "K" not in view
    try:
        view["K"]
        raise AssertionError("K should be missing")
    except KeyError:
        pass


class RecordingTransport:
    """Stands in for an asyncio transport: what was written, each write on its own."""

    def __init__(self) -> None:
        self.writes, self.closed, self.aborted = [], False, False

    def write(self, data) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_write_buffer_size(self) -> int:
        return 7

    def get_extra_info(self, name, default=None):
        return ("127.0.0.1", 1234) if name == "peername" else default


def test_writes_of_one_loop_turn_leave_as_one_in_order():
    async def main():
        loop = asyncio.get_running_loop()
        raw = RecordingTransport()
        bulk = serve.BulkTransport(raw, loop)
        for part in (b"a", b"", b"bc", bytearray(b"d")):
            bulk.write(part)
        bulk.writelines([b"e", b"f"])
        assert raw.writes == [] and bulk.get_write_buffer_size() == 7 + 6
        assert bulk.get_extra_info("peername") == ("127.0.0.1", 1234)       # the rest is the transport's
        await asyncio.sleep(0)
        assert raw.writes == [b"abcdef"]
        bulk.write(b"g")
        await asyncio.sleep(0)
        assert raw.writes == [b"abcdef", b"g"]
    run_coroutine(main())


def test_a_gathering_transport_waits_its_time_and_closing_flushes_first():
    async def main():
        loop = asyncio.get_running_loop()
        raw = RecordingTransport()
        bulk = serve.BulkTransport(raw, loop, gather=lambda: 0.5)
        bulk.write(b"first")
        await asyncio.sleep(0.01)
        bulk.write(b" second")                   # a later turn, within the gathering time
        assert raw.writes == []
        await asyncio.sleep(0.8)
        assert raw.writes == [b"first second"]
        bulk.write(b"last words")
        bulk.close()                             # nothing left behind a close
        assert raw.writes[-1] == b"last words" and raw.closed
        bulk.flush()
        assert len(raw.writes) == 2
        dropped = serve.BulkTransport(RecordingTransport(), loop)
        dropped.write(b"never")
        dropped.abort()
        await asyncio.sleep(0.01)
        assert dropped._transport.writes == [] and dropped._transport.aborted
        closing = RecordingTransport()
        late = serve.BulkTransport(closing, loop)
        late.write(b"too late")
        closing.closed = True                    # closed by the peer before the flush
        await asyncio.sleep(0)
        assert closing.writes == []
    run_coroutine(main())


def test_a_real_websocket_gets_every_message_in_order_through_bulk_writes():
    """uvicorn's websocket protocol, patched, on loopback: a burst of messages arrives whole."""
    import uvicorn
    import websockets.asyncio.client
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    original = WebSocketsSansIOProtocol.connection_made
    transports = []
    try:
        assert serve.write_in_bulk(gather=lambda: 0.005) and serve.write_in_bulk()
        assert WebSocketsSansIOProtocol.connection_made.caption_lab_bulk

        async def app(scope, receive, send):
            if scope["type"] != "websocket":
                return
            await receive()
            await send({"type": "websocket.accept"})
            for i in range(200):
                await send({"type": "websocket.send", "bytes": f"message {i}".encode() * (1 + i % 50)})
                if i % 10 == 0:
                    await asyncio.sleep(0)               # other turns of the loop in between
            await send({"type": "websocket.close", "code": 1000})

        patched = WebSocketsSansIOProtocol.connection_made

        class Counting:                                  # the socket's transport, its writes counted
            def __init__(self, transport):
                self.raw, self.writes = transport, 0

            def write(self, data):
                self.writes += 1
                self.raw.write(data)

            def __getattr__(self, name):
                return getattr(self.raw, name)

        def spying(self, transport):
            counted = Counting(transport)
            patched(self, counted)
            transports.append((self, counted))

        WebSocketsSansIOProtocol.connection_made = spying

        async def main():
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            server = uvicorn.Server(uvicorn.Config(app, ws="websockets-sansio", log_level="warning", lifespan="off"))
            serving = asyncio.ensure_future(server.serve(sockets=[sock]))
            await wait_until_started(server)
            got = []
            async with websockets.asyncio.client.connect(f"ws://127.0.0.1:{port}/") as ws:
                async for message in ws:
                    got.append(message)
            server.should_exit = True
            await serving
            return got

        got = run_coroutine(main())
        assert got == [f"message {i}".encode() * (1 + i % 50) for i in range(200)]
        assert len(transports) == 1
        protocol, counted = transports[0]
        assert isinstance(protocol.transport, serve.BulkTransport)
        assert 1 <= counted.writes < 20                  # not one per message (202 without the patch)
    finally:
        WebSocketsSansIOProtocol.connection_made = original


async def wait_until_started(server) -> None:
    for _ in range(500):
        if server.started:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("uvicorn did not start")


SECTIONS = ("theme", "theme.light", "theme.dark", "theme.sidebar", "theme.light.sidebar", "theme.dark.sidebar")


def theme_bytes(populate) -> bytes:
    """A new_session message's theme as Streamlit builds it, every section, with `populate`."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    msg = ForwardMsg()
    theme = msg.new_session.custom_theme
    for section, part in zip(SECTIONS, (theme, theme.light, theme.dark, theme.sidebar, theme.light.sidebar,
                                        theme.dark.sidebar)):
        populate(part, section)
    return msg.SerializeToString(deterministic=True)


def test_theme_once_builds_each_runs_theme_as_streamlit_did_and_reads_a_new_config_again(monkeypatch):
    import copy

    from streamlit import config
    from streamlit.runtime import app_session
    monkeypatch.setattr(app_session, "_populate_theme_msg", app_session._populate_theme_msg)   # restored after
    monkeypatch.setattr(config, "_config_options", copy.deepcopy(config.get_config_options()))
    streamlits = app_session._populate_theme_msg
    # a theme in every section, of every kind of field: a base, colours, fonts, lists
    for name, value in [("theme.base", "dark"), ("theme.primaryColor", "#ff4b4b"), ("theme.font", "serif"),
                        ("theme.chartCategoricalColors", ["#111111", "#222222"]), ("theme.baseRadius", "0.3rem"),
                        ("theme.light.primaryColor", "#00aa00"), ("theme.dark.textColor", "#eeeeee"),
                        ("theme.sidebar.backgroundColor", "#f0f0f0"), ("theme.light.sidebar.linkColor", "#0000ff"),
                        ("theme.dark.sidebar.borderColor", "#333333"), ("theme.showWidgetBorder", True)]:
        config._set_option(name, value, "test")
    expected = theme_bytes(streamlits)
    reads = []
    read_section = config.get_options_for_section
    monkeypatch.setattr(config, "get_options_for_section", lambda s: reads.append(s) or read_section(s))

    assert serve.theme_once() and serve.theme_once()              # patched once
    assert app_session._populate_theme_msg is not streamlits
    assert [theme_bytes(app_session._populate_theme_msg) for _ in range(3)] == [expected] * 3
    assert reads == list(SECTIONS)                                # each section read from the config once

    # config.toml changed: Streamlit reads it anew, into a new dict; the next run has the new theme
    monkeypatch.setattr(config, "_config_options", copy.deepcopy(config._config_options))
    config._set_option("theme.primaryColor", "#123456", "test")
    config._set_option("theme.dark.sidebar.borderColor", "#654321", "test")
    changed = theme_bytes(app_session._populate_theme_msg)
    assert changed != expected and changed == theme_bytes(streamlits)
    assert reads == list(SECTIONS) * 2 + list(SECTIONS)           # (streamlits' own reads included)


# --- a class's version, for a follower's page (ClassVersions) -------------------------

PREFIX = "/_caption_lab/class"


class Store:
    """A class store (`explorer.classroom`'s interface, what ClassVersions reads): `get` gives
    the state of the codes it holds, counts its calls, and raises `failing` when set."""

    def __init__(self, versions: dict[str, int]) -> None:
        from types import SimpleNamespace
        self.versions, self.calls, self.failing, self.state = versions, 0, None, SimpleNamespace

    def get(self, code):
        self.calls += 1
        if self.failing:
            raise self.failing
        version = self.versions.get(code)
        return None if version is None else self.state(code=code, version=version)


async def ask(app, path: str, query: bytes = b"", method: str = "GET", gone: asyncio.Event | None = None):
    """One HTTP request through the ASGI app: (status, JSON body or None when it went on)."""
    import json
    sent = []
    gone = gone or asyncio.Event()

    async def receive():
        if not sent and not getattr(receive, "read", False):
            receive.read = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    await app({"type": "http", "method": method, "path": path, "query_string": query}, receive, send)
    if not sent:
        return None, None
    return sent[0]["status"], json.loads(sent[1]["body"])


def versions_app(store, **kwargs):
    passed = []

    async def streamlit(scope, receive, send):
        passed.append(scope["path"])

    app = serve.ClassVersions(streamlit, PREFIX, store=store)
    for name, value in kwargs.items():
        setattr(app, name, value)
    return app, passed


def test_class_versions_answers_a_class_version_and_nothing_else_and_passes_other_requests_on():
    store = Store({"KMRT": 7})
    app, passed = versions_app(store)

    async def main():
        return [await ask(app, f"{PREFIX}/KMRT"), await ask(app, f"{PREFIX}/kmrt"),
                await ask(app, f"{PREFIX}/AAAA"),                      # a code no class has
                await ask(app, f"{PREFIX}/KMRT/../../etc"), await ask(app, f"{PREFIX}/" + "K" * 5000),
                await ask(app, f"{PREFIX}/<script>"), await ask(app, f"{PREFIX}/"),
                await ask(app, f"{PREFIX}/KMRT", query=b"v=" + b"9" * 40),   # no number: answered at once
                await ask(app, f"{PREFIX}/KMRT", method="POST"),
                await ask(app, "/_stcore/health"), await ask(app, "/lesson")]

    answers = run_coroutine(main())
    assert answers[:2] == [(200, {"version": 7})] * 2
    assert answers[2:7] == [(404, {"version": None})] * 5
    assert answers[7] == (200, {"version": 7})
    assert answers[8] == (405, {"version": None})
    assert answers[9:] == [(None, None)] * 2 and passed == ["/_stcore/health", "/lesson"]

    store.failing = RuntimeError("Redis is away")
    assert run_coroutine(ask(app, f"{PREFIX}/KMRT")) == (503, {"version": None})


def test_pages_waiting_on_a_class_hear_its_move_at_once_and_the_class_is_read_once_per_look():
    store = Store({"KMRT": 7, "PAVE": 1})
    app, _ = versions_app(store, EVERY=0.02)

    async def main():
        waiting = [asyncio.ensure_future(ask(app, f"{PREFIX}/KMRT", query=b"v=7")) for _ in range(30)]
        other = asyncio.ensure_future(ask(app, f"{PREFIX}/PAVE", query=b"v=1"))
        behind = await ask(app, f"{PREFIX}/KMRT", query=b"v=6")      # a page that drew an older version
        await asyncio.sleep(0.3)
        assert not any(w.done() for w in waiting) and not other.done()
        assert len(app._watches) == 2                                  # one look per class, not per page
        calls = store.calls
        await asyncio.sleep(0.2)
        looks = store.calls - calls                                    # about 0.2 / EVERY looks, 2 classes
        moved = time.monotonic()
        store.versions["KMRT"] = 8                                     # the teacher's Next
        answers = await asyncio.gather(*waiting)
        heard = time.monotonic() - moved
        store.versions["PAVE"] = 2
        return behind, answers, heard, looks, await other

    behind, answers, heard, looks, other = run_coroutine(main())
    assert behind == (200, {"version": 7})                             # answered at once
    assert answers == [(200, {"version": 8})] * 30 and heard < 0.5
    assert 2 <= looks <= 2 * 0.2 / 0.02 + 4
    assert other == (200, {"version": 2}) and not app._watches


def test_a_waiting_page_gets_the_same_version_after_the_wait_and_a_page_that_left_stops_waiting():
    store = Store({"KMRT": 7})
    app, _ = versions_app(store, EVERY=0.02, WAIT=0.3)

    async def main():
        started = time.monotonic()
        same = await ask(app, f"{PREFIX}/KMRT", query=b"v=7")
        waited = time.monotonic() - started
        gone = asyncio.Event()
        leaving = asyncio.ensure_future(ask(app, f"{PREFIX}/KMRT", query=b"v=7", gone=gone))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        gone.set()                                                     # the browser closed the tab
        answer = await leaving
        took = time.monotonic() - started
        await asyncio.sleep(0.1)                                       # a few looks' time
        return same, waited, (took, answer, dict(app._watches))

    same, waited, left = run_coroutine(main())
    assert same == (200, {"version": 7}) and 0.25 < waited < 2
    assert left[0] < 0.2 and left[1] == (None, None)                   # nobody left to answer
    assert left[2] == {}                                               # and no look goes on for nobody


def test_an_ended_class_answers_404_to_the_pages_waiting_on_it():
    store = Store({"KMRT": 7})
    app, _ = versions_app(store, EVERY=0.02)

    async def main():
        waiting = asyncio.ensure_future(ask(app, f"{PREFIX}/KMRT", query=b"v=7"))
        await asyncio.sleep(0.1)
        del store.versions["KMRT"]                                     # End class
        return await waiting

    assert run_coroutine(main()) == (404, {"version": None})


def test_class_versions_patches_streamlits_middleware_once_and_tells_the_pages_where(monkeypatch):
    from streamlit import config
    from streamlit.web.server.starlette import starlette_app

    from explorer import classroom
    monkeypatch.setattr(starlette_app, "create_streamlit_middleware", starlette_app.create_streamlit_middleware)
    monkeypatch.setattr(classroom, "version_url", None)                # both restored after
    streamlits = starlette_app.create_streamlit_middleware
    assert serve.class_versions() and serve.class_versions()
    assert classroom.version_url is None                               # said only once a server builds its app
    get_option = config.get_option
    monkeypatch.setattr(config, "get_option", lambda name: "/course/caplab/" if name == "server.baseUrlPath"
                        else get_option(name))
    stack = starlette_app.create_streamlit_middleware()
    assert stack[0].cls is serve.ClassVersions and stack[0].kwargs == {"prefix": "/course/caplab/_caption_lab/class"}
    assert [m.cls for m in stack[1:]] == [m.cls for m in streamlits()]
    assert classroom.version_url == "/course/caplab/_caption_lab/class"


def test_class_versions_over_the_servers_own_memory_store_and_a_store_away_while_pages_wait():
    from explorer.classroom import MemoryClassroom
    store = MemoryClassroom()
    code, secret = store.start("captioning", 0)
    app, _ = versions_app(store, EVERY=0.02)
    failing = Store({code: 1})
    away, _ = versions_app(failing, EVERY=0.02, WAIT=0.3)

    async def main():
        now = await ask(app, f"{PREFIX}/{code}")
        version = now[1]["version"]
        waiting = asyncio.ensure_future(ask(app, f"{PREFIX}/{code}", query=b"v=%d" % version))
        await asyncio.sleep(0.1)
        store.move(code, secret, 1)                                    # the teacher's Next
        moved = await waiting
        during = asyncio.ensure_future(ask(away, f"{PREFIX}/{code}", query=b"v=1"))
        await asyncio.sleep(0.1)
        failing.failing = RuntimeError("Redis is away")                # while a page waits
        return version, moved, await during

    version, moved, during = run_coroutine(main())
    assert moved == (200, {"version": version + 1})
    assert during == (200, {"version": 1})                             # the last look that answered


def test_an_address_asking_for_many_codes_with_no_class_is_stopped_and_waiting_is_bounded():
    store = Store({"KMRT": 7})
    app, _ = versions_app(store, MISSES=5)
    bounded, _ = versions_app(store, EVERY=0.02, WAIT=5.0, MAX_WAITING=3)

    async def main():
        misses = [await ask(app, f"{PREFIX}/{code}") for code in ("AAAA", "CCCC", "DDDD", "EEEE", "FFFF")]
        calls = store.calls
        stopped = [await ask(app, f"{PREFIX}/HHHH"), await ask(app, f"{PREFIX}/KMRT")]
        read = store.calls - calls
        gone = asyncio.Event()
        held = [asyncio.ensure_future(ask(bounded, f"{PREFIX}/KMRT", query=b"v=7", gone=gone)) for _ in range(3)]
        await asyncio.sleep(0.1)
        started = time.monotonic()
        fourth = await ask(bounded, f"{PREFIX}/KMRT", query=b"v=7")    # beyond MAX_WAITING: at once
        at_once = time.monotonic() - started
        gone.set()
        await asyncio.gather(*held)
        return misses, stopped, read, fourth, at_once

    async def other_address():
        import json
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        await app({"type": "http", "method": "GET", "path": f"{PREFIX}/KMRT", "query_string": b"",
                   "client": ("10.0.0.2", 5000)}, receive, send)
        return sent[0]["status"], json.loads(sent[1]["body"])

    misses, stopped, read, fourth, at_once = run_coroutine(main())
    assert misses == [(404, {"version": None})] * 5
    assert stopped == [(429, {"version": None})] * 2 and read == 0     # not even looked up
    assert fourth == (200, {"version": 7}) and at_once < 0.5
    assert run_coroutine(other_address()) == (200, {"version": 7})    # another address is not stopped


def test_a_request_other_than_get_is_refused_with_the_method_it_takes():
    app, _ = versions_app(Store({"KMRT": 7}))
    sent = []

    async def main():
        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        await app({"type": "http", "method": "DELETE", "path": f"{PREFIX}/KMRT", "query_string": b""}, receive, send)

    run_coroutine(main())
    assert sent[0]["status"] == 405 and (b"allow", b"GET") in sent[0]["headers"]


def test_a_followers_script_waits_longer_than_the_server_holds_its_question():
    from explorer.components import class_panel
    assert class_panel.ANSWER_MS >= 1000 * serve.ClassVersions.WAIT + 10_000
    assert "%(" not in class_panel.WATCHDOG and str(class_panel.ANSWER_MS) in class_panel.WATCHDOG


def test_dedent_only_indented_cleans_every_body_as_streamlit_did_and_rebinds_its_importers(monkeypatch):
    import random
    import sys
    import textwrap

    from streamlit import string_util
    from streamlit.elements import html as html_element
    from streamlit.elements import markdown as markdown_element
    for name, module in list(sys.modules.items()):                              # every holder, restored after
        if name.startswith("streamlit.") and getattr(module, "clean_text", None) is string_util.clean_text:
            monkeypatch.setattr(module, "clean_text", string_util.clean_text)
    monkeypatch.setattr(html_element, "_html_only_style_tags", html_element._html_only_style_tags)
    streamlits_clean, streamlits_style_only = string_util.clean_text, html_element._html_only_style_tags

    assert serve.dedent_only_indented() and serve.dedent_only_indented()      # patched once
    clean, style_only = markdown_element.clean_text, html_element._html_only_style_tags
    assert clean is string_util.clean_text is html_element.clean_text and clean is not streamlits_clean
    assert style_only is not streamlits_style_only

    # every kind of line start: spaces, tabs, blank and white-space-only lines, CR, form feed, NBSP
    rng = random.Random(0)
    pieces = ["a", "b c", " ", "  ", "\t", "\n", "\n\n", "\r\n", "\x0c", "\xa0", "<style>", "</style>",
              "<STYLE x>", "<!--", "-->", "<div>", "ſ"]
    bodies = ["", "\n", "  text\n  more", "text\n  more", "\n  text\n  more\n", "x\n\t\ty", "x\n \ny",
              "<style>p {}</style>", "  <style>p {}</style>\n", "<!-- c --><style>a</style>", "<STYLE>a</style> b",
              "<!-- only a comment -->", "x\r\n  y", "x\n\xa0y", "<\u017ftyle>a</style>", "x\n\x0cy", 42,
              type("Text", (str,), {"strip": lambda self: "a str subclass's own strip"})("a\nb")]
    bodies += ["".join(rng.choice(pieces) for _ in range(rng.randrange(1, 12))) for _ in range(4000)]
    for body in bodies:
        assert clean(body) == textwrap.dedent(str(body)).strip(), repr(body)
        text = textwrap.dedent(str(body)).strip()
        assert style_only(text) == streamlits_style_only(text), repr(text)
    assert clean(3.5) == "3.5"
    assert style_only("<style>a</style>") and style_only("<!-- c -->\n<style>a</style>")
    assert style_only("<\u017ftyle>a</style>")                # as Streamlit's case-insensitive match has it
    assert not style_only("<p>a</p>") and not style_only("<style>a</style><p>b</p>")
