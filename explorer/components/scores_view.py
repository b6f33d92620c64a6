"""Split-level scores: corpus BLEU-1..4 and the notebook's BLEU on N train and N val images.

The train images are the ones the model trained on when its run is known (so a model that
memorised them shows it), else any of the split. Scoring runs when asked (it can take
seconds), with a progress bar, and its results stay in session state per (model, dataset,
strategies, N, seed), so reruns and tab switches show them again without recomputing.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.evaluate import SPLITS, Strategy, evaluate
from explorer import state
from explorer.components.image_picker import caption_index
from explorer.components.exports import Slide, titled
from explorer.components.model_picker import PickedModel
from explorer.components.strategy_view import train_split_note, trained_images_note
from explorer.i18n import N_, _

RESULTS = "compare.scores"             # {spec: [SplitScore, …]} of this session, newest last
COUNT = "compare.score_count"          # N images per split
CHOICES = "compare.score_strategies"   # labels of the strategies to score
SEED = "compare.score_seed"
KEEP = 8                               # results kept per session

COUNTS = (10, 50, 100, 200, 500, 1000, 2000, 5000)
STRATEGIES = {s.label: s for s in (
    Strategy("greedy"), Strategy("beam", beam_size=2), Strategy("beam", beam_size=3),
    Strategy("beam", beam_size=5), Strategy("temperature", temperature=0.7),
    Strategy("temperature", temperature=1.0))}
COLUMNS = {"strategy": N_("strategy"), "split": N_("split"), "images": N_("images"),
           "notebook BLEU": N_("notebook BLEU"), "mean log p": N_("mean log p"),
           "mean words": N_("mean words"), "seconds": N_("seconds")}   # BLEU-n reads the same everywhere


def _table(results) -> pd.DataFrame:
    return pd.DataFrame([{
        "strategy": r.strategy, "split": r.split, "images": r.num_images,
        **{f"BLEU-{n}": float(r.bleu[n - 1]) for n in range(1, 5)},
        "notebook BLEU": r.notebook_bleu, "mean log p": r.mean_logprob,
        "mean words": r.mean_length, "seconds": r.seconds} for r in results])


def _chart(frame: pd.DataFrame, picked: PickedModel, n: int) -> None:
    long = frame.melt(id_vars=["strategy", "split"], value_vars=[f"BLEU-{n}" for n in range(1, 5)],
                      var_name="score", value_name="value")
    long["strategy"] = [_(s) for s in long["strategy"]]     # shown in the reader's language
    train, val = _(SPLITS["train"]), _(SPLITS["val"])
    long["split"] = long["split"].map({"train": train, "val": val})
    spec = {
        "height": 260,
        "mark": {"type": "bar"},
        "encoding": {
            "x": {"field": "score", "type": "nominal", "axis": {"title": None, "labelAngle": 0, "labelFontSize": 15}},
            "xOffset": {"field": "split", "sort": [train, val]},
            "y": {"field": "value", "type": "quantitative", "axis": {"title": _("corpus BLEU"), "titleFontSize": 15,
                                                                      "labelFontSize": 14}},
            "color": {"field": "split", "sort": [train, val], "scale": {"range": ["#4263eb", "#e8590c"]},
                      "legend": {"title": None, "orient": "top", "labelFontSize": 15}},
            "column": {"field": "strategy", "type": "nominal", "sort": list(dict.fromkeys(long["strategy"])),
                       "header": {"title": None, "labelFontSize": 16}},
            "tooltip": [{"field": "strategy", "title": _("strategy")}, {"field": "split", "title": _("split")},
                        {"field": "score", "title": _("score")},
                        {"field": "value", "format": ".3f", "title": _("value")}],
        },
    }
    slide = Slide.of("compare", "split-scores", _("Corpus BLEU, train against val"), picked=picked,
                     about=(_("{n:,} images per split").format(n=n),), names=(f"n{n}",))
    st.vega_lite_chart(long, titled(spec, slide))


def split_scores(picked: PickedModel, ds: state.Dataset) -> None:
    """Controls, a Compute button with a progress bar, then train against val in one table."""
    a, b, c = st.columns([3, 2, 1])
    chosen = a.multiselect(_("Strategies"), list(STRATEGIES), default=["greedy", "beam 3"], key=CHOICES,
                           persist_state="session", format_func=lambda s: _(STRATEGIES[s].label))
    n = b.select_slider(_("Images per split (N)"), COUNTS, value=100, key=COUNT, persist_state="session",
                        help=_("N distinct images of each split; fewer if the split is smaller."))
    seed = c.number_input(_("Seed"), 0, 10_000, 0, key=SEED, persist_state="session")
    trained = picked.trained_images
    spec = (picked.key, ds.key, trained is not None, tuple(chosen), int(n), int(seed))
    results = st.session_state.setdefault(RESULTS, {})
    go = st.button(_("Compute scores"), icon=":material/calculate:", type="primary", key="compare.compute",
                   disabled=not chosen)
    if go:
        bar = st.progress(0.0, text=_("Decoding…"))
        scores = evaluate(picked.model, ds.data, [STRATEGIES[s] for s in chosen], n=int(n), seed=int(seed),
                          indexes={s: caption_index(ds, s) for s in ("train", "val")},
                          pools={"train": trained} if trained is not None else None,
                          progress=lambda done, total, text: bar.progress(done / total, text=_(text)))
        bar.empty()
        results.pop(spec, None)
        results[spec] = scores
        while len(results) > KEEP:
            results.pop(next(iter(results)))
    if spec not in results:
        if trained is not None:
            st.info(_("Press **Compute scores** to caption N of the {trained:,} train images the model "
                      "trained on and N val images with each strategy and score them. 500 images with "
                      "beam search take a few seconds.").format(trained=len(trained)))
        else:
            st.info(_("Press **Compute scores** to caption N train and N val images with each strategy "
                      "and score them. 500 images with beam search take a few seconds."))
        return
    frame = _table(results[spec])
    shown = {column: _(name) for column, name in COLUMNS.items()}
    table = frame.assign(strategy=[_(s) for s in frame["strategy"]],
                         split=[_(SPLITS.get(s, s)) for s in frame["split"]]).rename(columns=shown)
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={**{shown.get(col, col): st.column_config.NumberColumn(format="%.3f")
                                   for col in [f"BLEU-{n}" for n in range(1, 5)] + ["notebook BLEU"]},
                                shown["mean log p"]: st.column_config.NumberColumn(format="%.2f"),
                                shown["mean words"]: st.column_config.NumberColumn(format="%.1f"),
                                shown["seconds"]: st.column_config.NumberColumn(format="%.2f")})
    _chart(frame, picked, int(n))
    by = {(r.strategy, r.split): r for r in results[spec]}
    gaps = [_("{strategy}: train {train:.3f} against val {val:.3f}").format(
                strategy=_(s), train=by[s, "train"].bleu[3], val=by[s, "val"].bleu[3])
            for s in dict.fromkeys(r.strategy for r in results[spec])]
    st.markdown(_("**BLEU-4** — {gaps}. A model that scores much better on train than on val has "
                  "memorised its training captions: that gap is overfitting.").format(gaps="; ".join(gaps)))
    st.caption(trained_images_note(picked) if trained is not None
               else train_split_note(picked, len(ds.data["train_captions"])))
    st.caption(_("Corpus BLEU-n pools the clipped n-gram matches of all N captions against all their "
                 "references, with one brevity penalty (Papineni et al.). *Notebook BLEU* is the CS231n "
                 "notebook's `evaluate_model` score: unigram BLEU against one reference per image, "
                 "averaged, so it can be compared with the notebook's printed numbers.") + " "
               + (_("The notebook scores *its* train split, the sampled `max_train` captions the model "
                    "learned; here train is the images of those captions, and the one reference per "
                    "image is any of its captions, not necessarily the one learned, so only the val "
                    "numbers compare directly.") if trained is not None
                  else _("The notebook scores *its* train split, the sampled `max_train` captions the "
                         "model learned; here train is the whole split, so only the val numbers compare "
                         "directly.")))
