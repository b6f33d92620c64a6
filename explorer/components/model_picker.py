"""Which model Inspect and Compare look at: a training run, a checkpoint file, or an untrained one.

`model_picker(ds)` draws the choice (in the sidebar by default) and returns a
`PickedModel`, or None after explaining in the page why there is none: no run has a
checkpoint yet, the file is not a checkpoint, or the model was built for other features
or another vocabulary than the dataset in the sidebar. A model from a run (or from a
checkpoint a run wrote, which keeps the run's settings) knows which train images it trained
on, when the sidebar's dataset is the run's. Models are cached per weights
(run and snapshot, file and modification time, untrained configuration), so a rerun
never reloads them. The shared picker keeps `state.MODEL_RUN` in step with its run, so
the Train page's "use in Inspect/Compare" lands here, and the address names it
(`?run=<run id>`), so a link opens it. On a first visit it opens this person's own newest
run, never someone else's (another person's can still be chosen, and the model line says
whose it is); a run that was deleted gives a sentence saying so, and by whom.
"""
from __future__ import annotations

import functools

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import streamlit as st

from core.arguments import is_whole
from core.checkpoint import CheckpointError, load_checkpoint
from core.data.characters import is_characters
from core.evaluate import ModelMismatch, check_compatible
from core.model import CaptioningRNN, cell_name
from explorer import address, admin, code_access, state
from explorer.components.runs_table import gone_sentence, status_word, who
from explorer.caching import spinning
from explorer.i18n import N_, _, said
from explorer.runs.base import RunInfo
from explorer.runs.settings import RunConfig, training_rows

RUN, FILE, UNTRAINED = N_("Training run"), N_("Checkpoint file"), N_("Untrained")   # shown translated
SOURCES = (RUN, FILE, UNTRAINED)
HIDDEN_SIZES = (32, 64, 128, 256, 512)
WORDVEC_DIM = 256                    # the notebook's word vector size
SHARED = "model"                     # key prefix of the picker Inspect and Compare share


@dataclass(frozen=True)
class PickedModel:
    """A loaded model that fits the current dataset."""

    model: CaptioningRNN
    key: str                         # names these exact weights, for caches and session state
    origin: str                      # where it comes from: 'run “lstm-1” (done, iteration 500)'
    note: str | None = None          # e.g. "still training: snapshot at iteration 300"
    trained_on: dict | None = None   # the dataset it was trained on (base_dir, pca_features, is_demo)
    config: dict | None = None       # its run's settings (RunConfig as a dict), when known
    untrained: bool = False          # random weights: it has seen no data at all
    trained_images: np.ndarray | None = None   # sorted train images of its training captions, when known
    run_id: str | None = None        # the training run it comes from, when it does
    owner: str | None = None         # that run's owner id
    code: dict | None = None         # that run trained a student's own code: package, origin, digest

    @property
    def cell_name(self) -> str:
        return _(cell_name(self.model.cell_type))

    @property
    def max_train(self) -> int | None:
        """How many training captions its run drew from the train split, when known."""
        value = (self.config or {}).get("max_train")
        return int(value) if is_whole(value) else None

    @property
    def label(self) -> str:
        """What to call it in headings: 'LSTM, 512 units · untrained (seed 0)'."""
        return f"{_describe(self.model)} · {self.origin}"


def _keys(prefix: str) -> dict[str, str]:
    """The picker's session keys, "<prefix>.<name>": the widgets "source", "run", "file", "cell",
    "hidden", "seed"; "choice" (dict of their values, shared by pages); "refresh" (dict: run id
    -> the snapshot iteration on show); "synced_run" (the `state.MODEL_RUN` last written);
    "gone" ((why the run chosen before is gone, the run shown instead), until another is chosen)."""
    return {name: f"{prefix}.{name}" for name in
            ("source", "run", "file", "cell", "hidden", "seed", "refresh", "synced_run", "choice", "gone")}


# A widget's state belongs to its page (Streamlit folds the page into the widget's id), so
# the picker keeps its choice in one plain session entry, `<prefix>.choice`, seeds every
# widget from it on every page, and updates it from the widget's on_change.

