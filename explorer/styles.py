"""The app's own CSS, for what Streamlit's layout does not do by itself on a narrow screen (a
1280-px projector, or a laptop at 150% zoom: 853 CSS pixels wide).

- the sidebar narrows where the window is narrow (it took a third of the screen at 150% zoom);
- a tab strip wraps onto a second row instead of scrolling its last tabs out of sight;
- on a phone, a Compare example's caption goes under its picture (`EXAMPLE_ROW`: a row
  of one container, not two columns, which Streamlit would stack by itself).

`apply()` is called once per run by the app shell (`explorer/app.py`); a `<style>`-only
`st.html` takes no room on the page. Presenter mode's larger type is `explorer.presenter`'s.
"""
from __future__ import annotations

import streamlit as st

EXAMPLE_ROW = "example-row-"          # key prefix of a Compare example's row (strategy_view)

CSS = """
<style>
@media (max-width: 1100px) {
  section[data-testid="stSidebar"][data-collapsed="false"] { width: 236px !important; min-width: 236px !important; }
  [data-testid="stSidebarUserContent"], [data-testid="stSidebarNav"] { padding-left: 1rem; padding-right: 1rem; }
}
@media (max-width: 900px) {
  section[data-testid="stSidebar"][data-collapsed="false"] { width: 200px !important; min-width: 200px !important; }
  [data-testid="stSidebarUserContent"], [data-testid="stSidebarNav"] { padding-left: 0.75rem; padding-right: 0.75rem; }
}
[data-testid="stTabs"] [role="tablist"] { flex-wrap: wrap; overflow-x: visible; row-gap: 0.25rem; }
@media (max-width: 640px) {
  [class*="st-key-%(row)s"] { flex-wrap: wrap !important; }
  [class*="st-key-%(row)s"] > [data-testid="stElementContainer"] { width: 100%% !important; flex: 1 1 100%% !important; }
}
</style>
""" % {"row": EXAMPLE_ROW}


def apply() -> None:
    """Add the app's CSS to this run's page."""
    st.html(CSS)
