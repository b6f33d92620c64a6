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
from explorer.caching import spinning
from explorer.i18n import N_, _

ATTRIBUTE = "inspect.vary_attribute"
GROUP = "inspect.vary_group"
MAX_LENGTH = 16
NAMES = {"colour": N_("Colour"), "shape": N_("Shape"), "size": N_("Size"), "count": N_("Count"),
         "position": N_("Position"), "background": N_("Background")}
# the attribute as a sentence names it ("each other changes its colour only")
WORDS = {"colour": N_("colour"), "shape": N_("shape"), "size": N_("size"), "count": N_("count"),
         "position": N_("position"), "background": N_("background")}
AS_IT_IS = N_("as it is")                # the first variant's label


def caption_html(words: list[str], changed: list[bool]) -> str:
    """A caption with the words that changed against the original in bold orange."""
    nothing = html.escape(_("(nothing)"))
    return " ".join(f'<b style="color:#e8590c">{html.escape(w)}</b>' if c else html.escape(w)
                    for w, c in zip(words, changed)) or f"<i>{nothing}</i>"


@spinning(N_("Drawing and captioning the variants…"))
@st.cache_data(max_entries=32, show_spinner=False)
def _variants(model_key: str, dataset_key: str, scene_text: str, attribute: str, group: int,
              _picked, _ds, _lab, _scene):
    variants = [(AS_IT_IS, _scene)] + variations(_scene, attribute, group)
    pictures = [_lab.render(v) for _label, v in variants]
    features = features_of(_ds, _lab, pictures, f"vary:{scene_text}:{attribute}:{group}")
    return probe.vary(_picked.model, features, variants, attribute, group, MAX_LENGTH), pictures


def vary_one_thing(picked: PickedModel, image: ImageChoice, ds: state.Dataset) -> None:
    """The variation grid for the image's scene."""
    lab = state.scene_lab(ds)
    if lab is None or image.scene is None:
        st.info(_("Varying needs a scene: a demo dataset image or one you composed (an uploaded picture has "
                  "no scene to vary, and the COCO images none Caption Lab could redraw)."), icon=":material/info:")
        return
    scene = image.scene
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    attribute = left.segmented_control(_("Change"), list(ATTRIBUTES), key=ATTRIBUTE, default="colour", required=True,
                                       format_func=lambda a: _(NAMES[a]), persist_state="session")
    group = 0
    if len(scene.groups) == 2 and attribute in ("colour", "shape", "size", "count"):
        group = right.segmented_control(_("Of"), [0, 1], key=GROUP, default=0, required=True, persist_state="session",
                                        format_func=lambda g: f"{scene.groups[g].colour} {scene.groups[g].shape}s"
                                        if scene.groups[g].count > 1 else f"{scene.groups[g].colour} {scene.groups[g].shape}")
    text = json.dumps(scene_to_dict(scene), sort_keys=True)
    rows, pictures = _variants(picked.key, ds.key, text, attribute, int(group), picked, ds, lab, scene)
    if len(rows) == 1:
        st.info(_("The generator allows no other value here (two groups never share a colour)."))
    values = dict(image=image.label, attribute=_(WORDS[attribute]))
    if attribute != "position" or rows[0].right_word:
        st.caption(_("The first picture is {image} as it is; each other changes its {attribute} only. Orange words "
                     "are the ones that changed against the first caption, and p(word) is the probability the "
                     "model gives the right word where it says the {attribute}.").format(**values))
    else:
        st.caption(_("The first picture is {image} as it is; each other changes its {attribute} only. Orange words "
                     "are the ones that changed against the first caption.").format(**values))
    grid = st.grid(4, min_column_width=200, border=True)
    for k, (row, picture) in enumerate(zip(rows, pictures)):
        with grid.cell():
            st.image(picture, width="stretch")
            label = _(row.label) if k == 0 else row.label     # the others are the dataset's words
            st.markdown(f"**{html.escape(label)}**")
            st.html(f'<div style="font-size:1.1rem;line-height:1.5">{caption_html(row.words, row.changed)}</div>')
            if row.p_right is not None:
                st.caption(f"p(“{row.right_word}”) = {row.p_right:.2f}")
            elif row.right_word is not None:
                st.caption(_("It never says a {attribute} word.").format(attribute=_(WORDS[attribute])))
