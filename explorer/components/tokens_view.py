"""Compare's "Words or characters?": the notebook's closing question, then its answer measured.

`words_or_characters(picked, ds)` quotes the question, finds a word model and a character
model of the same cell and size trained on the same images (runs of the pair recipe,
`explorer.runs.settings.pair_config`; this person's first, then anyone's), offers to train
the one that is missing, and puts `core.tokens.measure` of both side by side: parameters per
layer, timesteps, time, memory, loss, BLEU, invented words and the gradient that reaches the
first step, for the vanilla RNN and the LSTM where both pairs exist. Beside the evidence, a
box for the student's own answer, kept for the session.
"""
from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from core.data.characters import TOKENS
from core.model import CELL_TYPES, cell_name
from core.tokens import BATCH, LAYERS, Measured, measure
from explorer import state
from explorer.components.model_picker import PickedModel
from explorer.components.run_panel import progress_text
from explorer.i18n import N_, _, said
from explorer.runs.base import EngineUnavailable, RunInfo, RunLimitError
from explorer.runs.settings import pair_config, same_recipe

CELL = "compare.tokens.cell"           # the cell of the pair on show
ANSWER = "compare.tokens.answer"       # the student's own answer
PROBLEM = "compare.tokens.problem"     # why the last Train press started nothing
IMAGES = 50                            # val images scored per model
POLL_SECONDS = 2.0
COURSE_VOCABULARY = 1004               # words in the course's COCO vocabulary, specials included

QUESTION = N_(
    "In our current image captioning setup, our RNN language model produces a word at every timestep as its "
    "output. However, an alternate way to pose the problem is to train the network to operate over characters "
    "(e.g. 'a', 'b', etc.) as opposed to words, so that at every timestep, it receives the previous character "
    "as input and tries to predict the next character in the sequence. For example, the network might generate "
    "a caption like 'A', ' ', 'c', 'a', 't', ' ', 'o', 'n', ' ', 'a', ' ', 'b', 'e', 'd'. Can you describe one "
    "advantage of an image-captioning model that uses a character-level RNN? Can you also describe one "
    "disadvantage? HINT: there are several valid answers, but it might be useful to compare the parameter "
    "space of word-level and character-level models.")
TOKEN_NAMES = {"words": N_("word model"), "characters": N_("character model")}      # as columns
MODEL_NAMES = {"words": N_("the word model"), "characters": N_("the character model")}
LAYER_NAMES = {"embedding": N_("Embedding V × W"), "image projection": N_("Image projection D × H"),
               "recurrent": N_("Recurrent weights"), "output": N_("Output H × V"), "total": N_("Total parameters")}


# --- the pair's runs -----------------------------------------------------------------

def _same_dataset(info: RunInfo, ds: state.Dataset) -> bool:
    return (str(info.dataset.get("base_dir")) == str(ds.base_dir)
            and info.dataset.get("pca_features") == ds.pca_features)


def pair_runs(ds: state.Dataset, cell: str) -> dict[str, RunInfo | None]:
    """{tokens: the run of the pair recipe to use}: a finished one before one still training,
    this person's before anyone's, the newest first; None where there is none."""
    owner = state.owner_id()
    runs = [r for r in state.runner().runs() if _same_dataset(r, ds)
            and r.status in ("done", "queued", "running")]
    found = {}
    for tokens in TOKENS:
        config = pair_config(cell, tokens)
        fits = [r for r in runs if same_recipe(r.config, config)]
        fits.sort(key=lambda r: (r.status != "done", r.owner != owner, -r.created))
        found[tokens] = fits[0] if fits else None
    return found


def _train(ds: state.Dataset, cell: str, tokens: str) -> None:
    """Start the pair recipe's run for `tokens` (a callback: the page reruns after it)."""
    st.session_state.pop(PROBLEM, None)
    if pair_runs(ds, cell)[tokens] is not None:               # a double click: it is running already
        return
    dataset = {"base_dir": str(ds.base_dir), "pca_features": ds.pca_features, "is_demo": ds.is_demo}
    try:
        state.runner().start(pair_config(cell, tokens), dataset, owner=state.owner_id())
    except (RunLimitError, EngineUnavailable) as e:
        st.session_state[PROBLEM] = said(e)
    except OSError as e:
        st.session_state[PROBLEM] = _("The run could not be saved: {error}").format(error=e)


@st.cache_resource(max_entries=8, show_spinner=False)
def _load(run_id: str, status: str, iteration: int):
    return state.runner().load_model(run_id)[0]


@st.cache_data(max_entries=16, show_spinner=False)
def _measure(run_id: str, iteration: int, dataset_key: str, _model, _data, _words) -> Measured:
    return measure(_model, _data, _words, n=IMAGES, gradient_captions=10)


