"""Hidden states as colour: one step's state strips, a caption's T×H heatmap, coloured tokens.

Charts are Vega-Lite specs drawn by the browser (hover any cell for its unit and value),
so a step costs the server a small table, not a rendered figure. Activations in [-1, 1]
use one diverging map everywhere: blue for -1, white for 0, red for +1. Sigmoid gates
in [0, 1] use a sequential map. Fonts are sized for a projector.
"""
from __future__ import annotations

import html

import numpy as np
import streamlit as st

from explorer.components.exports import Slide, titled
from explorer.components.tables import repeated, table
from explorer.i18n import N_, _, n_

DIVERGING = {"scheme": "redblue", "reverse": True}
SEQUENTIAL = {"scheme": "viridis"}
FONT = {"labelFontSize": 14, "titleFontSize": 15}
ROW_HELP = {
    "h": N_("h_t, the hidden state: tanh output in [-1, 1]"),
    "c": N_("c_t, the LSTM cell state (unbounded; colour range set by its largest |value|)"),
    "i": N_("input gate i: how much of the candidate g is written into the cell"),
    "f": N_("forget gate f: how much of the old cell c_{t-1} is kept"),
    "o": N_("output gate o: how much of tanh(c_t) shows in h_t"),
    "g": N_("candidate g: what would be written into the cell, in [-1, 1]"),
}


def _scale(name: str, values: np.ndarray) -> dict:
    """The colour scale for a row: gates i, f, o in [0, 1]; c symmetric; the rest [-1, 1]."""
    if name in ("i", "f", "o"):
        return {**SEQUENTIAL, "domain": [0, 1]}
    if name == "c":
        m = float(np.abs(values).max()) or 1.0
        return {**DIVERGING, "domain": [-m, m]}
    return {**DIVERGING, "domain": [-1, 1]}


def state_strips(rows: dict[str, np.ndarray], *, height: int = 34, titles: bool = True,
                 slide: Slide | None = None) -> None:
    """One strip per state vector (H,) of one step, units left to right, shared x axis; each
    titled by what it is, or (`titles` False, for a tight screen) named on its left (a
    `slide` titles the whole and names its download)."""
    H = len(next(iter(rows.values())))
    units = np.tile(np.arange(H), len(rows))
    frame = table({
        "row": repeated(list(rows), H),
        "unit": units,
        "value": np.concatenate([np.asarray(v, dtype=np.float64) for v in rows.values()]),
        "end": units + 1,
    })
    charts = []
    for k, (name, values) in enumerate(rows.items()):
        last = k == len(rows) - 1
        charts.append({
            "transform": [{"filter": {"field": "row", "equal": name}}],
            "mark": {"type": "rect"},
            "height": height,
            **({"title": {"text": _(ROW_HELP.get(name, name)), "fontSize": 14, "anchor": "start"}} if titles else {}),
            "encoding": {
                "x": {"field": "unit", "type": "quantitative", "scale": {"domain": [0, H], "nice": False},
                      "axis": {"title": _("hidden unit") if last else None, "labels": last, "ticks": last,
                               "tickCount": 8, **FONT}},
                "x2": {"field": "end"},
                **({} if titles else {"y": {"field": "row", "type": "nominal",
                                            "axis": {"title": None, "labelFontSize": 15, "ticks": False}}}),
                "color": {"field": "value", "type": "quantitative", "scale": _scale(name, values),
                          "legend": {"title": None, "gradientLength": height, "labelFontSize": 12,
                                     "direction": "horizontal", "orient": "right"} if titles else None},
                "tooltip": [{"field": "unit", "title": _("unit")},
                            {"field": "value", "format": ".3f", "title": name}],
            },
        })
    spec = {"vconcat": charts, "spacing": 6, "resolve": {"scale": {"color": "independent"}},
            "config": {"view": {"stroke": None}}}
    st.vega_lite_chart(frame, titled(spec, slide), width="stretch")


