"""Small Vega-Lite charts with projector-sized labels: next-word bars and per-step lines."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import streamlit as st

from explorer.components.exports import Slide, titled
from explorer.components.tables import repeated, table
from explorer.i18n import _

FONT = {"labelFontSize": 15, "titleFontSize": 15}
CHOSEN = "#e8590c"        # the word taken at a step
OTHER = "#4263eb"         # every other candidate
PALETTE = ["#4263eb", "#e8590c", "#2b8a3e", "#ae3ec9", "#c92a2a", "#1098ad"]
PAIR_MIN_WIDTH = 440      # narrower than this (a projector's 1024 px), a pair of charts stacks


def chart_pair():
    """Two cells side by side that stack when the window is narrow: `with pair.cell(): ...`."""
    return st.grid(2, min_column_width=PAIR_MIN_WIDTH, gap=("medium", "large"))   # (rows, columns)


def next_word_bars(words: list[str], probs, chosen: list[bool], *, title: str = "",
                   slide: Slide | None = None) -> None:
    """Horizontal bars: the candidate words and their probabilities, the chosen one in orange.

    The x axis always runs from 0 to 1, so a confident step and an unsure one look different.
    A `slide` titles the chart (in place of `title`) and names its download.
    """
    p = [float(p) for p in probs]
    frame = table({"word": list(words), "p": p, "taken": ["taken" if c else "not taken" for c in chosen],
                   "rank": list(range(len(words))), "label": [f"{v:.3f}" if v >= 0.001 else f"{v:.1e}" for v in p]})
    y = {"field": "word", "type": "nominal", "sort": list(words),
         "axis": {"title": None, "labelFontSize": 17, "labelLimit": 200}}
    spec = {
        "title": title or None,
        "height": {"step": 30},
        "layer": [
            {"mark": {"type": "bar", "cornerRadiusEnd": 3},
             "encoding": {"y": y, "x": {"field": "p", "type": "quantitative", "scale": {"domain": [0, 1]},
                                        "axis": {"title": _("probability of the next word"), "format": ".1f",
                                                 "values": [0, 0.2, 0.4, 0.6, 0.8, 1], **FONT}},
                          "color": {"field": "taken", "type": "nominal",
                                    "scale": {"domain": ["taken", "not taken"], "range": [CHOSEN, OTHER]},
                                    "legend": None},
                          "tooltip": [{"field": "word"}, {"field": "p", "format": ".4f", "title": "p"}]}},
            {"mark": {"type": "text", "align": "left", "dx": 4, "fontSize": 14},
             "encoding": {"y": y, "x": {"field": "p", "type": "quantitative"}, "text": {"field": "label"}}},
        ],
    }
    st.vega_lite_chart(frame, titled(spec, slide), width="stretch")


def step_lines(columns: Mapping[str, Sequence], x: str, series: list[str], *, y_title: str, log: bool = False,
               x_title: str | None = None, height: int = 240, percent: bool = False,
               domain: list | None = None, title: str = "", colours: list[str] | None = None,
               slide: Slide | None = None) -> None:
    """Lines over timesteps: one per column in `series`, x an ordered label column.

    `columns` maps a name to its values, one per step: `t` (the step's number), the label
    column `x` and every column of `series`. The chart's table is built long (a row per
    step and series) straight from them, as an Arrow table (`tables.table`): pandas' melt
    of a frame took 4 to 6 ms of the server's one core per chart, on every rerun of a tab
    that draws two. `height` is the plot's own: the slanted word labels, the legend and
    the title are added around it, so long captions never squeeze the lines flat. A
    `slide` titles the chart (in place of `title`) and names its download.
    """
    x_title = _("step") if x_title is None else x_title          # the callers' titles come translated
    steps, labels, n = np.asarray(columns["t"]), list(columns[x]), len(columns["t"])
    long = table({x: labels * len(series), "t": np.tile(steps, len(series)),
                  "series": repeated(series, n),
                  "value": np.concatenate([np.asarray(columns[name], dtype=np.float64) for name in series])})
    scale = {"type": "log"} if log else {}
    if domain is not None:
        scale["domain"] = domain
    spec = {
        "title": title or None,
        "height": height,
        "autosize": {"type": "fit-x", "contains": "padding"},   # fit the width, keep the height
        "mark": {"type": "line", "point": {"size": 70}, "strokeWidth": 3},
        "encoding": {
            "x": {"field": x, "type": "ordinal", "sort": [labels[k] for k in np.argsort(steps, kind="stable")],
                  "axis": {"title": x_title, "labelAngle": -45, "labelOverlap": False, **FONT}},
            "y": {"field": "value", "type": "quantitative", "scale": scale,
                  "axis": {"title": y_title, **({"format": "%"} if percent else {}), **FONT}},
            "color": {"field": "series", "type": "nominal", "sort": series,
                      "scale": {"range": colours or PALETTE},
                      "legend": {"title": None, "orient": "top", "labelFontSize": 15, "symbolSize": 150,
                                 "labelLimit": 400, "columns": min(len(series), 2)}},   # 2 a row: fits 1024 px
            "tooltip": [{"field": x, "title": _("step")}, {"field": "series", "title": _("series")},
                        {"field": "value", "format": ".3~g", "title": _("value")}],
        },
    }
    st.vega_lite_chart(long, titled(spec, slide), width="stretch")
