"""Tabs that reopen on the tab last shown, also after a visit to another page.

Streamlit drops a widget's state when its page is left, and `st.tabs` has no
`persist_state`, so `kept_tabs` copies the open tab into a plain session entry
(`"<key>.kept"`) on every run and seeds the widget from it when the page comes back.
Each returned tab's `.open` says whether it is the one showing, so a page draws only
that one. Tabs are named by their English names (`N_`-marked) and shown translated; the
kept entry is the English name, so the open tab also survives a change of language.
The address says which tab is open (`?tab=step-through`, `explorer.address`), so a link
or a reload opens it again.
"""
from __future__ import annotations

from typing import Sequence

import streamlit as st

from explorer import address
from explorer.i18n import _


def kept_tabs(names: Sequence[str], key: str):
    """`st.tabs` of `names` (English, shown in the reader's language) that remembers the
    open tab for the whole session."""
    shown = [_(name) for name in names]
    kept = f"{key}.kept"
    slugs = [address.slug(name) for name in names]
    linked = address.take("tab")
    if linked in slugs:
        st.session_state[kept] = names[slugs.index(linked)]
        st.session_state[key] = shown[slugs.index(linked)]
    elif linked is not None:
        address.problem(_("The link names a tab this page does not have: it opens on “{tab}”.").format(
            tab=st.session_state.get(key) if st.session_state.get(key) in shown else shown[0]))
    if st.session_state.get(key) not in shown and st.session_state.get(kept) in names:
        st.session_state[key] = shown[list(names).index(st.session_state[kept])]
    tabs = st.tabs(shown, key=key, on_change="rerun")
    open_now = st.session_state.get(key)
    st.session_state[kept] = names[shown.index(open_now)] if open_now in shown else None
    address.show("tab", slugs[shown.index(open_now)] if open_now in shown else slugs[0])
    return tabs
