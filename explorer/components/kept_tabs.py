"""Tabs that reopen on the tab last shown, also after a visit to another page.

Streamlit drops a widget's state when its page is left, and `st.tabs` has no
`persist_state`, so `kept_tabs` copies the open tab into a plain session entry
(`"<key>.kept"`) on every run and seeds the widget from it when the page comes back.
Each returned tab's `.open` says whether it is the one showing, so a page draws only
that one.
"""
from __future__ import annotations

from typing import Sequence

import streamlit as st


def kept_tabs(labels: Sequence[str], key: str):
    """`st.tabs(labels, key=key)` that remembers the open tab for the whole session."""
    kept = f"{key}.kept"
    if key not in st.session_state and st.session_state.get(kept) in labels:
        st.session_state[key] = st.session_state[kept]
    tabs = st.tabs(list(labels), key=key, on_change="rerun")
    st.session_state[kept] = st.session_state.get(key)
    return tabs
