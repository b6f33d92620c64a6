"""The Lesson page's views that need a trained model: the RNN unrolled over time, the word
embedding, the masked loss, overfitting live, sampling word by word, train against val, and
the LSTM's gates.

All but *overfitting live* use the lesson's own small models (`lesson_models`: the
notebook's overfit cell, trained once), on a train image they memorised, so they never wait
for a run. *Overfitting live* starts a real run of this person's, in slow motion, and follows it.
"""
from __future__ import annotations

import html

import numpy as np
import streamlit as st

from core.decoding import StepDecoder, Trace, greedy_decode, teacher_forced_trace
from core.evaluate import CaptionIndex, caption_words
from core.metrics import corpus_bleu, sentence_bleu
from explorer import presenter, state
from explorer.components import lesson_models
from explorer.components.charts import next_word_bars
from explorer.components.exports import Slide, titled
from explorer.components.evolution import marked_caption, sample_row, sample_tags
from explorer.components.heatmaps import state_strips
from explorer.components.image_picker import caption_index
from explorer.components.loss_chart import loss_chart
from explorer.components.model_picker import PickedModel
from explorer.components.picture import show as show_picture
from explorer.components.run_panel import progress_text
from explorer.components.step_view import caption_html
from explorer.components.tables import repeated, table
from explorer.i18n import _, said
from explorer.runs.base import EngineUnavailable, RunLimitError
from explorer.runs.settings import PRESETS

THUMB = 150                            # pixels the overfit samples' pictures are fetched at (shown at PICTURE_WIDTH)
DECODER = "lesson.sampling.decoder"    # the sampling step's (StepDecoder, (model key, image))
LSTM_T = "lesson.lstm.t"               # the LSTM step's timestep
OVERFIT_RUN = "lesson.overfit.run"     # the run the overfit step started and follows
PACE = "lesson.overfit.pace"           # its slow motion, in seconds for the whole run
PACES = (0, 30, 60)
UNITS = 48                             # hidden units a heatmap shows (of H)


def _picture(ds: state.Dataset, split: str, image: int, width: int | str = "stretch") -> None:
    picture = state.image_fetcher().picture(str(ds.data[f"{split}_urls"][image]), 320)
    if picture.ok:
        show_picture(picture.data, width, picture.format)
    else:
        st.caption(_("({split} image #{image}: no picture)").format(split=_(split), image=image))


@st.cache_data(max_entries=16, show_spinner=False)
def _trace(model_key: str, image: int, _model, _feature, _caption) -> Trace:
    return teacher_forced_trace(_model, _feature, _caption)


def _longest_caption(index: CaptionIndex, image: int) -> np.ndarray:
    captions = index.captions(image)
    return captions[int(np.argmax([(c != 0).sum() for c in captions]))]


def _memorised(ds: state.Dataset, picked: PickedModel, k: int = 0) -> tuple[int, np.ndarray, Trace]:
    """The k-th train image the lesson's model memorised, its longest caption's trace."""
    image = int(picked.trained_images[k % len(picked.trained_images)])
    index = caption_index(ds, "train")
    caption = _longest_caption(index, image)
    feature = np.asarray(ds.data["train_features"][image])
    return image, caption, _trace(picked.key, image, picked.model, feature, caption)


# --- unrolled over time --------------------------------------------------------------