def _choice(k: dict) -> dict:
    return st.session_state.setdefault(k["choice"], {})


def _bound(k: dict, name: str) -> dict:
    """Keyword arguments that tie widget `name` to the choice (seeded here before it renders)."""
    choice = _choice(k)
    if name in choice:
        st.session_state[k[name]] = choice[name]
    return {"key": k[name], "on_change": _remember, "args": (k, name)}


def _remember(k: dict, name: str) -> None:
    _choice(k)[name] = st.session_state[k[name]]


# --- loading (cached) ----------------------------------------------------------------

@spinning(N_("Loading the checkpoint…"), show_time=False)
@st.cache_resource(show_spinner=False, max_entries=8)
def _load_file(path: str, mtime_ns: int, size: int):
    return load_checkpoint(path)


@spinning(N_("Loading the run's model…"), show_time=False)
@st.cache_resource(show_spinner=False, max_entries=8)
def _load_run(run_id: str, status: str, snapshot: int | None):
    return state.runner().load_model(run_id)


@st.cache_resource(max_entries=8)
def _untrained(cell: str, hidden: int, seed: int, input_dim: int, dataset_key: str, _word_to_idx: dict):
    return CaptioningRNN(_word_to_idx, input_dim=input_dim, wordvec_dim=WORDVEC_DIM, hidden_dim=hidden,
                         cell_type=cell, rng=np.random.default_rng(seed))


def _trained_on(dataset: dict | None) -> str:
    if not dataset:
        return ""
    kind = state.feature_kind(dataset.get("pca_features"))
    if dataset.get("is_demo"):
        return " " + _("It was trained on the demo dataset with {kind} features.").format(kind=kind)
    return " " + _("It was trained on COCO at `{folder}` with {kind} features.").format(
        folder=dataset.get("base_dir"), kind=kind)


@st.cache_data(max_entries=16, show_spinner=False)
def trained_images(dataset_key: str, seed: int, max_train: int, _image_idxs: np.ndarray) -> np.ndarray:
    """The sorted train images whose captions a run of this seed and size trained on (cached per dataset)."""
    return np.unique(_image_idxs[training_rows(RunConfig(seed=seed, max_train=max_train), len(_image_idxs))])


def _same_dataset(trained_on: dict, ds: state.Dataset) -> bool:
    base_dir = trained_on.get("base_dir")
    return (isinstance(base_dir, str) and bool(base_dir)
            and _resolved(base_dir) == _resolved(str(ds.base_dir))
            and trained_on.get("pca_features") == ds.pca_features)


@functools.lru_cache(maxsize=256)
def _resolved(folder: str) -> Path:
    """`folder` with `~` and symlinks resolved, once per process: it is asked on every rerun
    of every page that shows a model, and the answer does not change under a running class."""
    return Path(folder).expanduser().resolve()


def _with_trained_images(picked: PickedModel, ds: state.Dataset) -> PickedModel:
    """`picked` with the train images its run trained on, when its settings say so and it ran
    on `ds`; otherwise as it is, with a note when it ran on another dataset."""
    if picked.untrained or picked.config is None:
        return picked
    try:
        config = RunConfig.from_dict(picked.config)
    except (ValueError, TypeError):
        return picked
    num_train = len(ds.data["train_captions"])
    if not picked.trained_on:
        unknown = _("Its checkpoint does not say which dataset it trained on, so which train images "
                    "it saw is unknown.")
    elif not _same_dataset(picked.trained_on, ds):
        kind = state.feature_kind(picked.trained_on.get("pca_features"))
        if picked.trained_on.get("is_demo"):
            unknown = _("It was trained on the demo dataset with {kind} features, not on the sidebar's "
                        "{dataset}, so which train images it saw is unknown here.").format(
                kind=kind, dataset=ds.label)
        else:
            unknown = _("It was trained on COCO at `{folder}` with {kind} features, not on the sidebar's "
                        "{dataset}, so which train images it saw is unknown here.").format(
                folder=picked.trained_on.get("base_dir"), kind=kind, dataset=ds.label)
    elif config.max_train > num_train:
        unknown = _("Its run drew {drawn:,} training captions, more than the {n:,} this dataset has now, so "
                    "which train images it saw is unknown.").format(drawn=config.max_train, n=num_train)
    else:
        images = trained_images(ds.key, config.seed, config.max_train, ds.data["train_image_idxs"])
        return replace(picked, trained_images=images)
    return replace(picked, note=f"{picked.note} {unknown}" if picked.note else unknown)


