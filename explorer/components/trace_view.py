"""Teacher forcing over a ground-truth caption, and the gradient that flows back through it.

`teacher_forced(picked, image, ds)` shows, per step, the probability the model gives the
true word against its own favourite, where free-running sampling leaves the caption, and
||dL/dh_t||. `gradient_race(picked, image, ds)` puts a second model (by default the other
cell type) on the same caption, to compare how much of the last word's gradient reaches
each earlier step, measured on the word vector each step reads (comparable for both cells)
and, for an LSTM, along its cell state; `reach_sentence` and `textbook_sentence` word those
numbers by their values, and say so where a pair of models disagrees with the textbook.
"""
from __future__ import annotations

import html

import numpy as np
import streamlit as st

from core import analysis
from core.data.characters import join_tokens, shown as visible
from core.data.stats import display_words
from core.decoding import Trace, teacher_forced_trace
from explorer import state
from explorer.components.charts import chart_pair, step_lines
from explorer.components.exports import Slide, model_name
from explorer.components.image_picker import ImageChoice, captions_of
from explorer.components.model_picker import PickedModel, model_picker
from explorer.components.tables import table
from explorer.i18n import N_, _, n_

CAPTION = "inspect.true_caption"       # which reference caption (+ ".<split>.<image>")
OTHER = "inspect.other"                # key prefix of the second model's picker
TABLE_COLUMNS = {"step": N_("step"), "reads": N_("reads"), "true next word": N_("true next word"),
                 "p(true)": N_("p(true)"), "model's top word": N_("model's top word"),
                 "p(top)": N_("p(top)"), "match": N_("match"), "loss": N_("loss")}


@st.cache_data(max_entries=64, show_spinner=False)
def _trace(model_key: str, image_key: tuple, caption: tuple, _model, _feature) -> Trace:
    return teacher_forced_trace(_model, _feature, list(caption))


def _choose_caption(ds: state.Dataset, image: ImageChoice, itw) -> tuple | None:
    captions = captions_of(ds, image)
    if len(captions) == 0:
        st.info(_("{image} has no ground-truth captions.").format(image=image.label))
        return None
    texts = [" ".join(display_words(c, itw)) for c in captions]
    longest = max(range(len(texts)), key=lambda k: len(texts[k].split()))
    k = st.selectbox(_("Ground-truth caption"), range(len(texts)), index=longest,
                     key=f"{CAPTION}.{image.split}.{image.image}", format_func=lambda k: texts[k],
                     help=_("The longest one is picked first: more steps for the gradient to travel."))
    return tuple(int(w) for w in captions[k])


