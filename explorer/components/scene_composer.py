"""Your scene: compose an image from the demo generator's own words, or upload one.

`composed_image(ds, prefix)` draws the composer (or the upload) and returns a
`SceneImage`: the picture, its features from the dataset's own extractor, and for a
composed scene the reference captions its grammar writes. `edit(prefix, scene)` opens a
dataset image's scene in the composer. The current scene lives in session state as
data (`<prefix>.scene`), the widgets are seeded from it, and every change goes through
`compose_scene(previous=...)`, so changing one attribute changes only that.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
import streamlit as st
from PIL import Image

from core.data.demo import MAX_LENGTH
from core.data.demo_scenes import (BACKGROUNDS, COLOUR_HUES, MAX_COUNTS, POSITIONS, RADIUS, RELATIONS, SHAPES,
                                   TEXTURES, GroupSpec, Scene, SceneError, compose_scene, scene_from_dict,
                                   scene_to_dict, spec_of)
from core.data.scene_lab import MAX_UPLOAD_BYTES, SceneLab, UploadError, picture_from_upload, why_not
from explorer import state
from explorer.i18n import N_, _, said, sentence

MODES = {"compose": N_("Compose"), "upload": N_("Upload a picture")}
FIELDS = ("background", "texture", "count0", "size0", "colour0", "shape0", "second", "count1", "size1",
          "colour1", "shape1", "position", "relation")
RELATION_TEXT = {"left": "left of", "right": "right of", "above": "above", "below": "below"}
STARTER = {"background": "white", "texture": "plain", "groups": [GroupSpec(1, "star", "red", "big"),
                                                                   GroupSpec(2, "circle", "blue", "small")],
           "layout": "left"}


@dataclass(frozen=True)
class SceneImage:
    """A picture that is not in the dataset, ready for the model."""

    picture: Image.Image
    feature: np.ndarray                 # (D,) from the dataset's extractor: PCA or fc7, as the sidebar says
    number: int                         # a stable number for this picture (caches, sampling draws)
    name: str                           # "your scene", "your picture"
    scene: Scene | None = None          # what it shows, when composed
    references: tuple = ()              # the grammar's captions, as word lists
    captions: np.ndarray | None = None  # those as ids: <START> ... <END>, <NULL> padding


def _keys(prefix: str) -> dict[str, str]:
    names = ("mode", "scene", "seed", "error", "sync", "upload", *FIELDS)
    return {n: f"{prefix}.scene_{n}" for n in names}


def _number(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


@st.cache_data(max_entries=256, show_spinner=False)
def _features(folder: str, pca: bool, key: str, _lab: SceneLab, _pictures) -> np.ndarray:
    fc7, pca_features = _lab.features(_pictures)
    return pca_features if pca else fc7


def features_of(ds: state.Dataset, lab: SceneLab, pictures: list[Image.Image], key: str) -> np.ndarray:
    """The features (N, D) of pictures, as the sidebar's feature choice wants them (cached by `key`)."""
    return _features(str(ds.base_dir), ds.pca_features, key, lab, pictures)


def encode_captions(references: list[list[str]], word_to_idx: dict) -> np.ndarray:
    """Reference captions as the dataset stores them: (n, MAX_LENGTH) ids, <UNK> for unknown words."""
    rows = np.full((len(references), MAX_LENGTH), word_to_idx["<NULL>"], dtype=np.int64)
    for k, words in enumerate(references):
        ids = [word_to_idx["<START>"], *(word_to_idx.get(w, word_to_idx["<UNK>"]) for w in words),
               word_to_idx["<END>"]][:MAX_LENGTH]
        rows[k, :len(ids)] = ids
    return rows


def scene_image(ds: state.Dataset, lab: SceneLab, scene: Scene, name: str = N_("your scene")) -> SceneImage:
    """A scene rendered, its features, and its reference captions."""
    text = json.dumps(scene_to_dict(scene), sort_keys=True)
    picture = lab.render(scene)
    feature = features_of(ds, lab, [picture], f"scene:{text}")[0]
    references = tuple(tuple(c.split()) for c in lab.references(scene))
    return SceneImage(picture, np.asarray(feature), _number(text), name, scene, references,
                      encode_captions([list(r) for r in references], ds.data["word_to_idx"]))


# --- the composer's state --------------------------------------------------------------

def _scene(k: dict) -> Scene:
    stored = st.session_state.get(k["scene"])
    if stored is None:
        scene = compose_scene(STARTER["background"], STARTER["texture"], STARTER["groups"], STARTER["layout"])
        st.session_state[k["scene"]], st.session_state[k["sync"]] = scene_to_dict(scene), True
        return scene
    return scene_from_dict(stored)


def edit(prefix: str, scene: Scene) -> None:
    """Open `scene` (a dataset image's) in the composer of `prefix`."""
    k = _keys(prefix)
    st.session_state[k["scene"]], st.session_state[k["sync"]] = scene_to_dict(scene), True
    st.session_state[k["mode"]] = "compose"
    st.session_state.pop(k["error"], None)


def _widget_values(scene: Scene) -> dict:
    """Every composer widget's value for `scene` (with a sensible second group when it has one)."""
    specs, layout = spec_of(scene)
    values = {"background": scene.background, "texture": scene.texture, "second": len(specs) == 2,
              "position": layout if len(specs) == 1 else "left", "relation": layout if len(specs) == 2 else "left"}
    for g, spec in enumerate(specs):
        values.update({f"count{g}": spec.count, f"size{g}": spec.size, f"colour{g}": spec.colour,
                       f"shape{g}": spec.shape})
    if len(specs) == 1:                 # a sensible second group, should it be switched on
        other = next(c for c in COLOUR_HUES if c != specs[0].colour)
        values.update({"count1": 1, "size1": "small", "colour1": other, "shape1": "circle"})
    return values