def _describe(model: CaptioningRNN) -> str:
    if is_characters(model.idx_to_word):
        return _("{cell}, {n} units, characters").format(cell=_(cell_name(model.cell_type, short=True)),
                                                         n=model.hidden_dim)
    return _("{cell}, {n} units").format(cell=_(cell_name(model.cell_type, short=True)), n=model.hidden_dim)


# --- the three sources ---------------------------------------------------------------

def _from_run(k: dict, runner, owner: str) -> PickedModel | str:
    """The sidebar's choice of a training run, then that run's model (or why there is none)."""
    chosen = _draw_run_choice(k, runner, owner)
    return chosen if isinstance(chosen, str) else _load_from_run(*chosen, runner=runner, owner=owner)


def _draw_run_choice(k: dict, runner, owner: str) -> tuple[RunInfo, int] | str:
    """Draw the run selector (and, for a run still training, the snapshot button); return the
    run's info and the checkpoint wanted (its pinned snapshot, or -1 for its final model),
    or a message when no run has saved a model. A chosen run that is gone (deleted, its folder
    removed) gives way to this person's newest run, and `k["gone"]` says why."""
    runs = {r.run_id: r for r in runner.runs() if r.has_checkpoint}
    chosen = _choice(k).get("run")
    if not runs:
        none_yet = _("No training run has saved a model yet. Start one on the Train page, or use a "
                     "checkpoint file or an untrained model.")
        return f"{gone_sentence(runner, chosen, owner)} {none_yet}" if chosen is not None else none_yet
    if chosen not in runs:
        _choice(k)["run"] = next((r for r in runs if runs[r].owner == owner), next(iter(runs)))
        if chosen is not None:
            st.session_state[k["gone"]] = (gone_sentence(runner, chosen, owner), _choice(k)["run"])
    run_id = st.selectbox(_("Run"), list(runs), **_bound(k, "run"),
                          format_func=lambda r: f"{runs[r].label} · {status_word(runs[r].status)} · "
                                                f"{who(runs[r], owner)}")
    info = runs[run_id]
    if not info.is_active:
        return info, -1
    # A running run's snapshot changes every few iterations; keep the one first shown
    # (so the page does not change under the user) until they ask for a newer one.
    pinned = st.session_state.setdefault(k["refresh"], {})
    pinned.setdefault(run_id, info.checkpoint_iteration)
    newer = info.checkpoint_iteration != pinned[run_id]
    if st.button(_("Load the latest snapshot (iteration {iteration})").format(iteration=info.checkpoint_iteration)
                 if newer else _("Load the latest snapshot"),
                 key=f"{k['refresh']}_button", width="stretch", icon=":material/refresh:",
                 type="primary" if newer else "secondary"):
        pinned[run_id] = info.checkpoint_iteration
    return info, pinned[run_id]


def _load_from_run(info: RunInfo, snapshot: int, *, runner, owner: str) -> PickedModel | str:
    """Load a run's model (no widgets): its final one for snapshot -1, else the snapshot
    pinned at that iteration; a message when it cannot be read."""
    try:
        model, meta = _load_run(info.run_id, info.status, snapshot)
    except KeyError:                                     # deleted since it was listed
        return gone_sentence(runner, info.run_id, owner)
    except (CheckpointError, ValueError, OSError) as e:
        return _("Run “{run}” has no model to load yet: {error}").format(run=info.label, error=said(e))
    iteration = meta.get("iteration")
    note = None
    if info.is_active:
        note = _("“{run}” is still training: this is its snapshot at iteration {iteration} of {total}. Press "
                 "*Load the latest snapshot* in the sidebar for a newer one.").format(
            run=info.label, iteration=iteration, total=info.total)
    return PickedModel(model, key=f"run:{info.run_id}:{info.status if not info.is_active else 'active'}:{iteration}",
                       origin=_("run “{run}” ({status}, iteration {iteration})").format(
                           run=info.label, status=status_word(info.status), iteration=iteration),
                       note=note, trained_on=info.dataset, config=info.config, run_id=info.run_id,
                       owner=info.owner, code=info.code)


