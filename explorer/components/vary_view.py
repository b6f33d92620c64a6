"""Vary one thing: the image's scene with one attribute changed at a time, each variant captioned.

For the chosen attribute (a group's colour, shape, size or count, the position or
relation, the background) every value the generator allows is drawn with all else kept,
captioned by the model, the words that changed against the original's caption marked,
and for that attribute the probability the model gives the right word where it says it.
"""
from __future__ import annotations

import html
import json

import streamlit as st

from core import probe
from core.data.demo_scenes import ATTRIBUTES, scene_to_dict, variations
from explorer import state
from explorer.components.image_picker import ImageChoice
from explorer.components.model_picker import PickedModel
from explorer.components.scene_composer import features_of

ATTRIBUTE = "inspect.vary_attribute"
GROUP = "inspect.vary_group"
MAX_LENGTH = 16
NAMES = {"colour": "Colour", "shape": "Shape", "size": "Size", "count": "Count", "position": "Position",
         "background": "Background"}


def caption_html(words: list[str], changed: list[bool]) -> str:
    """A caption with the words that changed against the original in bold orange."""
    return " ".join(f'<b style="color:#e8590c">{html.escape(w)}</b>' if c else html.escape(w)
                    for w, c in zip(words, changed)) or "<i>(nothing)</i>"


@st.cache_data(max_entries=32, show_spinner="Drawing and captioning the variants…")
def _variants(model_key: str, dataset_key: str, scene_text: str, attribute: str, group: int,
              _picked, _ds, _lab, _scene):
    variants = [("as it is", _scene)] + variations(_scene, attribute, group)
    pictures = [_lab.render(v) for _, v in variants]
    features = features_of(_ds, _lab, pictures, f"vary:{scene_text}:{attribute}:{group}")
    return probe.vary(_picked.model, features, variants, attribute, group, MAX_LENGTH), pictures


def vary_one_thing(picked: PickedModel, image: ImageChoice, ds: state.Dataset) -> None:
    """The variation grid for the image's scene."""
    lab = state.scene_lab(ds)
    if lab is None or image.scene is None:
        st.info("Varying needs a scene: a demo dataset image or one you composed (an uploaded picture has "
                "no scene to vary, and the COCO images none Caption Lab could redraw).", icon=":material/info:")
        return
    scene = image.scene
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    attribute = left.segmented_control("Change", list(ATTRIBUTES), key=ATTRIBUTE, default="colour", required=True,
                                       format_func=NAMES.get, persist_state="session")
    group = 0
    if len(scene.groups) == 2 and attribute in ("colour", "shape", "size", "count"):
        group = right.segmented_control("Of", [0, 1], key=GROUP, default=0, required=True, persist_state="session",
                                        format_func=lambda g: f"{scene.groups[g].colour} {scene.groups[g].shape}s"
                                        if scene.groups[g].count > 1 else f"{scene.groups[g].colour} {scene.groups[g].shape}")
    text = json.dumps(scene_to_dict(scene), sort_keys=True)
    rows, pictures = _variants(picked.key, ds.key, text, attribute, int(group), picked, ds, lab, scene)
    if len(rows) == 1:
        st.info("The generator allows no other value here (two groups never share a colour).")
    st.caption(f"The first picture is {image.label} as it is; each other changes its {NAMES[attribute].lower()} "
               f"only. Orange words are the ones that changed against the first caption"
               + (", and p(word) is the probability the model gives the right word where it says the "
                  f"{NAMES[attribute].lower()}." if attribute != "position" or rows[0].right_word else "."))
    grid = st.grid(4, min_column_width=200, border=True)
    for row, picture in zip(rows, pictures):
        with grid.cell():
            st.image(picture, width="stretch")
            st.markdown(f"**{html.escape(row.label)}**")
            st.html(f'<div style="font-size:1.1rem;line-height:1.5">{caption_html(row.words, row.changed)}</div>')
            if row.p_right is not None:
                st.caption(f"p(“{row.right_word}”) = {row.p_right:.2f}")
            elif row.right_word is not None:
                st.caption(f"It never says a {NAMES[attribute].lower()} word.")
