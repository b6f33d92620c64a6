"""Presenter mode: the app on a 1280x720 projector, read from the back of a room.

`?present=1` in the address, or the sidebar's *Presenter mode* toggle (which writes it
there, so a shared link opens the same way). In presenter mode:

- the sidebar starts collapsed (`initial_sidebar()` for `st.set_page_config`);
- every page's introduction folds into a box beside its title (`heading(title, intro)`);
- type is 1.25 times larger (the root font size, which Streamlit's rem units follow) and so
  are the pictures and charts that fill their column; the page's top margin shrinks, so a
  lesson step and Inspect's step-through fit 1280x720 without scrolling.

The choice is one per browser tab, like the language: `start()` settles it at the top of
every script run. Nothing here changes another person's screen.
"""
from __future__ import annotations

import streamlit as st

from explorer.i18n import _

PARAM = "present"                     # ?present=1 in the address
KEY = "app.present"                   # the session's choice (the sidebar toggle's key)
SCALE = 1.25                          # type and pictures, against the normal view
ON_VALUES = ("1", "true", "on", "yes")

# Streamlit's rem units follow the root font size; its own top padding (6rem) is for a
# header we keep as a thin strip. The selectors are Streamlit's test ids, stable across
# versions, never its generated class names.
CSS = f"""<style>
html {{ font-size: {100 * SCALE:.0f}%; }}
[data-testid="stMainBlockContainer"] {{ padding-top: 2.2rem; padding-bottom: 1rem; max-width: 100%; }}
[data-testid="stHeader"] {{ height: 2.4rem; background: transparent; }}
[data-testid="stMainBlockContainer"] h1 {{ padding-top: 0; padding-bottom: 0.25rem; font-size: 2.2rem; }}
[data-testid="stMainBlockContainer"] h2 {{ padding-top: 0.25rem; padding-bottom: 0.25rem; font-size: 1.8rem; }}
[data-testid="stMainBlockContainer"] h3 {{ padding-top: 0.25rem; padding-bottom: 0.25rem; }}
[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] {{ gap: 0.6rem; }}
</style>"""


def _wanted(value) -> bool:
    return isinstance(value, str) and value.strip().lower() in ON_VALUES


def start() -> bool:
    """Settle this run's presenter mode (call before `st.set_page_config`): the session's
    choice; on a first visit the address's `?present=`. Keeps the address saying it."""
    if KEY not in st.session_state:
        st.session_state[KEY] = _wanted(st.query_params.get(PARAM))
    on = bool(st.session_state[KEY])
    _write_address(on)
    return on


def _write_address(on: bool) -> None:
    if on and st.query_params.get(PARAM) != "1":
        st.query_params[PARAM] = "1"
    elif not on and PARAM in st.query_params:
        del st.query_params[PARAM]


def on() -> bool:
    """Whether this browser tab presents."""
    return bool(st.session_state.get(KEY, False))


def initial_sidebar() -> str:
    """`st.set_page_config`'s `initial_sidebar_state`: collapsed while presenting."""
    return "collapsed" if on() else "auto"


def style() -> None:
    """The presenter's larger type and tighter page (nothing when not presenting)."""
    if on():
        st.html(CSS)


def toggle() -> None:
    """The sidebar's *Presenter mode* switch."""
    st.toggle(_("Presenter mode"), key=KEY, on_change=lambda: _write_address(on()),
              help=_("For a projector: larger type and pictures, the sidebar folded away, page "
                     "introductions folded into a box, every lesson step on one 1280x720 screen. "
                     "Kept in the address as ?present=1."))


def heading(title: str, intro: str) -> None:
    """A page's title and introduction (both already translated): a paragraph under the
    title, or while presenting a folded box beside it, so the page's instruments start
    near the top of the screen."""
    if not on():
        st.title(title)
        st.markdown(intro)
        return
    with st.container(horizontal=True, vertical_alignment="center"):
        st.title(title, width="content")
        with st.popover(_("About this page"), icon=":material/info:"):
            st.markdown(intro)
