"""`python -m explorer.serve [options]`: `streamlit run explorer/app.py [options]`, without Nagle's delay.

Streamlit's server binds its listening socket as `socket.socket(family)`, protocol 0, and
asyncio turns on TCP_NODELAY only for sockets whose protocol says TCP. So on every page
the server sends its first message at once and holds the rest until the browser
acknowledges it, which a browser delays (40 ms on Linux, up to 200 ms on Windows): a
page that takes 5 ms to run arrives after 45 ms, on every click of every session.
Measured with `benchmarks.classroom_load` (the README quotes it). This launcher binds the
same socket with the TCP protocol number, so every connection gets TCP_NODELAY, then
runs Streamlit's own command line: every option of `streamlit run` works the same.

requirements.txt asks for `streamlit[performance]`: Streamlit then runs its server's event
loop on uvloop (no Windows build; asyncio's loop there), uvicorn parses HTTP with httptools,
and JSON goes through orjson. uvloop turns TCP_NODELAY on for every connection itself; the
relabelled socket still matters wherever asyncio's loop runs. Measured with two servers of
the same code side by side, the three hidden from one, 40 rounds over the pages, twice: the
event loop's part of a page run 4.1 and 5.0 ms against 5.8 and 6.8, the whole page run
0.87x both times (the README's *Speed* has the rest). Everything patched below works on
either loop.

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
the clicks came (`explorer.turns`, which says how a slow page cannot hold up the class).
While pages wait in line, the server tells the training workers on its machine to keep
off one core (`explorer.runs.crowd`), and gathers the pages' messages for `GATHER`
seconds before it wakes its event loop to send them.

Four more cut what every page run costs: a widget asks the session's state about its own
key only, instead of building the whole state's dict (`look_up_one_key`); the theme that
opens every run is read from the config once, not walked out of all its options every run
(`theme_once`); a Markdown or HTML body is dedented only when a line of it is indented
(`dedent_only_indented`: Compare's caption diffs are 10 kB each); and before it starts
the server imports the pages' modules and freezes what it then holds, so that the garbage
collector no longer walks the whole heap, 110 to 160 ms at a time (`settle_the_heap`). And
while pages wait in line, a connection's websocket messages leave together, a few writes
per page instead of one per element (`write_in_bulk`, `BulkTransport`).

And a class's followers do not poll through Streamlit: a route answered before Streamlit's
own stack tells a follower's page when its class moves on (`ClassVersions`,
`class_versions`).

`make run` and `deploy.cluster` start the app this way; plain `streamlit run
explorer/app.py` still works, only slower. If a Streamlit version no longer has a
function patched here, the app starts as plain `streamlit run` would, and says so.
"""
from __future__ import annotations

import asyncio
import contextvars
import gc
import re
import socket
import sys
import threading
import time
import types
import weakref
from collections import deque
from collections.abc import Mapping
from pathlib import Path

from explorer.turns import Turns

