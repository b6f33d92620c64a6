"""The app's pages by section, as `st.navigation` takes them: built once per language.

An `st.Page` resolves its script's path (a `stat` per folder on the way), checks that the
file exists and hashes its address each time it is made, and the router makes eight on
every run of every page: 0.6 to 1.1 ms of each run on the Intel Xeon, a tenth of a small
page's (server CPU, two builds side by side; the README's *Speed*). Here they are made
once per language and copied for each run, since `st.navigation` marks the page it picks
(its own copy, so one session's page never changes another's).
"""
from __future__ import annotations

import copy
import functools
from pathlib import Path

import streamlit as st

from explorer import i18n
from explorer.i18n import _

PAGES = Path(__file__).resolve().parent.parent / "pages"


@functools.lru_cache(maxsize=None)
def _sections(lang: str) -> tuple[tuple[str, tuple[st.Page, ...]], ...]:
    """(Within a script run, in `lang`, the language of the run.) Every section's pages."""
    return (
        ("Caption Lab", (st.Page(PAGES / "home.py", title=_("Home"), icon=":material/home:", default=True),
                         st.Page(PAGES / "lesson.py", title=_("Lesson"), icon=":material/school:"))),
        (_("Data"), (st.Page(PAGES / "browse.py", title=_("Browse"), icon=":material/photo_library:"),
                     st.Page(PAGES / "layer_lab.py", title=_("Layer lab"), icon=":material/functions:"))),
        (_("Model"), (st.Page(PAGES / "train.py", title=_("Train"), icon=":material/monitoring:"),
                      st.Page(PAGES / "inspect.py", title=_("Inspect"), icon=":material/neurology:"),
                      st.Page(PAGES / "compare.py", title=_("Compare"), icon=":material/compare:"),
                      st.Page(PAGES / "your_code.py", title=_("Your code"), icon=":material/code:"))),
    )


def sections() -> dict[str, list[st.Page]]:
    """The pages of each section, in this run's language: this run's own copies."""
    return {section: [copy.copy(page) for page in pages] for section, pages in _sections(i18n.language())}