def unroll(ds: state.Dataset) -> None:
    """The caption read one word per step by the same cell, and ||dL/dh_t|| flowing back."""
    picked = lesson_models.lesson_model(ds, "rnn")
    if picked is None:
        return
    image, _caption, trace = _memorised(ds, picked)
    itw = picked.model.idx_to_word
    words = [itw[int(w)] for w in trace.input_tokens]
    chips = "".join(f'<span style="background:#edf2ff;padding:0.1em 0.35em;border-radius:0.3em">'
                    f'{html.escape(w)}</span><span style="color:#868e96"> →h{t + 1}→ </span>'
                    for t, w in enumerate(words))
    st.html(f'<div style="font-size:0.85rem;line-height:2">h0 → {chips}</div>')
    st.caption(_("Every arrow is the same `rnn_step_forward` with the same Wx, Wh and b."))
    frame = table({"t": list(range(len(words))), "word": [f"{t}: {w}" for t, w in enumerate(words)],
                   "norm": trace.grad_norm.astype(float)})
    spec = {"height": 125 if presenter.on() else 150, "autosize": {"type": "fit-x", "contains": "padding"},
            "mark": {"type": "line", "point": {"size": 60}, "strokeWidth": 3},
            "encoding": {"x": {"field": "word", "type": "ordinal", "sort": None,
                               "axis": {"title": None, "labelAngle": -40, "labelFontSize": 13,
                                        "labelOverlap": False}},
                         "y": {"field": "norm", "type": "quantitative", "scale": {"zero": True},
                               "axis": {"title": "‖dL/dh_t‖", "labelFontSize": 13}},
                         "tooltip": [{"field": "word"}, {"field": "norm", "format": ".3~g"}]}}
    slide = Slide.of("lesson", "gradient-through-time", _("The loss's gradient reaching each step, ‖dL/dh_t‖"),
                     picked=picked, about=(_("train image #{image}").format(image=image),), names=(f"train-{image}",))
    st.vega_lite_chart(frame, titled(spec, slide), width="stretch")
    st.caption(_("The lesson's RNN reading a true caption of train image #{image}. The gradient at step t sums "
                 "the loss of every later word, carried back through Whᵀ and tanh' once per step.").format(image=image))


# --- the word embedding --------------------------------------------------------------

def embedding(ds: state.Dataset) -> None:
    """A caption's word ids and the rows of W_embed they pick."""
    picked = lesson_models.lesson_model(ds, "rnn")
    if picked is None:
        return
    image, _caption, trace = _memorised(ds, picked, k=st.session_state.get("lesson.embedding.k", 0))
    itw = picked.model.idx_to_word
    W_embed = np.asarray(picked.model.params["W_embed"], dtype=float)
    ids = [int(w) for w in trace.input_tokens]
    vectors = W_embed[ids]                                  # (T, W): the forward pass is this lookup
    labels = [f"{itw[i]} → {_('row')} {i}" for i in ids]
    shown = min(UNITS, vectors.shape[1])
    limit = float(np.abs(vectors[:, :shown]).max()) or 1.0
    frame = table({"word": repeated(labels, shown),
                   "dim": np.tile(np.arange(shown), len(ids)), "value": vectors[:, :shown].reshape(-1)})
    spec = {"mark": "rect", "height": {"step": 22 if presenter.on() else 24},
            "encoding": {"x": {"field": "dim", "type": "ordinal", "axis": {"title": _("dimension"), "labels": False}},
                         "y": {"field": "word", "type": "nominal", "sort": None,
                               "axis": {"title": None, "labelFontSize": 14, "labelLimit": 220}},
                         "color": {"field": "value", "type": "quantitative",
                                   "scale": {"scheme": "redblue", "reverse": True, "domain": [-limit, limit]},
                                   "legend": {"title": None}},
                         "tooltip": [{"field": "word"}, {"field": "dim"}, {"field": "value", "format": ".3f"}]},
            "config": {"view": {"stroke": None}}}
    slide = Slide.of("lesson", "embedding", _("W_embed[captions]: the first {n} of {W} numbers of each word's row")
                     .format(n=shown, W=vectors.shape[1]), picked=picked,
                     about=(_("train image #{image}").format(image=image),), names=(f"train-{image}",))
    st.vega_lite_chart(frame, titled(spec, slide), width="stretch")
    st.button(_("Another caption"), icon=":material/casino:", key="lesson_embedding_another",
              on_click=lambda: st.session_state.__setitem__("lesson.embedding.k",
                                                            st.session_state.get("lesson.embedding.k", 0) + 1))
    st.caption(_("`word_embedding_forward(x, W_embed)` is `W_embed[x]`: the caption of train image #{image}, "
                 "read by the lesson's RNN. The same word is the same row every time.").format(image=image))


# --- the masked loss -----------------------------------------------------------------

