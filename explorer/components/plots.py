"""Charts for the pages, drawn to be read on a projector: large labels, few marks, and
titles that say what is plotted. Each function draws itself from core's results.

Altair charts follow the app's light or dark theme; the feature strip is a matplotlib
`Figure` (not pyplot, so concurrent sessions never share a figure).
"""
from __future__ import annotations

from typing import Sequence

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
from streamlit import dataframe_util
from matplotlib.figure import Figure

from core.checks import CheckRow
from core.data.stats import SplitStats
from explorer.components.exports import Slide, figure_download, titled
from explorer.fonts import families, figure_text
from explorer.i18n import N_, _, p_

PASS_COLOR, FAIL_COLOR = "#2e7d32", "#c62828"
ERROR_FLOOR = 1e-18                # zero errors are drawn here on the log axis


def _configured(chart: alt.Chart) -> alt.Chart:
    return (chart.properties(width="container")
            .configure_axis(labelFontSize=14, titleFontSize=15, titleFontWeight="normal", labelLimit=260)
            .configure_legend(labelFontSize=14, titleFontSize=14)
            .configure_title(fontSize=17, anchor="start", fontWeight="normal"))


@st.cache_data(max_entries=256, show_spinner=False)
def _spec(build: str, columns: tuple, *args) -> dict:
    """The Vega-Lite spec of chart `build` drawn from `columns` ((name, values) pairs): Altair
    builds and validates a spec in tens of milliseconds of a server's one core, the same
    spec for every session that looks at the same numbers, so it is built once (and the
    key is plain tuples, which hash faster than a DataFrame)."""
    frame = pd.DataFrame({name: list(values) for name, values in columns})
    return arrow_datasets(_configured(_BUILDERS[build](frame, *args)).to_dict())


def arrow_datasets(spec: dict) -> dict:
    """`spec` with its named datasets (Altair writes the frame into the spec as a list of
    records) as the Arrow bytes Streamlit sends them as: Streamlit converts a list through a
    pandas frame on every draw, 1 to 2 ms of the server per chart, and sends bytes as they are."""
    datasets = spec.get("datasets")
    if not isinstance(datasets, dict):
        return spec
    return {**spec, "datasets": {name: dataframe_util.convert_anything_to_arrow_bytes(values)
                                 if isinstance(values, list) else values for name, values in datasets.items()}}


def _show(build: str, columns: dict, *args, slide: Slide) -> None:
    """Chart `build` of `columns`, titled by `slide` in the chart (so its download has the
    title, the dataset and the split; the title is not cut short, see `exports.titled`)."""
    key = tuple((name, tuple(v.item() if hasattr(v, "item") else v for v in values))
                for name, values in columns.items())
    st.vega_lite_chart(spec=titled(_spec(build, key, *args), slide), width="stretch")


def _browse_slide(chart: str, title: str, stats: SplitStats, dataset: str) -> Slide:
    return Slide.of("browse", chart, title, about=tuple(a for a in (dataset, _(stats.split)) if a),
                    names=(dataset, stats.split))


# --- Browse: dataset statistics ----------------------------------------------------------

def _bars(frame: pd.DataFrame, x: str, y: str, x_title: str, y_title: str,
          x_tip: str, y_tip: str) -> alt.Chart:
    return (alt.Chart(frame, height=280)
            .mark_bar(cornerRadiusTopLeft=2, cornerRadiusTopRight=2)
            .encode(x=alt.X(f"{x}:O", title=x_title, axis=alt.Axis(labelAngle=0)),
                    y=alt.Y(f"{y}:Q", title=y_title),
                    tooltip=[alt.Tooltip(f"{x}:O", title=x_tip), alt.Tooltip(f"{y}:Q", format=",", title=y_tip)]))


def caption_length_chart(stats: SplitStats, dataset: str = "") -> None:
    """How many words the captions of a split have (specials not counted); `dataset` names
    the dataset in the chart's subtitle and file name ("demo", "COCO")."""
    values, counts = stats.lengths
    _show("bars", {"words": values, "captions": counts}, "words", "captions", _("words in the caption"),
          p_("how many captions", "captions"), _("words"), p_("how many captions", "captions"),
          slide=_browse_slide("caption-lengths", _("Caption length ({split}): {mean:.1f} words on average").format(
              split=_(stats.split), mean=stats.mean_length), stats, dataset))


def captions_per_image_chart(stats: SplitStats, dataset: str = "") -> None:
    """How many images have 0, 1, 2, ... captions."""
    values, counts = stats.per_image
    _show("bars", {"captions": values, "images": counts}, "captions", "images", _("captions of the image"),
          _("images"), p_("how many captions", "captions"), _("images"),
          slide=_browse_slide("captions-per-image", _("Captions per image ({split})").format(split=_(stats.split)),
                              stats, dataset))


