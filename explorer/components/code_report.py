"""A check of a student's code, drawn: the verdict of every function, then one function in full.

`report_overview(report)` draws the counts and the table of all functions and returns
nothing; `function_detail(result)` draws one function: its verdict and likely cause, the
numbers the notebook prints next to their thresholds, a heat map of where an array is
wrong, the trimmed traceback of a crash and what the code printed.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.student.report import (CRASHED, LABELS, MEMORY, MISSING, NOT_IMPLEMENTED, PASSED, STATUSES,
                                 TIMEOUT, WRONG, Check, Heat, Report, Result)
from explorer.components.labels import label_column

# status -> (material icon, badge colour, text colour)
STYLE = {PASSED: (":material/check_circle:", "green", "#15803d"),
         WRONG: (":material/cancel:", "red", "#dc2626"),
         NOT_IMPLEMENTED: (":material/edit_note:", "gray", "#6b7280"),
         MISSING: (":material/help:", "orange", "#c2410c"),
         CRASHED: (":material/bug_report:", "red", "#dc2626"),
         TIMEOUT: (":material/hourglass_disabled:", "orange", "#c2410c"),
         MEMORY: (":material/memory:", "orange", "#c2410c")}


def status_text(r: Result) -> str:
    text = LABELS[r.status]
    return text + " (optional)" if r.optional and r.status == NOT_IMPLEMENTED else text


def _number(c: Check) -> str:
    if c.value is None:
        return c.note or "-"
    return f"{c.value:.4f}" if c.measure == "value" else f"{c.value:.0f}" if c.measure == "count" \
        else f"{c.value:.2e}"


def worst(r: Result) -> Check | None:
    """The check furthest over (or nearest to) its threshold: the number to show in a table."""
    failed = [c for c in r.checks if not c.passed]
    if failed:
        return failed[0]
    numbers = [c for c in r.checks if c.value is not None and c.measure in ("relative error", "difference")
               and c.notebook and "noisy" not in c.note]
    return max(numbers, key=lambda c: c.value / c.threshold) if numbers else None


def overview_frame(report: Report) -> pd.DataFrame:
    rows = []
    for name, r in report.results.items():
        c = worst(r)
        rows.append({"Function": name, "Status": status_text(r), "_status": r.status,
                     "Number": f"{c.name}: {_number(c)}" if c else "", "Must be": c.expected if c else ""})
    return pd.DataFrame(rows, columns=["Function", "Status", "_status", "Number", "Must be"])


def to_fix(report: Report) -> list[tuple[str, Result]]:
    """The functions to work on, in order: everything not passed but an optional LSTM still to write."""
    return [(n, r) for n, r in report.results.items()
            if r.status != PASSED and not (r.status == NOT_IMPLEMENTED and r.optional)]


def report_overview(report: Report) -> None:
    """The counts, where the code came from, and the table of every function's verdict."""
    counts = report.counts()
    badges = st.container(horizontal=True)
    for status in STATUSES:
        if counts[status]:
            icon, colour, _ = STYLE[status]
            badges.badge(f"{counts[status]} {LABELS[status]}", icon=icon, color=colour)
    sandbox = report.sandbox or {}
    walls = ", ".join(filter(None, [
        f"no network ({sandbox['network']})" if sandbox.get("network") else "",
        f"writes only in its own folder ({sandbox['files']})" if sandbox.get("files") else "",
        "no signals to other processes" if sandbox.get("signals") else "",
        f"{sandbox['memory_mb']:,} MB of memory" if sandbox.get("memory_mb") else ""]))
    st.caption(f"Package `{report.package}` from `{report.origin}`, checked in {report.seconds:.1f} s, every "
               f"function in a process of its own" + (f": {walls}." if walls else ".")
               + (f" Supplied by Caption Lab, not yours: {', '.join(report.provided)}." if report.provided else ""))
    for note in report.notes:
        st.caption(note)
    frame = overview_frame(report)
    kind = dict(zip(frame["Status"], frame.pop("_status")))
    st.dataframe(frame, hide_index=True, width="stretch",
                 height=38 + 35 * len(frame),
                 column_config={"Function": st.column_config.TextColumn(width=210),
                                "Status": label_column(frame, "Status", lambda text: STYLE[kind[text]][2], width=150),
                                "Must be": st.column_config.TextColumn(width=80),
                                "Number": st.column_config.TextColumn(
                                    "Notebook's number", help="The error the notebook would print, or the "
                                    "first check that failed")})
    work = to_fix(report)
    if work:
        st.markdown("**What to look at**, in order:\n" + "\n".join(
            f"- **`{name}`** {status_text(r)}" + (f": {r.hint}" if r.hint else "") for name, r in work))
    else:
        optional = [n for n, r in report.results.items() if r.status != PASSED]
        st.success("Every function passed" + (f", but the optional {len(optional)} LSTM ones still to write."
                                              if optional else "."), icon=":material/check_circle:")


