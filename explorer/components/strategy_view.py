"""Captions next to their references, train beside val; and every decoding strategy on one image.

`strategy_picker` returns a `core.evaluate.Strategy`; `examples` shows a few train and val
images with their sampled captions and BLEU; `strategies_side_by_side` shows greedy,
beam search with beams 1 to 5 and temperature samples for one image, each with its
log-probability. When the model's run is known, its train side is the images it trained on
(`PickedModel.trained_images`), so memorisation shows against val; otherwise
`train_split_note` says how much of the train split the model has really seen (a
notebook-style run trains on a sample of it), for this page and the scores.
"""
from __future__ import annotations

import html
from dataclasses import astuple

import streamlit as st

from core.data.image_cache import Picture
from core.evaluate import Strategy, caption_images, compare_strategies, sample_images
from explorer import state
from explorer.components.caption_diff import (BLEU_NOTE, against_html, caption_against_references, highlighted,
                                              legend_html)
from explorer.components.charts import chart_pair
from explorer.components.image_picker import (PICTURE, ImageChoice, caption_index, image_picker, references_of,
                                              show_image)
from explorer.components.model_picker import PickedModel
from explorer.components.picture import fitted, inline_address
from explorer.components.tables import table
from explorer.caching import spinning
from explorer.i18n import N_, _, n_
from explorer.styles import EXAMPLE_CARD, EXAMPLE_ROW

KINDS = {"greedy": N_("Greedy"), "beam": N_("Beam search"), "temperature": N_("Temperature")}
EXAMPLES_SEED = "compare.examples_seed"   # which images the examples show; "New images" adds one
EXAMPLES_COUNT = "compare.examples_count" # images per split
SIDE_TEMPERATURE = "compare.side_temperature"
SIDE_SAMPLES = "compare.side_samples"
SPLIT_TITLES = {"train": N_("Train split"), "val": N_("Val split · never seen")}
TRAINED_TITLE = N_("Train split · trained on")
CARD_PICTURE = 200                         # an example's picture, in pixels across (a third of a card)
TABLE_COLUMNS = {"strategy": N_("strategy"), "caption": N_("caption"), "log p": N_("log p"),
                 "words": N_("words")}              # and BLEU-1 to BLEU-4, the same in every language


# Decoding is cached per model, dataset, images and strategy, so a rerun for anything else
# (another tab, the sidebar, the temperature of the samples) does not decode again: beam
# search with a 512-unit LSTM takes seconds. Strategies go in as `astuple(strategy)`.

@spinning(N_("Captioning the images…"))
@st.cache_data(max_entries=32, show_spinner=False)
def _captions(model_key: str, dataset_key: str, split: str, images: tuple, strategy: tuple,
              _model, _data, _index):
    return caption_images(_model, _data, _index, list(images), Strategy(*strategy))


@st.cache_data(max_entries=256, show_spinner=False)
def _strategy_caption(model_key: str, dataset_key: str, image_key: tuple, strategy: tuple,
                      _model, _feature, _references):
    return compare_strategies(_model, _feature, _references, [Strategy(*strategy)], key=image_key[1])[0]


def strategy_picker(prefix: str) -> Strategy:
    """Greedy, beam search (size 1 to 5) or temperature sampling, with its options."""
    kind = st.segmented_control(_("Decoding"), list(KINDS), key=f"{prefix}.kind", default="greedy",
                                required=True, persist_state="session", format_func=lambda k: _(KINDS[k]))
    if kind == "beam":
        size = st.slider(_("Beam size"), 1, 5, 3, key=f"{prefix}.beam", persist_state="session",
                         help=_("Beam size 1 is greedy decoding."))
        return Strategy("beam", beam_size=int(size))
    if kind == "temperature":
        row = st.container(horizontal=True)       # side by side: one element, not two columns
        t = row.slider(_("Temperature"), 0.1, 2.0, 1.0, 0.1, key=f"{prefix}.temperature", persist_state="session")
        seed = row.number_input(_("Seed"), 0, 10_000, 0, key=f"{prefix}.seed", persist_state="session")
        return Strategy("temperature", temperature=float(t), seed=int(seed))
    return Strategy("greedy")


# --- train against val, a few images -------------------------------------------------

def trained_images_note(picked: PickedModel) -> str:
    """What "train" means when the model's training images are known: only those."""
    images, drawn = len(picked.trained_images), picked.max_train
    return _("Train here is the {images:,} images this run trained on: its {drawn:,} training captions "
             "describe them. Each image is scored against all its captions, the one it learned among "
             "them.").format(images=images, drawn=drawn)


