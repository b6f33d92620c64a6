"""The Lesson page's trained models, ready when a step needs one.

`prepare(ds)` (called as a lesson opens) starts training the lesson's two small models in a
background process when they are not on disk yet (`explorer.lessons.models`: the
notebook's overfit cell, a few seconds); `lesson_model(ds, cell)` gives one as a
`PickedModel` with the train images it memorised, waiting for it only if a step that needs
it is opened within those seconds. Models are cached per file, so a rerun never reloads one.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import streamlit as st

from core.checkpoint import CheckpointError, load_checkpoint
from core.evaluate import ModelMismatch, check_compatible
from explorer import state
from explorer.components.model_picker import PickedModel
from explorer.i18n import _, said
from explorer.lessons import models
from explorer.runs.settings import RunConfig, training_rows

WAIT_SECONDS = 60.0                    # a step that needs a model waits at most this long for it


@st.cache_resource(max_entries=4, show_spinner=False)
def _builder(base_dir: str, pca_features: bool):
    """The one background process building this dataset's lesson models (None: nothing to build)."""
    return models.start_building(base_dir, pca_features)


@st.cache_resource(max_entries=8, show_spinner=False)
def _load(path: str, mtime_ns: int):
    return load_checkpoint(path)


@st.cache_data(max_entries=8, show_spinner=False)
def _trained_images(dataset_key: str, seed: int, max_train: int, _image_idxs: np.ndarray) -> np.ndarray:
    rows = training_rows(RunConfig(seed=seed, max_train=max_train), len(_image_idxs))
    return np.unique(_image_idxs[rows])


def prepare(ds: state.Dataset) -> None:
    """Start building the lesson's models for `ds` if they are missing (returns at once)."""
    if models.missing(ds.base_dir, ds.pca_features):
        _builder(str(ds.base_dir), ds.pca_features)


def _wait_for(ds: state.Dataset, path: Path) -> str | None:
    """Wait for the background build to write `path`; a sentence when it cannot."""
    process = _builder(str(ds.base_dir), ds.pca_features)
    deadline = time.monotonic() + WAIT_SECONDS
    with st.spinner(_("Training the lesson's small model (the notebook's overfit cell, a few seconds)…")):
        while not path.exists():
            if process is None or process.poll() is not None:
                error = process.stderr.read().decode(errors="replace")[-600:] if process and process.stderr else ""
                _builder.clear()                      # the next visit tries again
                return _("The lesson's model could not be trained: {error}").format(
                    error=error.strip() or _("the training process ended without saving it"))
            if time.monotonic() > deadline:
                return _("The lesson's model is still training; open this step again in a moment.")
            time.sleep(0.2)
    return None


def lesson_model(ds: state.Dataset, cell: str = "rnn") -> PickedModel | None:
    """The lesson's trained `cell` model for `ds`, or None after saying in the page why not."""
    path = models.path(ds.base_dir, ds.pca_features, cell)
    problem = None if path.exists() else _wait_for(ds, path)
    if problem:
        st.warning(problem, icon=":material/hourglass_top:")
        return None
    try:
        stat = path.stat()
        model, meta = _load(str(path), stat.st_mtime_ns)
        check_compatible(model, ds.data)
    except (CheckpointError, ModelMismatch, OSError) as e:
        st.error(_("The lesson's model at `{path}` cannot be used: {error}").format(path=path, error=said(e)))
        return None
    config = RunConfig.from_dict(meta["config"])
    images = _trained_images(ds.key, config.seed, config.max_train, ds.data["train_image_idxs"])
    return PickedModel(model, key=f"lesson:{cell}:{path}:{stat.st_mtime_ns}",
                       origin=_("the lesson's model: the notebook's overfit cell"),
                       trained_on=meta.get("dataset"), config=config.to_dict(), trained_images=images)
