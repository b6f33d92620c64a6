"""One run, followed live: its status, progress, Stop, the loss chart, the evolution view.

`run_panel` draws from the runner's current state and nothing else, so the page can call
it as a fragment that reruns every second while the run trains. `run_picker` chooses the
run to follow and the runs whose curves to overlay.
"""
from __future__ import annotations

import streamlit as st

from core.student.training import parting_point
from explorer import presenter, state
from explorer.admin import is_admin
from explorer.components.evolution import evolution_view
from explorer.components.loss_chart import chart_controls, chart_settings, loss_chart
from explorer.components.runs_table import STATUS, duration_text, gone_sentence, status_text, who
from explorer.i18n import _, said
from explorer.runs.base import EngineUnavailable, RunEngine, RunInfo

CONFIRM = "train.confirm_delete"     # the run whose deletion waits for a yes
PROBLEM = "train.run_problem"       # why the last stop or delete did not happen
GONE = "train.run_gone"             # why the run followed before is not there any more


def progress_text(info: RunInfo) -> str:
    """E.g. "Iteration 86 / 2,000 · 34.0 it/s · about 56.3 s left"."""
    if info.status == "running" and info.iteration == 0:
        return _("Loading the data and building the model…")
    parts = [_("Iteration {iteration:,} / {total:,}").format(iteration=info.iteration, total=info.total)]
    if info.rate:
        parts.append(_("{rate:.1f} it/s").format(rate=info.rate))
    if info.eta is not None:
        parts.append(_("about {time} left").format(time=duration_text(info.eta)))
    elif not info.is_active:
        parts.append(_("{time} of training").format(time=duration_text(info.elapsed)))
    return " · ".join(parts)


def parting_sentence(losses, reference) -> str:
    """Where the student's curve leaves the reference's, in words."""
    if len(losses) == 0:
        return ""
    at = parting_point(losses, reference)
    if at is None:
        return _("Your curve follows Caption Lab's to within {tolerance} over all {n:,} iterations so far: "
                 "your loss and its gradients train like the reference.").format(tolerance="1%", n=len(losses))
    return _("The curves part at iteration {iteration:,}: from there your loss differs from Caption Lab's by "
             "more than 1%, though both started from your weights on the same minibatches. Something in your "
             "loss or in a layer under it computes another function, or another gradient, than the "
             "reference.").format(iteration=at + 1)


def run_header(info: RunInfo, owner: str) -> None:
    """The run's name and settings (on a projector neither: the run chosen above names it,
    the runs table below has its settings, and the screen is short). Drawn by the page above
    the panel, not in it: they never change while the run trains, and the live panel redraws
    what it holds every second for every session watching."""
    if presenter.on():
        return
    st.markdown(f"#### {info.label}")
    c = info.config
    st.caption(_("{cell} · H={hidden} · W={wordvec} · {rule} · batch {batch} · {epochs} epochs · "
                 "{captions} captions · seed {seed} · started by {who}").format(
        cell=c["cell_type"].upper(), hidden=c["hidden_dim"], wordvec=c["wordvec_dim"], rule=c["update_rule"],
        batch=c["batch_size"], epochs=c["num_epochs"], captions=c["max_train"], seed=c["seed"],
        who=who(info, owner)))


def _message(runner: RunEngine, info: RunInfo) -> None:
    if info.status == "queued":
        try:
            capacity = runner.capacity()
            load = _("This server trains {most} runs at a time; {running} are training now.").format(
                most=capacity.max_concurrent, running=capacity.running)
        except EngineUnavailable as e:
            load = said(e)
        st.info(_("Queued: **#{position}** in line. {load}").format(position=info.queue_position or "?", load=load),
                icon=":material/hourglass_top:")
    elif info.message and info.status in ("diverged", "failed"):
        st.error(_(info.message), icon=":material/warning:")
    elif info.message:
        st.info(_(info.message))