def teacher_forced(picked: PickedModel, image: ImageChoice, ds: state.Dataset) -> None:
    """The model fed a true caption: p(true word) per step, divergence, gradient norms."""
    model = picked.model
    itw = model.idx_to_word
    caption = _choose_caption(ds, image, itw)
    if caption is None:
        return
    trace = _trace(picked.key, image.key, caption, model, image.feature)
    T = len(trace.target_tokens)
    truth = [visible(itw[int(w)]) for w in trace.target_tokens]      # a character model's space as ␣
    top = [visible(itw[int(w)]) for w in trace.top_tokens]
    labels = [f"{t}: {w}" for t, w in enumerate(truth)]

    right = sum(a == b for a, b in zip(truth, top))
    with st.grid(3, min_column_width=240):
        st.metric(_("Caption loss  −Σ log p(true word)"), f"{trace.loss:.2f}")
        st.metric(_("True word ranked first"), n_("{right} of {n} step", "{right} of {n} steps", T).format(
                      right=right, n=T),
                  help=_("Steps where the word the caption has next is the model's own top choice."))
        st.metric(_("Mean p(true word)"), f"{trace.p_true.mean():.3f}")

    free = [itw[int(w)] for w in trace.free_tokens]                 # one token a step, as d counts them
    free = free[:free.index("<END>") + 1] if "<END>" in free else free
    if trace.divergence_step is None:
        st.success(_("Sampling freely (greedy, feeding its own words back), the model writes exactly "
                     "this caption."))
    else:
        d = trace.divergence_step
        said = visible(free[d]) if d < len(free) else _("(nothing)")
        st.warning(_("Sampling freely, the model leaves this caption at **step {step}**: it says "
                     "**“{said}”** where the caption has **“{truth}”**. Free-running: *{free}*. From "
                     "there on it reads its own words, not the true ones: teacher forcing hides that "
                     "during training.").format(step=d, said=html.escape(said), truth=html.escape(truth[d]),
                                                free=html.escape(join_tokens(free, itw))))

    p_true, p_top = _("p(true word)"), _("p(model's top word)")
    whole, last = _("whole caption's loss"), _("last word's loss only")
    columns = {"t": range(T), "step": labels, p_true: trace.p_true, p_top: trace.top_probs,
               whole: trace.grad_norm, last: trace.grad_norm_last}
    pair = chart_pair()
    with pair.cell():
        step_lines(columns, "step", [p_true, p_top], y_title=_("probability"),
                   domain=[0, 1], x_title=_("step: the true next word"),
                   slide=Slide.of("inspect", "teacher-forcing", _("The true word against the model's favourite"),
                                  picked=picked, image=image))
    with pair.cell():
        step_lines(columns, "step", [whole, last],
                   y_title=_("||dL/dh_t|| (log scale)"), log=True, x_title=_("step: the true next word"),
                   slide=Slide.of("inspect", "gradient-through-time", _("Gradient flowing back to each hidden state"),
                                  picked=picked, image=image))
    st.caption(_("The gradient chart is backpropagation through time. The last word's loss reaches step "
                 "t only through every later step; each one multiplies it by Whᵀ and the tanh slope (RNN) "
                 "or mostly by the forget gate (LSTM). A line that falls steeply to the left is a vanishing "
                 "gradient; one that climbs to the left is an exploding one."))
    shown = {column: _(name) for column, name in TABLE_COLUMNS.items()}
    steps = {"step": np.arange(T), "reads": [visible(itw[int(w)]) for w in trace.input_tokens],
             "true next word": truth, "p(true)": trace.p_true, "model's top word": top, "p(top)": trace.top_probs,
             "match": ["✓" if a == b else "" for a, b in zip(truth, top)], "loss": trace.step_loss}
    st.dataframe(table(steps, headers=shown), hide_index=True, width="stretch", height="content",
                 column_config={shown["p(true)"]: st.column_config.ProgressColumn(min_value=0.0, max_value=1.0,
                                                                                  format="%.3f"),
                                shown["p(top)"]: st.column_config.NumberColumn(format="%.3f"),
                                shown["loss"]: st.column_config.NumberColumn(format="%.2f")})


def gradient_race(picked: PickedModel, image: ImageChoice, ds: state.Dataset) -> None:
    """Two models on the same true caption: how much of the last word's gradient reaches each step."""
    itw = picked.model.idx_to_word
    st.markdown(_("Pick a second model (by default an untrained one of the other cell type; a trained "
                  "run is better). Both read the same true caption; the lines show how much of the last "
                  "word's gradient is left at each earlier step, measured on the word vector each step "
                  "reads: the same quantity for either cell."))
    caption = _choose_caption(ds, image, itw)
    if caption is None:
        return
    with st.container(border=True):
        other_cell = "rnn" if picked.model.cell_type == "lstm" else "lstm"
        other = model_picker(ds, OTHER, where=st.container(), title=N_("Second model"), default_cell=other_cell)
    if other is None:
        return
    models = [("A", picked), ("B", other)]
    reaches = [analysis.GradientReach.of(_trace(p.key, image.key, caption, p.model, image.feature), p.model.cell_type)
               for _name, p in models]
    trace = _trace(picked.key, image.key, caption, picked.model, image.feature)
    T = len(trace.target_tokens)
    truth = [visible(itw[int(w)]) for w in trace.target_tokens]
    columns = {"t": range(T), "step": [f"{t}: {w}" for t, w in enumerate(truth)]}
    names = [n_("{name}: {cell}, {n} unit", "{name}: {cell}, {n} units", p.model.hidden_dim).format(
        name=n, cell=_(p.cell_name), n=p.model.hidden_dim) for n, p in models]
    series = []
    for name, reach in zip(names, reaches):
        columns[name] = reach.decay
        series.append(name)
        if reach.cell_decay is not None:
            cell_line = _("{name}, along its cell c_t").format(name=name)
            columns[cell_line] = reach.cell_decay
            series.append(cell_line)
    st.markdown(_("##### How much of the last word's gradient reaches step t (1 at the last step)"))
    step_lines(columns, "step", series, y_title=_("||dL_T/dx_t|| / ||dL_T/dx_T-1||  (log scale)"), log=True,
               x_title=_("step: the true next word"), height=320,
               slide=Slide.of("inspect", "rnn-vs-lstm-gradients", _("How much of the last word's gradient reaches "
                                                                    "step t"), image=image,
                              about=[p.label for _name, p in models], names=[model_name(p) for _n, p in models]))
    cols = st.columns(2)
    for col, (n, p), reach in zip(cols, models, reaches):
        col.metric(_("{name}: reaches step 0").format(name=n), f"×{reach.reach:.3g}",
                   help=_("||dL_T/dx_0|| / ||dL_T/dx_T-1||, x_t the word vector read at step t: below 1 the "
                          "last word's gradient shrank on its way back to the first step, above 1 it grew."))
        col.markdown(reach_sentence(_(p.origin), reach))
    verdict = textbook_sentence(*sorted(reaches, key=lambda r: r.cell_type != "rnn"), steps=T)
    if verdict is not None:
        (st.success if verdict[0] else st.warning)(verdict[1])
    st.caption(_("Going back one step, a vanilla RNN's gradient is multiplied by Whᵀ and the slope of tanh "
                 "(below 1 wherever units saturate); an LSTM's main path back runs through its cell, "
                 "multiplied by the forget gate, which training can hold near 1. A caption of words is only "
                 "10 to 17 steps long, so the gap can be small or even reversed there: a character model "
                 "reads 40 to 100 steps, where it shows. Try a trained RNN run against a trained LSTM run."))


