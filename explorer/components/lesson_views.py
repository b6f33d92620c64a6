"""The Lesson page's live views, one per kind of step: the data, the vocabulary, one RNN step
with its numbers, the gradient check, the embedding, the model's parameters and words
against characters (here), and the views that need a trained model (`lesson_model_views`).

Each view is a function `view(ds, **options)` that draws itself compactly, so that a
lesson step (its text on the left, its view on the right) fits a 1280x720 projector in
presenter mode. `VIEWS` maps the names lessons use (`Step.view`) to them. Every number
shown is computed here and now by `core`, never a picture of one.
"""
from __future__ import annotations

import html

import numpy as np
import streamlit as st

from core import layers
from core.checks import run_checks
from core.data.characters import SPACE_SHOWN, characters
from core.data.stats import caption_tokens, split_stats
from core.model import param_shapes
from explorer import state
from explorer import address, presenter
from explorer.components import lesson_model_views as live
from explorer.components.check_report import COLUMNS, result_color, results_table, verdict
from explorer.components.exports import Slide, titled
from explorer.components.labels import label_column
from explorer.components.tables import table
from explorer.components.image_picker import PICTURE, caption_index
from explorer.components.picture import show as show_picture
from explorer.i18n import _, p_

IMAGE = "lesson.data.image"            # the train image the data step shows
DRAWS = "lesson.data.draws"            # how often *Another image* was pressed
RNN_X = "lesson.rnn.x"                 # + ".<i>": the RNN step's input sliders
BROKEN = "lesson.gradcheck.broken"     # the gradient step's *Break the backward pass*
SPECIAL_STYLE = "background:#fff3bf"


def matrix(values, digits: int = 2) -> str:
    """A LaTeX bmatrix of a 1-D or 2-D array, `digits` decimals."""
    a = np.atleast_2d(np.asarray(values, dtype=float))
    rows = [" & ".join(f"{v:.{digits}f}" for v in row) for row in a]
    return r"\begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"


def _table_html(header: list[str], rows: list[tuple[str, list[str]]], marked: set[int] = frozenset()) -> str:
    """A compact table: one header row of positions, then named rows; columns in `marked` tinted."""
    def cell(k, text, tag="td"):
        style = f' style="{SPECIAL_STYLE}"' if k in marked else ""
        return f"<{tag}{style}>{html.escape(text)}</{tag}>"
    head = "<tr><th></th>" + "".join(cell(k, h, "th") for k, h in enumerate(header)) + "</tr>"
    body = "".join(f"<tr><th>{html.escape(name)}</th>" + "".join(cell(k, v) for k, v in enumerate(values))
                   + "</tr>" for name, values in rows)
    return ('<div style="overflow-x:auto"><table style="font-size:0.68rem;border-collapse:collapse;'
            'text-align:center;white-space:nowrap;line-height:1.3">' + head + body + "</table></div>")


# --- the data ------------------------------------------------------------------------

def _another_image(n: int) -> None:
    draws = st.session_state.get(DRAWS, 0) + 1
    st.session_state[DRAWS] = draws
    st.session_state[IMAGE] = int(np.random.default_rng([draws, 7]).integers(n))


def data(ds: state.Dataset) -> None:
    """An image, its captions, and one caption as word ids with its mask."""
    index = caption_index(ds, "train")
    images = index.images_with_captions()
    k = st.session_state.get(IMAGE, 0)
    k = k if 0 <= k < len(images) else 0
    image = int(images[k])
    itw = ds.data["idx_to_word"]
    captions = index.captions(image)
    left, right = st.columns([1, 2], gap="medium")
    with left:
        picture = state.image_fetcher().picture(str(ds.data["train_urls"][image]), PICTURE)
        if picture.ok:
            show_picture(picture.data, "stretch", picture.format)
        else:
            st.info(_("No picture ({reason}); the model only needs the features.").format(reason=_(picture.error)),
                    icon=":material/hide_image:")
        st.button(_("Another image"), icon=":material/casino:", on_click=_another_image, args=(len(images),),
                  key="lesson_data_another")
    with right:
        st.markdown(_("**train image #{image}**: its {n} captions").format(image=image, n=len(captions)))
        st.caption("  \n".join(f"{i + 1}. {html.escape(' '.join(words))}"
                                for i, words in enumerate(index.references(image))))
    tokens = caption_tokens(captions[0], itw)
    row = [int(i) for i in captions[0]]
    words = [itw[i] for i in row]
    mask = ["–"] + ["1" if i != ds.data["word_to_idx"]["<NULL>"] else "0" for i in row[1:]]
    st.html(_table_html([str(t) for t in range(len(row))],
                        [(_("word"), words), (_("id"), [str(i) for i in row]), (_("mask"), mask)],
                        marked={t for t, w in enumerate(words) if w.startswith("<")}))
    st.caption(_("Caption 1 as the model gets it: {length} words between `<START>` and `<END>`, then "
                 "`<NULL>` up to {T} places. The mask belongs to the word to predict, so `<START>`, "
                 "which is never predicted, has none.").format(length=tokens.length, T=len(row)))


