"""Choosing one image: one the model trained on, train or val by number, from the Browse
minibatch, or on the demo dataset one of your own (composed or uploaded).

`image_picker(ds, prefix, trained=...)` draws the controls and returns an `ImageChoice`;
`show_image(choice)` draws the picture, or says why there is none (a dead link);
`references_of(ds, choice)` and `captions_of(ds, choice)` give any image's reference
captions, a composed scene's from the grammar.

Inspect and Compare each draw their own picker, but look at one image: the image chosen on
one page (`state.IMAGE`, also in the address as `?image=val:42`) is the one the other opens.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import streamlit as st

from core.data.demo_scenes import Scene
from core.data.image_cache import Picture
from core.data.scene_lab import why_not
from core.evaluate import CaptionIndex
from explorer import address, state
from explorer.components.picture import show as show_picture
from explorer.components.scene_composer import composed_image, edit
from explorer.i18n import N_, _, p_

TRAINED, VAL, TRAIN, BROWSE, SCENE = "trained", "val", "train", "browse", "scene"
FROM_LABELS = {TRAINED: N_("Trained on"), VAL: N_("Val"), BROWSE: N_("Browse minibatch"),
               SCENE: N_("Your scene")}
PICTURE = 640                        # longest side of a shown picture, in pixels (COCO images are at most 640)
MAX_LISTED = 2000                    # more trained-on images than this are chosen by number, not from a list


def _from_label(option: str) -> str:
    """The name of an "Image from" option in the reader's language ("Train" is the train
    split here, not the Train page)."""
    return p_("the train split", "Train") if option == TRAIN else _(FROM_LABELS[option])


@dataclass(frozen=True)
class ImageChoice:
    """One image of one split, or one of the user's own."""

    split: str                       # "train", "val", or "scene" (composed or uploaded)
    image: int                       # row of data[f"{split}_features"]; a scene's number from its content
    url: str                         # "" for a scene
    feature: np.ndarray              # (D,) its feature vector
    picture: object = None           # a scene's PIL picture
    scene: Scene | None = None       # what it shows: a composed scene, or a demo image's stored one
    references: tuple | None = None  # a scene's reference captions (word lists)
    captions: np.ndarray | None = None   # the same as ids
    name: str = ""                   # "your scene", "your picture"

    @property
    def key(self) -> tuple[str, int]:
        return self.split, self.image

    @property
    def label(self) -> str:
        if self.name:
            return _(self.name)
        return _("{split} image #{image}").format(split=self.split, image=self.image)


def _keys(prefix: str) -> dict[str, str]:
    """The picker's session keys, "<prefix>.image_<name>": the widgets "from" (the source),
    "index" (a train or val image number), "trained" (an image the model trained on),
    "browse" (an image of the Browse minibatch); "draws" (Random presses so far) and
    "pool" (the trained-on images the source last defaulted for); "seen" (the `state.IMAGE`
    this picker last showed)."""
    return {name: f"{prefix}.image_{name}" for name in ("from", "index", "trained", "browse", "draws", "pool",
                                                        "seen")}


def _browse_images(ds: state.Dataset) -> tuple[str, list[int]] | None:
    """The split and distinct images (in order) of the Browse page's minibatch, if it was
    drawn from this dataset."""
    batch = st.session_state.get(state.BROWSE_BATCH)
    if batch is None or not batch.rows or batch.dataset != ds.key:
        return None
    idxs = ds.data[f"{batch.split}_image_idxs"]
    images = list(dict.fromkeys(int(idxs[r]) for r in batch.rows))
    return batch.split, images


def _draw_random(k: dict, n: int, target: str, choices: list[int] | None = None) -> None:
    """Random: the next of a fixed sequence of draws, an image number or one of `choices`."""
    draws = st.session_state.get(k["draws"], 0) + 1
    st.session_state[k["draws"]] = draws
    i = int(np.random.default_rng([draws, n]).integers(n))
    st.session_state[k[target]] = choices[i] if choices is not None else i