def first_to_look_at(report: Report) -> str:
    """The function a student should look at first (see `to_fix`), else the first one."""
    work = to_fix(report)
    return work[0][0] if work else next(iter(report.results))


def _checks_frame(checks: list[Check]) -> pd.DataFrame:
    frame = pd.DataFrame([{"Check": c.name, "Value": _number(c), "Must be": c.expected,
                           "Result": "passed" if c.passed else "FAILED",
                           "From": "the notebook" if c.notebook else "Caption Lab's probe",
                           "Note": c.note} for c in checks],
                         columns=["Check", "Value", "Must be", "Result", "From", "Note"])
    return frame if frame["Note"].astype(bool).any() else frame.drop(columns="Note")


def heat_map(heat: Heat) -> None:
    """Element-wise error as colour: white is right, dark red is wrong."""
    rows = [{"row": i, "column": j, "error": v} for i, line in enumerate(heat.values) for j, v in enumerate(line)]
    step = max(10, min(26, 360 // max(len(heat.values), 1)))       # at most about 360 px tall
    spec = {"mark": {"type": "rect"}, "height": {"step": step}, "title": {"text": heat.title, "fontSize": 15,
                                                                          "anchor": "start"},
            "encoding": {
                "x": {"field": "column", "type": "ordinal", "title": heat.columns,
                      "axis": {"labelFontSize": 13, "titleFontSize": 14, "labelAngle": 0}},
                "y": {"field": "row", "type": "ordinal", "title": heat.rows or None,
                      "axis": {"labelFontSize": 13, "titleFontSize": 14}},
                "color": {"field": "error", "type": "quantitative",
                          "scale": {"scheme": "reds", "domain": [0, 1]},
                          "legend": {"title": "error", "labelFontSize": 12, "titleFontSize": 13}},
                "tooltip": [{"field": "row", "title": heat.rows or "row"},
                            {"field": "column", "title": heat.columns},
                            {"field": "error", "format": ".2e"}]},
            "config": {"view": {"stroke": None}}}
    st.vega_lite_chart(pd.DataFrame(rows), spec, width="stretch")
    st.caption("Each cell is |yours − right| / (|yours| + |right|): 0 (white) where they agree, 1 (dark red) "
               "where they have nothing in common.")


def function_detail(r: Result) -> None:
    """One function in full."""
    icon, colour, _ = STYLE[r.status]
    st.badge(status_text(r), icon=icon, color=colour)
    if r.hint:
        if r.status in (WRONG, CRASHED):
            st.error(r.hint, icon=":material/lightbulb:")
        elif r.status in (TIMEOUT, MEMORY, MISSING):
            st.warning(r.hint, icon=":material/lightbulb:")
        else:
            st.info(r.hint, icon=":material/info:")
    elif r.status == NOT_IMPLEMENTED and r.optional:
        st.info("Not written yet. The LSTM is optional in the course: this is a normal state, and the "
                "vanilla RNN's checks do not depend on it.", icon=":material/info:")
    for detail in r.details:
        st.markdown(f"- {detail}")
    if r.checks:
        checks = _checks_frame(r.checks)
        result = label_column(checks, "Result", lambda v: STYLE[PASSED][2] if v == "passed" else STYLE[WRONG][2])
        st.dataframe(checks, hide_index=True, width="stretch", column_config={"Result": result})
    if r.heat is not None:
        heat_map(r.heat)
    if r.table:
        st.dataframe(pd.DataFrame(r.table), hide_index=True, width="stretch")
    if r.error and r.error.get("traceback"):
        lines = []
        for frame in r.error["traceback"]:
            lines.append(f'  File "{frame["file"]}", line {frame["line"]}, in {frame["function"]}')
            if frame.get("code"):
                lines.append(f"    {frame['code']}")
        lines.append(f"{r.error['type']}: {r.error['message']}")
        st.markdown("**Traceback** (your files only)" if r.error.get("student") else "**Traceback**")
        st.code("\n".join(lines), language="text", wrap_lines=True)
    if r.output.strip():
        with st.expander("What it printed"):
            st.code(r.output, language="text", wrap_lines=True)
