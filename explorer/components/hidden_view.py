"""The whole caption at once: its T×H hidden-state heatmap, one unit's story, norms and saturation.

The caption is the step-through decoder's, decoded on to its end (forced words kept),
so this view and the step-through panel always talk about the same sentence.
"""
from __future__ import annotations

import html

import streamlit as st

from core import analysis
from core.data.characters import shown as visible
from core.decoding import StepDecoder
from explorer.components.charts import chart_pair, step_lines
from explorer.components.exports import Slide
from explorer.components.heatmaps import caption_heatmap, coloured_tokens, coloured_tokens_html
from explorer.components.step_view import caption_html
from explorer.i18n import N_, _

ORDER = "inspect.unit_order"           # "index", "variance" or "activation"
ORDER_STEP = "inspect.order_step"      # the step whose activations order the units (+ ".<t>": one
                                       # widget per decoder position, so it follows the stepping)
SHOWN = "inspect.units_shown"          # how many units the heatmap shows
UNIT = "inspect.unit"                  # the unit whose activation colours the words
UNIT_SOURCE = "inspect.unit_source"    # colour by h or (LSTM) c
ALL = "all"
ORDER_LABELS = {"variance": N_("variance"), "activation": N_("activation at the step"),
                "index": N_("unit number")}
SERIES = {"h": N_("h saturated (|h| > 0.95)"), "i": N_("input gate i"), "f": N_("forget gate f"),
          "o": N_("output gate o"), "g": N_("candidate g")}      # the saturation chart's lines
TOP_UNITS = 6                          # rows of the "most variable units" colouring


def _labels(states: analysis.CaptionStates) -> list[str]:
    return [f"{t}: {visible(w)}" for t, w in enumerate(states.outputs)]      # a space as ␣


def whole_caption(decoder: StepDecoder, picked=None, image=None) -> None:
    """Draw the whole-caption view of the decoder's caption (its charts titled for a download
    with `picked`, the PickedModel, and `image`, the ImageChoice, when given)."""
    steps = decoder.continuation()
    states = analysis.CaptionStates.from_steps(steps, decoder.model.idx_to_word)
    T, H = states.T, states.H
    current = min(max(decoder.t - 1, 0), T - 1)
    st.html(caption_html(states.outputs, list(states.forced), current=current, size="1.4rem"))
    st.caption(_("The caption of the Step-through tab, decoded to its end ({T} steps; the orange word is "
                 "where stepping stands). Each heatmap row is the hidden state h_t at step t, the state "
                 "that chose the word on its label; each column is one of the {H} hidden units.").format(
        T=T, H=H))

    with st.container(horizontal=True, vertical_alignment="bottom", gap="medium"):   # wraps when narrow
        order_by = st.segmented_control(_("Order the units by"), list(ORDER_LABELS), key=ORDER,
                                        default="variance", required=True, persist_state="session",
                                        format_func=lambda k: _(ORDER_LABELS[k]))
        at = st.selectbox(_("Step (for the order and the outline)"), range(T), index=current,
                          key=f"{ORDER_STEP}.{current}", width=280,
                          format_func=lambda t: f"{t}: {visible(states.outputs[t])}")
        shown = st.selectbox(_("Units shown"), [32, 64, 128, ALL], index=1 if H > 64 else 3, key=SHOWN,
                             persist_state="session", width=140,
                             format_func=lambda n: _("all {n}").format(n=H) if n == ALL
                             else _("first {n}").format(n=n))
    order = analysis.unit_order(states.h, order_by, step=at)
    n = H if shown == ALL else min(int(shown), H)
    caption_heatmap(states.h, _labels(states), order[:n], highlight=at,
                    slide=Slide.of("inspect", "hidden-states", _("Hidden state at every step"),
                                   picked=picked, image=image))

    st.markdown(_("#### One unit, word by word"))
    st.caption(_("Karpathy's view: every word on the colour of one unit's activation when the word was "
                 "produced. Look for units that track a position, a colour word, or the end of a phrase."))
    a, b = st.columns([2, 1])
    most_variable = analysis.unit_order(states.h)
    if st.session_state.get(UNIT, 0) >= H:
        del st.session_state[UNIT]
    unit = a.number_input(_("Unit (0 to {last}); the most variable is {unit}").format(
                              last=H - 1, unit=int(most_variable[0])),
                          0, H - 1, int(most_variable[0]), key=UNIT, persist_state="session")
    source = "h"
    if states.c is not None:
        source = b.segmented_control(_("Colour by"), ("h", "c"), key=UNIT_SOURCE, default="h", required=True,
                                     persist_state="session",
                                     format_func=lambda s: _("hidden h") if s == "h" else _("cell c"))
    pairs = analysis.unit_trace(states, int(unit), source)
    vmax = max((abs(v) for _word, v in pairs), default=1.0) if source == "c" else 1.0
    coloured_tokens(pairs, vmax=vmax or 1.0, size="1.6rem")
    st.markdown(_("The {n} most variable units:").format(n=TOP_UNITS))
    for u in most_variable[:TOP_UNITS]:
        st.html(f'<div style="display:flex;align-items:center;gap:0.6em">'
                f'<span style="width:5.5em;font-size:1.05rem;color:#495057">'
                f'{html.escape(_("unit {n}").format(n=int(u)))}</span>'
                + coloured_tokens_html(analysis.unit_trace(states, int(u)), size="1.05rem") + "</div>")

    st.markdown(_("#### Size and saturation, step by step"))
    columns = {"t": range(T), "step": _labels(states), "||h_t||": analysis.hidden_norms(states.h)}
    sat = analysis.saturation(states)
    names = {key: _(name) for key, name in SERIES.items()}
    for key, values in sat.items():
        columns[names[key]] = values
    pair = chart_pair()
    with pair.cell():
        step_lines(columns, "step", ["||h_t||"], y_title="||h_t||", x_title=_("step: the word it chose"),
                   slide=Slide.of("inspect", "state-length", _("Length of the hidden state"),
                                  picked=picked, image=image))
    with pair.cell():
        step_lines(columns, "step", [names[k] for k in sat], y_title=_("units saturated"), percent=True,
                   x_title=_("step: the word it chose"),
                   domain=[0, 1], slide=Slide.of("inspect", "saturation", _("Fraction of units (or gates) saturated"),
                                                 picked=picked, image=image))
    st.caption(_("A saturated tanh or sigmoid sits on its flat part: it passes almost no gradient back. "
                 "Gates count as saturated below 0.05 or above 0.95."))