def _random_button(k: dict, n: int, target: str, choices: list[int] | None = None) -> None:
    st.button(_("Random"), icon=":material/casino:", key=f"{k[target]}_random", on_click=_draw_random,
              args=(k, n, target, choices))


def _trained_image(k: dict, trained: np.ndarray) -> int:
    """One of the images the model trained on: from a list, or by its place in the list when
    there are too many to list."""
    n = len(trained)
    with st.container(horizontal=True, vertical_alignment="bottom"):
        if n <= MAX_LISTED:
            images = [int(i) for i in trained]
            if st.session_state.get(k["trained"]) not in images:
                st.session_state[k["trained"]] = images[0]
            image = st.selectbox(_("Image it trained on ({n:,} in all)").format(n=n), images, key=k["trained"],
                                 persist_state="session", width=220,
                                 format_func=lambda i: _("{split} image #{image}").format(split="train", image=i))
            _random_button(k, n, "trained", images)
        else:
            if not 0 <= st.session_state.get(k["trained"], 0) < n:
                st.session_state[k["trained"]] = 0
            place = st.number_input(_("Trained-on image (0 to {last:,})").format(last=n - 1), 0, n - 1, key=k["trained"],
                                    persist_state="session", width=220)
            _random_button(k, n, "trained")
            image = int(trained[int(place)])
    st.caption(_("Images whose captions this model trained on. *Val* has images it has never seen."))
    return image


def _linked_image(ds: state.Dataset) -> tuple[str, int] | None:
    """The image the address opened with (`?image=val:42`), when it is one of this dataset's."""
    linked = address.take("image")
    if linked is None:
        return None
    match = re.fullmatch(r"(train|val):(\d{1,9})", linked.strip())
    if match and int(match[2]) < len(ds.data[f"{match[1]}_features"]):
        return match[1], int(match[2])
    address.problem(_("The link's image is not one of this dataset's (it is written split:number, e.g. val:42, "
                      "with a number from 0 to the split's last image): the page shows its default image."))
    return None


def _follow_shared(k: dict, ds: state.Dataset, options: list[str], trained: np.ndarray | None) -> None:
    """Seed this picker's widgets with the image the address opened with, or the one another page
    chose since this picker last drew (Inspect's image is the one Compare opens)."""
    linked = _linked_image(ds)
    if linked is not None:
        st.session_state[state.IMAGE] = linked
    shared = st.session_state.get(state.IMAGE)
    if shared is None or shared == st.session_state.get(k["seen"]):
        return
    split, image = shared
    if image >= len(ds.data[f"{split}_features"]):     # chosen on another dataset
        return
    if split == TRAIN and TRAINED in options and image in trained:
        st.session_state[k["from"]] = TRAINED
        st.session_state[k["trained"]] = image if len(trained) <= MAX_LISTED else int(np.searchsorted(trained, image))
    else:
        st.session_state[k["from"]], st.session_state[k["index"]] = split, image
    st.session_state[k["seen"]] = shared


