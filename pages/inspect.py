"""Inspect: step through sampling one word at a time, and look inside the recurrent state."""
import streamlit as st

from explorer import presenter, state
from explorer.components import hidden_view, step_view, trace_view, vary_view
from explorer.components.image_picker import image_picker
from explorer.components.kept_tabs import kept_tabs
from explorer.components.model_picker import require_model
from explorer.i18n import N_, _

VIEW = "inspect.view"                  # the open tab
STEP, WHOLE = N_("Step through"), N_("Whole caption")
TEACHER, RACE = N_("Teacher forcing"), N_("RNN vs LSTM gradients")
VARY = N_("Vary one thing")

title_row = presenter.heading(_("Inspect"), _(
    "A captioning RNN writes one word at a time: the image sets its first hidden state, and at "
    "every step it reads the last word, updates its state and scores every word in the "
    "vocabulary for the next one. Step through that loop, watch the state and (for an LSTM) the "
    "gates change, and force a different word to see how one choice changes the rest. Then look "
    "at the whole caption, and at the model reading a true caption with the gradient flowing "
    "back through time."))

ds = state.dataset()
picked = require_model(ds)
ds = state.for_model(ds, picked.model)      # character captions for a character model

if title_row is not None:              # on a projector the choices fold beside the title: the step-through fits
    with title_row.popover(_("Image"), icon=":material/image:"):
        image = image_picker(ds, "inspect", trained=picked.trained_images)
    with title_row.popover(_("Sampling"), icon=":material/casino:"):
        settings = step_view.decoding_controls()
else:
    pickers = st.grid(2, min_column_width=420, gap=("small", "large"))   # side by side, or stacked
    with pickers.cell():
        image = image_picker(ds, "inspect", trained=picked.trained_images)
    with pickers.cell():
        settings = step_view.decoding_controls()
decoder = step_view.current_decoder(picked, image, settings)

tabs = kept_tabs([STEP, WHOLE, TEACHER, RACE, VARY], key=VIEW)
with tabs[0]:
    if tabs[0].open:
        step_view.step_through(decoder, image, picked)
with tabs[1]:
    if tabs[1].open:
        hidden_view.whole_caption(decoder, picked, image)
with tabs[2]:
    if tabs[2].open:
        trace_view.teacher_forced(picked, image, ds)
with tabs[3]:
    if tabs[3].open:
        trace_view.gradient_race(picked, image, ds)
with tabs[4]:
    if tabs[4].open:
        vary_view.vary_one_thing(picked, image, ds)
