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
