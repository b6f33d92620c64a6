"""The layer lab's results: a verdict, and a table of every check against its threshold."""
from __future__ import annotations

import streamlit as st

from core.checks import CheckReport, CheckRow, run_checks
from explorer.caching import spinning
from explorer.components.labels import label_column
from explorer.components.plots import FAIL_COLOR, PASS_COLOR
from explorer.components.tables import table
from explorer.i18n import N_, _

PASSED, NOISY, FAILED = N_("passed"), N_("passed (noisy near-zero entries)"), N_("FAILED")
# the table's columns, as the reader reads them
COLUMNS = {"check": N_("check"), "quantity": N_("quantity"), "measure": N_("measure"), "value": N_("value"),
           "over the array": N_("over the array"), "must be": N_("must be"), "result": N_("result")}


@spinning(N_("Running the forward and numeric gradient checks…"))
@st.cache_data(show_spinner=False, max_entries=64)
def checks(key: str, sizes: tuple, seed: int, broken: bool) -> CheckReport:
    """`run_checks` for a layer, its sizes as (letter, size) pairs, a seed and whether its
    backward pass is broken on purpose; cached, and decorated here rather than in the page,
    whose script runs anew (decorator included) on every run."""
    return run_checks(key, dict(sizes), seed, broken)


def _value(row: CheckRow) -> str:
    return f"{row.value:.4f}" if row.measure == "value" else f"{row.value:.2e}"


def _result(row: CheckRow) -> str:
    if row.noisy:
        return _(NOISY)
    return _(PASSED) if row.passed else _(FAILED)


def result_color(result: str) -> str:
    """A result's tag colour: green for a pass (noisy or not), red for a failure."""
    return PASS_COLOR if result in (_(PASSED), _(NOISY)) else FAIL_COLOR


def results_table(rows: list[CheckRow]) -> dict[str, list]:
    """One line per check, as the table shows it: its columns (headers in the reader's
    language), for `tables.table`."""
    return {
        _(COLUMNS["check"]): [_(r.check) for r in rows],
        _(COLUMNS["quantity"]): [_(r.quantity) for r in rows],
        _(COLUMNS["measure"]): [_(r.measure) for r in rows],
        _(COLUMNS["value"]): [_value(r) for r in rows],
        _(COLUMNS["over the array"]): ["" if r.array_error is None else f"{r.array_error:.1e}" for r in rows],
        _(COLUMNS["must be"]): [_(r.expected) for r in rows],
        _(COLUMNS["result"]): [_result(r) for r in rows],
    }


def verdict(report: CheckReport) -> None:
    """Whether every check passed, and if not which failed (and whose fault that is)."""
    failures = report.failures
    total = len(report.rows)
    if not failures:
        st.success(_("All {n} checks passed.").format(n=total),
                   icon=":material/check_circle:")
        return
    st.error(_("{failed} of {n} checks failed: {names}.")
             .format(failed=len(failures), n=total, names=", ".join(_(r.quantity) for r in failures)),
             icon=":material/cancel:")
    if not report.broken:
        st.info(_("The backward pass here is Caption Lab's reference implementation, so this "
                  "failure is the numeric gradient's: these sizes and seed push tanh and the "
                  "sigmoids into saturation (or a vanilla RNN into chaos), where centred "
                  "differences lose their accuracy. Try smaller sizes or another seed."))


def check_table(report: CheckReport) -> None:
    """The table of every check's value against what it must be."""
    columns = results_table(list(report.rows))
    # columns sized by their contents, so the value and the result stay in view on a projector
    result, over = _(COLUMNS["result"]), _(COLUMNS["over the array"])
    tags = label_column(columns, result, result_color)
    st.dataframe(table(columns), hide_index=True, width="stretch",
                 column_config={result: tags,
                                over: st.column_config.TextColumn(
                     help=_("‖a − b‖ / (‖a‖ + ‖b‖): not fooled by entries that are almost zero"))})