def train_split_note(picked: PickedModel, num_captions: int) -> str:
    """What "train" means for this model: a run on the notebook's `max_train` sample has
    seen only that sample, so most of the train split is as new to it as val is."""
    if picked.untrained:
        return _("An untrained model has seen no images at all: train and val are alike to it.")
    drawn = picked.max_train
    if drawn is None:
        return _("These images are seen in training only if the model trained on them: a model "
                 "trained on a sample of the split (the notebook's `max_train`) knows only that sample.")
    if drawn * 10 <= num_captions:
        return _("The model trained on only {drawn:,} captions drawn from this split's {total:,}, "
                 "so almost all of these images are as new to it as val's: expect little gap. The Train "
                 "page's *Evolution* shows captions of images it did learn.").format(
            drawn=drawn, total=num_captions)
    if drawn * 2 < num_captions:
        return _("The model trained on {drawn:,} captions drawn from this split's {total:,}, so "
                 "many of these images are new to it: the gap understates how much it memorised.").format(
            drawn=drawn, total=num_captions)
    return _("The model trained on {drawn:,} captions drawn from this split's {total:,}.").format(
        drawn=drawn, total=num_captions)


def _new_images() -> None:
    st.session_state[EXAMPLES_SEED] = st.session_state.get(EXAMPLES_SEED, 0) + 1


def examples(picked: PickedModel, ds: state.Dataset) -> None:
    """A few train and a few val images, each with its sampled caption against every reference."""
    # a cell wide enough for the decoding choice's three labels: "Temperature" was cut at 1280 px
    controls = st.grid(3, min_column_width=320, vertical_alignment="bottom")
    with controls.cell():
        strategy = strategy_picker("compare.examples")
    with controls.cell():
        n = st.slider(_("Images per split"), 1, 6, 3, key=EXAMPLES_COUNT, persist_state="session")
    with controls.cell():
        st.button(_("New images"), icon=":material/casino:", on_click=_new_images, key="compare.new_images")
    st.html(legend_html())
    seed = st.session_state.get(EXAMPLES_SEED, 0)
    trained = picked.trained_images
    splits = chart_pair()                          # train beside val, or stacked when narrow
    for split in ("train", "val"):
        index = caption_index(ds, split)
        pool = trained if split == "train" else None
        images = sample_images(index, n, seed=seed, pool=pool)
        with splits.cell():
            st.subheader(_(TRAINED_TITLE if pool is not None else SPLIT_TITLES[split]))
            if pool is not None:
                st.caption(trained_images_note(picked))
            elif split == "train":
                st.caption(train_split_note(picked, len(ds.data["train_captions"])))
            for k, row in enumerate(_captions(picked.key, ds.key, split, tuple(int(i) for i in images),
                                              astuple(strategy), picked.model, ds.data, index)):
                choice = ImageChoice(split, row.image, str(ds.data[f"{split}_urls"][row.image]),
                                     ds.data[f"{split}_features"][row.image])
                note = " " + _("({strategy}, log p = {logp:.2f})").format(strategy=_(strategy.label),
                                                                        logp=row.logprob)
                fetched = state.image_fetcher().picture(choice.url, PICTURE)
                card = example_card(choice.label, fetched, against_html(row.words, row.references, row.bleu,
                                                                        note=note))
                if card is not None:
                    st.html(card)
                    continue
                # a picture with an address (a COCO photograph), or none: one bordered row, not a box
                # around two columns; on a phone the caption goes under the picture (`styles.EXAMPLE_ROW`)
                with st.container(border=True, horizontal=True, wrap=False, gap="medium",
                                  key=f"{EXAMPLE_ROW}{split}-{k}"):
                    show_image(choice, width=CARD_PICTURE, fetched=fetched)
                    caption_against_references(row.words, row.references, row.bleu, note=note)


def example_card(label: str, fetched: Picture, captions: str) -> str | None:
    """One example as a single HTML element, its picture (`fetched`, labelled `label`) inline
    beside `captions` (HTML), when the picture is small enough to travel inline
    (`picture.inline_address`: every demo picture); None otherwise. Three messages to the browser per
    example (a bordered row, the picture, the captions) become one: Compare draws six of them
    on every run of every session."""
    if not fetched.ok:
        return None
    address = inline_address(fitted(fetched.data, CARD_PICTURE, fetched.format), fetched.format)
    if address is None:
        return None
    label = html.escape(label)
    return (f'<div class="{EXAMPLE_CARD}"><figure style="width:{CARD_PICTURE}px"><img src="{address}" alt="{label}">'
            f'<figcaption>{label}</figcaption></figure><div>{captions}</div></div>')


