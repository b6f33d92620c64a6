"""The evolution view: what a run's model says about a few fixed training images, over time.

Each image (one row each, compact enough to sit beside the loss chart) shows the model's
greedy caption at one snapshot over its true caption, every word green where it is one of
the truth's words in the truth's order (a longest common subsequence,
`core.metrics.common_words`) and red where it is not, so a class can watch noise turn
into the sentence being memorised. Counted in order, not by position: a caption that
leaves out one word of the truth still has every later word right.

The four rows are one Markdown element, each picture inline in it (a `data:` address of the
44-px picture, about 2 kB): the view is redrawn every second for every student on the Train
page, and as rows of three elements (a container, an `st.image`, a Markdown) it was 12
messages per redraw instead of one, about a sixth of a live-panel redraw's server CPU.
"""
from __future__ import annotations

import functools
import html

import streamlit as st

from core.metrics import common_words
from explorer import presenter, state
from explorer.components.picture import INLINE, data_address, fitted
from explorer.i18n import N_, _
from explorer.runs.base import Evolution

THUMBNAIL = 240                    # longest side of a sample's picture, in pixels
PICTURE_WIDTH = 44                 # its width on the page, in pixels (a sixth of its narrow column)
SAMPLE_ROW = "caption-lab-sample"  # the class of one row (picture, caption, score): tests find them by it
EVOLUTION_AT = "train.evolution_at"  # the iteration chosen on a finished run (+ its snapshots)


def _safe(word: str) -> str:
    """A word (or a caption) that markdown shows as it is, on one line (`<UNK>`, brackets, backticks
    and dollars included): what a run's files say is a student's code's, so nothing in it may
    open a code block or a formula, or end the row's HTML block with a blank line."""
    word = " ".join(word.split()).replace("\\", "\\\\")
    return word.replace("<", "‹").replace(">", "›").replace("[", "(").replace("]", ")") \
        .replace("*", "\\*").replace("_", "\\_").replace("`", "\\`").replace("$", "\\$").replace("~", "\\~")


COUNTED = N_("Words right: the caption's words that are the truth's words in the truth's order (their "
             "longest common subsequence), so a word added or left out does not make every later word wrong.")


@functools.lru_cache(maxsize=1024)
def _shared(caption: str, truth: str) -> tuple[bool, ...]:
    """`common_words` of a caption's words and its truth's, worked out once: every session on the
    Train page marks the same four captions on every refresh of the live panel (a character
    model's 90-character captions took milliseconds each)."""
    return tuple(common_words(caption.split(), truth.split()))


def marked_caption(caption: str, truth: str) -> tuple[str, int]:
    """Markdown of `caption` with words right (green) or wrong (red) against `truth`; and the count right."""
    words = caption.split()
    shared = _shared(caption, truth)
    marked = [f":{'green' if ok else 'red'}[{_safe(word)}]" for word, ok in zip(words, shared)]
    return " ".join(marked) or ":gray[" + _("(nothing)") + "]", sum(shared)


def sample_pictures(images: list[dict], size: int) -> list:
    """The pictures of an evolution's sample images, None for one without a known address
    (`store.trusted_samples` takes each address from the run's dataset, never from its files)."""
    fetched = iter(state.image_fetcher().pictures([im["url"] for im in images if im.get("url")], size))
    return [next(fetched) if im.get("url") else None for im in images]


@functools.lru_cache(maxsize=64)
def picture_tag(data: bytes, image_format: str) -> str:
    """An `<img>` of an encoded picture shown `PICTURE_WIDTH` pixels wide, the picture inline:
    fitted to that width as `st.image` would send it (`picture.fitted`), as a JPEG where its own
    format would be larger than `picture.INLINE` (a COCO photograph's 240-px thumbnail is a PNG)."""
    small = fitted(data, PICTURE_WIDTH, image_format)
    if len(small) > INLINE and image_format != "JPEG":
        small, image_format = fitted(data, PICTURE_WIDTH, "JPEG"), "JPEG"
    address = data_address(small, image_format)
    return f'<img src="{address}" width="{PICTURE_WIDTH}" alt="" style="flex:none;border-radius:0.25rem">'


def sample_tags(images: list[dict], size: int) -> list[str]:
    """The `picture_tag` of each of an evolution's sample images, fetched `size` pixels on their
    longest side; "" for one without a picture (no known address, or a dead link)."""
    return [picture_tag(p.data, p.format) if p is not None and p.ok else "" for p in sample_pictures(images, size)]


def sample_row(picture: str, marked: str, score: str | None, truth: str | None = None, *, small: bool = True) -> str:
    """Markdown of one sample: the picture's tag (or "") beside its marked caption over its
    score (both made `_safe`; no score line when it is None); `truth`, when given, shows on
    hover (on one line: a blank line would end the row's HTML block inside the attribute).
    `small`: the caption in the small type of the Train page's narrow column (else the page's own)."""
    hover = f' title="{html.escape(" ".join(truth.split()), quote=True)}"' if truth else ""
    text = "font-size:0.8rem;line-height:1.3;" if small else ""
    below = "0.75rem" if small else "-0.5rem"     # the page's type ends its paragraph with a margin of its own
    under = f"  \n:gray[{score}]" if score is not None else ""
    return (f'<div class="{SAMPLE_ROW}" style="display:flex;gap:0.5rem;align-items:flex-start;'
            f'margin-bottom:{below}"{hover}>{picture}<div style="{text}min-width:0;'
            f'overflow-wrap:anywhere">\n\n{marked}{under}\n\n</div></div>')


def evolution_view(evolution: Evolution, live: bool) -> None:
    """Draw the sample images with their captions at the latest snapshot (or a chosen one)."""
    if not evolution.images or not evolution.snapshots:
        st.caption(_("The first captions appear as soon as the run has loaded its data."))
        return
    iterations = [i for i, _captions in evolution.snapshots]
    if live or len(iterations) == 1:
        at = iterations[-1]
        if not presenter.on():             # on a projector the progress bar's iteration is near enough
            st.caption(_("Greedy captions at iteration **{at}**").format(at=at), help=_(COUNTED))
    else:
        # keyed by the snapshots on show, so a language switch keeps the iteration chosen
        at = st.select_slider(_("Captions at iteration"), iterations, value=iterations[-1],
                              key=f"{EVOLUTION_AT}.{iterations[0]}.{iterations[-1]}.{len(iterations)}",
                              help=_("Drag back to iteration 0 to see what the untrained model said.") + " "
                              + _(COUNTED))
    captions = dict(evolution.snapshots)[at]
    rows, truths = [], []
    for picture, sample, caption in zip(sample_tags(evolution.images, THUMBNAIL), evolution.images, captions):
        marked, right = marked_caption(caption, sample["truth"])
        n = len(sample["truth"].split())
        if presenter.on():          # four cards beside the chart whatever the captions' lengths: the
            rows.append(sample_row(picture, marked, _("{right} of {n} words right").format(right=right, n=n),
                                   truth=_("Truth: {truth}").format(truth=sample["truth"])))   # truth on hover
            truths.append(f"{len(truths) + 1}. {_safe(sample['truth'])}")   # and under the help icon
        else:
            rows.append(sample_row(picture, marked, _("{right} of {n} words right · truth: {truth}").format(
                right=right, n=n, truth=_safe(sample["truth"]))))
    st.markdown("\n\n".join(rows), unsafe_allow_html=True,
                help=_("Ground truth:") + "\n\n" + "\n".join(truths) if truths else None)
