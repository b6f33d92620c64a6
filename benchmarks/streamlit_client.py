"""A Streamlit client without a browser: Streamlit's own websocket protocol, for load tests.

    session = await Session.connect("http://127.0.0.1:8501")
    result = await session.open("train")          # one page: seconds until its script finished
    await session.close()

A session can also press a button or choose a radio option by the widget's key, as a
browser would (`click("lesson_next")`, `choose("lesson.answer.data", 0)`: the widget's id
and options come from what the page drew), and `listener` sees every forward message as it
arrives (the follow scenario of `benchmarks.classroom_load` times a step change so).

With `Session.fetch_images = True` every session also fetches each picture the server sends
by address (Streamlit's `/media/...` files) once, in the background, as a browser shows it
(a `data:` address travels inline and needs no fetch), one at a time per session (a browser
asks for several at once); `images_done()` waits until those queued so far were fetched.

A session fetches the app's page once (the XSRF cookie and, through a proxy, its route
cookie), opens `/_stcore/stream` with the subprotocols the browser sends, and talks in
the `BackMsg` / `ForwardMsg` protobufs that ship with Streamlit: `rerun_script` with a
page's script hash, then every forward message until `script_finished`. It counts the
exception boxes and error alerts the page drew, and, like a browser, reruns the page's
fragments that ask for it (`auto_rerun`) while it stays on the page. What a follower's page
script does in a browser in a class (ask the server for the class's version, press the
hidden button when it moved on) it does in `follow_class`. Only ever point it at a server
of your own, on a loopback address.
"""
from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from typing import Callable, ClassVar
from urllib.parse import urlsplit

import requests
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

from explorer.address import PROBLEM_ICON as LINK_PROBLEM_ICON

LOOPBACK = ("127.0.0.1", "localhost", "::1")
CLASS_DRAWN = re.compile(r'class="class-drawn" data-v="(\d+)"(?: data-poll="([^"]+)")?')


@dataclass
class PageResult:
    page: str
    seconds: float
    exceptions: int = 0
    errors: int = 0
    link_problems: int = 0             # warnings that a link's value was not used (`explorer.address.problem`)
    status: str = "ok"                 # ok, timeout, closed


