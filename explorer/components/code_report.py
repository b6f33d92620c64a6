"""A check of a student's code, drawn: the verdict of every function, then one function in full.

`report_overview(report)` draws the counts and the table of all functions and returns
nothing; `function_detail(result)` draws one function: its verdict and likely cause, the
numbers the notebook prints next to their thresholds, a heat map of where an array is
wrong, the trimmed traceback of a crash and what the code printed.
"""
from __future__ import annotations

import unicodedata

import pandas as pd
import streamlit as st

from core.student.report import (CRASHED, LABELS, MEMORY, MISSING, NOT_IMPLEMENTED, PASSED, STATUSES,
                                 TIMEOUT, WRONG, Check, Heat, Report, Result, sandbox_gaps)
from core.text import Message
from explorer.components.exports import Slide, titled
from explorer.components.labels import label_column
from explorer.i18n import N_, _, n_

# status -> (material icon, badge colour, text colour)
STYLE = {PASSED: (":material/check_circle:", "green", "#15803d"),
         WRONG: (":material/cancel:", "red", "#dc2626"),
         NOT_IMPLEMENTED: (":material/edit_note:", "gray", "#6b7280"),
         MISSING: (":material/help:", "orange", "#c2410c"),
         CRASHED: (":material/bug_report:", "red", "#dc2626"),
         TIMEOUT: (":material/hourglass_disabled:", "orange", "#c2410c"),
         MEMORY: (":material/memory:", "orange", "#c2410c")}


# the sampling check's table of captions: its headers, as shown
TABLE_HEADERS = (N_("greedy (Caption Lab)"), N_("yours"), N_("same"))


def status_text(r: Result) -> str:
    """The status as the reader reads it ("not implemented (optional)")."""
    if r.optional and r.status == NOT_IMPLEMENTED:
        return _("{status} (optional)").format(status=_(LABELS[r.status]))
    return _(LABELS[r.status])


def _number(c: Check) -> str:
    if c.value is None:
        return _(c.note) if c.note else "-"
    return f"{c.value:.4f}" if c.measure == "value" else f"{c.value:.0f}" if c.measure == "count" \
        else f"{c.value:.2e}"


def _figure(c: Check) -> str:
    """The number alone (a dash where the check has none: its note goes with its name)."""
    return _number(c) if c.value is not None else "-"


def worst(r: Result) -> Check | None:
    """The check furthest over (or nearest to) its threshold: the number to show in a table."""
    failed = [c for c in r.checks if not c.passed]
    if failed:
        return failed[0]
    numbers = [c for c in r.checks if c.value is not None and c.notebook
               and c.measure in ("relative error", "difference", "error over the whole array")]
    return max(numbers, key=lambda c: c.value / c.threshold) if numbers else None


def text_width(text: str, size: int = 14) -> int:
    """About how many pixels `text` takes in the table's font: a wide (CJK) character counts
    as one em, any other as six tenths of one."""
    return int(sum(size if unicodedata.east_asian_width(ch) in "WF" else 0.6 * size for ch in str(text)))


def fitted(frame: pd.DataFrame, column: str, title: str | None = None, least: int = 60) -> int:
    """The width that shows every cell of `column` (and its title) whole, in pixels."""
    texts = [str(v) for v in frame[column]] + [title or column]
    return max(least, max(text_width(t) for t in texts) + 32)


