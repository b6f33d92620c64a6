"""What the address holds: the view a person is looking at, so that a link or a reload opens it again.

The page is Streamlit's path (`/inspect`). The query parameters this module owns say what
is on it:

    tab          the open tab, by its English name as a slug (`kept_tabs`): Browse, Inspect, Compare
    run          the run whose model Inspect and Compare show (`model_picker`)
    image        the image Inspect and Compare look at, as split:index: `val:42`, `train:7` (`image_picker`)
    t            Inspect's step-through: the step on show, as its heading numbers it (`step_view`)
    strategy, temperature, seed    Inspect's sampling (`step_view.decoding_controls`)

A component takes a value the address brought once (`take`), when it draws the control
the value is for, and shows what is on screen (`show`) every time it draws. `start` reads
the address on a session's first script run (the link someone opened, or a reload);
`finish` drops at the end of a run the parameters nothing showed, so the address never
holds a view that is not on screen (a run cut short, by `st.stop` or a page switch, leaves
it as it is). Every value is what a browser sent: the component that takes it checks it,
and says in a sentence (`problem`) why it used its default instead.

A page switch that names a view (`st.page_link(page, query_params={"tab": ...})`) opens it
as a link would.

Parameters other parts own (`STICKY`: the language, presenter mode, the lesson and its
step, a class) are left as they are. Streamlit 1.67 drops every query parameter on a page
switch (the sidebar's navigation; `st.switch_page` without `query_params`), so `start` puts
them back on the page switched to. No identity and no secret ever goes here (see
`explorer.cookies` and `explorer.admin`).
"""
from __future__ import annotations

import html
import re

import streamlit as st

from explorer.i18n import _

OWN = ("tab", "run", "image", "t", "strategy", "temperature", "seed")
STICKY = ("lang", "present", "lesson", "step", "class")
MAX_VALUE = 100                        # longer values are nobody's view: ignored
PROBLEM_ICON = ":material/link_off:"   # the icon of the warning that a link's value was not used

LINK = "address.link"                  # {parameter: value} the address opened with, not taken yet
PAGE = "address.page"                  # the page the last script run showed
SHOWN = "address.shown"                # the parameters shown during this script run
KEPT = "address.kept"                  # the STICKY parameters as the last run saw them


def start(page: str) -> None:
    """At the top of every script run, once the page is known (`st.navigation(...).url_path`)."""
    params = st.query_params.to_dict()          # read once: each look through st.query_params costs
    last = st.session_state.get(PAGE)
    if last is None or last != page:   # a session's first run (a link, a reload) or a page switch, whose
        # address holds only what the switch gave the new page (`st.page_link(..., query_params=)`):
        # a link's values not taken yet were for the page it opened, and go
        st.session_state[LINK] = {name: params[name] for name in OWN
                                  if name in params and len(params[name] or "") <= MAX_VALUE}
    if last is not None and last != page:
        for name, value in st.session_state.get(KEPT, {}).items():
            if name not in params:
                st.query_params[name] = params[name] = value
    st.session_state[KEPT] = {name: params[name] for name in STICKY if name in params}
    st.session_state[PAGE] = page
    st.session_state[SHOWN] = set()


def take(name: str) -> str | None:
    """The value the address opened with for `name`, once (None when there was none)."""
    return st.session_state.get(LINK, {}).pop(name, None)


def show(name: str, value) -> None:
    """Say in the address that `name` is `value` now (the view on screen); None drops it."""
    if value is None:
        if name in st.query_params:
            del st.query_params[name]
        return
    st.session_state.setdefault(SHOWN, set()).add(name)
    if st.query_params.get(name) != str(value):
        st.query_params[name] = str(value)


def finish() -> None:
    """At the end of every script run that ran to its end: drop the parameters of a view that is
    not on screen, and note the STICKY ones as the page left them (for the next page switch)."""
    shown = st.session_state.get(SHOWN, set())
    params = st.query_params.to_dict()
    for name in OWN:
        if name in params and name not in shown:
            del st.query_params[name]
    st.session_state[KEPT] = {name: params[name] for name in STICKY if name in params}   # (none of OWN)


def problem(text: str) -> None:
    """Say why a value of the link was not used (`text`: a sentence that ends by saying what is shown instead)."""
    st.warning(text, icon=PROBLEM_ICON)


def whole_number(value: str | None, low: int, high: int) -> int | None:
    """`value` (a link's text) as a whole number from `low` to `high`, or None."""
    if value is None or not re.fullmatch(r"\d{1,6}", value.strip()):
        return None
    number = int(value)
    return number if low <= number <= high else None


def slug(name: str) -> str:
    """A name as the address writes it: "RNN vs LSTM gradients" -> "rnn-vs-lstm-gradients"."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


# --- the Copy link button ------------------------------------------------------------

# Streamlit's sanitiser drops onclick attributes but runs scripts: the script wires the button
_COPY = """<script>
document.querySelectorAll("button.caption-lab-copy-link:not([data-ready])").forEach((b) => {
  b.dataset.ready = "1";
  b.addEventListener("click", () => {
    const link = window.location.href;
    const byHand = () => { const box = b.nextElementSibling; box.value = link; box.hidden = false; box.select(); };
    const done = () => {
      b.textContent = b.dataset.done;
      setTimeout(() => { b.textContent = b.dataset.label; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(link).then(done, byHand); }
    else { byHand(); }
  });
});
</script>"""

_STYLE = ("font: inherit; font-size: 0.875rem; padding: 0.25rem 0.75rem; border-radius: 0.5rem; cursor: pointer; "
          "border: 1px solid rgba(49, 51, 63, 0.2); background: transparent; color: inherit; white-space: nowrap")


def copy_link() -> None:
    """A "Copy link" button: copies the address of the view on screen. Where the browser does not
    let a page write the clipboard (a plain-http server), it shows the link, selected, to copy by hand."""
    label, done = html.escape(_("Copy link")), html.escape(_("Link copied"))
    tip, box = html.escape(_("Copy the address of this view, to share it or open it later")), html.escape(
        _("The link to copy"))
    st.html(f'<span style="display:inline-flex;gap:0.5rem;align-items:center;flex-wrap:wrap">'
            f'<button type="button" class="caption-lab-copy-link" style="{_STYLE}" title="{tip}" '
            f'data-label="{label}" data-done="{done}">{label}</button>'
            f'<input type="text" readonly hidden size="60" aria-label="{box}" style="font-size:0.8rem"></span>'
            f'{_COPY}', width="content", unsafe_allow_javascript=True)
