"""The Lesson page's trained models, ready when a step needs one.

`prepare(ds)` (called as a lesson opens) starts training the lesson's two small models in a
background process when they are not on disk yet (`explorer.lessons.models`: the
notebook's overfit cell, a few seconds); `lesson_model(ds, cell)` gives one as a
`PickedModel` with the train images it memorised, waiting for it only if a step that needs
it is opened within those seconds. Models are cached per file, so a rerun never reloads one.
"""
from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import streamlit as st

from core.checkpoint import CheckpointError, load_checkpoint
from core.evaluate import ModelMismatch, check_compatible
from explorer import state
from explorer.components.model_picker import PickedModel, trained_images
from explorer.i18n import _, said
from explorer.lessons import models
from explorer.runs.settings import RunConfig

WAIT_SECONDS = 30.0                    # a step that needs a model waits at most this long for it


_BUILDS: dict[tuple[str, bool], subprocess.Popen] = {}   # per dataset: the process building its models
_BUILDS_LOCK = threading.Lock()


def _builder(ds: state.Dataset, start: bool = True) -> subprocess.Popen | None:
    """The process building `ds`'s lesson models: the one running, or (with `start`) a new one
    when some are missing and none runs. A build that ended is reaped here; one that ended
    without writing its models stays until `_wait_for` has said so, so a failing build is
    not started again on every rerun."""
    key = (str(ds.base_dir), ds.pca_features)
    with _BUILDS_LOCK:
        process = _BUILDS.get(key)
        if process is not None and process.poll() is not None and not models.missing(*key):
            del _BUILDS[key]
            process = None
        if process is None and start and models.missing(*key):
            process = _BUILDS[key] = models.start_building(*key)
        return process


def _forget(ds: state.Dataset, process: subprocess.Popen) -> None:
    with _BUILDS_LOCK:
        if _BUILDS.get((str(ds.base_dir), ds.pca_features)) is process:
            del _BUILDS[(str(ds.base_dir), ds.pca_features)]


@st.cache_resource(max_entries=8, show_spinner=False)
def _load(path: str, mtime_ns: int):
    return load_checkpoint(path)


def prepare(ds: state.Dataset) -> None:
    """Start building the lesson's models for `ds` if they are missing (returns at once)."""
    _builder(ds)


def _wait_for(ds: state.Dataset, path: Path) -> str | None:
    """Wait for the background build to write `path`; a sentence when it cannot."""
    deadline = time.monotonic() + WAIT_SECONDS
    with st.spinner(_("Training the lesson's small model (the notebook's overfit cell, a few seconds)…")):
        while not path.exists():
            process = _builder(ds)
            if process is not None and process.poll() is not None and not path.exists():
                _forget(ds, process)                 # said once; the next visit builds again
                error = models.build_log(ds.base_dir, ds.pca_features)
                return _("The lesson's model could not be trained: {error}").format(
                    error=error or _("the training process ended without saving it"))
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
    images = trained_images(ds.key, config.seed, config.max_train, ds.data["train_image_idxs"])
    return PickedModel(model, key=f"lesson:{cell}:{path}:{stat.st_mtime_ns}",
                       origin=_("the lesson's model: the notebook's overfit cell"),
                       trained_on=meta.get("dataset"), config=config.to_dict(), trained_images=images)
