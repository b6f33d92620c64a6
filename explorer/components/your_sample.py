"""A student's own `CaptioningRNN.sample` beside Caption Lab's greedy decoder, on the same weights.

For a model from a run of the student's code: their `sample` runs in the sandbox (a
checker process of its own, `core.student.sample`) on the run's trained weights, for a
few images it trained on and a few of val, and each caption is set beside Caption Lab's
greedy caption from the very same weights. Any difference is in their `sample`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core import student
from core.evaluate import CaptionIndex, Strategy, caption_words, sample_images
from explorer import state
from explorer.components.labels import label_column
from explorer.components.model_picker import PickedModel
from explorer.caching import spinning
from explorer.i18n import N_, _

IMAGES = 8                          # per split


@spinning(N_("Running your sample in the sandbox…"))
@st.cache_data(max_entries=16, show_spinner=False)
def _theirs(model_key: str, dataset_key: str, split: str, images: tuple, _bundle, _model, _features,
            _word_to_idx, max_length: int):
    return student.sample(_bundle, _model.config, _word_to_idx, _model.params, _features, max_length)


def _images(picked: PickedModel, ds: state.Dataset, split: str) -> np.ndarray:
    index = CaptionIndex(ds.data, split)
    pool = picked.trained_images if split == "train" else None
    return sample_images(index, IMAGES, seed=0, pool=pool)


def your_sample(picked: PickedModel, ds: state.Dataset) -> None:
    """Their sample and the reference decoder, side by side, with how often they agree."""
    st.markdown(_("Your `CaptioningRNN.sample` on the weights your run learned, beside Caption Lab's greedy "
                  "decoder on the same weights. The weights are the same, so every caption should be too: a "
                  "difference is in your `sample` (the word it feeds back, the state it carries, where it "
                  "writes)."))
    try:
        bundle = state.runner().code(picked.run_id)
    except (KeyError, OSError, ValueError) as e:
        st.warning(_("This run's code could not be read: {error}").format(error=e), icon=":material/warning:")
        return
    data = ds.data
    max_length = data["train_captions"].shape[1] - 1
    rows, agree, total = [], 0, 0
    for split in ("train", "val"):
        images = _images(picked, ds, split)
        features = data[f"{split}_features"][images]
        theirs = _theirs(picked.key, ds.key, split, tuple(int(i) for i in images), bundle, picked.model,
                         np.asarray(features), data["word_to_idx"], max_length)
        if isinstance(theirs, str):
            st.error(_("Your sample could not run: {error}").format(error=_(theirs)), icon=":material/bug_report:")
            return
        ours = Strategy("greedy").decode(picked.model, features, max_length=max_length, keys=images).captions
        for image, mine, reference in zip(images, theirs, ours):
            a, b = caption_words(mine, data["idx_to_word"]), caption_words(reference, data["idx_to_word"])
            same = a == b
            agree, total = agree + same, total + 1
            rows.append({_("Split"): split, _("Image"): int(image), _("Caption Lab's greedy decoder"): " ".join(b),
                         _("Your sample"): " ".join(a), _("Same"): _("yes") if same else _("NO")})
    if agree == total:
        st.success(_("Your sample gives Caption Lab's greedy caption for all {total} images.").format(total=total),
                   icon=":material/check_circle:")
    else:
        st.error(_("Your sample differs from greedy decoding on {n} of {total} images, on the same weights: look "
                   "at your `sample` (the Your code page checks it too).").format(n=total - agree, total=total),
                 icon=":material/cancel:")
    frame = pd.DataFrame(rows)
    column, no = _("Same"), _("NO")
    same = label_column(frame, column, lambda v: "#dc2626" if v == no else "#15803d")
    st.dataframe(frame, hide_index=True, width="stretch", column_config={column: same})