def _sync_widgets(k: dict, scene: Scene) -> None:
    """Seed every widget from the scene (on the first run, and after an edit from outside)."""
    for name, value in _widget_values(scene).items():
        st.session_state[k[name]] = value
    st.session_state[k["sync"]] = False


def _recompose(k: dict, reseed: bool = False) -> None:
    """A widget changed: the new scene from every widget's value, the old one kept where it can be."""
    s = st.session_state
    previous = scene_from_dict(s[k["scene"]])
    # the widgets of a hidden part (the second group, or Where while it shows) were not drawn
    # in the last run, so Streamlit dropped their values: take them from the scene again
    for name, value in _widget_values(previous).items():
        if k[name] not in s:
            s[k[name]] = value
    if reseed:
        s[k["seed"]] = s.get(k["seed"], 0) + 1
    groups = [GroupSpec(int(s[k["count0"]]), s[k["shape0"]], s[k["colour0"]], s[k["size0"]])]
    if s[k["second"]]:
        groups.append(GroupSpec(int(s[k["count1"]]), s[k["shape1"]], s[k["colour1"]], s[k["size1"]]))
    layout = s[k["relation"]] if s[k["second"]] else s[k["position"]]
    try:
        scene = compose_scene(s[k["background"]], s[k["texture"]], groups, layout, seed=s.get(k["seed"], 0),
                              previous=None if reseed else previous)
    except SceneError as e:
        s[k["error"]] = sentence(e)        # shown translated
        return
    s.pop(k["error"], None)
    s[k["scene"]] = scene_to_dict(scene)


def _group_controls(k: dict, g: int, disabled: bool = False) -> None:
    args = {"on_change": _recompose, "args": (k,), "disabled": disabled}
    a, b = st.columns(2)
    a.segmented_control(_("How many"), list(range(1, MAX_COUNTS[g] + 1)), key=k[f"count{g}"], required=True,
                        **args)
    b.segmented_control(_("Size"), list(RADIUS), key=k[f"size{g}"], required=True, **args)
    a, b = st.columns(2)
    a.selectbox(_("Colour"), list(COLOUR_HUES), key=k[f"colour{g}"], **args)
    b.selectbox(_("Shape"), list(SHAPES), key=k[f"shape{g}"], **args)


def _composer(k: dict) -> None:
    args = {"on_change": _recompose, "args": (k,)}
    a, b = st.columns(2)
    a.selectbox(_("Background"), list(BACKGROUNDS), key=k["background"], **args)
    b.selectbox(_("Texture"), list(TEXTURES), key=k["texture"], **args)
    st.markdown(_("**First group**"))
    _group_controls(k, 0)
    second = st.toggle(_("A second group"), key=k["second"], **args)
    if second:
        _group_controls(k, 1)
        st.selectbox(_("The first group is … the second"), list(RELATIONS), key=k["relation"],
                     format_func=RELATION_TEXT.get, **args)
    else:
        st.selectbox(_("Where"), list(POSITIONS), key=k["position"], **args)
    st.button(_("Place the objects anew"), icon=":material/shuffle:", key=f"{k['seed']}_button",
              on_click=_recompose, args=(k, True),
              help=_("The same scene with its objects at other spots inside their region."))


def _uploaded(ds: state.Dataset, lab: SceneLab, k: dict) -> SceneImage | None:
    file = st.file_uploader(_("A PNG or JPEG picture"), type=["png", "jpg", "jpeg"], key=k["upload"],
                            max_upload_size=MAX_UPLOAD_BYTES >> 20)
    st.caption(_("This model only knows the demo's coloured shapes on plain backgrounds: a photo gets a "
                 "caption in shape words. The picture is cropped to its centre square and shrunk to "
                 "{size} x {size} pixels, as the demo images are.").format(size=lab.image_size))
    if file is None:
        return None
    data = file.getvalue()
    try:
        picture = picture_from_upload(data, lab.image_size)
    except UploadError as e:
        st.error(said(e), icon=":material/broken_image:")
        return None
    digest = hashlib.sha256(data).hexdigest()
    feature = features_of(ds, lab, [picture], f"upload:{digest}")[0]
    return SceneImage(picture, np.asarray(feature), int(digest[:8], 16), N_("your picture"))


def composed_image(ds: state.Dataset, prefix: str) -> SceneImage | None:
    """Draw Your scene (compose or upload) and return the picture for the model, or None
    after saying why there is none (COCO data, nothing uploaded yet)."""
    lab = state.scene_lab(ds)
    if lab is None:
        st.info(_(why_not(ds.base_dir)), icon=":material/image_not_supported:")
        return None
    k = _keys(prefix)
    mode = st.segmented_control(_("Your scene"), list(MODES), key=k["mode"], default="compose", required=True,
                                format_func=lambda m: _(MODES[m]), persist_state="session",
                                label_visibility="collapsed")
    if mode == "upload":
        return _uploaded(ds, lab, k)
    scene = _scene(k)
    if st.session_state.get(k["sync"], True) or any(k[f] not in st.session_state for f in FIELDS):
        _sync_widgets(k, scene)
    image = scene_image(ds, lab, scene)
    controls, preview = st.columns([3, 2], gap="medium")
    with controls:
        _composer(k)
    with preview:
        st.image(image.picture, caption=_("your scene, as the model sees it"), width="stretch")
        st.caption(_("What the grammar says of it: {captions}").format(
            captions=" · ".join(f"“{' '.join(r)}”" for r in image.references[:3])))
    if st.session_state.get(k["error"]):
        st.warning(_(st.session_state[k["error"]]), icon=":material/block:")
    return image
