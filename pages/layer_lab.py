"""Layer lab: the notebook's forward and numeric-gradient checks, one layer at a time."""
import streamlit as st

from core.checks import (ARRAY_ERROR, LAYERS, MAX_SIZE, NOTEBOOK_SEED, NUMERIC_GRADIENT, REL_ERROR,
                         SIZE_NAMES, CheckError)
from explorer import presenter
from explorer.components import plots
from explorer.components.check_report import check_table, checks, verdict
from explorer.i18n import N_, _

LAYER = "lab.layer"
SETUP = "lab.setup"
SEED = "lab.seed"
BROKEN = "lab.broken"
SIZE = "lab.size"                  # + f".{layer}.{letter}": one number input per size
SETUPS = (N_("Notebook's"), N_("My own"))


presenter.heading(_("Layer lab"), _(
    "Every check the notebook runs on the captioning layers, one click away. A forward check "
    "feeds fixed `np.linspace` inputs and compares with the values the notebook prints; a "
    "gradient check compares the backward pass with a numeric gradient from centred differences, "
    "in float64. Errors near 1e-8 or below mean the derivative is right. To see what a wrong one "
    "looks like, break the backward pass and watch the errors jump."))

key = st.pills(_("Layer"), list(LAYERS), default="rnn_step", required=True, key=LAYER,
               format_func=lambda k: _(LAYERS[k].title), persist_state="session")
layer = LAYERS[key]

lab = st.grid(2, min_column_width=400, gap=("medium", "large"))   # side by side, or stacked
equations, settings = lab.cell(), lab.cell()
with settings:
    with st.container(border=True):
        setup = st.segmented_control(_("Sizes and seed"), SETUPS, default=SETUPS[0], required=True,
                                     key=SETUP, persist_state="session", format_func=_)
        if setup == SETUPS[0]:
            sizes, seed = dict(layer.sizes), NOTEBOOK_SEED
            st.caption(_("{sizes}; seed {seed}, as `np.random.seed({seed})` in the notebook.").format(
                sizes=", ".join(f"{k} = {v}" for k, v in sizes.items()), seed=NOTEBOOK_SEED))
        else:
            columns = st.columns(len(layer.sizes) + 1)
            sizes = {letter: col.number_input(letter, 1, MAX_SIZE, value, key=f"{SIZE}.{key}.{letter}",
                                              help=_(SIZE_NAMES[letter]), persist_state="session")
                     for col, (letter, value) in zip(columns, layer.sizes.items())}
            seed = columns[-1].number_input(_("seed"), 0, 2**32 - 1, NOTEBOOK_SEED, key=SEED,
                                            persist_state="session")
        broken = st.toggle(_("Break the backward pass"), key=BROKEN, persist_state="session",
                           help=_("Swap in a backward pass with one deliberately wrong derivative."))
    try:
        report = checks(key, tuple(sizes.items()), int(seed), bool(broken))
    except CheckError as e:
        report = None
        st.warning(_(e.args[0]), icon=":material/straighten:")
    else:
        verdict(report)
        plots.error_chart(report.rows, _(layer.title), key)

with equations:
    st.subheader(_(layer.title))
    st.caption(f"`{layer.functions}`")
    forward, backward = layer.equations
    st.markdown(_("**Forward**"))
    st.latex(forward)
    st.markdown(_("**Backward**"))
    st.latex(backward)
    if broken:
        st.markdown(_(":red[**Broken backward pass.**] {bug}").format(bug=_(layer.bug)))
        st.latex(rf"\textcolor{{#c62828}}{{{layer.bug_equation}}}")

if report is not None:
    check_table(report)

with st.expander(_("How the checks measure an error")):
    st.latex(NUMERIC_GRADIENT)
    st.latex(REL_ERROR)
    st.markdown(_("The notebook's relative error is a maximum over entries, so one entry whose "
                "gradient is almost zero can show a large error from round-off alone. A row "
                "therefore also passes when the error over the whole array is under the "
                "threshold; a wrong derivative fails both."))
    st.latex(ARRAY_ERROR)