@dataclass
class Session:
    base: str
    ws: object
    pages: dict[str, str] = field(default_factory=dict)     # url path ("train") -> page script hash
    fragments: dict[str, float] = field(default_factory=dict)   # fragment id -> seconds between reruns
    query: str = ""
    served_by: str = ""                # "host:port" from the sidebar, when the app runs on Redis (replicas)
    widgets: dict[str, object] = field(default_factory=dict)   # widget key -> the element that drew it
    widget_fragments: dict[str, str] = field(default_factory=dict)   # widget key -> its fragment's id ("": none)
    listener: Callable[[ForwardMsg], None] | None = None       # sees every forward message
    page_hash: str = ""                # the page last opened
    class_drawn: tuple[str, str] | None = None   # a follower's page: (class version drawn, its version route)
    http: requests.Session | None = None
    _reruns: asyncio.Task | None = None
    _inbox: asyncio.Queue = field(default_factory=asyncio.Queue)
    _reader: asyncio.Task | None = None
    _running: asyncio.Lock = field(default_factory=asyncio.Lock)   # one script run asked for at a time
    _drawn_seen: bool = False
    fetch_images: ClassVar[bool] = False   # every session fetches the pictures' addresses, as a browser does
    images_fetched: int = 0
    image_errors: int = 0                  # a picture's address that did not answer 200 with bytes
    _seen_images: set = field(default_factory=set)
    _images: asyncio.Queue = field(default_factory=asyncio.Queue)
    _fetcher: asyncio.Task | None = None

    @classmethod
    async def connect(cls, base: str, query: str = "", http: requests.Session | None = None) -> "Session":
        """A new session on the app at `base`. Give `http` (a requests session) to come back as
        the same browser: its cookies (a proxy's route cookie among them) are sent again."""
        host = urlsplit(base).hostname
        if host not in LOOPBACK:
            raise ValueError(f"load tests only ever target loopback addresses, not {host}")
        http = http or requests.Session()
        await asyncio.to_thread(http.get, base + "/", timeout=30)
        cookies = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
        xsrf = http.cookies.get("_streamlit_xsrf", "")
        url = "ws" + base[len("http"):] + "/_stcore/stream"
        ws = await websockets.connect(url, subprotocols=["streamlit", xsrf] if xsrf else ["streamlit"],
                                      additional_headers={"Origin": base, **({"Cookie": cookies} if cookies else {})},
                                      max_size=None, open_timeout=30)
        session = cls(base, ws, query=query, http=http)
        session._reader = asyncio.create_task(session._read())
        return session

    async def _read(self) -> None:
        try:
            async for data in self.ws:
                message = ForwardMsg()
                message.ParseFromString(data)
                self._note_widget(message)
                self._note_images(message)
                if message.WhichOneof("type") == "script_finished" and \
                        message.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                    if not self._drawn_seen:                # a whole page run without a follower's marker
                        self.class_drawn = None
                if self.listener is not None:
                    self.listener(message)
                await self._inbox.put(message)
        except websockets.ConnectionClosed:
            pass
        await self._inbox.put(None)

    def _note_widget(self, message) -> None:
        """Keep the buttons, radios and toggles the page draws, by their key (their id ends with it)."""
        if message.WhichOneof("type") != "delta" or message.delta.WhichOneof("type") != "new_element":
            return
        element = message.delta.new_element
        which = element.WhichOneof("type")
        if which == "html" and (drawn := CLASS_DRAWN.search(element.html.body)):
            self.class_drawn, self._drawn_seen = (drawn.group(1), drawn.group(2) or ""), True
        if which in ("button", "radio", "checkbox"):
            proto = getattr(element, which)
            key = proto.id[len("$$ID-"):].split("-", 1)[-1] if proto.id.startswith("$$ID-") else proto.id
            self.widgets[key] = proto
            self.widget_fragments[key] = message.delta.fragment_id

    def _note_images(self, message) -> None:
        """Queue each new picture address of an image element for fetching (with `fetch_images`)."""
        if not self.fetch_images or message.WhichOneof("type") != "delta" \
                or message.delta.WhichOneof("type") != "new_element" \
                or message.delta.new_element.WhichOneof("type") != "imgs":
            return
        for image in message.delta.new_element.imgs.imgs:
            if image.url.startswith("/") and image.url not in self._seen_images:
                self._seen_images.add(image.url)
                if self._fetcher is None:
                    self._fetcher = asyncio.create_task(self._fetch_images())
                self._images.put_nowait(image.url)

    async def _fetch_images(self) -> None:
        while True:
            url = await self._images.get()
            ok = False
            try:
                response = await asyncio.to_thread(self.http.get, self.base + url, timeout=30)
                ok = response.status_code == 200 and len(response.content) > 0
            except Exception:                              # noqa: BLE001 - a failed fetch, counted
                pass
            finally:
                self.images_fetched += ok
                self.image_errors += not ok
                self._images.task_done()

    async def images_done(self) -> None:
        """Until every picture address queued so far was fetched (at once without `fetch_images`)."""
        await self._images.join()

    async def _send_rerun(self, page_hash: str = "", fragment: str = "", widgets: list | None = None) -> None:
        """Ask for a script run: the page's, or with `fragment` that fragment's (a timed rerun,
        or with `widgets` the fragment whose widget changed, as a browser asks)."""
        message = BackMsg()
        state = message.rerun_script
        state.query_string = self.query
        state.page_script_hash = page_hash
        if fragment:
            state.fragment_id = fragment
            state.is_auto_rerun = not widgets
        else:
            self._drawn_seen = False                       # a page run: does it draw a follower's marker?
        if widgets:
            state.widget_states.widgets.extend(widgets)
        await self.ws.send(message.SerializeToString())

    async def click(self, key: str, timeout: float = 120.0) -> PageResult:
        """Press the button with key `key` on the page last opened; wait until the script (or
        the fragment the button is in) finished."""
        return await self._act(WidgetState(id=self.widgets[key].id, trigger_value=True), key, timeout)

    async def choose(self, key: str, option: int, timeout: float = 120.0) -> PageResult:
        """Choose option `option` (0-based) of the radio with key `key`; wait until the script
        (or the radio's fragment) finished."""
        radio = self.widgets[key]
        return await self._act(WidgetState(id=radio.id, string_value=radio.options[option]), key, timeout)

    async def _act(self, widget, what: str, timeout: float) -> PageResult:
        fragment = self.widget_fragments.get(what, "")
        async with self._running:                          # the answer to this request, not another's
            if fragment:                                   # the fragment's run: the others' timed reruns go on after
                self._pause_fragment_reruns()
            else:                                          # a page run: the fragments' timed reruns start over
                self._stop_fragment_reruns()
            return await self._run(self.page_hash, what, timeout, [widget], fragment)

    async def open(self, page: str = "", timeout: float = 120.0) -> PageResult:
        """Open a page (its URL path, "" for the default) and wait until its script finished."""
        async with self._running:
            self._stop_fragment_reruns()
            self.page_hash = self.pages.get(page, "")
            return await self._run(self.page_hash, page or "home", timeout)

    async def _run(self, page_hash: str, what: str, timeout: float, widgets: list | None = None,
                   fragment: str = "") -> PageResult:
        started = time.perf_counter()
        await self._send_rerun(page_hash, fragment, widgets)
        result = PageResult(what, 0.0)
        deadline = started + timeout
        while True:
            try:
                message = await asyncio.wait_for(self._inbox.get(), max(0.01, deadline - time.perf_counter()))
            except asyncio.TimeoutError:
                result.status = "timeout"
                break
            if message is None:
                result.status = "closed"
                break
            kind = message.WhichOneof("type")
            if kind == "navigation":
                self.pages.update({p.url_pathname: p.page_script_hash for p in message.navigation.app_pages})
            elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                element = message.delta.new_element
                which = element.WhichOneof("type")
                if which == "exception":
                    result.exceptions += 1
                elif which == "alert" and element.alert.format == element.alert.ERROR:
                    result.errors += 1
                elif which == "alert" and element.alert.icon == LINK_PROBLEM_ICON:
                    result.link_problems += 1
                elif which == "markdown" and "Served by `" in element.markdown.body:
                    self.served_by = element.markdown.body.split("`")[1]
            elif kind == "auto_rerun":
                self.fragments[message.auto_rerun.fragment_id] = message.auto_rerun.interval
            elif kind == "stop_auto_rerun":
                self.fragments.pop(message.stop_auto_rerun.fragment_id, None)
            elif kind == "script_finished" and message.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN \
                    and (fragment or message.script_finished != ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY):
                break
        result.seconds = time.perf_counter() - started
        if self.fragments:
            self._reruns = asyncio.create_task(self._rerun_fragments(page_hash))
        return result

    async def _rerun_fragments(self, page_hash: str) -> None:
        """As a browser does: rerun each fragment that asked for it, at its interval."""
        due = {f: time.monotonic() + interval for f, interval in self.fragments.items()}
        while True:                                        # until the next open, click or close
            now = time.monotonic()
            for fragment, interval in list(self.fragments.items()):
                if now >= due.get(fragment, now):
                    await self._send_rerun(page_hash, fragment)
                    due[fragment] = now + interval
            await asyncio.sleep(0.05)
            while not self._inbox.empty():                # drain what the fragment reruns sent back
                message = self._inbox.get_nowait()
                if message is None:
                    return
                kind = message.WhichOneof("type")
                if kind == "stop_auto_rerun":
                    self.fragments.pop(message.stop_auto_rerun.fragment_id, None)
                elif kind == "auto_rerun":                # a full rerun the app asked for (st.rerun) sets it again
                    self.fragments[message.auto_rerun.fragment_id] = message.auto_rerun.interval

    @property
    def class_route(self) -> str:
        """The server's version route the page last drawn names, when it is a follower's
        page that waits on one ("" otherwise)."""
        return self.class_drawn[1] if self.class_drawn else ""

    async def follow_class(self, sync_key: str, every: float, stale: float,
                           pressed: Callable[[str], None] | None = None) -> None:
        """What a follower's page script does in a browser (`class_panel.WATCHDOG`), until
        cancelled: where the page drew a class version with the server's version route, ask
        the route to answer once the class is at another version (it holds the request until
        then); when it has moved on (or ended), press the hidden button `sync_key`, which
        reruns the page, and again only if the page still shows the old version `stale`
        seconds later; on any other answer ask again (after `every` seconds when it failed).
        `pressed("move")` or `pressed("again")` hears each press."""
        asked, seen = 0.0, None
        while True:
            drawn = self.class_drawn
            if drawn is None or not drawn[1] or sync_key not in self.widgets:
                await asyncio.sleep(every)
                continue
            if drawn[0] != seen:
                seen, asked = drawn[0], 0.0
            started = time.monotonic()
            try:
                status, body = await asyncio.wait_for(self._get(f"{drawn[1]}?v={drawn[0]}"), 40)
                version = str(json.loads(body).get("version")) if status == 200 else \
                    "ended" if status == 404 else None
            except (OSError, ValueError, IndexError, asyncio.TimeoutError):
                version = None                             # no answer: ask again in a while
            shown = self.class_drawn
            if version is not None and shown and version != shown[0]:
                if time.monotonic() - asked > stale:
                    if pressed is not None:
                        pressed("again" if asked else "move")
                    asked = time.monotonic()
                    self._drawn_seen = False
                    await self.click(sync_key)
                    if not self._drawn_seen:               # the page it drew is no follower's (the class ended)
                        self.class_drawn = None
                else:
                    await asyncio.sleep(every)
            elif version is None or time.monotonic() - started < 1:
                await asyncio.sleep(every)

    async def _get(self, path: str) -> tuple[int, bytes]:
        """GET `path` of the app with a connection of its own (a browser's request that the
        server may hold open), without a thread: the status and the body."""
        parts = urlsplit(self.base)
        cookies = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items()) if self.http is not None else ""
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
        try:
            writer.write((f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n"
                          + (f"Cookie: {cookies}\r\n" if cookies else "") + "\r\n").encode())
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
        head, _, body = raw.partition(b"\r\n\r\n")
        return int(head.split(b" ", 2)[1]), body

    def _stop_fragment_reruns(self) -> None:
        self._pause_fragment_reruns()
        self.fragments.clear()

    def _pause_fragment_reruns(self) -> None:
        if self._reruns is not None:
            self._reruns.cancel()
            self._reruns = None
        while not self._inbox.empty():
            self._inbox.get_nowait()

    async def close(self) -> None:
        self._stop_fragment_reruns()
        if self._fetcher is not None:
            self._fetcher.cancel()
        await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
