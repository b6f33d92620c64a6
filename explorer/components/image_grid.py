"""Image cards for the Browse page: a responsive grid of images with their captions, a
tile that says why when an image cannot be shown, and a details dialog for one card.

    minibatch_grid(dataset, "train", rows, highlight=("dog",), key="browse.card")

draws a minibatch's cards (images fetched in parallel through the shared fetcher) and
opens the details of the card whose title is clicked; `image_grid` and `card_details`
are its two halves, for other pages.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Sequence
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd
import streamlit as st

from core.data.image_cache import Picture
from core.data.stats import (CaptionTokens, FeatureSummary, caption_tokens, display_words,
                             feature_summary, image_caption_rows)
from explorer import presenter, state
from explorer.components.exports import Slide
from explorer.components.picture import inline_address, show as show_picture
from explorer.components.plots import feature_strip
from explorer.i18n import _, n_

THUMBNAIL = 320                    # longest side of a card's image, in pixels
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


@dataclass(frozen=True)
class Card:
    """What one card shows."""

    picture: Picture               # the image as a thumbnail, or why there is none ("HTTP 404", "offline")
    caption: str                   # the ground-truth caption, without special tokens
    label: str                     # the card's title, its details button: "row 1,234 · image 567"
    highlight: tuple[str, ...] = ()  # words to set in bold (a search's words)


@dataclass(frozen=True)
class CardDetails:
    """Everything the details dialog shows about one card's caption row and image."""

    card: Card
    split: str
    row: int                       # caption row in the split
    image_index: int               # image index in the split (the row's image_idxs entry)
    url: str
    captions: list[tuple[int, str]]  # every (row, caption) of the image, through image_idxs
    tokens: CaptionTokens
    feature: np.ndarray            # (D,) the image's feature vector
    summary: FeatureSummary
    feature_kind: str              # "PCA 512-d" or "fc7 4096-d"


