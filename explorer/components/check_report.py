"""The layer lab's results: a verdict, and a table of every check against its threshold."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.checks import CheckReport, CheckRow
from explorer.components.labels import label_column
from explorer.components.plots import FAIL_COLOR, PASS_COLOR


def _value(row: CheckRow) -> str:
    return f"{row.value:.4f}" if row.measure == "value" else f"{row.value:.2e}"


def _result(row: CheckRow) -> str:
    if row.noisy:
        return "passed (noisy near-zero entries)"
    return "passed" if row.passed else "FAILED"


def _color(result: str) -> str:
    return PASS_COLOR if result.startswith("passed") else FAIL_COLOR


def results_table(rows: list[CheckRow]) -> pd.DataFrame:
    """One line per check, as the table shows it."""
    return pd.DataFrame({
        "check": [r.check for r in rows],
        "quantity": [r.quantity for r in rows],
        "measure": [r.measure for r in rows],
        "value": [_value(r) for r in rows],
        "over the array": ["" if r.array_error is None else f"{r.array_error:.1e}" for r in rows],
        "must be": [r.expected for r in rows],
        "result": [_result(r) for r in rows],
    })


def verdict(report: CheckReport) -> None:
    """Whether every check passed, and if not which failed (and whose fault that is)."""
    failures = report.failures
    total = len(report.rows)
    if not failures:
        st.success(f"All {total} checks passed.", icon=":material/check_circle:")
        return
    st.error(f"{len(failures)} of {total} checks failed: {', '.join(r.quantity for r in failures)}.",
             icon=":material/cancel:")
    if not report.broken:
        st.info("The backward pass here is Caption Lab's reference implementation, so this "
                "failure is the numeric gradient's: these sizes and seed push tanh and the "
                "sigmoids into saturation (or a vanilla RNN into chaos), where centred "
                "differences lose their accuracy. Try smaller sizes or another seed.")


def check_table(report: CheckReport) -> None:
    """The table of every check's value against what it must be."""
    table = results_table(list(report.rows))
    # columns sized by their contents, so the value and the result stay in view on a projector
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"result": label_column(table, "result", _color),
                                "over the array": st.column_config.TextColumn(
                     help="‖a − b‖ / (‖a‖ + ‖b‖): not fooled by entries that are almost zero")})
