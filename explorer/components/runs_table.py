"""The runs list: every run on the server and on disk, with its status, loss and duration."""
from __future__ import annotations

import math
import os
import re

import streamlit as st

from explorer import admin, state
from explorer.components.labels import label_column
from explorer.components.tables import table
from explorer.i18n import N_, _, n_, said
from explorer.runs.base import RUN_ID, EngineUnavailable, RunEngine, RunInfo
from explorer.runs.local import LocalRunner

# status -> its word in the app (translated where shown)
STATUS_WORDS = {"queued": N_("queued"), "running": N_("running"), "done": N_("done"), "stopped": N_("stopped"),
                "diverged": N_("diverged"), "interrupted": N_("interrupted"), "failed": N_("failed")}
# status -> (material icon, colour name for badges, text colour for the table)
STATUS = {"queued": (":material/hourglass_top:", "gray", "#6b7280"),
          "running": (":material/play_circle:", "blue", "#1f6fd1"),
          "done": (":material/check_circle:", "green", "#15803d"),
          "stopped": (":material/stop_circle:", "violet", "#7c3aed"),
          "diverged": (":material/error:", "red", "#dc2626"),
          "interrupted": (":material/warning:", "orange", "#c2410c"),
          "failed": (":material/cancel:", "red", "#dc2626")}


def status_text(info: RunInfo) -> str:
    """E.g. "queued (#3)", "running (stopping)", "diverged at 12"."""
    if info.status == "queued" and info.queue_position:
        return _("queued (#{position})").format(position=info.queue_position)
    if info.status == "running" and info.stopping:
        return _("running (stopping)")
    if info.status == "diverged" and info.diverged_at:
        return _("diverged at {iteration}").format(iteration=info.diverged_at)
    return status_word(info.status)


def status_word(status: str) -> str:
    """A run's status alone in the reader's language ("done", "running", ...)."""
    return _(STATUS_WORDS[status]) if status in STATUS_WORDS else status


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return _("{seconds:.1f} s").format(seconds=seconds)
    minutes, seconds = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return _("{minutes} min {seconds:02d} s").format(minutes=minutes, seconds=seconds)
    return _("{hours} h {minutes:02d} min").format(hours=minutes // 60, minutes=minutes % 60)


def who(info: RunInfo | str, owner: str) -> str:
    """Whose run `info` is (a RunInfo, or its owner id), to the person `owner`: "you" or "other (ab12)"."""
    run_owner = info if isinstance(info, str) else info.owner
    return _("you") if run_owner == owner else _("other ({owner})").format(owner=run_owner[:4])


def gone_sentence(runner: RunEngine, run_id: str, owner: str) -> str:
    """Why run `run_id` is not there any more, to the person `owner`: who deleted it (you, the
    admin, its owner), or that its folder is gone. `run_id` may come from a link."""
    deletion = runner.deletion(run_id)
    if deletion is None:
        if re.fullmatch(RUN_ID, str(run_id)):
            return _("Run `{run_id}` is not on this server any more: it was deleted, or its folder is gone.").format(
                run_id=run_id)
        return _("That run is not on this server.")
    if deletion.by == owner:
        return _("Run “{run}” was deleted by you.").format(run=deletion.label)
    if deletion.by is None:
        return _("Run “{run}” was deleted by the admin.").format(run=deletion.label)
    return _("Run “{run}” was deleted by its owner ({owner}).").format(run=deletion.label, owner=deletion.by[:4])


# the table's columns: English in `runs_frame` (code reads them), translated when drawn
COLUMNS = {"Run": N_("Run"), "Status": N_("Status"), "By": N_("By"), "Progress": N_("Progress"),
           "Iterations": N_("Iterations"), "Final loss": N_("Final loss"), "Training time": N_("Training time"),
           "Data": N_("Data"), "Id": N_("Id")}


def runs_frame(infos: list[RunInfo], owner: str) -> dict[str, list]:
    """The runs as table columns (English names, see COLUMNS), plus `_status` (each run's status)."""
    return {
        "Run": [info.label for info in infos],
        "Status": [status_text(info) for info in infos],
        "_status": [info.status for info in infos],
        "By": [who(info, owner) for info in infos],
        "Progress": [info.iteration / info.total if info.total else 0.0 for info in infos],
        "Iterations": [f"{info.iteration:,} / {info.total:,}" for info in infos],
        "Final loss": [float(info.final_loss) if info.final_loss is not None and not math.isnan(info.final_loss)
                       else None for info in infos],                # NaN shown empty, as pandas did
        "Training time": [duration_text(info.elapsed) if info.iteration else "" for info in infos],
        "Data": [_("demo") if info.dataset.get("is_demo") else "COCO" for info in infos],
        "Id": [info.run_id for info in infos],
    }


def runs_table(infos: list[RunInfo], owner: str) -> None:
    """Draw the runs as a table, newest first."""
    frame = runs_frame(infos, owner)
    kind = dict(zip(frame["Status"], frame.pop("_status")))             # "queued (#3)" -> "queued"
    status = label_column(frame, "Status", lambda text: STATUS.get(kind[text], ("", "", "gray"))[2],
                          width=140)                                     # "running (stopping)"
    shown = {name: _(label) for name, label in COLUMNS.items()}       # headers in the reader's language
    st.dataframe(table({shown[name]: values for name, values in frame.items()}), hide_index=True,
                 width="stretch", height=min(38 + 35 * max(len(infos), 1), 460),
                 column_config={
                     shown["Status"]: status,
                     shown["Progress"]: st.column_config.ProgressColumn(min_value=0.0, max_value=1.0,
                                                                        format="percent"),
                     shown["Final loss"]: st.column_config.NumberColumn(format="%.4g"),   # a diverged one is huge
                     shown["Data"]: st.column_config.TextColumn(width="small"),
                     shown["Id"]: st.column_config.TextColumn(width="small",
                                                              help=_("The run's folder under the runs directory")),
                 })


def runs_section(runner: RunEngine, owner: str, live: bool) -> None:
    """Everyone's runs (or just this session's) with the server's load; see `run_panel` for `live`."""
    everyone = runner.runs()
    show = st.segmented_control(_("Show"), [N_("Everyone's"), N_("Mine")], default="Everyone's", required=True,
                                key=state.TRAIN_SHOW, persist_state="session", label_visibility="collapsed",
                                format_func=_)
    infos = [i for i in everyone if i.owner == owner] if show == "Mine" else everyone
    count = {s: sum(i.status == s for i in everyone) for s in ("running", "queued")}
    try:
        cap = runner.capacity().max_concurrent
        if not isinstance(runner, LocalRunner):
            load = _("The class's workers train up to {cap} at a time; now {running} training, {queued} queued.")
        elif cap == os.cpu_count():
            load = _("This server trains up to {cap} at a time (one per core); now {running} training, "
                     "{queued} queued.")
        else:
            load = _("This server trains up to {cap} at a time; now {running} training, {queued} queued.")
        values = dict(runs=n_("{n} run.", "{n} runs.", len(infos)).format(n=len(infos)),
                      load=load.format(cap=cap, running=count["running"], queued=count["queued"]),
                      folder=runner.runs_dir)
        if admin.is_admin():            # where the server keeps its files is the admin's business
            st.caption(_("{runs} {load} Runs are saved in `{folder}`.").format(**values))
        else:
            st.caption(_("{runs} {load}").format(**values))
    except EngineUnavailable as e:
        st.warning(said(e), icon=":material/cloud_off:")
    if infos:
        runs_table(infos, owner)
    if live and not any(i.is_active for i in everyone):
        st.rerun(scope="app")
