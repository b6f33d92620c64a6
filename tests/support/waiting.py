"""Waiting in tests for what a background process, a server or a page will do."""
from __future__ import annotations

import time


def wait_for(condition, timeout: float = 60.0, what: str = "the condition", poll: float = 0.1):
    """`condition()`'s first true value, asked every `poll` seconds; AssertionError naming
    `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(poll)


def run_coroutine(coroutine, loop_factory=None):
    """`asyncio.run(coroutine)` in a thread of its own: once Playwright's sync API has started
    (the session's browser), it keeps an event loop marked as running in the main thread, and
    `asyncio.run` there refuses to start. With `loop_factory` (uvloop's `new_event_loop`, say),
    on a loop that makes instead of asyncio's own."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    def run():
        if loop_factory is None:
            return asyncio.run(coroutine)
        loop = loop_factory()
        try:
            return loop.run_until_complete(coroutine)
        finally:
            loop.close()

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(run).result()