APP = Path(__file__).resolve().with_name("app.py")
GATHER = 0.01                    # seconds the messages gather before they are sent, while pages wait in line


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
    KeyboardInterrupt propagate, as in asyncio, with the rest put back for a later turn.

    `gather()` (seconds, read per batch) lets the loop wait that long before it runs a
    batch, so that more of a page's messages join it: fewer wake-ups of the loop, each
    taking Python's lock from the script's thread. Only worth it while pages queue up
    (a crowded server), when a page waits for its turn anyway."""

    def __init__(self, gather=lambda: 0.0):
        self._lock = threading.Lock()
        self._waiting: dict[object, deque] = {}          # loop -> (context, callback) not yet run
        self.gather = gather

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
            gather = self.gather()
            if gather > 0:
                loop.call_soon_threadsafe(loop.call_later, gather, self._run, loop)
            else:
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


def batch_events(gather=lambda: 0.0) -> bool:
    """Patch Streamlit's AppSession to send its script runners' events to the event loop
    in batches (see the module docstring, and `LoopBatches` for `gather`); whether it could be."""
    try:
        from streamlit.runtime.app_session import AppSession
    except ImportError:
        return False
    schedule = getattr(AppSession, "_call_soon_on_event_loop", None)    # it calls self._event_loop's
    if schedule is None:                                                # call_soon_threadsafe
        return False
    if getattr(schedule, "caption_lab_batches", False):
        return True
    batches = LoopBatches(gather)

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


def remember_arg_names() -> bool:
    """Patch Streamlit's cache so that a cached function's parameter names are read from its
    signature once, not on every call: `st.cache_data` and `st.cache_resource` look up
    each positional argument's name (to skip those named `_...` when hashing) with
    `inspect.signature`, some 30 microseconds per argument, and a page calls cached
    functions with five to eight arguments tens of times. Plain functions are remembered,
    weakly; anything else is looked up as before. Whether it could be patched."""
    try:
        from streamlit.runtime.caching import cache_utils
    except ImportError:
        return False
    look_up = getattr(cache_utils, "_get_positional_arg_name", None)
    if look_up is None:
        return False
    if getattr(look_up, "caption_lab_remembered", False):
        return True
    names: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()    # function -> {index: name}
    lock = threading.Lock()

    def positional_arg_name(func, arg_index: int):
        if type(func) is not types.FunctionType:
            return look_up(func, arg_index)
        known = names.get(func)
        if known is None or arg_index not in known:
            name = look_up(func, arg_index)
            with lock:
                names.setdefault(func, {})[arg_index] = name
            return name
        return known[arg_index]

    positional_arg_name.caption_lab_remembered = True
    cache_utils._get_positional_arg_name = positional_arg_name
    return True


# Streamlit's widget modules that read `get_session_state().filtered_state`, only to ask
# whether the widget's own key holds None
KEY_READERS = ("radio", "slider", "number_input", "selectbox", "text_widgets", "time_widgets")


class _KeyView(Mapping):
    """`filtered_state` for the one key a widget asks about: `key in view` and `view[key]`
    answer as the dict would, without building it; anything else builds it."""

    def __init__(self, safe) -> None:
        self._safe = safe
        self._seen: dict = {}              # key -> entry: a widget asks `in`, then `[]`

    def _entry(self, key) -> tuple[bool, object]:
        """The dict's (True, value) for `key`, or (False, None): its loop run over the
        only entries that can be named `key`, the key itself and its widget's id. Read
        once per view, as the dict was built once."""
        if key not in self._seen:
            self._seen[key] = self._look_up(key)
        return self._seen[key]

    def _look_up(self, key) -> tuple[bool, object]:
        from streamlit.runtime.state.common import is_element_id, is_keyed_element_id
        from streamlit.runtime.state.session_state import _is_internal_key
        with self._safe._lock:
            state = self._safe._state
            present = state._keys()
            for k in dict.fromkeys((key, state._get_widget_id(key))):
                if k not in present or _is_internal_key(k):
                    continue
                if not is_element_id(k):
                    if k == key:
                        return True, state[k]
                elif is_keyed_element_id(k) and state._key_id_mapper.id_key_mapping.get(k) == key:
                    try:
                        return True, state[k]
                    except KeyError:                     # as the dict skips a widget no longer known
                        continue
        return False, None

    def __contains__(self, key) -> bool:
        return isinstance(key, str) and self._entry(key)[0]

    def __getitem__(self, key):
        found, value = self._entry(key) if isinstance(key, str) else (False, None)
        if not found:
            raise KeyError(key)
        return value

    def __iter__(self):
        return iter(self._safe.filtered_state)

    def __len__(self) -> int:
        return len(self._safe.filtered_state)


class _WidgetSessionState:
    """The session's state as a widget module sees it: the same object, but its
    `filtered_state` is a `_KeyView`."""
    __slots__ = ("_safe",)

    def __init__(self, safe) -> None:
        self._safe = safe

    @property
    def filtered_state(self) -> _KeyView:
        return _KeyView(self._safe)

    def __getattr__(self, name):
        return getattr(self._safe, name)


def look_up_one_key() -> bool:
    """Patch Streamlit's widgets so that a widget asks the session's state about its own key
    only: a radio, number input, select box, slider, text or date/time input built the
    whole `filtered_state` dict on every call (every key of the session, each looked up and
    presented), about 0.3 ms with a page's forty keys, only to see whether its key holds
    None; Inspect draws eight of them per rerun. Whether it could be patched."""
    import importlib
    try:
        from streamlit.runtime.state import SafeSessionState
    except ImportError:
        return False
    modules = []
    for name in KEY_READERS:
        try:
            module = importlib.import_module(f"streamlit.elements.widgets.{name}")
        except ImportError:
            return False
        if not callable(getattr(module, "get_session_state", None)):
            return False
        modules.append(module)
    if not isinstance(getattr(SafeSessionState, "filtered_state", None), property):
        return False
    for module in modules:
        original = module.get_session_state
        if getattr(original, "caption_lab_one_key", False):
            continue

        def get_session_state(original=original):
            return _WidgetSessionState(original())

        get_session_state.caption_lab_one_key = True
        module.get_session_state = get_session_state
    return True


# the packages whose modules a page run imports; the app's script and this launcher are
# Streamlit's to run, a `__main__` is a command's
SETTLED_PACKAGES = ("explorer", "core")


def settle_the_heap(packages=SETTLED_PACKAGES) -> int:
    """Import every module of `packages`, collect, and freeze (`gc.freeze`) everything
    alive; the number of objects frozen. Called before the server starts, so before any
    session exists.

    Python's collector walks every container object the process holds each time it
    collects its oldest generation, and a warm server holds some 300,000 (Streamlit,
    numpy, matplotlib, pandas, the pages' modules): each such collection took 110 to 160
    ms here, holding every session up, five times in one run of the burst benchmark.
    Nearly all of it lives as long as the server, and most of it is what importing the
    pages' modules builds (they would be imported by the first visits anyway). Frozen, it
    is never walked again. A frozen object is still freed when its last reference goes;
    only a cycle among frozen objects would stay, and nothing of a session is frozen."""
    import importlib
    import logging
    import pkgutil
    for name in packages:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, f"{name}."):
            if module.name in ("explorer.app", "explorer.serve") or module.name.rsplit(".", 1)[-1] == "__main__":
                continue
            try:
                importlib.import_module(module.name)
            except Exception:                            # noqa: BLE001 - a page will say it, not the start
                logging.getLogger(__name__).warning("could not import %s ahead", module.name, exc_info=True)
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


class BulkTransport:
    """A connection's transport whose writes leave together: the first write schedules a
    flush `gather()` seconds later (0: at the start of the loop's next turn, before it
    waits), and the writes until then join it, in order. Closing flushes first;
    everything else is the transport's own."""

    def __init__(self, transport, loop, gather=lambda: 0.0) -> None:
        self._transport, self._loop, self._gather = transport, loop, gather
        self._pending: list[bytes] = []

    def write(self, data) -> None:
        if not data:
            return
        if not self._pending:
            delay = self._gather()
            if delay > 0:
                self._loop.call_later(delay, self.flush)
            else:
                self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, lines) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def __getattr__(self, name):
        return getattr(self._transport, name)


