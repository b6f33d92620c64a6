"""Browse's cached counts and searches, decorated once per server process.

A decorator at a page script's top level runs again on every run of that page (the script
is executed anew each time): `st.cache_data` then rebuilds its function's key from the
source (about 0.3 ms each) and `spinning` starts with an empty memory, so that every run
put up a spinner (a timer thread and two messages) for an answer already cached. Here, in
a module the page imports, both happen once.
"""
from __future__ import annotations

import streamlit as st

from core.data.stats import search_captions, split_stats
from explorer.caching import spinning
from explorer.i18n import N_


@spinning(N_("Counting words…"))
@st.cache_data(show_spinner=False, max_entries=8)
def stats(dataset_key: str, split: str, _data: dict):
    """`split_stats` of a dataset's split, cached by the dataset's key."""
    return split_stats(_data, split)


@spinning(N_("Searching the captions…"))
@st.cache_data(show_spinner=False, max_entries=32)
def search(dataset_key: str, words: tuple, mode: str, _data: dict):
    """`search_captions` in a dataset, cached by the dataset's key, the words and the mode."""
    return search_captions(_data, words, mode)
