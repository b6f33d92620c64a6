"""Cached work that says what it is doing in the reader's language.

`st.cache_data` and `st.cache_resource` take their spinner text when the function is
decorated, before anyone has chosen a language. `spinning` puts the spinner around the
call instead, translated then. Streamlit shows a spinner only when its block runs longer
than half a second, so a cache hit shows nothing.

    @spinning(N_("Counting words…"))
    @st.cache_data(show_spinner=False, max_entries=8)
    def _stats(dataset_key, split, _data): ...
"""
from __future__ import annotations

import functools
from typing import Callable, TypeVar

import streamlit as st

from explorer.i18n import _

F = TypeVar("F", bound=Callable)


def spinning(text: str, *, show_time: bool = False) -> Callable[[F], F]:
    """Decorate a cached function so that every call runs under `st.spinner(_(text))`
    (with Streamlit's elapsed-time counter when `show_time`, off as in `st.spinner`);
    `text` is marked with `N_` where it is written. The cache's `clear` stays reachable."""
    def decorate(cached: F) -> F:
        @functools.wraps(cached)
        def call(*args, **kwargs):
            with st.spinner(_(text), show_time=show_time):
                return cached(*args, **kwargs)
        if hasattr(cached, "clear"):
            call.clear = cached.clear
        return call                              # type: ignore[return-value]
    return decorate