def write_in_bulk(gather=lambda: 0.0) -> bool:
    """Patch uvicorn's websocket protocol (the one Streamlit's server runs) so that its
    connections write through a `BulkTransport` that gathers for `gather()` seconds:
    Streamlit sends every element of a page as a message of its own, one loop turn and
    one `send` system call each, and these were most of the event loop's time in a
    class's burst of clicks; gathered, a page's messages leave a few writes at a time, in
    order. Whether it could be patched."""
    try:
        from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    except ImportError:
        return False
    connection_made = getattr(WebSocketsSansIOProtocol, "connection_made", None)
    if connection_made is None:
        return False
    if getattr(connection_made, "caption_lab_bulk", False):
        return True

    def connection_made_in_bulk(self, transport) -> None:
        connection_made(self, BulkTransport(transport, asyncio.get_running_loop(), gather))

    connection_made_in_bulk.caption_lab_bulk = True
    WebSocketsSansIOProtocol.connection_made = connection_made_in_bulk
    return True


def theme_once() -> bool:
    """Patch Streamlit's AppSession so that the theme in the message that opens every
    script run (`new_session`) is read from the config once, not on every run: each of its
    six sections (`[theme]`, `[theme.light]`, ...) walked all 367 config options, about
    0.9 ms of the event loop's time per page run (measured), which every other session
    waits behind. The theme a section holds is kept with the config it was read from and
    read again when the config is (Streamlit reads it anew, into a new dict, when
    config.toml changes); it is merged into each run's message, which is what reading it
    did (the section's fields, into a message that had none). Whether it could be patched."""
    try:
        from streamlit import config
        from streamlit.runtime import app_session
    except ImportError:
        return False
    populate = getattr(app_session, "_populate_theme_msg", None)
    if populate is None or not hasattr(config, "_config_options"):
        return False
    if getattr(populate, "caption_lab_once", False):
        return True
    read: dict[str, tuple[object, object]] = {}          # section -> (the config read, its theme)
    lock = threading.Lock()

    def populate_once(msg, section: str = "theme") -> None:
        options = config._config_options
        known = read.get(section)
        if options is None or known is None or known[0] is not options:
            theme = type(msg)()
            populate(theme, section)
            if options is not None:
                with lock:
                    read[section] = (options, theme)
            known = (options, theme)
        msg.MergeFrom(known[1])

    populate_once.caption_lab_once = True
    app_session._populate_theme_msg = populate_once
    return True


