"""The new-run form: a preset or custom settings, a message beside every bad field, Start.

A preset shows what it means (the notebook's overfit cell) in a small table, folded under
Start. *Slow motion* paces any run for a class to watch. "Custom"
opens every setting, starting from the preset chosen last. Each field is checked by
`RunConfig.validate` on every change, and a problem is shown right under its field; Start
is only enabled when there is none.
"""
from __future__ import annotations

from dataclasses import fields

import streamlit as st

from core.optim import RULES, format_lr
from core.data.characters import TOKENS
from core.model import CELL_TYPES
from explorer import state
from explorer.components.tables import table
from explorer.i18n import N_, _
from explorer.runs.settings import CUSTOM, DTYPES, PRESETS, RunConfig

CHOICES = (*PRESETS, CUSTOM)
SLOW_MOTION = (0, 30, 60, 120)         # seconds for the whole run; 0 is full speed
SLOW_KEY = "train.slow_motion"
OVERFIT_NOTE = N_("The course notebook's overfitting cell: a small model memorises 50 training captions.")
CHARACTERS_NOTE = N_("The notebook's overfitting cell on characters: the same 50 captions, one letter or space "
                     "per step, about 55 steps a caption instead of 12 (the notebook's closing question; "
                     "Compare's *Words or characters?*).")
PRESET_NOTES = {      # English, translated where shown (as are the presets' names)
    "Notebook RNN overfit": OVERFIT_NOTE,
    "Notebook LSTM overfit": OVERFIT_NOTE,
    "Notebook RNN overfit, characters": CHARACTERS_NOTE,
    "Notebook LSTM overfit, characters": CHARACTERS_NOTE,
    "Demo recipe (generalises)": N_("The demo dataset's recipe: 10,000 training captions, 10 epochs, a model "
                                    "that learns to describe images it never saw (Compare's *What it sees* "
                                    "probes it)."),
    "Demo recipe, features shuffled": N_("The same recipe, every caption paired with another image's features: "
                                         "the baseline for what a model guesses from word statistics alone."),
}
LABELS = {"cell_type": N_("Cell"), "hidden_dim": N_("Hidden size H"), "wordvec_dim": N_("Word-vector size W"),
          "update_rule": N_("Update rule"), "learning_rate": N_("Learning rate"),
          "lr_decay": N_("Decay per epoch"), "batch_size": N_("Batch size"), "num_epochs": N_("Epochs"),
          "max_train": N_("Training captions"), "seed": N_("Seed"), "dtype": "dtype",
          "snapshot_every": N_("Snapshot every"), "shuffle_features": N_("Features shuffled"),
          "slow_motion": N_("Slow motion"), "tokens": N_("Tokens")}
TOKEN_NAMES = {"words": N_("a word a step"), "characters": N_("a character a step")}
HELP = {"max_train": N_("How many captions to overfit, drawn from the training split with "
                        "replacement after the seed, as load_coco_data(max_train=...) does."),
        "seed": N_("np.random.seed(seed) runs first, so one seed gives one loss curve."),
        "lr_decay": N_("The learning rate is multiplied by this after every epoch."),
        "snapshot_every": N_("Every k iterations the model captions a few fixed training images "
                             "for the evolution view."),
        "tokens": N_("What one timestep reads and writes: a word of the vocabulary, or one character "
                     "(a letter or the space between words), as the notebook's closing question asks."),
        "shuffle_features": N_("Pair every caption with another image's features: the model can learn only "
                               "what captions look like, a baseline for what a real one sees.")}


def _key(name: str) -> str:
    return state.TRAIN_FIELD + name


def _fill(config: RunConfig) -> None:
    for f in fields(RunConfig):
        st.session_state[_key(f.name)] = getattr(config, f.name)


def _on_preset() -> None:
    """A preset fills the custom fields, so "Custom" starts from the last preset chosen."""
    choice = st.session_state[state.TRAIN_PRESET]
    if choice in PRESETS:
        _fill(PRESETS[choice])