def caption_heatmap(h: np.ndarray, row_labels: list[str], order: np.ndarray, *,
                    highlight: int | None = None, title: str = "", slide: Slide | None = None) -> None:
    """The T×H heatmap of a caption: one row per step (labelled by its word), units as columns
    in `order` (a subset or permutation of unit indices), coloured by activation. A `slide`
    titles it (in place of `title`) and names its download."""
    T, n = h.shape[0], len(order)
    values = h[:, order]                                           # (T, n)
    positions = np.tile(np.arange(n), T)
    frame = table({
        "step": repeated(row_labels, n),
        "t": np.repeat(np.arange(T), n),
        "pos": positions,
        "unit": np.tile(order, T),
        "value": values.reshape(-1).astype(np.float64),
        "end": positions + 1,
    })
    layers = [{
        "mark": {"type": "rect"},
        "encoding": {
            "x": {"field": "pos", "type": "quantitative", "scale": {"domain": [0, n], "nice": False},
                  "axis": {"title": n_("{n} hidden unit, in the order chosen (hover for the unit number)",
                                       "{n} hidden units, in the order chosen (hover for the unit number)",
                                       n).format(n=n),
                           "tickCount": 8, **FONT}},
            "x2": {"field": "end"},
            "y": {"field": "step", "type": "nominal", "sort": list(row_labels),
                  "axis": {"title": None, "labelFontSize": 15, "labelLimit": 220}},
            "color": {"field": "value", "type": "quantitative", "scale": {**DIVERGING, "domain": [-1, 1]},
                      "legend": {"title": _("activation"), **FONT}},
            "tooltip": [{"field": "step", "title": _("step")}, {"field": "unit", "title": _("unit")},
                        {"field": "value", "format": ".3f", "title": "h"}],
        },
    }]
    if highlight is not None:
        layers.append({
            "transform": [{"filter": {"field": "t", "equal": int(highlight)}}, {"aggregate": [], "groupby": ["step"]}],
            "mark": {"type": "rect", "fill": None, "stroke": "#111", "strokeWidth": 3},
            "encoding": {"y": {"field": "step", "type": "nominal", "sort": list(row_labels)}},
        })
    spec = {"layer": layers, "height": {"step": 26}, "title": title or None,
            "config": {"view": {"stroke": None}}}
    st.vega_lite_chart(frame, titled(spec, slide), width="stretch")


# --- tokens coloured by one unit -----------------------------------------------------

def _diverging_hex(value: float, vmax: float = 1.0) -> str:
    """White at 0, red towards +vmax, blue towards -vmax."""
    x = max(-1.0, min(1.0, value / vmax)) if vmax > 0 else 0.0
    strong = (178, 24, 43) if x > 0 else (33, 102, 172)
    a = abs(x)
    r, g, b = (round(255 + (s - 255) * a) for s in strong)
    return f"#{r:02x}{g:02x}{b:02x}"


def coloured_tokens_html(pairs: list[tuple[str, float]], vmax: float = 1.0, size: str = "1.35rem") -> str:
    """Words on a background coloured by a value (Karpathy-style), with the value on hover."""
    spans = []
    for word, value in pairs:
        colour = _diverging_hex(value, vmax)
        ink = "#fff" if abs(value) / (vmax or 1) > 0.6 else "#111"
        spans.append(f'<span title="{value:+.3f}" style="background:{colour};color:{ink};'
                     f'padding:0.15em 0.35em;margin:0 0.1em;border-radius:0.25em;'
                     f'font-size:{size};line-height:2.1">{html.escape(word)}</span>')
    return '<div style="display:flex;flex-wrap:wrap;align-items:center">' + "".join(spans) + "</div>"   # wraps


def coloured_tokens(pairs: list[tuple[str, float]], vmax: float = 1.0, size: str = "1.35rem") -> None:
    st.html(coloured_tokens_html(pairs, vmax, size))