_INDENTED_LINE = re.compile(r"\n[^\S\n]")        # a line, after the first, that opens with white space
_STYLE_OPEN = re.compile(r"<style", re.IGNORECASE)


def dedent_only_indented() -> bool:
    """Patch Streamlit's `clean_text`, which every body of `st.markdown`, `st.html`, a heading,
    a caption, an alert or `st.text` goes through (`textwrap.dedent`, then `strip`), to skip
    the dedent where it changes nothing: a plain `str` of which no line after the first opens
    with white space (the first line's is stripped anyway; a blank line is empty, and the
    common margin is nothing, in Python 3.11's dedent and in 3.14's, which blanks every line
    that `isspace`); anything else goes to Streamlit's own. And `st.html`'s test for a body of
    style tags only, to skip its two regular expressions where they remove nothing: no `<!--`
    and no `<style` (case-insensitive, as they match it) in the body. Compare draws six
    caption diffs of about 10 kB: dedent took about 0.3 ms each, 1.9 of the page's 14 ms
    (measured); the search for an indented line takes 5 us. Whether it could be patched
    (both functions found)."""
    try:
        from streamlit import string_util
        from streamlit.elements import html as html_element
    except ImportError:
        return False
    cleaned = getattr(string_util, "clean_text", None)
    style_only = getattr(html_element, "_html_only_style_tags", None)
    if cleaned is None or style_only is None:
        return False
    if getattr(cleaned, "caption_lab_quick", False):
        return True

    def clean_text(text) -> str:
        if type(text) is str and _INDENTED_LINE.search(text) is None:
            return text.strip()
        return cleaned(text)                             # an indented body, or not a plain str

    def html_only_style_tags(html_content: str) -> bool:
        if "<!--" not in html_content and _STYLE_OPEN.search(html_content) is None:
            return html_content.strip() == ""
        return style_only(html_content)

    clean_text.caption_lab_quick = True
    string_util.clean_text = clean_text
    for name, module in list(sys.modules.items()):        # the modules that imported it by name
        if name.startswith("streamlit.") and getattr(module, "clean_text", None) is cleaned:
            module.clean_text = clean_text
    html_element._html_only_style_tags = html_only_style_tags
    return True