# --- the vocabulary ------------------------------------------------------------------

@st.cache_data(max_entries=4, show_spinner=False)
def _stats(dataset_key: str, _data: dict):
    return split_stats(_data, "train", k=12)


def vocabulary(ds: state.Dataset) -> None:
    """The special words with their ids, and the most frequent real words."""
    itw = ds.data["idx_to_word"]
    left, right = st.columns([2, 3], gap="medium")
    with left:
        st.metric(_("Vocabulary size V (special words included)"), f"{len(itw):,}")
        rows = "".join(f'<tr style="{SPECIAL_STYLE if i < 4 else ""}"><td style="padding:0 0.8em">{i}</td>'
                       f"<td><code>{html.escape(str(w))}</code></td></tr>" for i, w in enumerate(itw[:6]))
        st.html(f'<table style="font-size:0.9rem;border-collapse:collapse"><tr><th>{html.escape(_("id"))}</th>'
                f'<th style="text-align:left">{html.escape(_("word"))}</th></tr>{rows}</table>')
        st.caption(_("The first ids are the special words (tinted), then real words, most frequent first."))
    with right:
        stats = _stats(ds.key, ds.data)
        frame = table({"word": [w for w, _c in stats.top_words], "count": [int(c) for _w, c in stats.top_words]})
        spec = {"mark": {"type": "bar", "cornerRadiusEnd": 2}, "height": {"step": 22},
                "encoding": {"y": {"field": "word", "type": "nominal", "sort": "-x",
                                   "axis": {"title": None, "labelFontSize": 14}},
                             "x": {"field": "count", "type": "quantitative",
                                   "axis": {"title": p_("how often a word is used", "count"), "labelFontSize": 12}},
                             "tooltip": [{"field": "word"}, {"field": "count", "format": ","}]}}
        slide = Slide.of("lesson", "top-words", _("The {n} most frequent words in train captions").format(
            n=frame.num_rows), about=(ds.label,))
        st.vega_lite_chart(frame, titled(spec, slide), width="stretch")


# --- one RNN step --------------------------------------------------------------------

def _rnn_numbers(x: np.ndarray) -> dict:
    """The small step's inputs (fixed, as the notebook's linspace ones) and its outputs for `x`."""
    D, H = 3, 2
    prev_h = np.linspace(-0.4, 0.6, num=H).reshape(1, H)
    Wx = np.linspace(-0.6, 0.8, num=D * H).reshape(D, H)
    Wh = np.linspace(-0.5, 0.5, num=H * H).reshape(H, H)
    b = np.linspace(-0.1, 0.2, num=H)
    next_h, _cache = layers.rnn_step_forward(x.reshape(1, D), prev_h, Wx, Wh, b)
    return {"x": x.reshape(1, D), "prev_h": prev_h, "Wx": Wx, "Wh": Wh, "b": b, "xWx": x.reshape(1, D) @ Wx,
            "hWh": prev_h @ Wh, "a": x.reshape(1, D) @ Wx + prev_h @ Wh + b, "next_h": next_h}