def loss(ds: state.Dataset) -> None:
    """Per step: the true next word, its probability, −log p and the mask, padding included."""
    picked = lesson_models.lesson_model(ds, "rnn")
    if picked is None:
        return
    image, caption, trace = _memorised(ds, picked)
    itw = picked.model.idx_to_word
    T, padded = len(trace.target_tokens), len(caption) - 1
    reads = [itw[int(w)] for w in trace.input_tokens] + [itw[int(w)] for w in caption[T:padded]]
    targets = [itw[int(w)] for w in trace.target_tokens] + ["<NULL>"] * (padded - T)
    p = [float(x) for x in trace.p_true] + [None] * (padded - T)
    step_loss = [float(x) for x in trace.step_loss] + [0.0] * (padded - T)
    frame = table({_("step"): list(range(padded)), _("reads"): reads, _("true next word"): targets,
                   _("p(true)"): p, _("mask"): [1] * T + [0] * (padded - T), _("−log p × mask"): step_loss})
    st.dataframe(frame, hide_index=True, width="stretch", height=min(36 + 35 * padded, 330),
                 column_config={_("p(true)"): st.column_config.ProgressColumn(min_value=0.0, max_value=1.0,
                                                                              format="%.3f"),
                                _("−log p × mask"): st.column_config.NumberColumn(format="%.3f")})
    st.markdown(_("**Loss of this caption:** {loss:.3f} = the sum of the last column ({T} words count, {pad} "
                  "padding places add 0).").format(loss=trace.loss, T=T, pad=padded - T))
    st.caption(_("The lesson's RNN on train image #{image}, a caption it memorised, so most p(true) are near "
                 "1. `temporal_softmax_loss` divides the sum over a minibatch by its N captions.").format(image=image))


# --- overfitting, live ---------------------------------------------------------------

def _start_run(ds: state.Dataset, pace: int) -> None:
    """Start this person's overfit run (a double click starts one: the button is Stop by then)."""
    followed = st.session_state.get(OVERFIT_RUN)
    try:
        if followed is not None and state.runner().get(followed).is_active:
            return
    except KeyError:
        pass
    config = PRESETS["Notebook RNN overfit"].replace(slow_motion=float(pace))
    try:
        st.session_state[OVERFIT_RUN] = state.runner().start(
            config, {"base_dir": ds.base_dir, "pca_features": ds.pca_features, "is_demo": ds.is_demo},
            owner=state.owner_id())
    except (RunLimitError, EngineUnavailable) as e:
        st.session_state["lesson.overfit.problem"] = said(e)
    except OSError as e:
        st.session_state["lesson.overfit.problem"] = _("The run could not be saved: {error}").format(error=e)


def _overfit_panel(run_id: str, live: bool) -> None:
    """The followed run's progress, loss and captions. `live`: drawn by a polling fragment,
    which asks for one full rerun when the run has ended, so the page stops polling."""
    runner = state.runner()
    try:
        info = runner.get(run_id)
        history, evolution = runner.history(run_id), runner.evolution(run_id)
    except KeyError:
        st.warning(_("The run this step started is gone: it was deleted. Press *Start* for a new one."),
                   icon=":material/delete:")
        return
    st.progress(min(info.iteration / info.total, 1.0) if info.total else 0.0, text=progress_text(info))
    chart, captions = st.columns([5, 4], gap="medium")
    with chart:
        loss_chart([(info.label, history.iterations, history.losses)], 0.0, True, height=230, page="lesson")
    with captions:
        if evolution.snapshots and evolution.images:
            at, said_now = evolution.snapshots[-1]
            st.caption(_("Greedy captions at iteration **{at}**; green: the true caption's words, in its order.")
                       .format(at=at))
            # one Markdown element, each picture inline: redrawn every second for everyone on this
            # step while a run trains, as Train's live panel draws its samples (`evolution`)
            samples = evolution.images[:3]
            st.markdown("\n\n".join(
                sample_row(picture, marked_caption(caption, sample["truth"])[0], None, small=False)
                for picture, sample, caption in zip(sample_tags(samples, THUMB), samples, said_now)),
                unsafe_allow_html=True)
        else:
            st.caption(_("The first captions appear as soon as the run has loaded its data."))
    if live and not info.is_active:
        st.rerun(scope="app")