def top_words_chart(stats: SplitStats, dataset: str = "") -> None:
    """The most frequent words of a split, as horizontal bars."""
    words = [w for w, _ in stats.top_words]
    counts = [int(c) for _, c in stats.top_words]
    _show("top_words", {"word": words, "count": counts, "share": [c / max(stats.word_tokens, 1) for c in counts]},
          (_("times used"), _("word"), p_("how often a word is used", "count"), _("share of words")),
          slide=_browse_slide("top-words", _("The {n} most frequent words ({split})").format(
              n=len(words), split=_(stats.split)), stats, dataset))


def _top_words(frame: pd.DataFrame, labels: tuple) -> alt.Chart:
    used, word, count, share = labels           # the axis's and the tooltip's words, translated
    return (alt.Chart(frame, height=max(28 * len(frame), 120))
            .mark_bar(cornerRadiusTopRight=2, cornerRadiusBottomRight=2)
            .encode(y=alt.Y("word:N", sort="-x", title=None),
                    x=alt.X("count:Q", title=used),
                    tooltip=[alt.Tooltip("word:N", title=word), alt.Tooltip("count:Q", format=",", title=count),
                             alt.Tooltip("share:Q", format=".2%", title=share)]))


# --- Browse: one image's feature vector --------------------------------------------------

def feature_strip(vector: np.ndarray, slide: Slide | None = None, key: str = "feature_strip") -> None:
    """A feature vector as a one-row heat strip: one column per dimension; with a `slide`, a
    button under it downloads it as a PNG with the slide's title (widget key `key`)."""
    v = np.asarray(vector, dtype=np.float64).ravel()
    fig = Figure(figsize=(10, 1.45), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    if v.min() >= 0:      # fc7 is a ReLU output: 0 is "off", not the middle of a scale
        image = ax.imshow(v[None, :], aspect="auto", cmap="magma", vmin=0,
                          vmax=v.max() or 1.0, interpolation="nearest")
    else:                 # colours saturate at the 98th percentile, so a few large
        limit = np.quantile(np.abs(v), 0.98) or 1.0      # dimensions do not wash out the rest
        image = ax.imshow(v[None, :], aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit,
                          interpolation="nearest")
    ax.set_yticks([])
    ax.set_xlabel(figure_text(N_("feature dimension")), fontsize=12, fontfamily=families())  # English without a CJK font
    ax.tick_params(labelsize=11)
    fig.colorbar(image, ax=ax, pad=0.01, fraction=0.04, extend="both").ax.tick_params(labelsize=10)
    st.pyplot(fig, width="stretch")
    if slide is not None:
        figure_download(fig, slide, key)


# --- Layer lab --------------------------------------------------------------------------

def error_chart(rows: Sequence[CheckRow], layer: str = "", name: str = "") -> None:
    """Every relative error on a log scale, each with its threshold as a black tick; `layer`
    (shown) and `name` (for the file) say which layer was checked."""
    rows = [r for r in rows if r.measure != "value"]
    if not rows:
        return
    passed, failed = _("passed"), _("failed")
    _show("errors", {
        "check": [r.quantity.split(",")[0] for r in rows],
        "error": [max(float(r.value), ERROR_FLOOR) for r in rows],
        "threshold": [float(r.threshold) for r in rows],
        "result": [passed if r.passed else failed for r in rows],
    }, (passed, failed, _("relative error, log scale"), _("check"), _("error"), _("threshold"), _("result")),
        slide=Slide.of("layer-lab", "gradient-check", _("Errors and their thresholds"),
                       about=(layer,) if layer else (), names=(name,)))
    st.caption(_("A dot is an error, its grey tick the threshold: left of the tick passes."))


def _errors(frame: pd.DataFrame, labels: tuple) -> alt.Chart:
    passed, failed, x_title, check, error, threshold, result = labels    # translated
    order = list(frame["check"])
    scale = alt.Scale(type="log", domain=[ERROR_FLOOR, 10])
    y = alt.Y("check:N", sort=order, title=None)
    points = alt.Chart(frame).mark_circle(size=260, opacity=1).encode(
        y=y, x=alt.X("error:Q", scale=scale, title=x_title,
                     axis=alt.Axis(format=".0e", tickCount=8)),
        color=alt.Color("result:N", scale=alt.Scale(domain=[passed, failed],
                                                    range=[PASS_COLOR, FAIL_COLOR]),
                        legend=alt.Legend(title=None, orient="top")),
        tooltip=[alt.Tooltip("check:N", title=check), alt.Tooltip("error:Q", format=".2e", title=error),
                 alt.Tooltip("threshold:Q", format=".0e", title=threshold), alt.Tooltip("result:N", title=result)])
    ticks = alt.Chart(frame).mark_tick(thickness=3, size=28, color="#888").encode(
        y=y, x=alt.X("threshold:Q", scale=scale), tooltip=[alt.Tooltip("threshold:Q", format=".0e", title=threshold)])
    # a layered chart ignores a fixed height in Streamlit; a step per row works
    return alt.layer(ticks, points).properties(height=alt.Step(40))


_BUILDERS = {"bars": _bars, "top_words": _top_words, "errors": _errors}