def rnn_step(ds: state.Dataset) -> None:
    """`rnn_step_forward` on numbers small enough to read, x set by sliders."""
    columns = st.columns(3)
    x = np.array([column.slider(f"x[{i}]", -1.0, 1.0, value, 0.1, key=f"{RNN_X}.{i}")
                  for i, (column, value) in enumerate(zip(columns, (0.5, -0.2, 0.9)))])
    n = _rnn_numbers(x)
    small = r"\small "                      # four lines of matrices on one projector screen
    st.latex(small + r"\underbrace{%s}_{x\ (1\times3)}\,\underbrace{%s}_{W_x\ (3\times2)} = %s"
             % (matrix(n["x"]), matrix(n["Wx"]), matrix(n["xWx"])))
    st.latex(small + r"\underbrace{%s}_{h_{t-1}\ (1\times2)}\,\underbrace{%s}_{W_h\ (2\times2)} = %s"
             % (matrix(n["prev_h"]), matrix(n["Wh"]), matrix(n["hWh"])))
    st.latex(small + r"%s + %s + \underbrace{%s}_{b} = %s" % (matrix(n["xWx"]), matrix(n["hWh"]), matrix(n["b"]),
                                                              matrix(n["a"])))
    st.latex(small + r"h_t = \tanh%s = \mathbf{%s}" % (matrix(n["a"]), matrix(n["next_h"], 3)))
    st.caption(_("Computed here by the notebook's `rnn_step_forward`."))


# --- the gradient check --------------------------------------------------------------

@st.cache_data(max_entries=4, show_spinner=False)
def _checks(broken: bool):
    return run_checks("rnn_step", broken=broken)


def gradient_check(ds: state.Dataset) -> None:
    """The notebook's checks of the RNN step, with the backward pass broken on demand."""
    broken = st.toggle(_("Break the backward pass"), key=BROKEN,
                       help=_("Swap in a backward pass with one deliberately wrong derivative."))
    report = _checks(bool(broken))
    verdict(report)
    columns = results_table(list(report.rows))          # the columns a class reads; Layer lab has them all
    result = _(COLUMNS["result"])
    tags = label_column(columns, result, result_color)
    shown = [_(COLUMNS[c]) for c in ("quantity", "value", "must be", "result")]
    st.dataframe(table({name: columns[name] for name in shown}), hide_index=True, width="stretch",
                 column_config={result: tags})


# --- the captioning model ------------------------------------------------------------

def _roles() -> dict[str, str]:
    return {"W_proj": _("image feature → h0"), "b_proj": _("image feature → h0"),
            "W_embed": _("word id → word vector"), "Wx": _("word vector → hidden state"),
            "Wh": _("hidden state → hidden state"), "b": _("the step's bias"),
            "W_vocab": _("hidden state → word scores"), "b_vocab": _("the scores' bias")}


def model(ds: state.Dataset, cell: str = "rnn", hidden: int = 512, wordvec: int = 256) -> None:
    """Every parameter of the notebook's model for this dataset: shape, count, role."""
    V, D = len(ds.data["idx_to_word"]), ds.data["train_features"].shape[1]
    shapes = param_shapes(V, D, wordvec, hidden, cell)
    counts = {name: int(np.prod(shape)) for name, shape in shapes.items()}
    total = sum(counts.values())
    roles = _roles()
    st.latex(r"h_0 = \text{features}\,W_{proj} + b_{proj} \qquad "
             r"h_t = \tanh(x_t W_x + h_{t-1} W_h + b) \qquad \text{scores}_t = h_t W_{vocab} + b_{vocab}")
    frame = table({_("parameter"): list(shapes), p_("an array's shape", "shape"): [str(s) for s in shapes.values()],
                   _("numbers"): [f"{counts[k]:,}" for k in shapes],
                   _("share"): [counts[k] / total for k in shapes],
                   _("what it maps"): [roles[k] for k in shapes]})
    st.dataframe(frame, hide_index=True, width="stretch",
                 column_config={_("share"): st.column_config.ProgressColumn(min_value=0.0, max_value=1.0,
                                                                          format="percent")})
    st.caption(_("The notebook's RNN for this dataset: V = {V:,} words, D = {D} features, W = {W}, H = {H}: "
                 "{total:,} numbers in all.").format(V=V, D=D, W=wordvec, H=hidden, total=total))


