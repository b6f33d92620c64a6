"""`spinning`: a translated spinner around a cached call, and none once its arguments were answered."""
from __future__ import annotations

import contextlib

import streamlit as st

from explorer import caching
from explorer.caching import REMEMBERED, spinning


def spinners(monkeypatch) -> list[str]:
    """Every spinner text shown from now on (Streamlit's spinner replaced by a recorder)."""
    shown: list[str] = []

    @contextlib.contextmanager
    def spinner(text, show_time=False):
        shown.append(text)
        yield

    monkeypatch.setattr(caching.st, "spinner", spinner)
    return shown


def test_a_remembered_call_skips_the_spinner_and_a_new_one_shows_it(monkeypatch):
    shown, computed = spinners(monkeypatch), []

    @spinning("Counting…")
    @st.cache_data(show_spinner=False, max_entries=8)
    def count(key: str, times: int, _data):
        computed.append((key, times))
        return key * times

    assert count("a", 2, {"big": 1}) == "aa" and len(shown) == 1
    assert count("a", 2, {"other": 2}) == "aa" and count("a", times=2, _data=None) == "aa"
    assert len(shown) == 1 and computed == [("a", 2)]          # `_data` is not part of the key, as in Streamlit
    assert count("b", 2, None) == "bb" and len(shown) == 2
    for k in range(REMEMBERED):                                  # the oldest is forgotten
        count(f"k{k}", 1, None)
    shown.clear()
    count("a", 2, None)
    assert len(shown) == 1
    count.clear()                                                # a cleared cache shows its spinner again
    shown.clear()
    assert count("a", 2, None) == "aa" and len(shown) == 1 and computed.count(("a", 2)) == 2


def test_arguments_that_cannot_be_a_key_always_get_the_spinner(monkeypatch):
    shown = spinners(monkeypatch)

    @spinning("Searching…")
    @st.cache_data(show_spinner=False)
    def search(words: list):
        return len(words)

    assert search(["a"]) == 1 and search(["a"]) == 1 and len(shown) == 2