# --- one image, every strategy -------------------------------------------------------

def strategies_side_by_side(picked: PickedModel, ds: state.Dataset) -> None:
    """Greedy, beams 1..5 and temperature samples for one image, with log p and BLEU."""
    controls = st.grid(3, min_column_width=240, gap=("small", "large"))   # three across, or fewer
    with controls.cell():
        image = image_picker(ds, "compare", trained=picked.trained_images)
    with controls.cell():
        t = st.slider(_("Temperature for the samples"), 0.1, 2.0, 1.0, 0.1, key=SIDE_TEMPERATURE,
                      persist_state="session")
        samples = st.slider(_("Temperature samples (seeds 0, 1, …)"), 1, 5, 3, key=SIDE_SAMPLES,
                            persist_state="session")
    with controls.cell():
        show_image(image, width=240)
    references = references_of(ds, image)
    strategies = ([Strategy("greedy")] + [Strategy("beam", beam_size=k) for k in range(1, 6)]
                  + [Strategy("temperature", temperature=float(t), seed=s) for s in range(int(samples))])
    rows = [_strategy_caption(picked.key, ds.key, image.key, astuple(strategy), picked.model,
                              image.feature, references) for strategy in strategies]
    best = max(r.logprob for r in rows)
    cell = "padding:0.35em 0.5em"
    num = f"{cell};text-align:right;font-variant-numeric:tabular-nums"
    st.html(legend_html())
    body = "".join(
        f'<tr style="{"background:#fff4e6;" if r.logprob >= best - 1e-6 else ""}border-bottom:1px solid #dee2e6">'
        f'<td style="{cell};font-weight:600">{html.escape(_(r.strategy))}</td>'
        f'<td style="{cell};min-width:12em">{highlighted(r.words, references, "1.25rem")}</td>'
        f'<td style="{num};white-space:nowrap;font-weight:600;font-size:1.15rem">{r.logprob:.2f}</td>'
        f'<td style="{num};white-space:nowrap">{r.logprob_per_word:.2f}</td>'
        f'<td style="{num}">{" · ".join(f"{b:.2f}" for b in r.bleu)}</td></tr>'
        for r in rows)
    head = "".join(f'<th style="{num}">{html.escape(h)}</th>'
                   for h in (_("log p"), _("log p / word"), "BLEU-1 · 2 · 3 · 4"))
    st.html('<table style="width:100%;border-collapse:collapse;font-size:1.05rem">'
            '<thead><tr style="border-bottom:2px solid #495057;text-align:left">'
            f'<th style="{cell}">{html.escape(_("strategy"))}</th>'
            f'<th style="{cell}">{html.escape(_("caption"))}</th>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")
    st.caption(_("log p is the log-probability the model gives the whole caption (its words and "
                 "`<END>`); closer to 0 is more likely, and the most likely is shaded. Beam search "
                 "looks for likely captions, sampling for varied ones; beam size 1 is greedy. Beam "
                 "search keeps only the k best partial captions at every step, so a larger beam is not "
                 "guaranteed to find a more likely caption.") + " "
               + n_("BLEU is against the image's {n} ground-truth caption.",
                    "BLEU is against the image's {n} ground-truth captions.",
                    len(references)).format(n=len(references)) + " " + _(BLEU_NOTE))
    with st.expander(_("The same numbers as a table")):
        shown = {column: _(name) for column, name in TABLE_COLUMNS.items()}
        numbers = {"strategy": [_(r.strategy) for r in rows], "caption": [" ".join(r.words) for r in rows],
                   "log p": [r.logprob for r in rows], "words": [len(r.words) for r in rows],
                   **{f"BLEU-{n}": [r.bleu[n - 1] for r in rows] for n in range(1, 5)}}
        st.dataframe(table(numbers, headers=shown), hide_index=True, width="stretch",
                     column_config={shown.get(c, c): st.column_config.NumberColumn(format="%.3f")
                                    for c in ["log p", "BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4"]})
    if not references:
        st.info(_("{image} has no ground-truth captions, so BLEU is blank.").format(image=image.label))