def _stop_run(run_id: str) -> None:
    try:
        state.runner().stop(run_id, state.owner_id())
    except (EngineUnavailable, PermissionError, KeyError) as e:
        st.session_state["lesson.overfit.problem"] = said(e)


def overfit(ds: state.Dataset) -> None:
    """Start the notebook's overfit run in slow motion and follow its loss and captions."""
    run_id = st.session_state.get(OVERFIT_RUN)
    try:
        active = run_id is not None and state.runner().get(run_id).is_active
    except KeyError:
        active = False
    with st.container(horizontal=True, vertical_alignment="bottom"):
        pace = st.segmented_control(_("Slow motion"), PACES, default=30, key=PACE, required=True,
                                    format_func=lambda s: _("off") if not s else _("{s} s").format(s=s),
                                    help=_("Spread the run's 100 iterations over this many seconds, so the "
                                           "class can watch. The numbers are the same at any speed."))
        if active:                      # one run at a time: a second click must not start another
            st.button(_("Stop"), icon=":material/stop:", key="lesson_overfit_stop", on_click=_stop_run,
                      args=(run_id,))
        else:
            st.button(_("Start"), type="primary", icon=":material/play_arrow:", key="lesson_overfit_start",
                      on_click=_start_run, args=(ds, int(pace or 0)))
    problem = st.session_state.pop("lesson.overfit.problem", None)
    if problem:
        st.warning(problem, icon=":material/front_hand:")
    if run_id is None:
        st.info(_("Press **Start**: the notebook's *RNN overfit* cell trains here, 50 captions, 100 iterations."),
                icon=":material/monitoring:")
        return
    st.fragment(_overfit_panel, run_every=1.0 if active else None)(run_id, live=active)


# --- sampling word by word -----------------------------------------------------------

def _decoder(picked: PickedModel, image: int, feature) -> StepDecoder:
    decoder, spec = st.session_state.get(DECODER, (None, None))
    if decoder is None or spec != (picked.key, image):
        decoder = StepDecoder(picked.model, feature, "greedy", max_length=20, key=image)
        st.session_state[DECODER] = decoder, (picked.key, image)
    return decoder


def _sampling_panel(ds: state.Dataset, picked: PickedModel, image: int) -> None:
    feature = np.asarray(ds.data["train_features"][image])
    decoder = _decoder(picked, image, feature)
    itw = picked.model.idx_to_word
    with st.container(horizontal=True, gap="small"):
        st.button(_("Back"), icon=":material/chevron_left:", on_click=decoder.back, key="lesson_sampling_back",
                  disabled=not decoder.steps)
        st.button(_("Step"), icon=":material/chevron_right:", on_click=decoder.step, type="primary",
                  key="lesson_sampling_step", disabled=decoder.finished)
        st.button(_("To the end"), icon=":material/last_page:", on_click=decoder.run, key="lesson_sampling_end",
                  disabled=decoder.finished)
    st.html(caption_html(decoder.words(), [s.forced for s in decoder.steps], size="1.3rem"))
    if not decoder.steps:
        st.info(_("Press **Step** to feed `<START>` and see the first word's distribution."),
                icon=":material/touch_app:")
        return
    step = decoder.steps[-1]
    order = np.argsort(-step.probs)[:5]
    next_word_bars([itw[int(i)] for i in order], step.probs[order], [int(i) == step.chosen for i in order],
                   slide=Slide.of("lesson", "next-word", _("After reading “{word}”: the next word").format(
                       word=itw[step.input_token]), picked=picked,
                       about=(_("train image #{image}").format(image=image),), names=(f"train-{image}", f"step-{step.t}")))


def sampling(ds: state.Dataset) -> None:
    """The lesson's model writing a caption one word at a time, beside the true captions."""
    picked = lesson_models.lesson_model(ds, "rnn")
    if picked is None:
        return
    image = int(picked.trained_images[0])
    left, right = st.columns([1, 2], gap="medium")
    with left:
        _picture(ds, "train", image)
    with right:
        st.fragment(_sampling_panel)(ds, picked, image)
    references = caption_index(ds, "train").references(image)
    st.markdown(_("**The true captions:** {captions}").format(
        captions=" · ".join(html.escape(" ".join(r)) for r in references)))


# --- train against val ---------------------------------------------------------------