class ClassVersions:
    """ASGI middleware, first in Streamlit's stack, for a follower's page to learn when its
    class moves on (`classroom.version_url`):

    - `GET <base>/_caption_lab/class/<CODE>` answers the class's version, `{"version": n}`;
    - `...?v=<n>` (the version the page drew) answers once the class is at another version,
      or after `WAIT` seconds at the latest: a page waits on it and reruns itself the moment
      the teacher moves. While pages wait, the class is looked at every `EVERY` seconds,
      once per class however many pages wait on it, and they all get what that look read.

    404 for a code that is none or names no class (never started, or ended), 503 when the
    store does not answer; nothing else about the class (its code is in every student's
    address already). Every other request goes on to Streamlit. Every request is a
    browser's, so anyone's: at most `MAX_WAITING` wait at once (the others are answered at
    once), a client address that asked for `MISSES` codes with no class within
    `MISS_WINDOW` seconds gets 429 until the window ends (finding the live classes' codes
    would otherwise be cheap), and Redis is read on a few threads of its own, so that a slow
    Redis cannot take the threads Streamlit serves its files with. `store` is the classes'
    store (default: the app's, `explorer.state.classes`)."""

    WAIT = 25.0
    EVERY = 0.05
    MAX_WAITING = 1000
    MISSES = 120
    MISS_WINDOW = 60.0
    REDIS_THREADS = 4

    def __init__(self, app, prefix: str, store=None) -> None:
        self.app, self.prefix, self._store = app, prefix.rstrip("/") + "/", store
        self._watches: dict[tuple[str, int], _Watch] = {}          # (code, version drawn) -> its look
        self._looks: set[asyncio.Task] = set()
        self._waiting = 0
        self._misses: dict[str, list] = {}                          # client address -> [window's start, misses]
        self._limiter = None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        if scope["method"] != "GET":
            await _answer(send, 405, None, [(b"allow", b"GET")])
            return
        client = str((scope.get("client") or ("",))[0])
        if self._too_many_misses(client):
            await _answer(send, 429, None)
            return
        code, drawn = scope["path"][len(self.prefix):], _drawn_version(scope.get("query_string", b""))
        status, version = await self._version(code)
        if status == 200 and drawn == version and self._waiting < self.MAX_WAITING:
            answer = await self._wait(code, version, receive)
            if answer is None:                        # the browser went away: nobody to answer
                return
            status, version = answer
        if status == 404:
            self._missed(client)
        await _answer(send, status, version)

    async def _version(self, text: str) -> tuple[int, int | None]:
        from explorer import classroom
        code = classroom.normal_code(text)
        if code is None:
            return 404, None
        try:
            store = self._store
            if store is None:
                from explorer import state
                store = state.classes()
            if isinstance(store, classroom.MemoryClassroom):
                now = store.get(code)
            else:                                     # Redis is a network call: off the event loop
                import anyio
                if self._limiter is None:
                    self._limiter = anyio.CapacityLimiter(self.REDIS_THREADS)
                now = await anyio.to_thread.run_sync(store.get, code, limiter=self._limiter)
        except Exception:                             # Unavailable, or anything a store raises
            return 503, None
        return (404, None) if now is None else (200, int(now.version))

    async def _wait(self, code: str, version: int, receive) -> tuple[int, int | None] | None:
        """What class `code` is at once it is not at `version` any more, or after `WAIT`
        seconds; None when the browser went away first."""
        key = (code.upper(), version)
        watch = self._watches.get(key)
        if watch is None:                             # the first page to wait on it: a look starts
            watch = self._watches[key] = _Watch(version)
            look = asyncio.get_running_loop().create_task(self._look(key, watch))   # runs once this waits
            self._looks.add(look)
            look.add_done_callback(self._looks.discard)
        watch.waiting += 1
        self._waiting += 1
        moved, gone = asyncio.ensure_future(watch.moved.wait()), asyncio.ensure_future(_gone(receive))
        try:
            await asyncio.wait((moved, gone), timeout=self.WAIT, return_when=asyncio.FIRST_COMPLETED)
        finally:
            watch.waiting -= 1
            self._waiting -= 1
            moved.cancel()
            gone.cancel()
        return None if gone.done() and not gone.cancelled() else watch.answer

    async def _look(self, key: tuple[str, int], watch: "_Watch") -> None:
        """Look at class key[0] while pages wait on it at version key[1], until it is at
        another version (or has ended); then wake them all with what the look read."""
        try:
            while watch.waiting > 0:
                await asyncio.sleep(self.EVERY)
                status, version = await self._version(key[0])
                if status == 503:                     # the store away for a moment: look again
                    continue
                watch.answer = (status, version)
                if version != key[1]:
                    break
        finally:
            watch.moved.set()
            self._watches.pop(key, None)

    def _too_many_misses(self, client: str) -> bool:
        entry = self._misses.get(client)
        return entry is not None and time.monotonic() - entry[0] < self.MISS_WINDOW and entry[1] >= self.MISSES

    def _missed(self, client: str) -> None:
        now = time.monotonic()
        entry = self._misses.get(client)
        if entry is not None and now - entry[0] < self.MISS_WINDOW:
            entry[1] += 1
            return
        if len(self._misses) >= 10_000:               # many addresses: forget the finished windows
            self._misses = {c: e for c, e in self._misses.items() if now - e[0] < self.MISS_WINDOW}
        self._misses[client] = [now, 1]


