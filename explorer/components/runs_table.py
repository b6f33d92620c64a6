"""The runs list: every run on the server and on disk, with its status, loss and duration."""
from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from explorer import state
from explorer.components.labels import label_column
from explorer.runs.base import EngineUnavailable, RunEngine, RunInfo
from explorer.runs.local import LocalRunner

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
    text = info.status
    if info.status == "queued" and info.queue_position:
        text += f" (#{info.queue_position})"
    elif info.status == "running" and info.stopping:
        text += " (stopping)"
    elif info.status == "diverged" and info.diverged_at:
        text += f" at {info.diverged_at}"
    return text


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes} min {seconds:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def who(info: RunInfo, owner: str) -> str:
    return "you" if info.owner == owner else f"other ({info.owner[:4]})"


def runs_frame(infos: list[RunInfo], owner: str) -> pd.DataFrame:
    return pd.DataFrame([{
        "Run": info.label,
        "Status": status_text(info),
        "_status": info.status,
        "By": who(info, owner),
        "Progress": info.iteration / info.total if info.total else 0.0,
        "Iterations": f"{info.iteration:,} / {info.total:,}",
        "Final loss": info.final_loss,
        "Training time": duration_text(info.elapsed) if info.iteration else "",
        "Data": "demo" if info.dataset.get("is_demo") else "COCO",
        "Id": info.run_id,
    } for info in infos], columns=["Run", "Status", "_status", "By", "Progress", "Iterations",
                                   "Final loss", "Training time", "Data", "Id"])


def runs_table(infos: list[RunInfo], owner: str) -> None:
    """Draw the runs as a table, newest first."""
    frame = runs_frame(infos, owner)
    kind = dict(zip(frame["Status"], frame.pop("_status")))             # "queued (#3)" -> "queued"
    status = label_column(frame, "Status", lambda text: STATUS.get(kind[text], ("", "", "gray"))[2],
                          width=140)                                     # "running (stopping)"
    st.dataframe(frame, hide_index=True, width="stretch",
                 height=min(38 + 35 * max(len(infos), 1), 460),
                 column_config={
                     "Status": status,
                     "Progress": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="percent"),
                     "Final loss": st.column_config.NumberColumn(format="%.4g"),     # a diverged one is huge
                     "Data": st.column_config.TextColumn(width="small"),
                     "Id": st.column_config.TextColumn(width="small",
                                                       help="The run's folder under the runs directory"),
                 })


def runs_section(runner: RunEngine, owner: str, live: bool) -> None:
    """Everyone's runs (or just this session's) with the server's load; see `run_panel` for `live`."""
    everyone = runner.runs()
    show = st.segmented_control("Show", ["Everyone's", "Mine"], default="Everyone's", required=True,
                                key=state.TRAIN_SHOW, persist_state="session", label_visibility="collapsed")
    infos = [i for i in everyone if i.owner == owner] if show == "Mine" else everyone
    count = {s: sum(i.status == s for i in everyone) for s in ("running", "queued")}
    try:
        cap = runner.capacity().max_concurrent
        per_core = " (one per core)" if cap == os.cpu_count() and isinstance(runner, LocalRunner) else ""
        where = "This server trains" if isinstance(runner, LocalRunner) else "The class's workers train"
        st.caption(f"{len(infos)} run{'s' * (len(infos) != 1)}. {where} up to {cap} at a time{per_core}; now "
                   f"{count['running']} training, {count['queued']} queued. Runs are saved in `{runner.runs_dir}`.")
    except EngineUnavailable as e:
        st.warning(str(e), icon=":material/cloud_off:")
    if infos:
        runs_table(infos, owner)
    if live and not any(i.is_active for i in everyone):
        st.rerun(scope="app")