@st.cache_data(max_entries=8, show_spinner=False)
def _split_captions(model_key: str, split: str, images: tuple, _model, _features) -> list[list[str]]:
    decoded = greedy_decode(_model, np.asarray(_features), max_length=20).captions
    return [caption_words(row, _model.idx_to_word) for row in decoded]


def _split_bleu(ds: state.Dataset, picked: PickedModel, split: str, images: np.ndarray):
    index = caption_index(ds, split)
    features = ds.data[f"{split}_features"][np.sort(images)]
    said_ = _split_captions(picked.key, split, tuple(int(i) for i in np.sort(images)), picked.model, features)
    references = [index.references(int(i)) for i in np.sort(images)]
    return said_, references, corpus_bleu(references, said_)


def train_val(ds: state.Dataset) -> None:
    """The overfit model on two images it trained on and two it never saw, and BLEU on each split."""
    picked = lesson_models.lesson_model(ds, "rnn")
    if picked is None:
        return
    trained = picked.trained_images
    val_images = caption_index(ds, "val").images_with_captions()
    val = val_images[np.random.default_rng(0).choice(len(val_images), size=min(len(trained), len(val_images)),
                                                     replace=False)]
    scores = {}
    for split, images in (("train", trained), ("val", val)):
        said_, references, bleu = _split_bleu(ds, picked, split, images)
        scores[split] = (np.sort(images), said_, references, bleu)
    metrics = st.columns(2)
    counted = _("On all {n} train images the model trained on, and on {m} val images it never saw; two of "
                "each below.").format(n=len(scores["train"][0]), m=len(scores["val"][0]))
    for column, split in zip(metrics, ("train", "val")):
        bleu = scores[split][3]
        column.metric(_("{split}: BLEU-1 · BLEU-2").format(split=_(split)), f"{bleu[0]:.2f} · {bleu[1]:.2f}",
                      help=counted)
    for split in ("train", "val"):
        images, said_, references, _bleu = scores[split]
        for column, k in zip(st.columns(2, gap="small"), (0, 1)):
            with column.container(border=True):
                picture, words = st.columns([1, 3], gap="small")
                with picture:
                    _picture(ds, split, int(images[k]))
                score = sentence_bleu(references[k], said_[k])[0]
                words.markdown(_("**{split} #{image}** · {score:.2f}").format(
                    split=_(split), image=int(images[k]), score=score), help=_("BLEU-1 of this caption"))
                words.caption(html.escape(" ".join(said_[k])))


# --- the LSTM's gates ----------------------------------------------------------------

def lstm(ds: state.Dataset) -> None:
    """The lesson's LSTM reading a true caption: its gates, cell and hidden state at one step."""
    picked = lesson_models.lesson_model(ds, "lstm")
    if picked is None:
        return
    image, _caption, trace = _memorised(ds, picked)
    itw = picked.model.idx_to_word
    T, H = trace.h.shape
    words = [itw[int(w)] for w in trace.input_tokens]
    t = st.select_slider(_("Step (the word read)"), list(range(T)), key=LSTM_T,
                         format_func=lambda k: f"{k}: {words[k]}")
    t = min(int(t), T - 1)
    gates = trace.gates[t]
    rows = {"i": gates[:H], "f": gates[H:2 * H], "o": gates[2 * H:3 * H], "g": gates[3 * H:],
            "c": trace.c[t], "h": trace.h[t]}
    state_strips(rows, height=16, titles=False, slide=Slide.of(
        "lesson", "lstm-gates", _("The LSTM's gates and state at step {t}").format(t=t), picked=picked,
        about=(_("train image #{image}").format(image=image),), names=(f"train-{image}", f"step-{t}")))
    means = ", ".join(f"{name} {values.mean():.2f}" for name, values in rows.items() if name in "ifo")
    st.caption(_("The lesson's LSTM on train image #{image}, step {t} (reads “{word}”): {H} units, left to "
                 "right. Gates i, f, o run from 0 (closed, dark) to 1 (open, yellow); g and h from −1 (blue) to "
                 "+1 (red); c is unbounded. Mean gate openings: {means}.").format(image=image, t=t, word=words[t], H=H, means=means))