# --- words or characters ------------------------------------------------------------

@st.cache_data(max_entries=4, show_spinner=False)
def _spelled(dataset_key: str, _data: dict) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The character vocabulary and the val captions as words and as characters."""
    val = {"val_captions": _data["val_captions"], "idx_to_word": _data["idx_to_word"],
           "word_to_idx": _data["word_to_idx"]}
    spelled = characters(val)
    return list(spelled["idx_to_word"]), np.asarray(_data["val_captions"]), spelled["val_captions"]


def words_or_characters(ds: state.Dataset, cell: str = "rnn", hidden: int = 512, wordvec: int = 256) -> None:
    """The notebook's closing question, in what needs no training: the parameters of the same
    model over words and over characters, and the steps a caption takes either way."""
    chars_itw, words, chars = _spelled(ds.key, ds.data)
    V_words, V_chars, D = len(ds.data["idx_to_word"]), len(chars_itw), ds.data["train_features"].shape[1]
    counts = {}
    for kind, V in (("words", V_words), ("characters", V_chars)):
        shapes = {k: int(np.prod(s)) for k, s in param_shapes(V, D, wordvec, hidden, cell).items()}
        counts[kind] = {"V": V, "embedding": shapes["W_embed"], "output": shapes["W_vocab"] + shapes["b_vocab"],
                        "middle": sum(v for k, v in shapes.items() if k not in ("W_embed", "W_vocab", "b_vocab")),
                        "total": sum(shapes.values())}
    steps = {"words": (words[:, 1:] != 0).sum(axis=1), "characters": (chars[:, 1:] != 0).sum(axis=1)}
    rows = [(_("Vocabulary V"), "V"), (_("Embedding V × W"), "embedding"), (_("Output H × V"), "output"),
            (_("Image projection and recurrent weights"), "middle"), (_("Total parameters"), "total")]
    frame = table({_("measured"): [label for label, _key in rows] + [_("Timesteps per val caption (mean / max)")],
                   _("word model"): [f"{counts['words'][key]:,}" for _label, key in rows]
                   + [f"{steps['words'].mean():.1f} / {steps['words'].max()}"],
                   _("character model"): [f"{counts['characters'][key]:,}" for _label, key in rows]
                   + [f"{steps['characters'].mean():.1f} / {steps['characters'].max()}"]})
    st.dataframe(frame, hide_index=True, width="stretch", height="content")
    itw = ds.data["idx_to_word"]
    specials = {ds.data["word_to_idx"][w] for w in ("<NULL>", "<START>", "<END>")}   # <UNK> is a token
    caption = [str(itw[i]) for i in words[0] if i not in specials]
    letters = [SPACE_SHOWN if ch == " " else ch for ch in (chars_itw[i] for i in chars[0] if i not in specials)]
    spelled = "".join(letters)
    st.markdown(_("**Val caption 1**, {n} words: {words}").format(
        n=len(caption), words=html.escape(" · ".join(caption))))
    st.markdown(_("**The same caption**, {n} characters: {chars}").format(n=len(letters), chars=f"`{spelled}`"))
    if not presenter.on():             # on a projector the table and the captions say it: room for the link
        st.caption(_("The notebook's RNN (W = {W}, H = {H}) for this dataset. Only the embedding and the output layer "
                 "depend on V; each step of a caption costs the same either way, and a caption over characters "
                 "is {ratio:.1f} times as many steps.").format(
            W=wordvec, H=hidden, ratio=steps["characters"].mean() / max(steps["words"].mean(), 1e-9)))
    st.page_link("../pages/compare.py", label=_("Measure it on two trained models: Compare → Words or characters?"),
                 icon=":material/compare_arrows:", query_params={"tab": address.slug("Words or characters?")})


VIEWS = {"data": data, "vocabulary": vocabulary, "rnn_step": rnn_step, "gradient_check": gradient_check,
         "model": model, "unroll": live.unroll, "embedding": live.embedding, "loss": live.loss,
         "overfit": live.overfit, "sampling": live.sampling, "train_val": live.train_val, "lstm": live.lstm,
         "words_or_characters": words_or_characters}
