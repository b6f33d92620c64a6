"""Captions next to their references, train beside val; and every decoding strategy on one image.

`strategy_picker` returns a `core.evaluate.Strategy`; `examples` shows a few train and val
images with their sampled captions and BLEU; `strategies_side_by_side` shows greedy,
beam search with beams 1 to 5 and temperature samples for one image, each with its
log-probability.
"""
from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from core.evaluate import Strategy, caption_images, compare_strategies, sample_images
from explorer import state
from explorer.components.caption_diff import caption_against_references, highlighted, legend_html
from explorer.components.image_picker import ImageChoice, caption_index, image_picker, show_image
from explorer.components.model_picker import PickedModel

KINDS = {"greedy": "Greedy", "beam": "Beam search", "temperature": "Temperature"}
EXAMPLES_SEED = "compare.examples_seed"   # which images the examples show; "New images" adds one
EXAMPLES_COUNT = "compare.examples_count" # images per split
SIDE_TEMPERATURE = "compare.side_temperature"
SIDE_SAMPLES = "compare.side_samples"
SPLIT_NOTES = {"train": "Train · seen in training", "val": "Val · never seen"}


def strategy_picker(prefix: str) -> Strategy:
    """Greedy, beam search (size 1 to 5) or temperature sampling, with its options."""
    kind = st.segmented_control("Decoding", list(KINDS), key=f"{prefix}.kind", default="greedy",
                                required=True, persist_state="session", format_func=KINDS.get)
    if kind == "beam":
        size = st.slider("Beam size", 1, 5, 3, key=f"{prefix}.beam", persist_state="session",
                         help="Beam size 1 is greedy decoding.")
        return Strategy("beam", beam_size=int(size))
    if kind == "temperature":
        a, b = st.columns(2)
        t = a.slider("Temperature", 0.1, 2.0, 1.0, 0.1, key=f"{prefix}.temperature", persist_state="session")
        seed = b.number_input("Seed", 0, 10_000, 0, key=f"{prefix}.seed", persist_state="session")
        return Strategy("temperature", temperature=float(t), seed=int(seed))
    return Strategy("greedy")


# --- train against val, a few images -------------------------------------------------

def _new_images() -> None:
    st.session_state[EXAMPLES_SEED] = st.session_state.get(EXAMPLES_SEED, 0) + 1


def examples(picked: PickedModel, ds: state.Dataset) -> None:
    """A few train and a few val images, each with its sampled caption against every reference."""
    a, b, c = st.columns([3, 2, 1], vertical_alignment="bottom")
    with a:
        strategy = strategy_picker("compare.examples")
    n = b.slider("Images per split", 1, 6, 3, key=EXAMPLES_COUNT, persist_state="session")
    c.button("New images", icon=":material/casino:", on_click=_new_images, key="compare.new_images",
             width="stretch")
    st.html(legend_html())
    seed = st.session_state.get(EXAMPLES_SEED, 0)
    columns = st.columns(2, gap="large")
    for col, split in zip(columns, ("train", "val")):
        index = caption_index(ds, split)
        images = sample_images(index, n, seed=seed)
        with col:
            st.subheader(SPLIT_NOTES[split])
            for row in caption_images(picked.model, ds.data, index, images, strategy):
                with st.container(border=True):
                    left, right = st.columns([1, 2])
                    with left:
                        show_image(ImageChoice(split, row.image, str(ds.data[f"{split}_urls"][row.image]),
                                               ds.data[f"{split}_features"][row.image]))
                    with right:
                        caption_against_references(row.words, row.references, row.bleu,
                                                   note=f" ({strategy.label}, log p = {row.logprob:.2f})")


# --- one image, every strategy -------------------------------------------------------

def strategies_side_by_side(picked: PickedModel, ds: state.Dataset) -> None:
    """Greedy, beams 1..5 and temperature samples for one image, with log p and BLEU."""
    a, b, c = st.columns([2, 1, 1], gap="large")
    with a:
        image = image_picker(ds, "compare")
    t = b.slider("Temperature for the samples", 0.1, 2.0, 1.0, 0.1, key=SIDE_TEMPERATURE,
                 persist_state="session")
    samples = c.slider("Temperature samples (seeds 0, 1, …)", 1, 5, 3, key=SIDE_SAMPLES,
                       persist_state="session")
    references = caption_index(ds, image.split).references(image.image)
    strategies = ([Strategy("greedy")] + [Strategy("beam", beam_size=k) for k in range(1, 6)]
                  + [Strategy("temperature", temperature=float(t), seed=s) for s in range(int(samples))])
    rows = compare_strategies(picked.model, image.feature, references, strategies, key=image.image)
    best = max(r.logprob for r in rows)
    cell = "padding:0.35em 0.5em"
    num = f"{cell};text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap"
    left, right = st.columns([1, 4], gap="large")
    with left:
        show_image(image)
    with right:
        st.html(legend_html())
        body = "".join(
            f'<tr style="{"background:#fff4e6;" if r.logprob >= best - 1e-6 else ""}border-bottom:1px solid #dee2e6">'
            f'<td style="{cell};white-space:nowrap;font-weight:600">{html.escape(r.strategy)}</td>'
            f'<td style="{cell}">{highlighted(r.words, references, "1.25rem")}</td>'
            f'<td style="{num};font-weight:600;font-size:1.15rem">{r.logprob:.2f}</td>'
            f'<td style="{num}">{r.logprob_per_word:.2f}</td>'
            f'<td style="{num}">{" · ".join(f"{b:.2f}" for b in r.bleu)}</td></tr>'
            for r in rows)
        head = "".join(f'<th style="{num}">{h}</th>' for h in ("log p", "log p / word", "BLEU-1 · 2 · 3 · 4"))
        st.html('<table style="width:100%;border-collapse:collapse;font-size:1.05rem">'
                '<thead><tr style="border-bottom:2px solid #495057;text-align:left">'
                f'<th style="{cell}">strategy</th><th style="{cell}">caption</th>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table>")
        st.caption("log p is the log-probability the model gives the whole caption (its words and "
                   "`<END>`); closer to 0 is more likely, and the most likely is shaded. Beam search "
                   "looks for likely captions, sampling for varied ones; beam size 1 is greedy. Beam "
                   "search keeps only the k best partial captions at every step, so a larger beam is not "
                   "guaranteed to find a more likely caption. BLEU is against the image's "
                   f"{len(references)} ground-truth captions.")
        with st.expander("The same numbers as a table"):
            st.dataframe(pd.DataFrame({
                "strategy": [r.strategy for r in rows], "caption": [" ".join(r.words) for r in rows],
                "log p": [r.logprob for r in rows], "words": [len(r.words) for r in rows],
                **{f"BLEU-{n}": [r.bleu[n - 1] for r in rows] for n in range(1, 5)}}),
                hide_index=True, width="stretch",
                column_config={c: st.column_config.NumberColumn(format="%.3f")
                               for c in ["log p", "BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4"]})
        if not references:
            st.info(f"{image.label} has no ground-truth captions, so BLEU is blank.")