def _escape(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def caption_markdown(caption: str, highlight: Sequence[str] = ()) -> str:
    """A caption as Markdown, with the highlighted words in bold."""
    if not caption:
        return _("*(no words)*")
    marked = set(highlight)
    return " ".join(f"**{_escape(w)}**" if w in marked else _escape(w) for w in caption.split())


# a picture frame with a slash through it (Material Symbols' "hide_image"), drawn in
# the text colour so it suits light and dark themes without an emoji font
_NO_IMAGE_SVG = (
    '<svg width="40" height="40" viewBox="0 -960 960 960" fill="currentColor" aria-hidden="true">'
    '<path d="m840-234-80-80v-446H314l-80-80h526q33 0 56.5 23.5T840-760v526ZM792-56l-64-64H200'
    'q-33 0-56.5-23.5T120-200v-528l-64-64 56-56 736 736-56 56ZM240-280l120-160 90 120 33-44-283-283'
    'v447h447l-80-80H240Zm297-257ZM424-424Z"/></svg>')


def placeholder_html(reason: str | None) -> str:
    """A striped tile the size of a photo that says why there is no image, as HTML on one line."""
    reason = _(reason) if reason else _("no image")
    label = html.escape(_("Image unavailable: {reason}").format(reason=reason))
    reason = html.escape(reason)
    title = html.escape(_("Image unavailable"))
    return (f'<div class="caption-lab-missing" role="img" aria-label="{label}" '
            f'style="aspect-ratio:1/1;display:flex;flex-direction:column;align-items:center;'
            f'justify-content:center;gap:0.3rem;border-radius:0.5rem;text-align:center;padding:0.75rem;'
            f'margin-bottom:0.5rem;'
            f'background:repeating-linear-gradient(45deg,rgba(128,128,128,.10) 0 12px,'
            f'rgba(128,128,128,.20) 12px 24px);">'
            f'<div style="opacity:.7">{_NO_IMAGE_SVG}</div>'
            f'<div style="font-weight:600">{title}</div>'
            f'<div style="opacity:.85">{reason}</div></div>')


def placeholder_tile(reason: str | None) -> None:
    """Draw `placeholder_html(reason)`."""
    st.markdown(placeholder_html(reason), unsafe_allow_html=True)


CARD_PICTURE = "caption-lab-card"   # the class of a card's picture drawn inline with its caption


def card_body(card: Card) -> str | None:
    """A card's picture and caption as one Markdown body: the picture inline as a `data:` address
    (one no larger than `picture.INLINE`, as every demo picture is), or the tile that says why
    there is none, over the caption. None for a picture too large to travel inline (a COCO
    photograph), which `st.image` sends by address instead.

    One element instead of two: a Browse page draws ten to twenty-five cards on every run of
    every session, and an `st.image` costs the server about twice a Markdown element."""
    caption = caption_markdown(card.caption, card.highlight)
    if not card.picture.ok:
        return f"{placeholder_html(card.picture.error)}\n\n{caption}"
    address = inline_address(card.picture.data, card.picture.format)
    if address is None:
        return None
    # as st.image draws a picture at the column's width: rounded corners, the usual gap below
    return (f'<img class="{CARD_PICTURE}" src="{address}" alt="" style="display:block;width:100%;'
            f'height:auto;object-fit:fill;border-radius:0.5rem;margin-bottom:1rem">\n\n{caption}')


PRESENTER_WIDER = 1.5               # presenter mode: cards this much wider (pictures 1.25x or more)


def image_grid(cards: Sequence[Card], key: str, min_width: int = 210) -> int | None:
    """Draw one bordered card per entry in a grid that reflows with the window.

    A card's title is a button that opens its details. Returns the index of the card
    whose title was pressed in this run, or None. On a projector (presenter mode) the cards
    are half as wide again, so that fewer, larger pictures fill the row.
    """
    if presenter.on():
        min_width = round(min_width * PRESENTER_WIDER)
    grid = st.grid("auto", min_column_width=min_width, border=True, gap="small")
    chosen = None
    for i, card in enumerate(cards):
        with grid.cell():
            if st.button(card.label, key=f"{key}.{i}", icon=":material/info:", type="tertiary",
                         help=_("Details: every caption of this image, the tokens and loss mask, "
                                "the feature vector")):
                chosen = i
            body = card_body(card)
            if body is not None:
                st.markdown(body, unsafe_allow_html=True)
            else:
                show_picture(card.picture.data, "stretch", card.picture.format)
                st.markdown(caption_markdown(card.caption, card.highlight))
    return chosen


def _token_table(tokens: CaptionTokens) -> pd.DataFrame:
    """The caption as training sees it: one column per time step, input above target."""
    steps = range(len(tokens.inputs))
    words = tokens.words
    return pd.DataFrame(
        {f"t={t}": [words[t], str(tokens.inputs[t]), words[t + 1], str(tokens.targets[t]),
                    "✓" if tokens.mask[t] else "·"] for t in steps},
        index=[_("input word"), _("input id"), _("target word"), _("target id"), _("in the loss")])


def image_address(url: str) -> str:
    """Where an image comes from, as the dialog shows it: a web address as a link (COCO's
    Flickr images are public), a file on the server by its name alone (its folder is the
    server's, not the reader's business)."""
    if url.startswith(("http://", "https://")):
        return f"[{_escape(url)}]({url})"
    name = PurePosixPath(unquote(urlparse(url).path if url.startswith("file:") else url)).name
    return f"`{name}`" if name else ""


def card_details(details: CardDetails) -> None:
    """Open a dialog with the card's image, all its captions, its tokens and its features."""
    st.dialog(_("{split} caption {row:,} · image {image:,}").format(
        split=_(details.split), row=details.row, image=details.image_index), width="large")(_details_body)(details)


def _details_body(d: CardDetails) -> None:
    left, right = st.columns([2, 3], gap="medium")
    with left:
        picture = state.image_fetcher().picture(d.url, 480)
        if picture.ok:
            show_picture(picture.data, min(340, max(picture.size) * 3), picture.format)
        else:
            placeholder_tile(picture.error)
        st.caption(image_address(d.url))
    with right:
        st.markdown(n_("**The {n} ground-truth caption of this image** (rows whose `{split}_image_idxs` is {image:,})",
                       "**All {n} ground-truth captions of this image** (rows whose `{split}_image_idxs` is {image:,})",
                       len(d.captions)).format(n=len(d.captions), split=d.split, image=d.image_index))
        st.markdown("\n".join(
            f"{n}. {caption_markdown(text, d.card.highlight)}"
            + ("  ← " + _("*this row*") if row == d.row else "  <small>" + _("(row {row:,})").format(row=row) + "</small>")
            for n, (row, text) in enumerate(d.captions, start=1)), unsafe_allow_html=True)

    st.markdown(_("**Tokens and the loss mask.** The model reads each input word and is scored "
                  "on the next one; targets that are `<NULL>` padding are left out of the loss "
                  "(`mask = captions_out != 0`): {counted} of {steps} steps count.").format(
                      counted=int(d.tokens.mask.sum()), steps=len(d.tokens.mask)))
    table = _token_table(d.tokens)
    padding = [c for c, counted in zip(table.columns, d.tokens.mask) if not counted]
    st.dataframe(table.style.set_properties(subset=padding, **{"color": "#9e9e9e"}), width="stretch")

    s = d.summary
    values = dict(kind=d.feature_kind, dims=s.dims, low=s.low, high=s.high, mean=s.mean, norm=s.norm,
                  zeros=s.zeros)
    st.markdown(_("**Feature vector** ({kind}): {dims:,} numbers from {low:.2f} to {high:.2f}, mean "
                  "{mean:.3f}, length ‖f‖ = {norm:.2f}, {zeros:,} exactly zero").format(**values) if s.zeros else
                _("**Feature vector** ({kind}): {dims:,} numbers from {low:.2f} to {high:.2f}, mean "
                  "{mean:.3f}, length ‖f‖ = {norm:.2f}").format(**values))
    image = _("{split} image #{image}").format(split=d.split, image=d.image_index)
    feature_strip(d.feature, Slide.of("browse", "features", _("Feature vector ({kind})").format(kind=d.feature_kind),
                                      about=(image,), names=(f"{d.split}-{d.image_index}",)),
                  key=f"browse.features.{d.split}.{d.image_index}")


# --- a minibatch of the dataset --------------------------------------------------------

def minibatch_grid(ds: state.Dataset, split: str, rows: Sequence[int], highlight: Sequence[str] = (),
                   key: str = "browse.card") -> int | None:
    """Cards for caption rows of a split, and the details of the one whose title is clicked.

    Returns the index of that card, or None.
    """
    data, idx_to_word = ds.data, ds.data["idx_to_word"]
    captions, image_idxs = data[f"{split}_captions"], data[f"{split}_image_idxs"]
    images = [int(image_idxs[row]) for row in rows]
    pictures = state.image_fetcher().pictures([str(data[f"{split}_urls"][i]) for i in images], THUMBNAIL)
    cards = [Card(picture, " ".join(display_words(captions[row], idx_to_word)),
                  _("row {row:,} · image {image:,}").format(row=row, image=image), tuple(highlight))
             for row, image, picture in zip(rows, images, pictures)]
    chosen = image_grid(cards, key=key)
    if chosen is not None:
        row, image = int(rows[chosen]), images[chosen]
        feature = data[f"{split}_features"][image]
        card_details(CardDetails(
            cards[chosen], split, row, image, str(data[f"{split}_urls"][image]),
            [(int(r), " ".join(display_words(captions[r], idx_to_word)))
             for r in image_caption_rows(data, split, image)],
            caption_tokens(captions[row], idx_to_word), feature, feature_summary(feature),
            state.feature_kind(ds.pca_features)))
    return chosen