def _measured(info: RunInfo, words_ds: state.Dataset) -> Measured | None:
    """A finished run's measurements on the dataset its tokens read, or None (said why)."""
    try:
        model = _load(info.run_id, info.status, info.iteration)
    except (KeyError, ValueError, OSError) as e:
        st.warning(_("The model of run “{run}” cannot be loaded: {error}").format(run=info.label, error=said(e)))
        return None
    ds = state.for_model(words_ds, model)
    return _measure(info.run_id, info.iteration, ds.key, model, ds.data, words_ds.data["idx_to_word"])


# --- the page ------------------------------------------------------------------------

def words_or_characters(picked: PickedModel, ds: state.Dataset) -> None:
    """The tab: the question, the pair, the measured answer, the student's answer."""
    words_ds = state.dataset()                 # the page's `ds` holds characters for a character model
    st.markdown(_("#### The notebook's question"))
    st.markdown("> " + html.escape(_(QUESTION)))
    st.caption(_("Students answer it from intuition. Here two models of the same cell and size answer it by "
                 "experiment: one reads and writes words, the other characters, both trained on the same "
                 "{n:,} captions with the same recipe.").format(n=pair_config("rnn", "words").max_train))
    st.session_state.setdefault(CELL, picked.model.cell_type)
    cell = st.segmented_control(_("Cell"), CELL_TYPES, key=CELL, required=True,
                                format_func=lambda c: _(cell_name(c)))
    runs = pair_runs(words_ds, cell)
    _pair_status(runs, words_ds, cell)
    ready = {t: r for t, r in runs.items() if r is not None and r.status == "done"}
    measured = {}
    if ready:
        with st.spinner(_("Measuring the models (a few seconds, once per model)…")):
            for tokens, info in ready.items():
                result = _measured(info, words_ds)
                if result is not None:
                    measured[tokens] = result
    if len(measured) == len(TOKENS):
        _answer_table(measured)
        _invented(measured["characters"])
    elif measured:
        st.info(_("The table appears when both models are trained; meanwhile, {model} alone:").format(
            model=_(MODEL_NAMES[next(iter(measured))])), icon=":material/hourglass_top:")
        _answer_table(measured)
    _gradients(words_ds, cell, measured)
    st.markdown(_("#### Your answer"))
    st.text_area(_("One advantage and one disadvantage of a character-level model, with the numbers above "
                   "that show them"), key=ANSWER, height=140, max_chars=4000, persist_state="session",
                 placeholder=_("Advantage: … Disadvantage: …"))


def _pair_status(runs: dict, ds: state.Dataset, cell: str) -> None:
    """One line per model of the pair: trained, training (with its progress) or a Train button."""
    active = [r.run_id for r in runs.values() if r is not None and r.status != "done"]
    columns = st.columns(len(TOKENS))
    for column, (tokens, info) in zip(columns, runs.items()):
        with column:
            name = _(MODEL_NAMES[tokens])
            if info is None:
                st.markdown(_("**{model}**: not trained yet.").format(model=name.capitalize()))
                st.button(_("Train {model}").format(model=name), key=f"compare.tokens.train.{cell}.{tokens}",
                          icon=":material/model_training:", on_click=_train, args=(ds, cell, tokens),
                          help=_("{iterations:,} iterations of the pair's recipe on the Train page's runner; "
                                 "the character LSTM takes minutes.").format(
                              iterations=pair_config(cell, tokens).num_iterations))
            elif info.status == "done":
                st.markdown(_("**{model}**: run “{run}”.").format(model=name.capitalize(), run=info.label))
            else:
                st.markdown(_("**{model}**: training, run “{run}”.").format(model=name.capitalize(),
                                                                           run=info.label))
    if st.session_state.get(PROBLEM):
        st.warning(st.session_state[PROBLEM], icon=":material/front_hand:")
    if active:
        _watch(tuple(active))


@st.fragment(run_every=POLL_SECONDS)
def _watch(run_ids: tuple[str, ...]) -> None:
    """The pair's runs still training, polled; one full rerun once they have all ended."""
    runner = state.runner()
    infos = []
    for run_id in run_ids:
        try:
            infos.append(runner.get(run_id))
        except KeyError:
            continue
    for info in infos:
        st.progress(min(info.iteration / info.total, 1.0) if info.total else 0.0,
                    text=f"{info.label}: {progress_text(info)}")
    if not any(info.is_active for info in infos):
        st.rerun(scope="app")


