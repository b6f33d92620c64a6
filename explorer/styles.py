"""The app's own CSS, for what Streamlit's layout does not do by itself on a narrow screen (a
1280-px projector, or a laptop at 150% zoom: 853 CSS pixels wide).

- the sidebar narrows where the window is narrow (it took a third of the screen at 150% zoom);
- a tab strip wraps onto a second row instead of scrolling its last tabs out of sight.

`apply()` is called once per run by the app shell (`explorer/app.py`); a `<style>`-only
`st.html` takes no room on the page. Nothing else in the app writes CSS.
"""
from __future__ import annotations

import streamlit as st

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
</style>
"""


def apply() -> None:
    """Add the app's CSS to this run's page."""
    st.html(CSS)
