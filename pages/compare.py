"""Compare: sampled captions against the ground truth, train against val, strategy against strategy,
words against characters."""
import streamlit as st

from explorer import presenter, state
from explorer.components import probe_view, scores_view, strategy_view, tokens_view
from explorer.components.kept_tabs import kept_tabs
from explorer.components.model_picker import require_model
from explorer.components.your_sample import your_sample
from explorer.i18n import N_, _

VIEW = "compare.view"                  # the open tab
EXAMPLES, SCORES = N_("Train vs val examples"), N_("Split scores")
STRATEGIES = N_("Strategies side by side")
SEES = N_("What it sees")              # the probe over fresh demo scenes
YOURS = N_("Your sample")              # a run of the student's own code only
TOKENS = N_("Words or characters?")    # the notebook's closing question, measured

presenter.heading(_("Compare"), _(
    "How good are the captions? BLEU counts how many of a caption's words, pairs, triples and "
    "quadruples of words also occur in the human captions of the same image. Look at a few "
    "images of the training split next to a few of the validation split, which no model here "
    "ever trains on; score whole splits to see whether it generalises or only memorised; and "
    "compare greedy decoding, beam search and sampling on one image, each with the probability "
    "the model gives its caption."))

ds = state.dataset()
picked = require_model(ds)
ds = state.for_model(ds, picked.model)      # character captions for a character model

views = {EXAMPLES: strategy_view.examples, SCORES: scores_view.split_scores,
         STRATEGIES: strategy_view.strategies_side_by_side, SEES: probe_view.what_it_sees,
         TOKENS: tokens_view.words_or_characters}
if picked.code:
    views[YOURS] = your_sample
for tab, view in zip(kept_tabs(list(views), key=VIEW), views.values()):
    with tab:
        if tab.open:                 # only the open tab's view runs
            view(picked, ds)
