"""Train a student's own CaptioningRNN beside Caption Lab's, and watch where the curves part.

`train_beside` draws the choice of cell, the Start button and, once a run is going, a
live fragment with both loss curves (the student's and the reference's, from the same
first weights on the same minibatches) and one sentence about where they part.
"""
from __future__ import annotations

import streamlit as st

from core.student import Bundle, Report
from core.model import cell_name
from core.student.report import PASSED, WRONG
from explorer import state
from explorer.components.loss_chart import loss_chart
from explorer.components.run_panel import parting_sentence, progress_text
from explorer.components.runs_table import gone_sentence
from explorer.i18n import N_, _, said
from explorer.runs.settings import PRESETS
from explorer.runs.base import EngineUnavailable, RunEngine, RunLimitError

CELL = "code.cell"                 # the cell the student trains: "rnn" or "lstm"
RUN = "code.run"                   # the run this session started from the page
PRESET = {"rnn": "Notebook RNN overfit", "lstm": "Notebook LSTM overfit"}
REFERENCE_CURVE = N_("Caption Lab's, same start and minibatches")


def trainable(report: Report, cell: str) -> bool:
    """Whether the student's loss for `cell` runs at all (passed, or wrong but finishing)."""
    result = report.results.get(f"CaptioningRNN.loss[{cell}]")
    return result is not None and result.status in (PASSED, WRONG)


def _start(runner: RunEngine, bundle: Bundle, ds: state.Dataset, owner: str, cell: str) -> None:
    config = PRESETS[PRESET[cell]]
    try:
        run_id = runner.start(config, {"base_dir": ds.base_dir, "pca_features": ds.pca_features,
                                       "is_demo": ds.is_demo}, owner=owner, code=bundle)
    except RunLimitError as e:
        st.warning(said(e), icon=":material/front_hand:")
        return
    except EngineUnavailable as e:
        st.error(said(e), icon=":material/cloud_off:")
        return
    except (OSError, ValueError) as e:
        st.error(_("The run could not start: {error}").format(error=e), icon=":material/warning:")
        return
    st.session_state[RUN] = run_id
    st.session_state[state.TRAIN_RUN] = run_id


def _curves(runner: RunEngine, run_id: str) -> None:
    try:
        info = runner.get(run_id)
        history = runner.history(run_id)
    except KeyError:                     # deleted meanwhile: the page says so
        st.rerun(scope="app")
    st.progress(min(info.iteration / info.total, 1.0) if info.total else 0.0, text=progress_text(info))
    if info.message and info.status in ("failed", "diverged"):
        st.error(_(info.message), icon=":material/warning:")
    reference = history.reference if history.reference is not None else history.losses[:0]
    loss_chart([(_("your model"), history.iterations, history.losses),
                (_(REFERENCE_CURVE), history.iterations, reference)],
               smoothing=0.0, log_y=True, height=300, dashed=(_(REFERENCE_CURVE),), page="your-code")
    st.markdown(parting_sentence(history.losses, reference))
    row = st.container(horizontal=True, vertical_alignment="center")
    row.page_link("../pages/train.py", label=_("Follow it on the Train page"), icon=":material/monitoring:")
    if info.has_checkpoint and not info.is_active:
        if row.button(_("Use your model in Inspect & Compare"), icon=":material/input:"):
            st.session_state[state.MODEL_RUN] = run_id
            st.switch_page("../pages/compare.py")
    if not info.is_active and st.session_state.get(f"{RUN}.live"):
        st.session_state[f"{RUN}.live"] = False
        st.rerun(scope="app")


live_curves = st.fragment(run_every=1.0)(_curves)
still_curves = st.fragment(_curves)


def train_beside(report: Report, bundle: Bundle, ds: state.Dataset, runner: RunEngine, owner: str) -> None:
    """The cell choice, Start, and the followed run's two curves."""
    cells = [c for c in ("rnn", "lstm") if trainable(report, c)]
    if not cells:
        st.info(_("Training needs a CaptioningRNN.loss that runs: none of yours does yet (see above)."),
                icon=":material/info:")
        return
    st.markdown(_("The notebook's overfitting cell with **your** `CaptioningRNN`: 50 captions, H = 512, "
                  "W = 256, Adam 5e-3. Caption Lab trains its own model beside it, from your initial weights, "
                  "on the same minibatches, in the same sandbox. Where the two curves part, something differs "
                  "from the reference even if every check above passed."))
    cell = st.segmented_control(_("Cell"), cells, format_func=lambda c: _(cell_name(c)), default=cells[0],
                                required=True, key=CELL, persist_state="session")
    if st.button(_("Train mine beside Caption Lab's"), type="primary", icon=":material/play_arrow:"):
        _start(runner, bundle, ds, owner, cell)
    run_id = st.session_state.get(RUN)
    if run_id is None:
        return
    try:
        info = runner.get(run_id)
    except KeyError:
        st.info(gone_sentence(runner, run_id, owner), icon=":material/delete:")
        return
    st.session_state[f"{RUN}.live"] = info.is_active
    (live_curves if info.is_active else still_curves)(runner, run_id)
