"""A Streamlit client without a browser: Streamlit's own websocket protocol, for load tests.

    session = await Session.connect("http://127.0.0.1:8501")
    result = await session.open("train")          # one page: seconds until its script finished
    await session.close()

A session can also press a button or choose a radio option by the widget's key, as a
browser would (`click("lesson_next")`, `choose("lesson.answer.data", 0)`: the widget's id
and options come from what the page drew), and `listener` sees every forward message as it
arrives (the follow scenario of `benchmarks.classroom_load` times a step change so).

A session fetches the app's page once (the XSRF cookie and, through a proxy, its route
cookie), opens `/_stcore/stream` with the subprotocols the browser sends, and talks in
the `BackMsg` / `ForwardMsg` protobufs that ship with Streamlit: `rerun_script` with a
page's script hash, then every forward message until `script_finished`. It counts the
exception boxes and error alerts the page drew, and, like a browser, reruns the page's
fragments that ask for it (`auto_rerun`) while it stays on the page. Only ever point it
at a server of your own, on a loopback address.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlsplit

import requests
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class PageResult:
    page: str
    seconds: float
    exceptions: int = 0
    errors: int = 0
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
    listener: Callable[[ForwardMsg], None] | None = None       # sees every forward message
    page_hash: str = ""                # the page last opened
    _reruns: asyncio.Task | None = None
    _inbox: asyncio.Queue = field(default_factory=asyncio.Queue)
    _reader: asyncio.Task | None = None

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
        session = cls(base, ws, query=query)
        session._reader = asyncio.create_task(session._read())
        return session

    async def _read(self) -> None:
        try:
            async for data in self.ws:
                message = ForwardMsg()
                message.ParseFromString(data)
                self._note_widget(message)
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
        if which in ("button", "radio", "checkbox"):
            proto = getattr(element, which)
            key = proto.id[len("$$ID-"):].split("-", 1)[-1] if proto.id.startswith("$$ID-") else proto.id
            self.widgets[key] = proto

    async def _send_rerun(self, page_hash: str = "", fragment: str = "", widgets: list | None = None) -> None:
        message = BackMsg()
        state = message.rerun_script
        state.query_string = self.query
        state.page_script_hash = page_hash
        if fragment:
            state.fragment_id = fragment
            state.is_auto_rerun = True
        if widgets:
            state.widget_states.widgets.extend(widgets)
        await self.ws.send(message.SerializeToString())

    async def click(self, key: str, timeout: float = 120.0) -> PageResult:
        """Press the button with key `key` on the page last opened; wait until the script finished."""
        return await self._act(WidgetState(id=self.widgets[key].id, trigger_value=True), key, timeout)

    async def choose(self, key: str, option: int, timeout: float = 120.0) -> PageResult:
        """Choose option `option` (0-based) of the radio with key `key`; wait until the script finished."""
        radio = self.widgets[key]
        return await self._act(WidgetState(id=radio.id, string_value=radio.options[option]), key, timeout)

    async def _act(self, widget, what: str, timeout: float) -> PageResult:
        self._stop_fragment_reruns()
        return await self._run(self.page_hash, what, timeout, [widget])

    async def open(self, page: str = "", timeout: float = 120.0) -> PageResult:
        """Open a page (its URL path, "" for the default) and wait until its script finished."""
        self._stop_fragment_reruns()
        self.page_hash = self.pages.get(page, "")
        return await self._run(self.page_hash, page or "home", timeout)

    async def _run(self, page_hash: str, what: str, timeout: float, widgets: list | None = None) -> PageResult:
        started = time.perf_counter()
        await self._send_rerun(page_hash, widgets=widgets)
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
                elif which == "markdown" and "Served by `" in element.markdown.body:
                    self.served_by = element.markdown.body.split("`")[1]
            elif kind == "auto_rerun":
                self.fragments[message.auto_rerun.fragment_id] = message.auto_rerun.interval
            elif kind == "stop_auto_rerun":
                self.fragments.pop(message.stop_auto_rerun.fragment_id, None)
            elif kind == "script_finished" and message.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN \
                    and message.script_finished != ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
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

    def _stop_fragment_reruns(self) -> None:
        if self._reruns is not None:
            self._reruns.cancel()
            self._reruns = None
        self.fragments.clear()
        while not self._inbox.empty():
            self._inbox.get_nowait()

    async def close(self) -> None:
        self._stop_fragment_reruns()
        await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
