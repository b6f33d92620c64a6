"""Train: overfit a small set in the background, watch the loss and the captions change live.

Runs train in worker processes (`explorer.runs.local`), never in this script, so they go on
while the user switches pages or moves a slider. The followed run's panel and the runs
table are fragments that re-read the runner every second (every few seconds for the
table) while something they show is queued or running, and stop polling after that.
"""
import time

import streamlit as st

from explorer import presenter, state
from explorer.components.run_form import run_form
from explorer.components.run_panel import run_header, run_panel, run_picker
from explorer.components.runs_table import gone_sentence, runs_section, said
from explorer.i18n import _
from explorer.runs.base import EngineUnavailable, RunEngine, RunLimitError
from explorer.runs.settings import RunConfig

LIVE_SECONDS = 1.0          # how often the followed run's panel re-reads the runner
TABLE_SECONDS = 3.0         # how often the runs table does while any run is active
DOUBLE_CLICK_SECONDS = 3.0  # the same run started again this soon is one impatient click too many

live_panel = st.fragment(run_every=LIVE_SECONDS)(run_panel)
still_panel = st.fragment(run_panel)
live_table = st.fragment(run_every=TABLE_SECONDS)(runs_section)
still_table = st.fragment(runs_section)


def start(runner: RunEngine, config: RunConfig, data: dict, owner: str) -> None:
    """Start a run and follow it. The same run started again moments later is a double
    click (each click reruns the script): it is ignored, so one click gives one run."""
    last = st.session_state.get(state.TRAIN_STARTED)
    if last is not None and last[:2] == (config, data) and time.monotonic() - last[2] < DOUBLE_CLICK_SECONDS:
        return
    st.session_state[state.TRAIN_STARTED] = (config, data, time.monotonic())
    try:
        st.session_state[state.TRAIN_RUN] = runner.start(config, data, owner=owner)
    except RunLimitError as e:
        st.warning(said(e), icon=":material/front_hand:")
    except EngineUnavailable as e:
        st.error(said(e), icon=":material/cloud_off:")
    except OSError as e:
        st.error(_("The run could not be saved in `{folder}`: {error}").format(folder=runner.runs_dir, error=e),
                 icon=":material/warning:")


presenter.heading(_("Train"), _(
    "Training is the notebook's loop: sample a minibatch, compute the loss and its gradients, "
    "let Adam nudge every weight, repeat. Start the *Notebook RNN overfit* preset and watch the "
    "loss fall from about 60 towards zero as the model memorises 50 captions, and its captions "
    "for four of those images turn from word salad into the sentences it is learning. Runs keep "
    "training in the background while you look at other pages; everyone in the room shares the "
    "server's cores, so extra runs wait in a queue."))

runner = state.runner()
owner = state.owner_id()
ds = state.dataset()

form_column, follow_column = st.columns([1, 2], gap="large")
with form_column:
    st.subheader(_("New run"))
    config = run_form(num_train_available=len(ds.data["train_captions"]))
    if config is not None:
        start(runner, config, {"base_dir": ds.base_dir, "pca_features": ds.pca_features,
                               "is_demo": ds.is_demo}, owner)

runs = runner.runs()
with follow_column:
    if runs:
        followed, overlay = run_picker(runner, runs, owner)
        live = any(r.is_active for r in runs if r.run_id in (followed, *overlay))
        run_header(next(r for r in runs if r.run_id == followed), owner)
        (live_panel if live else still_panel)(runner, followed, overlay, owner, live=live)
    else:
        if st.session_state.get(state.TRAIN_RUN) is not None:       # the one run followed was deleted
            st.info(gone_sentence(runner, st.session_state[state.TRAIN_RUN], owner), icon=":material/delete:")
        st.info(_("No runs yet. Pick a preset and press **Start**: the loss curve and the captions "
                  "appear here while it trains."), icon=":material/monitoring:")

st.subheader(_("Runs"))
live = any(r.is_active for r in runs)
(live_table if live else still_table)(runner, owner, live=live)