def image_picker(ds: state.Dataset, prefix: str, *, default_split: str = VAL,
                 trained: np.ndarray | None = None) -> ImageChoice:
    """Draw the image choice; return the chosen image.

    `trained` (sorted train image indices) adds the source "Trained on", which is then the
    default: for a model that overfit a few captions, the images it knows are where it
    shows what it learned. The default is applied again whenever those images change.
    """
    k = _keys(prefix)
    data = ds.data
    browse = _browse_images(ds)
    has_trained = trained is not None and len(trained) > 0
    lab = state.scene_lab(ds)
    options = ([TRAINED] if has_trained else []) + [VAL, TRAIN] + ([BROWSE] if browse else []) + \
        ([SCENE] if lab is not None else [])
    pool = (ds.key, len(trained), hash(trained.tobytes())) if has_trained else None
    if has_trained and st.session_state.get(k["pool"]) != pool:
        st.session_state[k["from"]] = TRAINED             # another model's images: start on them
    st.session_state[k["pool"]] = pool
    if st.session_state.get(k["from"]) not in options:
        st.session_state[k["from"]] = default_split
    _follow_shared(k, ds, options, trained)
    source = st.segmented_control(_("Image from"), options, key=k["from"], required=True,
                                  persist_state="session", format_func=_from_label)
    if lab is None:
        st.caption(_("Your own scene or picture needs the demo dataset: {reason}").format(
            reason=_(why_not(ds.base_dir))))
    if source == SCENE:
        own = composed_image(ds, prefix)
        if own is not None:
            return ImageChoice(split=SCENE, image=own.number, url="", feature=own.feature, picture=own.picture,
                               scene=own.scene, references=own.references or None, captions=own.captions,
                               name=own.name)
        split, image = VAL, 0                         # nothing uploaded yet: the picture says so
        st.caption(_("Until then the model looks at val image #0."))
    elif source == TRAINED:
        split, image = TRAIN, _trained_image(k, trained)
    elif source == BROWSE:
        split, images = browse
        image = st.selectbox(_("Image of the Browse minibatch ({split})").format(split=split), images,
                             key=k["browse"], persist_state="session",
                             format_func=lambda i: _("{split} image #{image}").format(split=split, image=i))
    else:
        split = source
        n = len(data[f"{split}_features"])
        if st.session_state.get(k["index"], 0) >= n:
            st.session_state[k["index"]] = 0
        with st.container(horizontal=True, vertical_alignment="bottom"):   # wraps when narrow
            image = st.number_input(_("Image number (0 to {last:,})").format(last=n - 1), 0, n - 1, key=k["index"],
                                    persist_state="session", width=220)
            _random_button(k, n, "index")
    image = int(image)
    if source != SCENE:                   # the image the other page (and the address) show too
        st.session_state[state.IMAGE] = st.session_state[k["seen"]] = (split, image)
        address.show("image", f"{split}:{image}")
    scene = lab.scene(split, image) if lab is not None else None
    if scene is not None and source != SCENE:
        st.button(_("Edit this image"), icon=":material/edit:", key=f"{k['from']}_edit", on_click=_edit,
                  args=(k, prefix, scene), help=_("Open this image's scene in Your scene, to change it."))
    return ImageChoice(split=split, image=image, url=str(data[f"{split}_urls"][image]),
                       feature=np.asarray(data[f"{split}_features"][image]), scene=scene)


def _edit(k: dict, prefix: str, scene: Scene) -> None:
    edit(prefix, scene)
    st.session_state[k["from"]] = SCENE


def show_image(choice: ImageChoice, width: int | str = "stretch", fetched: Picture | None = None) -> None:
    """The picture (`fetched`, when the caller has it already), or why it cannot be shown."""
    if choice.picture is not None:
        st.image(choice.picture, caption=choice.label, width=width)
        return
    result = fetched if fetched is not None else state.image_fetcher().picture(choice.url, PICTURE)
    if result.ok:
        show_picture(result.data, width, result.format, caption=choice.label)
    else:
        st.info(_("{image}: no picture ({reason}). The model only needs its features, so everything else "
                  "still works.").format(image=choice.label, reason=_(result.error)), icon=":material/hide_image:")


@st.cache_resource(max_entries=8)
def _caption_index(dataset_key: str, split: str, _data: dict) -> CaptionIndex:
    return CaptionIndex(_data, split)


def caption_index(ds: state.Dataset, split: str) -> CaptionIndex:
    """Which captions belong to which image of a split (built once per dataset)."""
    return _caption_index(ds.key, split, ds.data)


def references_of(ds: state.Dataset, choice: ImageChoice) -> list[list[str]]:
    """The image's reference captions as word lists (a composed scene's from the grammar)."""
    if choice.split == SCENE:
        return [list(r) for r in choice.references or ()]
    return caption_index(ds, choice.split).references(choice.image)


def captions_of(ds: state.Dataset, choice: ImageChoice) -> np.ndarray:
    """The image's reference captions as ids (n, T): <START> ... <END>, <NULL> padding."""
    if choice.split == SCENE:
        return choice.captions if choice.captions is not None else np.zeros((0, 1), dtype=np.int64)
    return caption_index(ds, choice.split).captions(choice.image)
