"""What it sees: a model's captions of hundreds of fresh demo scenes, read attribute by attribute.

Beside the chosen model, the same figures for an untrained model of its size and, where
one was trained (or is training), for the same settings trained on shuffled features: a
model that never saw which image a caption belongs to, so everything it gets right it
guessed from the statistics of the words.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core.model import CaptioningRNN
from core.probe import ATTRIBUTES, LABELS, ProbeResult, probe_model
from core.data.scene_lab import fresh_scenes, why_not
from explorer import state
from explorer.components.exports import Slide, titled
from explorer.components.model_picker import PickedModel
from explorer.components.scene_composer import features_of
from explorer.runs.settings import RunConfig
from explorer.runs.base import EngineUnavailable, RunLimitError
from explorer.i18n import N_, _, n_, sentence

SCENES = "compare.probe_scenes"
SEED = "compare.probe_seed"
RESULTS = "compare.probe_results"        # {(model key, dataset key, n, seed): {name: ProbeResult}}
MAX_LENGTH = 16
THIS, UNTRAINED, SHUFFLED = N_("this model"), N_("untrained"), N_("shuffled features")   # the models' names
HOW_READ = N_(
    "A caption is read with the demo grammar's own word lists, synonyms included: a noun phrase is "
    "*[count] [size] colour shape* (\"a pair of tiny violet dots\"); between two of them a relation phrase "
    "(\"to the left of\", \"under\") says where the first is from the second, and \"*b* with *a* to its left\" "
    "where *a* is from *b*; a position phrase (\"on the left\") places a single group; a background clause "
    "(\"on a dotted grey background\") names the background. Each noun phrase is matched to the scene's group "
    "of its colour (the two groups always differ in colour), else of its shape. **Colour**, **shape** and "
    "**count** are right when every group is named with its own; **size**, **position or relation** and "
    "**background** are scored only in the captions that say them, and the second column says how often "
    "that is.")


@st.cache_data(max_entries=8, show_spinner=False)
def _scene_features(dataset_key: str, n: int, seed: int, _ds, _lab):
    scenes = fresh_scenes(n, seed)
    pictures = [_lab.render(s) for s in scenes]
    return scenes, features_of(_ds, _lab, pictures, f"probe:{n}:{seed}")


@st.cache_data(max_entries=32, show_spinner=False)
def _probe(model_key: str, dataset_key: str, n: int, seed: int, _model, _features, _scenes) -> ProbeResult:
    return probe_model(_model, _features, _scenes, max_length=MAX_LENGTH)


def _untrained(picked: PickedModel) -> CaptioningRNN:
    m = picked.model
    return CaptioningRNN(m.word_to_idx, input_dim=m.input_dim, wordvec_dim=m.wordvec_dim, hidden_dim=m.hidden_dim,
                         cell_type=m.cell_type, rng=np.random.default_rng(0))


def _shuffled_twin(picked: PickedModel, ds: state.Dataset):
    """(the finished run of the same settings on shuffled features, or None; the settings)."""
    if picked.config is None or picked.config.get("shuffle_features"):
        return None, None
    try:
        wanted = RunConfig.from_dict({**picked.config, "shuffle_features": True})
    except (ValueError, TypeError):
        return None, None
    for run in state.runner().runs():
        if run.config == wanted.to_dict() and run.dataset.get("base_dir") == str(ds.base_dir) and not run.code:
            return run, wanted
    return None, wanted


def _start_twin(config: RunConfig, ds: state.Dataset) -> None:
    try:
        state.runner().start(config, {"base_dir": ds.base_dir, "pca_features": ds.pca_features,
                                      "is_demo": ds.is_demo}, owner=state.owner_id())
    except (RunLimitError, EngineUnavailable, ValueError, OSError) as e:
        st.session_state[f"{RESULTS}.error"] = sentence(e)      # shown translated


def _table(results: dict[str, ProbeResult]) -> pd.DataFrame:
    """One row per attribute, one column per model: "80% of 292" (right, of the captions that say it)."""
    rows = []
    for attribute in ATTRIBUTES:
        row = {_("attribute"): _(LABELS[attribute])}
        for name, result in results.items():
            s = result.scores[attribute]
            row[_(name)] = (_("{accuracy:.0%} of {said}").format(accuracy=s.accuracy, said=s.said) if s.said
                            else _("never said (of {total})").format(total=s.total))
        rows.append(row)
    return pd.DataFrame(rows)


def _chart(results: dict[str, ProbeResult], picked: PickedModel, scenes: int) -> None:
    names = [_(name) for name in results]
    frame = pd.DataFrame([{"attribute": _(LABELS[a]), "model": _(name), "right": r.scores[a].accuracy,
                           "said": r.scores[a].said} for name, r in results.items() for a in ATTRIBUTES])
    frame = frame.dropna()
    spec = {"mark": {"type": "bar", "cornerRadiusEnd": 2}, "height": 300,
            "encoding": {
                "x": {"field": "attribute", "type": "nominal", "sort": [_(LABELS[a]) for a in ATTRIBUTES],
                      "axis": {"title": None, "labelAngle": 0, "labelFontSize": 14, "labelLimit": 160}},
                "xOffset": {"field": "model", "sort": names},
                "y": {"field": "right", "type": "quantitative", "scale": {"domain": [0, 1]},
                      "axis": {"title": _("captions that say it right"), "format": "%", "labelFontSize": 14,
                               "titleFontSize": 14}},
                "color": {"field": "model", "sort": names, "scale": {"range": ["#1f6fd1", "#adb5bd", "#e8590c"]},
                          "legend": {"title": None, "orient": "top", "labelFontSize": 14, "labelLimit": 400}},
                "tooltip": [{"field": "model", "title": _("model")}, {"field": "attribute", "title": _("attribute")},
                            {"field": "right", "title": _("right"), "format": ".1%"},
                            {"field": "said", "title": _("captions that say it")}]}}
    slide = Slide.of("compare", "what-it-sees", _("What it sees"), picked=picked,
                     about=(n_("{n} fresh scene", "{n} fresh scenes", scenes).format(n=scenes),),
                     names=(f"{scenes}-scenes",))
    st.vega_lite_chart(frame, titled(spec, slide), width="stretch")


def what_it_sees(picked: PickedModel, ds: state.Dataset) -> None:
    """The probe's controls, its progress, and the table of attributes by model."""
    lab = state.scene_lab(ds)
    if lab is None:
        st.info(_(why_not(ds.base_dir)), icon=":material/image_not_supported:")
        return
    st.markdown(_("Fresh scenes the model has never seen, drawn by the demo generator, each captioned by the model "
                  "and read attribute by attribute: what the model has learnt to see, against what it only guesses "
                  "from word statistics."))
    left, right = st.columns(2)
    n = left.slider(_("Scenes"), 100, 500, 300, 50, key=SCENES, persist_state="session")
    seed = right.number_input(_("Seed"), 0, 10_000, 0, key=SEED, persist_state="session",
                              help=_("Which fresh scenes: the same seed draws the same ones."))
    twin, wanted = _shuffled_twin(picked, ds)
    if twin is None and wanted is not None:
        st.button(_("Train the same settings on shuffled features"), icon=":material/shuffle:",
                  on_click=_start_twin, args=(wanted, ds),
                  help=_("A baseline that never saw which image a caption belongs to; it trains in the "
                         "background (see Train), then comes into this table."))
    elif twin is not None and twin.is_active:
        st.caption(_("The shuffled-features baseline is {status}: probe again when it is done.")
                   .format(status=_(twin.status)))
    elif wanted is None and not picked.untrained:
        st.caption(_("This model's training settings are unknown, so there is no shuffled-features twin to train."))
    if st.session_state.get(f"{RESULTS}.error"):
        st.warning(_(st.session_state.pop(f"{RESULTS}.error")), icon=":material/front_hand:")
    key = (picked.key, ds.key, int(n), int(seed), twin.run_id if twin is not None and not twin.is_active else None)
    done = st.session_state.setdefault(RESULTS, {})
    if st.button(_("Probe"), type="primary", icon=":material/science:"):
        bar = st.progress(0.0, text=_("Drawing {n} scenes and computing their features…").format(n=n))
        scenes, features = _scene_features(ds.key, int(n), int(seed), ds, lab)
        models = {THIS: (picked.key, picked.model), UNTRAINED: (f"untrained:{picked.key}", _untrained(picked))}
        if twin is not None and not twin.is_active and twin.has_checkpoint:
            models[SHUFFLED] = (f"run:{twin.run_id}:{twin.status}", state.runner().load_model(twin.run_id)[0])
        results = {}
        for k, (name, (model_key, model)) in enumerate(models.items()):
            bar.progress((k + 0.5) / (len(models) + 0.5),
                         text=_("Captioning the scenes: {model}…").format(model=_(name)))
            results[name] = _probe(model_key, ds.key, int(n), int(seed), model, features, scenes)
        bar.empty()
        done[key] = results
    results = done.get(key)
    if results is None:
        st.info(_("Press **Probe** to caption the scenes."), icon=":material/science:")
        return
    _chart(results, picked, int(n))
    st.dataframe(_table(results), hide_index=True, width="stretch")
    total = next(iter(results.values())).scores["colour"].total
    st.caption(_("Each cell: how many of the captions that say the attribute say it right, of how many say it "
                 "(out of {total} scenes).").format(total=total))
    with st.expander(_("How a caption is read"), key="compare.probe_how"):
        st.markdown(_(HOW_READ))
    with st.expander(_("A few of the scenes and its captions"), key="compare.probe_examples"):
        scenes, _features = _scene_features(ds.key, int(n), int(seed), ds, lab)
        grid = st.grid(4, min_column_width=180)
        for scene, words in list(zip(scenes, results[THIS].captions))[:8]:
            with grid.cell():
                st.image(lab.render(scene), width="stretch")
                st.caption(" ".join(words))