def _custom_fields(problems: dict[str, str]) -> None:
    def problem(name):
        if name in problems:
            st.caption(f":red[:material/error: {_(problems[name])}]")

    def number(column, name, step, fmt=None):
        with column:
            st.number_input(_(LABELS[name]), key=_key(name), step=step, format=fmt,
                            help=_(HELP[name]) if name in HELP else None,
                            persist_state="session")
            problem(name)

    left, right = st.columns(2)                 # each control in a column of its own: never clipped
    with left:
        st.segmented_control(_(LABELS["cell_type"]), CELL_TYPES, key=_key("cell_type"),
                             format_func=str.upper, persist_state="session", required=True)
        problem("cell_type")
    with right:
        st.segmented_control(_(LABELS["tokens"]), TOKENS, key=_key("tokens"), help=_(HELP["tokens"]),
                             format_func=lambda t: _(TOKEN_NAMES[t]), persist_state="session", required=True)
        problem("tokens")
    left, right = st.columns(2)
    with left:
        st.selectbox(_(LABELS["update_rule"]), list(RULES), key=_key("update_rule"), persist_state="session")
        problem("update_rule")
    with right:
        st.selectbox(LABELS["dtype"], DTYPES, key=_key("dtype"), persist_state="session",
                     help=_("float32 trains as the notebook does; float64 is slower but rounds less."))
        problem("dtype")
    rows = [("hidden_dim", "wordvec_dim"), ("learning_rate", "lr_decay"), ("batch_size", "num_epochs"),
            ("max_train", "seed")]
    for a, b in rows:
        left, right = st.columns(2)
        for column, name in ((left, a), (right, b)):
            if name == "learning_rate":
                number(column, name, step=1e-3, fmt="%g")
            elif name == "lr_decay":
                number(column, name, step=0.005, fmt="%g")
            else:
                number(column, name, step=1)
    left, right = st.columns(2, vertical_alignment="bottom")
    number(left, "snapshot_every", step=1)
    with right:
        st.toggle(_(LABELS["shuffle_features"]), key=_key("shuffle_features"), help=_(HELP["shuffle_features"]),
                  persist_state="session")


def _config_from_fields() -> RunConfig:
    values = {f.name: st.session_state.get(_key(f.name), getattr(PRESETS[CHOICES[0]], f.name))
              for f in fields(RunConfig)}
    return RunConfig(**values)


def _summary(config: RunConfig) -> None:
    st.dataframe(table({_("setting"): [_(LABELS[f.name]) for f in fields(RunConfig)],
                        _("value"): [_show(f.name, getattr(config, f.name)) for f in fields(RunConfig)]}),
                 hide_index=True, width="stretch", height="content")


def _show(name: str, value) -> str:
    if name == "learning_rate":
        return format_lr(value)
    if name == "cell_type":
        return value.upper()
    if name == "snapshot_every":
        return _("{n} iterations").format(n=value)
    if name == "shuffle_features":
        return _("yes") if value else _("no")
    if name == "tokens":
        return _(TOKEN_NAMES.get(value, value))
    if name == "slow_motion":
        return _("{s:g} s").format(s=value) if value else _("off")
    return f"{value:g}" if isinstance(value, float) else str(value)


def _slow_motion() -> float:
    """The pace for a class to watch: the whole run spread over this many seconds (0: full speed)."""
    pace = st.segmented_control(_(LABELS["slow_motion"]), SLOW_MOTION, key=SLOW_KEY, default=0, required=True,
                                persist_state="session", format_func=lambda s: _show("slow_motion", s),
                                help=_("Spread the run over this many seconds, so that a class can watch the "
                                       "loss fall and the captions change. The numbers are the same at any "
                                       "speed."))
    return float(pace or 0)


def run_form(num_train_available: int) -> RunConfig | None:
    """Draw the form; return the settings when Start was pressed and they are valid.

    Start sits right under the preset and its pace, above the preset's settings table,
    so that on a 1280x720 projector it is on screen beside the loss chart."""
    if state.TRAIN_PRESET not in st.session_state:
        st.session_state[state.TRAIN_PRESET] = CHOICES[0]
        _fill(PRESETS[CHOICES[0]])
    choice = st.radio(_("Settings"), CHOICES, key=state.TRAIN_PRESET, on_change=_on_preset,
                      persist_state="session", label_visibility="collapsed", format_func=_)
    pace = _slow_motion()
    preset = choice in PRESETS
    config = (PRESETS[choice] if preset else _config_from_fields()).replace(slow_motion=pace)
    problems = config.validate(num_train_available)
    pressed = st.button(_("Start"), type="primary", icon=":material/play_arrow:", width="stretch",
                        disabled=bool(problems))
    notes = []                                     # one caption of one or two paragraphs: one element
    if not problems:
        notes.append(_("**{iterations:,} iterations**: {per_epoch} per epoch × {epochs} epochs.").format(
            iterations=config.num_iterations, per_epoch=config.iterations_per_epoch, epochs=config.num_epochs))
    if preset:
        notes.append(_("{note} Choose *Custom* to change anything.").format(
            note=_(PRESET_NOTES[choice]) if choice in PRESET_NOTES else ""))
    if notes:
        st.caption("\n\n".join(notes))
    if preset:
        with st.expander(_("The preset's settings")):
            _summary(config)
        for name, text in problems.items():
            st.error(_("{setting}: {problem}").format(setting=_(LABELS[name]), problem=_(text)))
    else:
        _custom_fields(problems)
    return config if pressed and not problems else None
