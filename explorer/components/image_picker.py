"""Choosing one image: from train or val by number, at random, or from the Browse minibatch.

`image_picker(ds, prefix)` draws the controls and returns an `ImageChoice`;
`show_image(choice)` draws the picture, or says why there is none (a dead link);
`caption_index(ds, split)` finds any image's reference captions.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from core.evaluate import CaptionIndex
from explorer import state

VAL, TRAIN, BROWSE = "val", "train", "browse"
FROM_LABELS = {VAL: "Val", TRAIN: "Train", BROWSE: "Browse minibatch"}


@dataclass(frozen=True)
class ImageChoice:
    """One image of one split."""

    split: str                       # "train" or "val"
    image: int                       # row of data[f"{split}_features"]
    url: str
    feature: np.ndarray              # (D,) its feature vector

    @property
    def key(self) -> tuple[str, int]:
        return self.split, self.image

    @property
    def label(self) -> str:
        return f"{self.split} image #{self.image}"


def _browse_images(ds: state.Dataset) -> tuple[str, list[int]] | None:
    """The split and distinct images (in order) of the Browse page's minibatch, if any."""
    batch = st.session_state.get(state.BROWSE_BATCH)
    if batch is None or not batch.rows:
        return None
    idxs = ds.data[f"{batch.split}_image_idxs"]
    if max(batch.rows) >= len(idxs):
        return None                   # drawn from another dataset
    images = list(dict.fromkeys(int(idxs[r]) for r in batch.rows))
    return batch.split, images


def _draw_random(k: dict, n: int) -> None:
    draws = st.session_state.get(k["draws"], 0) + 1
    st.session_state[k["draws"]] = draws
    st.session_state[k["index"]] = int(np.random.default_rng([draws, n]).integers(n))


def image_picker(ds: state.Dataset, prefix: str, *, default_split: str = VAL) -> ImageChoice:
    """Draw the image choice; return the chosen image."""
    k = {name: f"{prefix}.image_{name}" for name in ("from", "index", "browse", "draws")}
    data = ds.data
    browse = _browse_images(ds)
    options = [VAL, TRAIN] + ([BROWSE] if browse else [])
    if st.session_state.get(k["from"]) not in options:
        st.session_state[k["from"]] = default_split
    source = st.segmented_control("Image from", options, key=k["from"], required=True,
                                  persist_state="session", format_func=FROM_LABELS.get)
    if source == BROWSE:
        split, images = browse
        image = st.selectbox(f"Image of the Browse minibatch ({split})", images, key=k["browse"],
                             persist_state="session", format_func=lambda i: f"{split} image #{i}")
    else:
        split = source
        n = len(data[f"{split}_features"])
        if st.session_state.get(k["index"], 0) >= n:
            st.session_state[k["index"]] = 0
        with st.container(horizontal=True, vertical_alignment="bottom"):   # wraps when narrow
            image = st.number_input(f"Image number (0 to {n - 1:,})", 0, n - 1, key=k["index"],
                                    persist_state="session", width=220)
            st.button("Random", icon=":material/casino:", key=f"{k['index']}_random", on_click=_draw_random,
                      args=(k, n))
    image = int(image)
    return ImageChoice(split=split, image=image, url=str(data[f"{split}_urls"][image]),
                       feature=np.asarray(data[f"{split}_features"][image]))


def show_image(choice: ImageChoice, width: int | str = "stretch") -> None:
    """The picture, or why it cannot be shown."""
    result = state.image_fetcher().fetch(choice.url)
    if result.ok:
        st.image(result.image, caption=choice.label, width=width)
    else:
        st.info(f"{choice.label}: no picture ({result.error}). The model only needs its features, "
                f"so everything else still works.", icon=":material/hide_image:")


@st.cache_resource(max_entries=8)
def _caption_index(dataset_key: str, split: str, _data: dict) -> CaptionIndex:
    return CaptionIndex(_data, split)


def caption_index(ds: state.Dataset, split: str) -> CaptionIndex:
    """Which captions belong to which image of a split (built once per dataset)."""
    return _caption_index(f"{ds.base_dir}|{ds.pca_features}", split, ds.data)