def _answer_table(measured: dict[str, Measured]) -> None:
    """The measured side by side: one row per quantity, one column per kind of token."""
    rows: list[tuple[str, dict[str, str]]] = []

    def row(label: str, show) -> None:
        rows.append((label, {t: show(m) for t, m in measured.items()}))

    row(_("Vocabulary V"), lambda m: f"{m.vocab_size:,}")
    for layer in (*LAYERS, "total"):
        row(_(LAYER_NAMES[layer]), lambda m, layer=layer: f"{m.params[layer]:,}")
    row(_("Timesteps per caption (mean / max)"), lambda m: f"{m.steps_mean:.1f} / {m.steps_max}")
    row(_("Time per iteration ({n} captions, forward and backward)").format(n=BATCH),
        lambda m: _("{ms:,.0f} ms").format(ms=m.seconds_per_iteration * 1000))
    row(_("Time per caption (greedy sampling)"), lambda m: _("{ms:,.1f} ms").format(ms=m.seconds_per_caption * 1000))
    row(_("Activation memory ({n} captions)").format(n=BATCH),
        lambda m: _("{mb:,.1f} MB").format(mb=m.activation_bytes / 1e6))
    row(_("Loss per caption (−log p, val)"), lambda m: f"{m.loss_per_caption:.1f}")
    for n in range(4):
        row(_("BLEU-{n} (val)").format(n=n + 1), lambda m, n=n: f"{m.bleu[n]:.3f}")
    row(_("Sampled words not in the vocabulary"), lambda m: f"{m.invented_share:.1%}")
    row(_("Gradient reaching step 0 (median)"), lambda m: f"×{m.reach:.2g}")
    table = pd.DataFrame({_("measured"): [label for label, _values in rows],
                          **{_(TOKEN_NAMES[t]): [values[t] for _label, values in rows] for t in measured}})
    st.markdown(_("#### The answer, measured"))
    st.dataframe(table, hide_index=True, width="stretch", height="content")
    if len(measured) == len(TOKENS):
        w, c = measured["words"], measured["characters"]
        st.caption(_("The same caption is {ratio:.1f} times as many steps as characters: every step costs time "
                     "and memory, and the gradient has that much farther to travel. The embedding and output "
                     "layers shrink with V, but the image projection and the recurrent weights, which depend "
                     "only on D, W and H, do not: the total shrinks by {saved:.0%}. Losses are of the same "
                     "text, so they compare directly.").format(
            ratio=c.steps_mean / w.steps_mean, saved=1 - c.params["total"] / w.params["total"]))
        if w.vocab_size < COURSE_VOCABULARY:
            def ends(V: int) -> int:                  # embedding V x W, output H x V and its bias
                return V * w.wordvec_dim + (w.hidden_dim + 1) * V
            st.caption(_("The demo's vocabulary is small. With the course's {V:,} words the same model's embedding "
                         "and output layers would hold {words:,} parameters, against {chars:,} for these "
                         "characters.").format(V=COURSE_VOCABULARY, words=ends(COURSE_VOCABULARY),
                                               chars=ends(c.vocab_size)))


def _invented(chars: Measured) -> None:
    if chars.invented:
        st.markdown(_("**Words the character model wrote that are not in the vocabulary** (invented or misspelt): "
                      "{words}").format(words=", ".join(f"`{w}`" for w in chars.invented)))
    else:
        st.markdown(_("The character model wrote only words of the vocabulary on these images."))


def _gradients(ds: state.Dataset, shown_cell: str, measured: dict[str, Measured]) -> None:
    """How much of the last word's gradient reaches step 0, for both cells where their pairs exist."""
    table = {}
    for cell in CELL_TYPES:
        if cell == shown_cell:
            found = measured
        else:
            found = {}
            done = {t: r for t, r in pair_runs(ds, cell).items() if r is not None and r.status == "done"}
            if done:
                with st.spinner(_("Measuring the models (a few seconds, once per model)…")):
                    for tokens, info in done.items():
                        result = _measured(info, ds)
                        if result is not None:
                            found[tokens] = result
        table[_(cell_name(cell))] = [f"×{found[t].reach:.2g}" if t in found else "—" for t in TOKENS]
    st.markdown(_("#### How much of the last word's gradient reaches the first step"))
    st.dataframe(pd.DataFrame(table, index=[_(TOKEN_NAMES[t]) for t in TOKENS]), width="content")
    st.caption(_("The median over val captions of ||dL_T/dx_0|| / ||dL_T/dx_T-1||: the last token's gradient on "
                 "the first token's vector, relative to its own. “—”: that model is not trained yet (choose its "
                 "cell above to train it). Inspect's *RNN vs LSTM gradients* shows one caption step by step."))
