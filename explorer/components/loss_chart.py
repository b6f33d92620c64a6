"""The loss chart: raw minibatch loss, an EMA-smoothed line over it, one colour per run.

Drawn for a projector: large axis labels, strong colours, the smoothed line thick and
the raw one faint behind it. `ema` is TensorBoard's debiased exponential moving
average, so the smoothed line starts at the first loss instead of at zero.
"""
from __future__ import annotations

import functools
import threading
from collections import OrderedDict

import numpy as np
import pandas as pd
import pyarrow as pa
import streamlit as st

from explorer import state
from explorer.components.exports import Slide, titled
from explorer.components.tables import repeated, table
from explorer.i18n import _

COLOURS = ["#1f6fd1", "#e4572e", "#17a35a", "#9b4dca", "#f2a516", "#00a3a3", "#c2185b", "#6d4c41"]
MAX_POINTS = 1500              # per run; longer curves are thinned after smoothing
FONT = {"labelFontSize": 16, "titleFontSize": 18}
SMOOTHING = 0.6                # the EMA weight until the reader picks another


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """Debiased exponential moving average of `values` (n,); weight 0 returns them unchanged.

    TensorBoard's `last = weight * last + (1 - weight) * v`, divided by `1 - weight**t`: at step
    t, the sum of `weight**(t-i) * v[i]` over i <= t divided by the sum of `weight**(t-i)` (pandas'
    adjusted EWM with alpha = 1 - weight). Worked out with cumulative sums in numpy, in blocks
    short enough that `weight**-k` stays below 1e250, each block carrying the sums on from the
    one before (every open Train page redraws every curve once a second, and pandas took 0.1 to
    0.2 ms to set up each). A curve with a missing, infinite or astronomical value (a run that
    diverged) goes to pandas, which skips missing values as TensorBoard does not.
    """
    values = np.asarray(values, dtype=float)
    if weight <= 0 or len(values) == 0:
        return values.copy()
    if not (np.abs(values) <= 1e50).all():                    # missing, infinite or beyond any loss
        return pd.Series(values).ewm(alpha=1 - weight, adjust=True).mean().to_numpy()
    block = max(1, min(BLOCK, int(250 / -np.log10(weight))))  # weight**-(block - 1) <= 1e250
    up, down, norms_from_zero = _powers(float(weight), block)
    out = np.empty_like(values)
    total = norm = 0.0                                         # the two sums at the step before the block
    for start in range(0, len(values), block):
        chunk = values[start:start + block]
        m = len(chunk)
        totals = down[:m] * (weight * total + np.cumsum(chunk * up[:m]))
        norms = down[:m] * weight * norm + norms_from_zero[:m]
        out[start:start + len(chunk)] = totals / norms
        total, norm = totals[-1], norms[-1]
    return out


BLOCK = 4096                   # at most this many losses per block of `ema`


