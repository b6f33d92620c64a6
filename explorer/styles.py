"""The app's own CSS, for what Streamlit's layout does not do by itself on a narrow screen (a
1280-px projector, or a laptop at 150% zoom: 853 CSS pixels wide).

- the sidebar narrows where the window is narrow (it took a third of the screen at 150% zoom);
- a tab strip wraps onto a second row instead of scrolling its last tabs out of sight;
- on a phone, a Compare example's caption goes under its picture (`EXAMPLE_ROW`: a row
  of one container, not two columns, which Streamlit would stack by itself); an example
  whose picture travels inline is one HTML element (`EXAMPLE_CARD`), bordered and laid out
  like that row;
- a container whose key starts with `UNSEEN` is never shown: it holds a script or a marker
  (a cookie's script, `explorer.cookies`; a follower's poll and watchdog, `class_panel`);
- the Lesson's class controls (`CLASS_CONTROLS`) sit in the app's top strip, right of the
  sidebar's toggle and left of Streamlit's menu, where nothing else is, so a lesson step
  keeps its whole screen (presenter mode fits every step in 1280x720); their wrapper is
  taken out of the page's flow too, so it adds no gap above the step.

Each rule lives here, in the one `<style>` every run sends (`apply()`, called once per run
by the app shell, `explorer/app.py`; a `<style>`-only `st.html` takes no room on the page),
not in a `st.html` of its own beside what it styles: every element is a message to the
browser on every page run of every session. Presenter mode's larger type is
`explorer.presenter`'s.
"""
from __future__ import annotations

import streamlit as st

EXAMPLE_ROW = "example-row-"          # key prefix of a Compare example's row (strategy_view)
EXAMPLE_CARD = "caption-lab-example"  # class of a Compare example drawn as one HTML element (strategy_view)
UNSEEN = "unseen-"                    # key prefix of a container never shown (a script's, a marker's)
CLASS_CONTROLS = "class-controls"     # key of the Lesson's class controls, in the top strip (class_panel)

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
.%(card)s { display: flex; gap: 1rem; align-items: flex-start; padding: 1rem;
  border: 1px solid rgba(49, 51, 63, 0.2); border-radius: 0.5rem; }
.%(card)s > figure { flex: none; max-width: 100%%; margin: 0; }
.%(card)s > figure > img { display: block; width: 100%%; }
.%(card)s > figure > figcaption { text-align: center; font-size: 0.875rem; color: rgba(49, 51, 63, 0.6); padding-top: 0.25rem; }
.%(card)s > div { flex: 1 1 0; min-width: 0; }
[data-testid="stTabs"] [role="tablist"] { flex-wrap: wrap; overflow-x: visible; row-gap: 0.25rem; }
[class^="st-key-%(unseen)s"], [class*=" st-key-%(unseen)s"] { display: none; }
.st-key-%(controls)s { position: fixed; top: 0.35rem; right: 3.2rem; z-index: 999991; width: auto; }
div:has(> .st-key-%(controls)s) { position: absolute; }
@media (max-width: 640px) {
  [class*="st-key-%(row)s"] { flex-wrap: wrap !important; }
  [class*="st-key-%(row)s"] > [data-testid="stElementContainer"] { width: 100%% !important; flex: 1 1 100%% !important; }
  .%(card)s { flex-wrap: wrap; }
  .%(card)s > div { flex: 1 1 100%%; }
}
</style>
""" % {"row": EXAMPLE_ROW, "card": EXAMPLE_CARD, "unseen": UNSEEN, "controls": CLASS_CONTROLS}


def apply() -> None:
    """Add the app's CSS to this run's page."""
    st.html(CSS)