def overview_frame(report: Report) -> pd.DataFrame:
    rows = []
    for name, r in report.results.items():
        c = worst(r)
        check = "" if c is None else _(c.name) if c.value is not None or not c.note else \
            _("{check}: {note}").format(check=_(c.name), note=_(c.note))
        rows.append({_("Function"): name, _("Status"): status_text(r), "_status": r.status,
                     _("Number"): _figure(c) if c else "", _("Must be"): _(c.expected) if c else "",
                     _("Check"): check})
    return pd.DataFrame(rows, columns=[_("Function"), _("Status"), "_status", _("Number"), _("Must be"), _("Check")])


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
            icon, colour, _text = STYLE[status]
            badges.badge(_("{n} {status}").format(n=counts[status], status=_(LABELS[status])), icon=icon,
                         color=colour)
    sandbox = report.sandbox or {}
    # TRANSLATORS: the separator between the items of a list ("no network, 2,048 MB of memory")
    walls = _(", ").join(filter(None, [
        _("no network ({how})").format(how=sandbox["network"]) if sandbox.get("network") else "",
        _("writes only in its own folder ({how})").format(how=sandbox["files"]) if sandbox.get("files") else "",
        _("reads only Python, Caption Lab's code and yours") if sandbox.get("reads") else "",
        _("no signals to other processes") if sandbox.get("signals") else "",
        _("its own processes, all stopped with it") if "pid" in sandbox.get("namespaces", []) else "",
        _("{mb:,} MB of memory").format(mb=sandbox["memory_mb"]) if sandbox.get("memory_mb") else ""]))
    values = dict(package=report.package, origin=report.origin, seconds=report.seconds, walls=walls)
    if walls:
        checked = _("Package `{package}` from `{origin}`, checked in {seconds:.1f} s, every function in a "
                    "process of its own: {walls}.").format(**values)
    else:
        checked = _("Package `{package}` from `{origin}`, checked in {seconds:.1f} s, every function in a "
                    "process of its own.").format(**values)
    if report.provided:
        checked += " " + _("Supplied by Caption Lab, not yours: {files}.").format(files=", ".join(report.provided))
    st.caption(checked)
    for note in report.notes:
        st.caption(_(note))
    gaps = sandbox_gaps(sandbox)
    if gaps:
        st.caption(_("Not in place on this server: {gaps}").format(gaps=" ".join(_(g) for g in gaps)))
    frame = overview_frame(report)
    status_column, number_column, bound_column = _("Status"), _("Number"), _("Must be")
    number_title = _("Notebook's number")
    kind = dict(zip(frame[status_column], frame.pop("_status")))
    # every figure whole, in every language: each column is as wide as its widest cell (a check's
    # name may hold one, "loss difference from 9.83235591003")
    widths = {number_column: fitted(frame, number_column, number_title),
              bound_column: fitted(frame, bound_column)}
    st.dataframe(frame, hide_index=True, width="stretch",
                 height=38 + 35 * len(frame),
                 column_config={_("Function"): st.column_config.TextColumn(width=fitted(frame, _("Function"))),
                                status_column: label_column(frame, status_column, lambda text: STYLE[kind[text]][2],
                                                            width=fitted(frame, status_column) + 16),
                                bound_column: st.column_config.TextColumn(width=widths[bound_column]),
                                number_column: st.column_config.TextColumn(
                                    number_title, width=widths[number_column],
                                    help=_("The error the notebook would print, or the first check that failed")),
                                _("Check"): st.column_config.TextColumn(width=fitted(frame, _("Check")))})
    work = to_fix(report)
    if work:
        lines = [_("- **`{name}`** {status}: {hint}").format(name=name, status=status_text(r), hint=_(r.hint))
                 if r.hint else _("- **`{name}`** {status}").format(name=name, status=status_text(r))
                 for name, r in work]
        st.markdown(_("**What to look at**, in order:") + "\n" + "\n".join(lines))
    else:
        optional = [n for n, r in report.results.items() if r.status != PASSED]
        st.success(n_("Every function passed, but the optional {n} LSTM one still to write.",
                      "Every function passed, but the optional {n} LSTM ones still to write.",
                      len(optional)).format(n=len(optional))
                   if optional else _("Every function passed."), icon=":material/check_circle:")


def first_to_look_at(report: Report) -> str:
    """The function a student should look at first (see `to_fix`), else the first one."""
    work = to_fix(report)
    return work[0][0] if work else next(iter(report.results))


def _checks_frame(checks: list[Check]) -> pd.DataFrame:
    columns = [_("Check"), _("Value"), _("Must be"), _("Result"), _("From"), _("Note")]
    frame = pd.DataFrame([[_(c.name), _number(c), _(c.expected), _("passed") if c.passed else _("FAILED"),
                           _("the notebook") if c.notebook else _("Caption Lab's probe"), _(c.note) if c.note else ""]
                          for c in checks], columns=columns)
    return frame if frame[columns[-1]].astype(bool).any() else frame.drop(columns=columns[-1])


