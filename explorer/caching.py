"""Cached work that says what it is doing in the reader's language.

`st.cache_data` and `st.cache_resource` take their spinner text when the function is
decorated, before anyone has chosen a language. `spinning` puts the spinner around the
call instead, translated then. Streamlit shows a spinner only when its block runs longer
than half a second, so a cache hit shows nothing; but each `st.spinner` still starts a
timer thread and sends two messages, which was a fifth of a class server's CPU when 30
followers reran the Lesson page at once (py-spy). So a call whose arguments (those Streamlit
hashes: not the `_`-named ones) were among the last `REMEMBERED` answered goes straight to
the cache, without a spinner.

Decorate in a module a page imports, never in a page script: the script runs anew on every
run, decorator included, and the memory would start empty each time
(tests/pages/test_page_scripts.py).

    @spinning(N_("Counting words…"))
    @st.cache_data(show_spinner=False, max_entries=8)
    def stats(dataset_key, split, _data): ...
"""
from __future__ import annotations

import functools
import inspect
import threading
from collections import OrderedDict
from typing import Callable, TypeVar

import streamlit as st

from explorer.i18n import _

F = TypeVar("F", bound=Callable)
REMEMBERED = 4                 # at most the smallest max_entries of the caches decorated, so a remembered
                               # key is almost always still cached (else it is computed, without a spinner)


def spinning(text: str, *, show_time: bool = False) -> Callable[[F], F]:
    """Decorate a cached function so that every call runs under `st.spinner(_(text))`
    (with Streamlit's elapsed-time counter when `show_time`, off as in `st.spinner`);
    `text` is marked with `N_` where it is written. The cache's `clear` stays reachable."""
    def decorate(cached: F) -> F:
        signature = inspect.signature(getattr(cached, "__wrapped__", cached))
        answered: OrderedDict = OrderedDict()
        lock = threading.Lock()

        def key_of(args, kwargs):
            """The arguments Streamlit hashes, as a key; None when one cannot be a key."""
            try:
                bound = signature.bind(*args, **kwargs)
                key = tuple((name, value) for name, value in bound.arguments.items() if not name.startswith("_"))
                hash(key)
                return key
            except TypeError:
                return None

        @functools.wraps(cached)
        def call(*args, **kwargs):
            key = key_of(args, kwargs)
            with lock:
                known = key is not None and key in answered
                if known:
                    answered.move_to_end(key)
            if known:
                return cached(*args, **kwargs)
            with st.spinner(_(text), show_time=show_time):
                value = cached(*args, **kwargs)
            if key is not None:
                with lock:
                    answered[key] = True
                    while len(answered) > REMEMBERED:
                        answered.popitem(last=False)
            return value

        def clear(*args, **kwargs):
            with lock:
                answered.clear()
            return cached.clear(*args, **kwargs)
        if hasattr(cached, "clear"):
            call.clear = clear
        return call                              # type: ignore[return-value]
    return decorate