def may_read_files() -> bool:
    """Whether this browser may have a checkpoint read from a path on the server's disk: the
    server's own browser or the admin, never a remote student (who could name any file of
    the server's, or a FIFO that would hang their page)."""
    return admin.is_admin() or code_access.is_local_browser(st.context.ip_address, dict(st.context.headers))


def _from_file(k: dict) -> PickedModel | str:
    text = st.text_input(_("Checkpoint (.h5)"), **_bound(k, "file"), placeholder="/path/to/model.h5",
                         help=_("A file written by `core.save_checkpoint`, e.g. from the notebook."))
    if not (text or "").strip():
        return _("Type the path of a checkpoint file written by `core.save_checkpoint(path, model)`.")
    try:
        path = Path(text.strip()).expanduser().absolute()     # a relative path: from where the app started
        if path.is_dir():
            return _("`{path}` is a folder: type the path of the checkpoint file inside it.").format(path=path)
        stat = path.stat()
        model, meta = _load_file(str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    except FileNotFoundError:
        return _("There is no file at `{path}`.").format(path=path)
    except (CheckpointError, OSError) as e:
        return said(e)
    except ValueError:                                       # e.g. a pasted NUL character
        return _("`{path!r}` is not a usable file path.").format(path=text.strip())
    config = meta.get("config")                          # present in the Train page's checkpoints
    return PickedModel(model, key=f"file:{path.resolve()}:{stat.st_mtime_ns}",
                       origin=_("{file} (iteration {iteration})").format(file=path.name, iteration=meta["iteration"])
                       if meta.get("iteration") else path.name,
                       trained_on=meta.get("dataset") if isinstance(meta.get("dataset"), dict) else None,
                       config=config if isinstance(config, dict) else None)


def _untrained_choice(k: dict, ds: state.Dataset, default_cell: str) -> PickedModel:
    _choice(k).setdefault("cell", default_cell)
    _choice(k).setdefault("hidden", 512)
    _choice(k).setdefault("seed", 0)
    cell = st.segmented_control(_("Cell"), ("rnn", "lstm"), **_bound(k, "cell"), required=True,
                                format_func=lambda c: _(cell_name(c)))
    row = st.container(horizontal=True, wrap=False)   # side by side: one element, not two columns
    hidden = row.selectbox(_("Hidden units"), HIDDEN_SIZES, **_bound(k, "hidden"))
    seed = row.number_input(_("Seed"), 0, 10_000, **_bound(k, "seed"))
    data = ds.data
    D = data["train_features"].shape[1]
    model = _untrained(cell, int(hidden), int(seed), D, ds.key, data["word_to_idx"])
    return PickedModel(model, key=f"untrained:{cell}:{hidden}:{seed}:{D}:{ds.key}",
                       origin=_("untrained (seed {seed})").format(seed=seed),
                       note=_("This model is untrained: its weights are random, so its words are too. "
                              "Compare it with a trained run to see what training changed."),
                       untrained=True)


# --- the picker ----------------------------------------------------------------------

def model_picker(ds: state.Dataset, prefix: str = SHARED, *, where=None, title: str = N_("Model"),
                 default_cell: str = "rnn") -> PickedModel | None:
    """Draw the model choice in `where` (the sidebar by default); return the model, or None
    after saying in the page why there is none. `title` is English (`N_`-marked), shown translated.

    The shared picker (prefix "model") follows `state.MODEL_RUN`: a run chosen elsewhere
    (the Train page) is selected here, and a run chosen here is written back. Another
    picker starts on this person's newest run of `default_cell`, else an untrained `default_cell`.
    """
    k = _keys(prefix)
    shared = prefix == SHARED
    runner = state.runner()
    owner = state.owner_id()
    choice = _choice(k)
    if shared:
        _follow_link(choice, runner, owner)
        wanted = st.session_state.get(state.MODEL_RUN)
        if wanted is not None and wanted != st.session_state.get(k["synced_run"]):
            choice.update(source=RUN, run=wanted)         # chosen on another page
    if "source" not in choice:                            # first visit: this person's newest usable run, if any
        runs = [r for r in runner.runs() if r.has_checkpoint and r.owner == owner]
        if not shared:
            runs = [r for r in runs if r.config.get("cell_type") == default_cell]
        choice["source"] = RUN if runs else UNTRAINED
        if runs:
            choice["run"] = runs[0].run_id
    sources = SOURCES if may_read_files() else tuple(s for s in SOURCES if s != FILE)
    if choice.get("source") not in sources:
        choice["source"] = UNTRAINED
    with where if where is not None else st.sidebar:
        if title:
            st.subheader(_(title))
        source = st.radio(_(title or "Model"), sources, **_bound(k, "source"), horizontal=True,
                          label_visibility="collapsed", format_func=_)
        if source == RUN:
            picked = _from_run(k, runner, owner)
        elif source == FILE and may_read_files():
            picked = _from_file(k)
        else:
            picked = _untrained_choice(k, ds, default_cell)
    gone = st.session_state.get(k["gone"])
    if gone is not None and source == RUN and choice.get("run") == gone[1]:
        st.info(_("{gone} The page shows another run instead.").format(gone=gone[0]), icon=":material/delete:")
    if shared:
        run_id = choice.get("run") if source == RUN and isinstance(picked, PickedModel) else None
        st.session_state[state.MODEL_RUN] = st.session_state[k["synced_run"]] = run_id
        address.show("run", run_id)
    if isinstance(picked, str):
        st.info(picked)
        return None
    try:
        check_compatible(picked.model, state.for_model(ds, picked.model).data)
    except ModelMismatch as e:
        st.error(_("**{model}** does not fit the {dataset}. {problem}").format(
            model=picked.label, dataset=ds.label, problem=said(e)) + _trained_on(picked.trained_on))
        return None
    return _with_trained_images(picked, ds)


def _follow_link(choice: dict, runner, owner: str) -> None:
    """Choose the run the address opened with (`?run=<run id>`), or say why it cannot be shown."""
    linked = address.take("run")
    if linked is None:
        return
    runs = {r.run_id: r for r in runner.runs()}
    if linked in runs and runs[linked].has_checkpoint:
        choice.update(source=RUN, run=linked)
        st.session_state[state.MODEL_RUN] = linked
        return
    why = (_("The link's run “{run}” has not saved a model yet.").format(run=runs[linked].label) if linked in runs
           else gone_sentence(runner, linked, owner))
    address.problem(_("{why} The page shows another model instead.").format(why=why))


def whose(picked: PickedModel) -> str:
    """The model line: "**Model:** RNN, 512 units · run “…” (done, iteration 500) · your run"."""
    line = _("**Model:** {model}").format(model=picked.label)
    if picked.owner is None:
        return line
    if picked.owner == state.owner_id():
        return _("{line} · your run").format(line=line)
    return _("{line} · another person's run ({owner})").format(line=line, owner=picked.owner[:4])


def require_model(ds: state.Dataset) -> PickedModel:
    """The shared picker for a page that needs a model: draws it, the model's heading (whose
    run it is) with the Copy link button, or ends the page (after the picker said why) when
    there is no usable model."""
    picked = model_picker(ds)
    if picked is None:
        st.stop()
    with st.container(horizontal=True, vertical_alignment="center", gap="medium"):
        st.markdown(whose(picked), width="content")
        address.copy_link()
    if picked.note:
        st.info(picked.note, icon=":material/info:")
    return picked