def heat_map(heat: Heat, function: str = "") -> None:
    """Element-wise error as colour: white is right, dark red is wrong (of `function`, named in
    its download)."""
    rows = [{"row": i, "column": j, "error": v} for i, line in enumerate(heat.values) for j, v in enumerate(line)]
    step = max(10, min(26, 360 // max(len(heat.values), 1)))       # at most about 360 px tall
    title, rows_title, columns_title = _(heat.title), _(heat.rows) if heat.rows else None, _(heat.columns)
    spec = {"mark": {"type": "rect"}, "height": {"step": step}, "title": {"text": title, "fontSize": 15,
                                                                          "anchor": "start"},
            "encoding": {
                "x": {"field": "column", "type": "ordinal", "title": columns_title,
                      "axis": {"labelFontSize": 13, "titleFontSize": 14, "labelAngle": 0}},
                "y": {"field": "row", "type": "ordinal", "title": rows_title,
                      "axis": {"labelFontSize": 13, "titleFontSize": 14}},
                "color": {"field": "error", "type": "quantitative",
                          "scale": {"scheme": "reds", "domain": [0, 1]},
                          "legend": {"title": _("error"), "labelFontSize": 12, "titleFontSize": 13}},
                "tooltip": [{"field": "row", "title": rows_title or _("row")},
                            {"field": "column", "title": columns_title},
                            {"field": "error", "title": _("error"), "format": ".2e"}]},
            "config": {"view": {"stroke": None}}}
    slide = Slide.of("your-code", "error-map", title, about=(f"`{function}`",) if function else (), names=(function,))
    st.vega_lite_chart(pd.DataFrame(rows), titled(spec, slide), width="stretch")
    st.caption(_("Each cell is |yours − right| / (|yours| + |right|): 0 (white) where they agree, 1 (dark red) "
                 "where they have nothing in common."))


def function_detail(r: Result) -> None:
    """One function in full."""
    icon, colour, _text = STYLE[r.status]
    st.badge(status_text(r), icon=icon, color=colour)
    if r.hint:
        if r.status in (WRONG, CRASHED):
            st.error(_(r.hint), icon=":material/lightbulb:")
        elif r.status in (TIMEOUT, MEMORY, MISSING):
            st.warning(_(r.hint), icon=":material/lightbulb:")
        else:
            st.info(_(r.hint), icon=":material/info:")
    elif r.status == NOT_IMPLEMENTED and r.optional:
        st.info(_("Not written yet. The LSTM is optional in the course: this is a normal state, and the "
                  "vanilla RNN's checks do not depend on it."), icon=":material/info:")
    for detail in r.details:
        st.markdown(f"- {_(detail)}")
    for warning in r.warnings:
        st.warning(_(warning), icon=":material/warning:")
    if r.checks:
        checks = _checks_frame(r.checks)
        passed, column = _("passed"), _("Result")
        result = label_column(checks, column, lambda v: STYLE[PASSED][2] if v == passed else STYLE[WRONG][2])
        st.dataframe(checks, hide_index=True, width="stretch", column_config={column: result})
    if r.heat is not None:
        heat_map(r.heat, r.name)
    if r.table:
        rows = [{_(k): _(v) if isinstance(v, Message) else v for k, v in row.items()} for row in r.table]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if r.error and r.error.get("traceback"):
        lines = []
        for frame in r.error["traceback"]:
            lines.append(f'  File "{frame["file"]}", line {frame["line"]}, in {frame["function"]}')
            if frame.get("code"):
                lines.append(f"    {frame['code']}")
        lines.append(f"{r.error['type']}: {r.error['message']}")
        st.markdown(_("**Traceback** (your files only)") if r.error.get("student") else _("**Traceback**"))
        st.code("\n".join(lines), language="text", wrap_lines=True)
    if r.output.strip():
        with st.expander(_("What it printed"), key="code.printed"):
            st.code(r.output, language="text", wrap_lines=True)
