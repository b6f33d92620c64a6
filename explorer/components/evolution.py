"""The evolution view: what a run's model says about a few fixed training images, over time.

Each image shows its true caption and the model's greedy caption at one snapshot, every
word green where it matches the truth at that position and red where it does not, so a
class can watch noise turn into the sentence being memorised.
"""
from __future__ import annotations

import streamlit as st

from explorer import state
from explorer.runs.base import Evolution

THUMBNAIL = 240                    # longest side of a sample's picture, in pixels


def _safe(word: str) -> str:
    """A word that markdown shows as it is (`<UNK>` and brackets included)."""
    return word.replace("<", "‹").replace(">", "›").replace("[", "(").replace("]", ")") \
        .replace("*", "\\*").replace("_", "\\_")


def marked_caption(caption: str, truth: str) -> tuple[str, int]:
    """Markdown of `caption` with words right (green) or wrong (red) against `truth`; and the count right."""
    words, true_words = caption.split(), truth.split()
    right, marked = 0, []
    for i, word in enumerate(words):
        ok = i < len(true_words) and word == true_words[i]
        right += ok
        marked.append(f":{'green' if ok else 'red'}[{_safe(word)}]")
    return " ".join(marked) or ":gray[(nothing)]", right


def evolution_view(evolution: Evolution, live: bool) -> None:
    """Draw the sample images with their captions at the latest snapshot (or a chosen one)."""
    if not evolution.images or not evolution.snapshots:
        st.caption("The first captions appear as soon as the run has loaded its data.")
        return
    iterations = [i for i, _ in evolution.snapshots]
    if live or len(iterations) == 1:
        at = iterations[-1]
        st.caption(f"Greedy captions at iteration **{at}**; they refresh every "
                   f"{iterations[1] - iterations[0] if len(iterations) > 1 else 'few'} iterations.")
    else:
        at = st.select_slider("Captions at iteration", iterations, value=iterations[-1],
                              help="Drag back to iteration 0 to see what the untrained model said.")
    captions = dict(evolution.snapshots)[at]
    images = state.image_fetcher().pictures([im["url"] for im in evolution.images], THUMBNAIL)
    cards = list(zip(images, evolution.images, captions))
    for start in range(0, len(cards), 2):
        for column, (image, sample, caption) in zip(st.columns(2), cards[start:start + 2]):
            picture, words = column.container(border=True).columns([1, 2.4])
            if image.ok:
                picture.image(image.data, width="stretch", output_format=image.format)
            with words:
                marked, right = marked_caption(caption, sample["truth"])
                st.markdown(f"**Model** · {right} of {len(sample['truth'].split())} words right  \n"
                            f"{marked}  \n**Truth**  \n{_safe(sample['truth'])}")