def _use_model(run_id: str) -> None:
    st.session_state[state.MODEL_RUN] = run_id


def _stop(runner: RunEngine, run_id: str, owner: str | None) -> None:
    try:
        runner.stop(run_id, owner)
    except (EngineUnavailable, PermissionError, KeyError) as e:
        st.session_state[PROBLEM] = said(e)


def _delete(runner: RunEngine, run_id: str, owner: str | None) -> None:
    st.session_state.pop(CONFIRM, None)
    try:
        runner.delete(run_id, owner)
    except (ValueError, PermissionError, KeyError, OSError) as e:
        st.session_state[PROBLEM] = said(e)


def _buttons(runner: RunEngine, info: RunInfo, owner: str) -> None:
    """The run's status and what this person may do with it."""
    row = st.container(horizontal=True, vertical_alignment="center")
    icon, colour, _text = STATUS.get(info.status, (None, "gray", None))
    row.badge(status_text(info), icon=icon, color=colour)
    admin = is_admin()
    mine = info.owner == owner
    acting = owner if mine else None                   # None: the admin acting on anyone's run
    if info.is_active:
        label = _("Stopping…") if info.stopping else _("Leave the queue") if info.status == "queued" else _("Stop")
        row.button(label, icon=":material/stop:", disabled=not (mine or admin) or info.stopping,
                   on_click=_stop, args=(runner, info.run_id, acting),
                   help=None if mine or admin else
                   _("Only the session that started this run (or the admin) can stop it."))
    if st.session_state.get(state.MODEL_RUN) == info.run_id:
        row.badge(_("Inspect and Compare use this model"), icon=":material/check:", color="green")
        row.page_link("../pages/inspect.py", label=_("Open Inspect"), icon=":material/neurology:")
    elif info.has_checkpoint:
        row.button(_("Use its latest snapshot in Inspect") if info.is_active else _("Use in Inspect & Compare"),
                   icon=":material/input:", on_click=_use_model, args=(info.run_id,))
    if not info.is_active and (mine or admin):
        if st.session_state.get(CONFIRM) == info.run_id:
            st.warning(_("Delete “{run}” for good? Its loss history, its snapshots and its model go with it.").format(
                run=info.label), icon=":material/delete_forever:")
            confirm = st.container(horizontal=True)
            confirm.button(_("Yes, delete it"), type="primary", icon=":material/delete:", key=f"{CONFIRM}.yes",
                           on_click=_delete, args=(runner, info.run_id, acting))
            confirm.button(_("Keep it"), key=f"{CONFIRM}.no", on_click=st.session_state.pop, args=(CONFIRM, None))
        else:
            row.button(_("Delete"), icon=":material/delete:", key=f"{CONFIRM}.ask",
                       on_click=st.session_state.__setitem__, args=(CONFIRM, info.run_id),
                       help=_("Remove this run and everything it saved (asks first)."))
    if st.session_state.get(PROBLEM):
        st.error(st.session_state.pop(PROBLEM), icon=":material/warning:")


def run_panel(runner: RunEngine, run_id: str, overlay: list[str], owner: str, live: bool) -> None:
    """Draw the followed run with `overlay` runs' curves beside it (its name and settings above
    it are `run_header`'s, drawn by the page).

    With `live` (the caller polls), it asks for one full rerun once nothing it shows is
    queued or running any more, so the page can stop polling. A run deleted meanwhile (here,
    elsewhere, or from the command line) asks for one too: the run picker then says so.
    """
    try:
        _panel(runner, run_id, overlay, owner, live)
    except KeyError:
        st.rerun(scope="app")


