"""The evolution view: what a run's model says about a few fixed training images, over time.

Each image (one row each, compact enough to sit beside the loss chart) shows the model's
greedy caption at one snapshot over its true caption, every word green where it is one of
the truth's words in the truth's order (a longest common subsequence,
`core.metrics.common_words`) and red where it is not, so a class can watch noise turn
into the sentence being memorised. Counted in order, not by position: a caption that
leaves out one word of the truth still has every later word right.
"""
from __future__ import annotations

import streamlit as st

from core.metrics import common_words
from explorer import presenter, state
from explorer.components.picture import show as show_picture
from explorer.i18n import N_, _
from explorer.runs.base import Evolution

THUMBNAIL = 240                    # longest side of a sample's picture, in pixels
PICTURE_WIDTH = 44                 # its width on the page, in pixels (a sixth of its narrow column)
EVOLUTION_AT = "train.evolution_at"  # the iteration chosen on a finished run (+ its snapshots)


def _safe(word: str) -> str:
    """A word that markdown shows as it is (`<UNK>` and brackets included)."""
    return word.replace("<", "‹").replace(">", "›").replace("[", "(").replace("]", ")") \
        .replace("*", "\\*").replace("_", "\\_")


COUNTED = N_("Words right: the caption's words that are the truth's words in the truth's order (their "
             "longest common subsequence), so a word added or left out does not make every later word wrong.")


def marked_caption(caption: str, truth: str) -> tuple[str, int]:
    """Markdown of `caption` with words right (green) or wrong (red) against `truth`; and the count right."""
    words = caption.split()
    shared = common_words(words, truth.split())
    marked = [f":{'green' if ok else 'red'}[{_safe(word)}]" for word, ok in zip(words, shared)]
    return " ".join(marked) or ":gray[" + _("(nothing)") + "]", sum(shared)


def sample_pictures(images: list[dict], size: int) -> list:
    """The pictures of an evolution's sample images, None for one without a known address
    (`store.trusted_samples` takes each address from the run's dataset, never from its files)."""
    fetched = iter(state.image_fetcher().pictures([im["url"] for im in images if im.get("url")], size))
    return [next(fetched) if im.get("url") else None for im in images]


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
    images = sample_pictures(evolution.images, THUMBNAIL)
    for image, sample, caption in zip(images, evolution.images, captions):
        # one row: a horizontal container, not two columns (one message to the browser, not three)
        with st.container(horizontal=True, gap="small", vertical_alignment="top", wrap=False):
            if image is not None and image.ok:
                show_picture(image.data, PICTURE_WIDTH, image.format)     # scaled once, not every second
            marked, right = marked_caption(caption, sample["truth"])
            n = len(sample["truth"].split())
            if presenter.on():          # four cards beside the chart whatever the captions' lengths: the
                score = _("{right} of {n} words right").format(right=right, n=n)      # truth on hover
                truth = _("Truth: {truth}").format(truth=sample["truth"])
            else:
                score = _("{right} of {n} words right · truth: {truth}").format(right=right, n=n,
                                                                                truth=_safe(sample["truth"]))
                truth = None
            st.markdown(f'<div style="font-size:0.8rem;line-height:1.3">\n\n{marked}  \n:gray[{score}]\n\n</div>',
                        unsafe_allow_html=True, help=truth)