class _Watch:
    """The pages waiting on one class at one version, and what the last look at it read."""

    def __init__(self, version: int) -> None:
        self.moved = asyncio.Event()
        self.waiting = 0
        self.answer: tuple[int, int | None] = (200, version)


async def _answer(send, status: int, version: int | None, headers=()) -> None:
    body = b'{"version": %s}' % (str(version).encode() if version is not None else b"null")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"cache-control", b"no-store"),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


def _drawn_version(query: bytes) -> int | None:
    """`v` of a query string, the version a page drew, when it is a number."""
    for part in query.split(b"&"):
        name, _, value = part.partition(b"=")
        if name == b"v" and value.isdigit() and len(value) <= 12:
            return int(value)
    return None


async def _gone(receive) -> None:
    """Until the client has gone (an HTTP request's `http.disconnect`)."""
    while (await receive())["type"] != "http.disconnect":
        pass


def class_versions() -> bool:
    """Patch Streamlit's middleware with `ClassVersions` first, and say where it answers to
    the pages (`classroom.version_url`): a follower's page script then waits on it and
    reruns the page only when the class moved on, instead of a Streamlit fragment polling
    the class twice a second. A fragment's run, however little it draws, costs
    the server about 4 ms of its one core's Python (a script run, its thread, half a dozen
    messages): a class of 30 following the teacher took a quarter of the server's core while
    nobody clicked (measured with `benchmarks.classroom_load`'s clients). Whether it could
    be patched."""
    try:
        from starlette.middleware import Middleware
        from streamlit import config
        from streamlit.web.server.starlette import starlette_app
    except ImportError:
        return False
    create = getattr(starlette_app, "create_streamlit_middleware", None)
    if create is None:
        return False
    if getattr(create, "caption_lab_class", False):
        return True

    def create_with_class_versions():
        from explorer import classroom
        base = [part for part in str(config.get_option("server.baseUrlPath") or "").split("/") if part]
        url = "/" + "/".join([*base, classroom.VERSION_ROUTE])
        classroom.version_url = url
        return [Middleware(ClassVersions, prefix=url), *create()]

    create_with_class_versions.caption_lab_class = True
    starlette_app.create_streamlit_middleware = create_with_class_versions
    return True


def _tell_the_workers() -> None:
    from core.paths import runs_dir
    from explorer.runs import crowd
    crowd.say(runs_dir())