def _panel(runner: RunEngine, run_id: str, overlay: list[str], owner: str, live: bool) -> None:
    info = runner.get(run_id)
    shown = [info]                         # each overlaid run read alone: no listing of every run
    for other in overlay:                  # on every refresh of the panel
        try:
            shown.append(runner.get(other))
        except KeyError:                   # deleted meanwhile: the next full run's picker drops it
            pass
    if info.status != "queued":
        st.progress(min(info.iteration / info.total, 1.0) if info.total else 0.0, text=progress_text(info))
    _message(runner, info)
    _buttons(runner, info, owner)
    smoothing, log_y = chart_settings()
    labels = [r.label for r in shown]
    curves, dashed = [], []
    for r in shown:
        h = runner.history(r.run_id)
        label = r.label + (f" · {r.run_id[-6:]}" if labels.count(r.label) > 1 else "")
        curves.append((label, h.iterations, h.losses))
        if h.reference is not None:             # a student's code, with Caption Lab's model beside it
            dashed.append(_("{run} · Caption Lab's beside it").format(run=label))
            curves.append((dashed[-1], h.iterations, h.reference))
    # the curve and the captions side by side, so both are on one 1280x720 screen with Start
    chart, captions = st.columns([2, 3], gap="medium")
    with chart:
        loss_chart(curves, smoothing, log_y, height=260, dashed=tuple(dashed))
        if info.code:
            history = runner.history(run_id)
            st.caption(_("Your own code (`{package}`), dashed: Caption Lab's model from the same first weights on "
                         "the same minibatches. {parting}").format(
                package=info.code["package"], parting=parting_sentence(history.losses, history.reference)))
    with captions:
        evolution_view(runner.evolution(run_id), live=info.is_active)
    if live and not any(r.is_active for r in shown):
        st.rerun(scope="app")


def run_picker(runner: RunEngine, runs: list[RunInfo], owner: str) -> tuple[str, list[str]]:
    """The run to follow (default: this session's newest) and the runs to overlay on its chart.
    When the followed run was deleted (here, on another page or server, or from the command
    line) it says so, and by whom, until another run is chosen."""
    by_id = {r.run_id: r for r in runs}
    followed = st.session_state.get(state.TRAIN_RUN)
    if followed not in by_id:
        if followed is not None:
            st.session_state[GONE] = gone_sentence(runner, followed, owner)
        st.session_state[state.TRAIN_RUN] = next((r.run_id for r in runs if r.owner == owner), runs[0].run_id)
    if st.session_state.get(GONE):
        st.info(_("{gone} You now follow “{run}”.").format(gone=st.session_state[GONE],
                                                           run=by_id[st.session_state[state.TRAIN_RUN]].label),
                icon=":material/delete:")
    labels = [r.label for r in runs]

    def describe(run_id: str) -> str:
        r = by_id[run_id]
        return f"{r.label}{' · ' + run_id[-6:] if labels.count(r.label) > 1 else ''} · {who(r, owner)}"

    # one row: the run fills what the two menus leave (a row, not three columns: 3 elements fewer
    # on every run of the page)
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="small")
    labels_shown = "collapsed" if presenter.on() else "visible"     # the choices say what they are
    followed = row.selectbox(_("Follow run"), list(by_id), key=state.TRAIN_RUN, format_func=describe,
                              persist_state="session", label_visibility=labels_shown,
                              on_change=st.session_state.pop, args=(GONE, None))
    candidates = [r.run_id for r in runs if r.run_id != followed and (r.iteration or r.is_active)]
    st.session_state[state.TRAIN_OVERLAY] = [i for i in st.session_state.get(state.TRAIN_OVERLAY, [])
                                             if i in candidates]
    shown = len(st.session_state[state.TRAIN_OVERLAY])
    with row.popover(_("Compare ({n})").format(n=shown) if shown else _("Compare"),
                     icon=":material/stacked_line_chart:"):
        overlay = st.multiselect(_("Compare loss curves with"), candidates, key=state.TRAIN_OVERLAY,
                                 format_func=describe, placeholder=_("Pick runs to overlay"),
                                 persist_state="session")
    with row.popover(_("Chart"), icon=":material/tune:", help=_("Smoothing and scale of the loss chart")):
        chart_controls()
    return followed, overlay