TRENDS = {"shrinks": N_("it shrinks (vanishes)"), "holds": N_("it keeps its size"),
          "grows": N_("it grows (explodes)")}


def reach_sentence(origin: str, reach: analysis.GradientReach) -> str:
    """One model's per-step factor in words that follow its value (near 1 holds, below shrinks,
    above grows), with its LSTM cell path when it has one."""
    text = _("{origin}. On average each step back multiplies it by **{factor:.3f}**: {trend}; over 50 "
             "steps that would make it **×{after:.1e}**.").format(
        origin=origin, factor=reach.factor, trend=_(TRENDS[analysis.trend(reach.factor)]),
        after=reach.factor ** 50)
    if reach.cell_factor is not None:
        text += " " + _("Along its cell state the factor is **{factor:.3f}**: {trend}. Its forget gates "
                        "average **{forget:.2f}** on this caption.").format(
            factor=reach.cell_factor, trend=_(TRENDS[analysis.trend(reach.cell_factor)]), forget=reach.forget)
    return text


REASONS = {
    "short": N_("This caption is only {steps} steps long: over so few steps either cell can keep more."),
    "forgetful": N_("This LSTM's forget gates average {forget:.2f}, so its cell keeps only that share of "
                    "itself each step: the path the textbook counts on is not held open (an untrained LSTM's "
                    "gates sit near 0.5)."),
    "rnn_holds": N_("This RNN's per-step factor is {factor:.3f}, not below 1: on this caption its Whᵀ and "
                    "tanh slopes do not shrink the gradient (few of its units saturate)."),
    "other": N_("None of the usual reasons shows in these numbers: training decides the gates and Wh, so "
                "try models trained longer, or character captions, which are longer."),
    "cell_holds": N_("Along its cell the LSTM keeps ×{cell:.3g} to step 0, more than reaches its word vectors "
                     "(×{word:.3g}): the gradient is carried, then mostly stopped by the gates on its way out."),
}


def textbook_sentence(rnn: analysis.GradientReach, lstm: analysis.GradientReach,
                      steps: int) -> tuple[bool, str] | None:
    """(agrees, sentence) for a vanilla RNN against an LSTM on the same caption, None unless
    the pair is one of each. Where they disagree with the textbook, the sentence says so and why."""
    if (rnn.cell_type, lstm.cell_type) != ("rnn", "lstm"):
        return None
    agrees, reasons = analysis.against_textbook(rnn, lstm)
    if agrees:
        return True, _("As the textbook says: more of the last word's gradient reaches step 0 through the "
                       "LSTM (×{lstm:.3g}) than through the vanilla RNN (×{rnn:.3g}).").format(
            lstm=lstm.reach, rnn=rnn.reach)
    why = [_(REASONS[r]).format(steps=steps, forget=lstm.forget or 0.0, factor=rnn.factor,
                                cell=lstm.cell_decay[0] if lstm.cell_decay is not None else 0.0,
                                word=lstm.reach) for r in reasons or ["other"]]
    return False, " ".join([_("These two models disagree with the textbook: less of the last word's gradient "
                              "reaches step 0 through the LSTM (×{lstm:.3g}) than through the vanilla RNN "
                              "(×{rnn:.3g}).").format(lstm=lstm.reach, rnn=rnn.reach), *why])