def take_turns(turns: Turns | None = None) -> bool:
    """Patch Streamlit's ScriptRunner so that page runs take turns (`explorer.turns`): a
    run waits its turn before it starts, and a runner asked to stop while it waits (its
    browser clicked again, or left) is excused, so it stops at once, as it would have
    without turns. Whether it could be patched."""
    try:
        from streamlit.runtime.scriptrunner.script_runner import ScriptRunner
    except ImportError:
        return False
    run_script = getattr(ScriptRunner, "_run_script", None)
    request_stop = getattr(ScriptRunner, "request_stop", None)
    if run_script is None or request_stop is None:
        return False
    if getattr(run_script, "caption_lab_turns", False):
        return True
    turns = turns or Turns(on_crowd=_tell_the_workers)

    def run_script_in_turn(self, rerun_data) -> None:
        ticket = self.__dict__["_caption_lab_ticket"] = turns.ticket()
        if self.__dict__.get("_caption_lab_stopped"):   # stopped before it had a ticket
            turns.excuse(ticket)
        try:
            with turns.turn(ticket):
                run_script(self, rerun_data)
        finally:
            self.__dict__.pop("_caption_lab_ticket", None)

    def request_stop_excused(self) -> None:
        request_stop(self)
        self.__dict__["_caption_lab_stopped"] = True    # a stopped runner never runs again
        ticket = self.__dict__.get("_caption_lab_ticket")
        if ticket is not None:                          # it waits its turn, or holds it
            turns.excuse(ticket)

    run_script_in_turn.caption_lab_turns = True
    ScriptRunner._run_script = run_script_in_turn
    ScriptRunner.request_stop = request_stop_excused
    return True


def main(argv: list[str] | None = None) -> int:
    from streamlit.web import cli
    if not install():
        print("Caption Lab: this Streamlit has no _bind_socket to patch; pages answer up to 40 ms later.",
              file=sys.stderr)
    turns = Turns(on_crowd=_tell_the_workers)
    if not take_turns(turns):
        print("Caption Lab: this Streamlit has no ScriptRunner._run_script to patch; "
              "a class clicking at once waits longer.", file=sys.stderr)
    def gather() -> float:                          # messages and writes wait only while pages do
        return GATHER if turns.waiting else 0.0

    if not batch_events(gather=gather):
        print("Caption Lab: this Streamlit has no AppSession._call_soon_on_event_loop to patch; "
              "a class clicking at once waits longer.", file=sys.stderr)
    if not remember_arg_names():
        print("Caption Lab: this Streamlit has no caching _get_positional_arg_name to patch; "
              "cached functions cost more per call.", file=sys.stderr)
    if not look_up_one_key():
        print("Caption Lab: this Streamlit's widgets cannot be patched to look up one key; "
              "each widget costs more per rerun.", file=sys.stderr)
    if not write_in_bulk(gather=gather):
        print("Caption Lab: this uvicorn has no websockets-sansio protocol to patch; "
              "each message of a page is a write of its own.", file=sys.stderr)
    if not class_versions():
        print("Caption Lab: this Streamlit has no create_streamlit_middleware to patch; a class's followers "
              "poll it through Streamlit, at a higher cost to the server.", file=sys.stderr)
    if not theme_once():
        print("Caption Lab: this Streamlit has no app_session._populate_theme_msg to patch; "
              "every page run reads the theme from the config again.", file=sys.stderr)
    if not dedent_only_indented():
        print("Caption Lab: this Streamlit has no string_util.clean_text or html._html_only_style_tags to "
              "patch; every Markdown and HTML body is dedented on every run.", file=sys.stderr)
    if not wake_directly():
        print("Caption Lab: this Streamlit has no Runtime._enqueued_some_message to patch; "
              "a class clicking at once waits longer.", file=sys.stderr)
    settle_the_heap()
    args = list(sys.argv[1:] if argv is None else argv)
    return cli.main(args=["run", str(APP), *args], prog_name="streamlit", standalone_mode=True)


if __name__ == "__main__":
    sys.exit(main())