@functools.lru_cache(maxsize=16)
def _powers(weight: float, length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`weight**-k` and `weight**k` for k < `length`, and the running sums of the first times the
    second (`ema`'s normaliser from zero), made once per smoothing the reader picks (a block's
    worth, whatever the curve's length: at most 100 kB)."""
    k = np.arange(length, dtype=float)
    up, down = weight ** -k, weight ** k
    return up, down, down * np.cumsum(up)


def chart_controls() -> tuple[float, bool]:
    """The smoothing slider and the log-scale toggle; returns (weight, log_y)."""
    # one above the other: beside the slider, the toggle's label did not fit at 1024 px
    smoothing = st.slider(_("Smoothing"), 0.0, 0.99, SMOOTHING, 0.01, key=state.TRAIN_SMOOTHING,
                          persist_state="session",
                          help=_("The thick line is an exponential moving average of the loss "
                                 "with this weight; 0 shows the raw loss only."))
    log_y = st.toggle(_("Log scale"), value=True, key=state.TRAIN_LOG_Y, persist_state="session",
                      help=_("A log y-axis shows the late, small losses as clearly as the early ones."))
    return smoothing, log_y


def chart_settings() -> tuple[float, bool]:
    """The (weight, log_y) chosen with `chart_controls` (drawn elsewhere on the page), or their defaults."""
    return (float(st.session_state.get(state.TRAIN_SMOOTHING, SMOOTHING)),
            bool(st.session_state.get(state.TRAIN_LOG_Y, True)))


FRAMES = 64                    # curves' tables kept (`curves_frame`)
_frames: OrderedDict[tuple, pa.Table] = OrderedDict()
_frames_lock = threading.Lock()  # every session's script thread asks


def _curve_key(label: str, iterations, losses) -> tuple:
    """What tells one curve from another: its label, its length, its ends and its sums (a few µs
    for thousands of points, where the table takes a millisecond and more)."""
    n = len(losses)
    values = (float(iterations[0]), float(iterations[-1]), float(losses[0]), float(losses[-1]),
              float(np.sum(iterations)), float(np.sum(losses))) if n else ()
    return (label, n, len(iterations), *(x.hex() for x in values))


def curves_frame(curves: list[tuple[str, np.ndarray, np.ndarray]], smoothing: float) -> pa.Table:
    """Long-format rows (run, iteration, loss, smoothed) for (label, iterations, losses) curves;
    `run` dictionary-encoded (each label once, an index per row: 3,000 labels as text took 3 ms).
    Made once per curves and smoothing, and kept (an Arrow table is never changed): every session
    on the Train page draws the same run's curve on every refresh of its live panel."""
    key = (float(smoothing).hex(), tuple(_curve_key(*curve) for curve in curves))
    with _frames_lock:
        frame = _frames.get(key)
        if frame is not None:
            _frames.move_to_end(key)
            return frame
    frame = _curves_frame(curves, smoothing)
    with _frames_lock:
        _frames[key] = frame
        while len(_frames) > FRAMES:
            _frames.popitem(last=False)
    return frame


def _curves_frame(curves: list[tuple[str, np.ndarray, np.ndarray]], smoothing: float) -> pa.Table:
    labels, points = [], []                                  # each curve drawn: its label, its points
    columns = {"iteration": [np.zeros(0, np.int64)], "loss": [np.zeros(0)], "smoothed": [np.zeros(0)]}
    for label, iterations, losses in curves:
        if len(losses) == 0:
            continue
        keep = slice(None, None, max(1, int(np.ceil(len(losses) / MAX_POINTS))))
        kept = {"iteration": np.asarray(iterations)[keep], "loss": np.asarray(losses, dtype=float)[keep],
                "smoothed": ema(losses, smoothing)[keep]}
        labels.append(label)
        points.append(len(kept["loss"]))
        for name, values in kept.items():
            columns[name].append(values)
    return table({"run": repeated(labels, points),
                  **{name: np.concatenate(parts) for name, parts in columns.items()}})


def loss_chart(curves: list[tuple[str, np.ndarray, np.ndarray]], smoothing: float, log_y: bool,
               height: int = 380, dashed: tuple[str, ...] = (), page: str = "train") -> None:
    """Draw the curves (label, iterations, losses); the first is the run being followed.
    Curves labelled in `dashed` are drawn dashed (a reference, so a curve on top of it shows).
    Titled for a download: the runs under the title, the first in the file name (after `page`)."""
    data = curves_frame(curves, smoothing)
    if data.num_rows == 0:                                   # an empty frame would look broken
        st.caption(_("The loss curve appears here after the first iteration."))
        return
    labels = [label for label, _iterations, losses in curves if len(losses)]
    colour = {"field": "run", "type": "nominal", "title": None,
              "scale": {"domain": labels, "range": COLOURS[:len(labels)] or COLOURS[:1]},
              "legend": {"orient": "bottom", "direction": "vertical", "labelLimit": 600}
              if len(labels) > 1 else None}                 # one run per line: long labels never clip
    y_scale = {"type": "log"} if log_y else {"zero": False}
    x = {"field": "iteration", "type": "quantitative", "title": _("iteration"),
         "axis": {"format": "d", "tickMinStep": 1}}         # no iteration 1.5 on a short run
    tooltip = [{"field": "run", "title": _("run")}, {"field": "iteration", "title": _("iteration")},
               {"field": "loss", "format": ".4f", "title": _("loss")},
               {"field": "smoothed", "format": ".4f", "title": _("smoothed")}]
    dash = ({"strokeDash": {"field": "run", "type": "nominal", "legend": None,
                            "scale": {"domain": labels, "range": [[6, 4] if label in dashed else [1, 0]
                                                                  for label in labels]}}}
            if dashed else {})
    layers = [{"mark": {"type": "line", "strokeWidth": 2, "opacity": 0.4 if smoothing else 1.0},
               "encoding": {"x": x, "y": {"field": "loss", "type": "quantitative", "title": _("loss"),
                                          "scale": y_scale}, "color": colour, **dash}}]
    if smoothing:
        layers.append({"mark": {"type": "line", "strokeWidth": 3.5},
                       "encoding": {"x": x, "y": {"field": "smoothed", "type": "quantitative",
                                                  "scale": y_scale}, "color": colour,
                                    "tooltip": tooltip, **dash}})
    else:
        layers[0]["encoding"]["tooltip"] = tooltip
    legend_rows = len(labels) if len(labels) > 1 else 0      # the legend shares the chart's height
    spec = {"height": height + 22 * legend_rows, "layer": layers,
            "config": {"axis": {**FONT, "gridOpacity": 0.5}, "legend": FONT}}
    slide = Slide.of(page, "loss", _("Training loss"), about=(" · ".join(labels),), names=labels[:1])
    # no alt=: the spec's description (the slide's file name) is the chart's accessible name,
    # which names its PNG download; alt= would replace it, and Streamlit logs a warning with a
    # stack trace on every draw that has both
    st.vega_lite_chart(data, titled(spec, slide), width="stretch")
