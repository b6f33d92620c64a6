"""Split-level scores: corpus BLEU-1..4 and the notebook's BLEU on N train and N val images.

The train images are the ones the model trained on when its run is known (so a model that
memorised them shows it), else any of the split. Scoring runs when asked (it can take
seconds), with a progress bar, and its results stay in session state per (model, dataset,
strategies, N, seed), so reruns and tab switches show them again without recomputing.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.evaluate import Strategy, evaluate
from explorer import state
from explorer.components.image_picker import caption_index
from explorer.components.model_picker import PickedModel
from explorer.components.strategy_view import train_split_note, trained_images_note

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


def _table(results) -> pd.DataFrame:
    return pd.DataFrame([{
        "strategy": r.strategy, "split": r.split, "images": r.num_images,
        **{f"BLEU-{n}": float(r.bleu[n - 1]) for n in range(1, 5)},
        "notebook BLEU": r.notebook_bleu, "mean log p": r.mean_logprob,
        "mean words": r.mean_length, "seconds": r.seconds} for r in results])


def _chart(frame: pd.DataFrame) -> None:
    long = frame.melt(id_vars=["strategy", "split"], value_vars=[f"BLEU-{n}" for n in range(1, 5)],
                      var_name="score", value_name="value")
    spec = {
        "height": 260,
        "mark": {"type": "bar"},
        "encoding": {
            "x": {"field": "score", "type": "nominal", "axis": {"title": None, "labelAngle": 0, "labelFontSize": 15}},
            "xOffset": {"field": "split", "sort": ["train", "val"]},
            "y": {"field": "value", "type": "quantitative", "axis": {"title": "corpus BLEU", "titleFontSize": 15,
                                                                      "labelFontSize": 14}},
            "color": {"field": "split", "sort": ["train", "val"], "scale": {"range": ["#4263eb", "#e8590c"]},
                      "legend": {"title": None, "orient": "top", "labelFontSize": 15}},
            "column": {"field": "strategy", "type": "nominal", "sort": list(dict.fromkeys(frame["strategy"])),
                       "header": {"title": None, "labelFontSize": 16}},
            "tooltip": [{"field": "strategy"}, {"field": "split"}, {"field": "score"},
                        {"field": "value", "format": ".3f"}],
        },
    }
    st.vega_lite_chart(long, spec)


def split_scores(picked: PickedModel, ds: state.Dataset) -> None:
    """Controls, a Compute button with a progress bar, then train against val in one table."""
    a, b, c = st.columns([3, 2, 1])
    chosen = a.multiselect("Strategies", list(STRATEGIES), default=["greedy", "beam 3"], key=CHOICES,
                           persist_state="session")
    n = b.select_slider("Images per split (N)", COUNTS, value=100, key=COUNT, persist_state="session",
                        help="N distinct images of each split; fewer if the split is smaller.")
    seed = c.number_input("Seed", 0, 10_000, 0, key=SEED, persist_state="session")
    trained = picked.trained_images
    spec = (picked.key, ds.key, trained is not None, tuple(chosen), int(n), int(seed))
    results = st.session_state.setdefault(RESULTS, {})
    go = st.button("Compute scores", icon=":material/calculate:", type="primary", key="compare.compute",
                   disabled=not chosen)
    if go:
        bar = st.progress(0.0, text="Decoding…")
        scores = evaluate(picked.model, ds.data, [STRATEGIES[s] for s in chosen], n=int(n), seed=int(seed),
                          indexes={s: caption_index(ds, s) for s in ("train", "val")},
                          pools={"train": trained} if trained is not None else None,
                          progress=lambda done, total, text: bar.progress(done / total, text=text))
        bar.empty()
        results.pop(spec, None)
        results[spec] = scores
        while len(results) > KEEP:
            results.pop(next(iter(results)))
    if spec not in results:
        train = (f"N of the {len(trained):,} train images the model trained on" if trained is not None
                 else "N train")
        st.info(f"Press **Compute scores** to caption {train} and N val images with each strategy "
                "and score them. 500 images with beam search take a few seconds.")
        return
    frame = _table(results[spec])
    st.dataframe(frame, hide_index=True, width="stretch",
                 column_config={**{col: st.column_config.NumberColumn(format="%.3f")
                                   for col in [f"BLEU-{n}" for n in range(1, 5)] + ["notebook BLEU"]},
                                "mean log p": st.column_config.NumberColumn(format="%.2f"),
                                "mean words": st.column_config.NumberColumn(format="%.1f"),
                                "seconds": st.column_config.NumberColumn(format="%.2f")})
    _chart(frame)
    by = {(r.strategy, r.split): r for r in results[spec]}
    gaps = [f"{s}: train {by[s, 'train'].bleu[3]:.3f} against val {by[s, 'val'].bleu[3]:.3f}"
            for s in dict.fromkeys(r.strategy for r in results[spec])]
    st.markdown("**BLEU-4** — " + "; ".join(gaps) + ". A model that scores much better on train "
                "than on val has memorised its training captions: that gap is overfitting.")
    st.caption(trained_images_note(picked) if trained is not None
               else train_split_note(picked, len(ds.data["train_captions"])))
    here = ("here train is the images of those captions, and the one reference per image is any of "
            "its captions, not necessarily the one learned" if trained is not None
            else "here train is the whole split")
    st.caption("Corpus BLEU-n pools the clipped n-gram matches of all N captions against all their "
               "references, with one brevity penalty (Papineni et al.). *Notebook BLEU* is the CS231n "
               "notebook's `evaluate_model` score: unigram BLEU against one reference per image, "
               "averaged, so it can be compared with the notebook's printed numbers. The notebook "
               f"scores *its* train split, the sampled `max_train` captions the model learned; {here}, "
               "so only the val numbers compare directly.")
