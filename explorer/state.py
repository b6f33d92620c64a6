"""What the pages share: session-state keys, the dataset, the image fetcher, the download.

The session-state keys that more than one module reads are declared here, namespaced by
the page that owns them (`"browse.batch"`). A key that one page or component alone uses
is a constant at the top of that module, in the same namespaced form (`VIEW =
"inspect.view"` in pages/inspect.py, `_keys(prefix)` in the scene composer), or, for a
widget nothing else reads, the `key=` where it is drawn (`"app.download_stop"`); the
language is `explorer.i18n.KEY`. Large
read-only things (the dataset arrays, the image fetcher, the background download) are
`st.cache_resource` singletons shared by every session; nothing here mutates them.
"""
from __future__ import annotations

import functools

import secrets
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import streamlit as st

from core import evaluate
from core.data import coco, demo, layout
from core.data.characters import characters, is_characters
from core.data.download import DownloadCancelled, DownloadProgress, default_dest, download_coco
from core.data.errors import DatasetError
from core.data.image_cache import ImageFetcher
from core.data.scene_lab import SceneLab
from core.paths import image_cache_dir, runs_dir
from core.text import message
from explorer import cookies, runs
from explorer.caching import spinning
from explorer.i18n import N_, _, sentence

# --- session keys --------------------------------------------------------------------

SOURCE = "app.source"                  # DEMO | COCO | DOWNLOAD (values; SOURCES has their labels)
COCO_DIR = "app.coco_dir"              # the folder typed for the COCO source
FEATURES = "app.features"              # "PCA 512-d" | "fc7 4096-d"
OWNER = "app.owner"                    # this browser's owner id (explorer.cookies.OWNER)
OWNER_NEW = "app.owner_new"            # True when the server made it: the cookie is still being written
BROWSE_BATCH = "browse.batch"          # the current Browse minibatch (a Minibatch), for Inspect
IMAGE = "app.image"                    # (split, index) of the image Inspect and Compare look at
MODEL_RUN = "app.model_run"            # run id whose model Inspect and Compare show; None: untrained
TRAIN_RUN = "train.run_id"             # the run the Train page follows live
TRAIN_PRESET = "train.preset"          # the run form's preset name, or "Custom"
TRAIN_STARTED = "train.started"        # (settings, data set, monotonic time) of the last Start
TRAIN_FIELD = "train.field."           # prefix of the form's field keys: train.field.<RunConfig field>
TRAIN_OVERLAY = "train.overlay"        # run ids drawn on the loss chart beside TRAIN_RUN
TRAIN_SMOOTHING = "train.smoothing"    # the loss chart's EMA weight
TRAIN_LOG_Y = "train.log_y"            # the loss chart's log scale
TRAIN_SHOW = "train.show"              # the runs table: "Mine" or "Everyone's"

DEMO, COCO, DOWNLOAD = "demo", "coco", "download"                        # the dataset sources, as values
SOURCES = {DEMO: N_("Demo dataset"), COCO: N_("COCO folder"), DOWNLOAD: N_("Download COCO")}  # their labels, shown through _
FEATURE_KINDS = (evaluate.FEATURE_KINDS[512], evaluate.FEATURE_KINDS[4096])   # PCA, fc7
OWNER_PARAM = "me"                     # where older links held the owner id: never read, always dropped
OWNER_PATTERN = r"[0-9a-f]{32}"        # an owner id as `owner_id` makes it (128 random bits)


def feature_kind(pca_features: bool) -> str:
    """"PCA 512-d" or "fc7 4096-d", as the sidebar's Features choice names them."""
    return FEATURE_KINDS[0 if pca_features else 1]


@dataclass(frozen=True)
class Minibatch:
    """A minibatch someone is looking at: which split, and which caption rows of it."""

    split: str                         # "train" or "val"
    rows: tuple[int, ...]              # indices into data[f"{split}_captions"]
    seed: int                          # the seed that drew it
    dataset: str                       # the `Dataset.key` of the data it was drawn from


# --- the dataset ---------------------------------------------------------------------

@dataclass(frozen=True)
class Dataset:
    """The dataset a page works on, with where it came from."""

    data: dict                         # load_coco_data's dict (shared: never mutate it)
    base_dir: Path
    pca_features: bool
    is_demo: bool
    problem: str | None = None         # why the chosen folder was not used, if it was not
    tokens: str = "words"              # "characters" for `for_model`'s copy with character captions

    @property
    def key(self) -> str:
        """Names this dataset (its folder, features and tokens), for caches and for telling datasets apart."""
        return f"{self.base_dir}|{self.pca_features}" + ("|characters" if self.tokens == "characters" else "")

    @property
    def label(self) -> str:
        """The dataset's name for a person ("demo dataset, PCA 512-d features"), translated."""
        if self.is_demo:
            return _("demo dataset, {features} features").format(features=feature_kind(self.pca_features))
        return _("COCO at {folder}, {features} features").format(folder=self.base_dir,
                                                                 features=feature_kind(self.pca_features))


@spinning(N_("Loading the dataset…"))
@st.cache_resource(show_spinner=False, max_entries=4)
def _load(base_dir: str, pca_features: bool) -> dict:
    return coco.load_coco_data(base_dir, pca_features=pca_features)


@st.cache_resource(show_spinner=False, max_entries=4)
def _characters(key: str, _data: dict) -> dict:
    return characters(_data)


def for_model(ds: Dataset, model) -> Dataset:
    """The dataset as `model` reads it: with its captions as characters (`core.data.characters`,
    built once per dataset and shared) when the model's vocabulary is characters, else `ds`."""
    if is_characters(model.idx_to_word) and ds.tokens != "characters":
        return replace(ds, data=_characters(ds.key, ds.data), tokens="characters")
    return ds


def _demo_folder() -> Path:
    """The demo dataset's folder, building it (with a progress bar) the first time."""
    folder = layout.demo_dir()
    if _is_demo_dataset(folder, _stamp_time(folder)):
        return folder
    bar = st.progress(0.0, text=_("Building the demo dataset (first run only)…"))
    return demo.ensure_demo_dataset(progress=lambda message, f: bar.progress(min(max(f, 0.0), 1.0),
                                                                             text=_(message)))


def _stamp_time(folder: Path) -> int | None:
    try:
        return (folder / layout.STAMP).stat().st_mtime_ns
    except OSError:
        return None


@functools.lru_cache(maxsize=16)
def _is_demo_dataset(folder: Path, stamp_time: int | None) -> bool:
    """`layout.is_demo_dataset`, read again only when the folder's stamp file changes: every
    rerun of every page asks, and reading and parsing the stamp each time added up."""
    return stamp_time is not None and layout.is_demo_dataset(folder)


def chosen_folder() -> Path | None:
    """The COCO folder the sidebar points at, or None for the demo dataset."""
    source = st.session_state.get(SOURCE, DEMO)
    if source == COCO:
        text = (st.session_state.get(COCO_DIR) or "").strip()
        return Path(text).expanduser() if text else None
    if source == DOWNLOAD:
        return default_dest()
    return None


def pca_features() -> bool:
    return st.session_state.get(FEATURES, FEATURE_KINDS[0]) == FEATURE_KINDS[0]


def dataset() -> Dataset:
    """The dataset the sidebar chose; the demo dataset (with the reason) if that fails."""
    pca = pca_features()
    folder = chosen_folder()
    problem = None
    if folder is not None:
        try:
            return Dataset(_load(str(folder), pca), folder, pca, is_demo=False)
        except DatasetError as e:
            problem = sentence(e)
    elif st.session_state.get(SOURCE) == COCO:
        problem = message("Type the path of a COCO captioning folder to use it.")
    base = _demo_folder()
    try:
        return Dataset(_load(str(base), pca), base, pca, is_demo=True, problem=problem)
    except DatasetError as e:
        if pca:
            raise
        # the demo always has PCA features; fc7 too, but say so if that ever fails
        return Dataset(_load(str(base), True), base, True, is_demo=True,
                       problem=sentence(e) if problem is None else
                       message("{problem} {error}", problem=problem, error=sentence(e)))


# --- images --------------------------------------------------------------------------

@st.cache_resource(max_entries=4)
def _scene_lab(folder: str):
    return SceneLab.open(Path(folder))


def scene_lab(ds: Dataset) -> SceneLab | None:
    """The composer's tools for the sidebar's dataset: the demo dataset's, None for COCO."""
    return _scene_lab(str(ds.base_dir)) if ds.is_demo else None


@st.cache_resource
def image_fetcher() -> ImageFetcher:
    """The one disk-cached, concurrent image fetcher every session shares."""
    return ImageFetcher(image_cache_dir())


# --- training runs -------------------------------------------------------------------

@st.cache_resource
def runner():
    """The server's one run engine (`explorer.runs.engine`: local workers, or RQ on Redis)."""
    return runs.engine(runs_dir())


@st.cache_resource
def classes():
    """The server's classes (`explorer.classroom`): in Redis on `$CAPTION_LAB_REDIS_URL` when set, else in memory."""
    from explorer import classroom
    return classroom.classroom(runs.redis_url())


# --- who is this ---------------------------------------------------------------------

def owner_id() -> str:
    """This browser's owner id: its `cookies.OWNER` cookie, or on a first visit a fresh random
    one (which `start_owner` asks the browser to keep, so a reload is the same person).
    Never taken from the address."""
    if OWNER not in st.session_state:
        kept = cookies.read(cookies.OWNER, OWNER_PATTERN)
        st.session_state[OWNER] = kept or secrets.token_hex(16)
        st.session_state[OWNER_NEW] = kept is None
    return st.session_state[OWNER]


def start_owner() -> None:
    """At the top of every script run: settle the owner id, write its cookie while the browser
    has not sent it back, and drop a `?me=` (older links held one) from the address."""
    owner = owner_id()
    if st.session_state.get(OWNER_NEW):
        cookies.write(cookies.OWNER, owner)
    if OWNER_PARAM in st.query_params:
        del st.query_params[OWNER_PARAM]


# --- the one-step COCO download ------------------------------------------------------

@dataclass
class Download:
    """The server's one background COCO download, polled by every session's sidebar."""

    dest: Path = field(default_factory=default_dest)
    progress: DownloadProgress | None = None
    error: str | None = None
    finished: Path | None = None
    thread: threading.Thread | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def start(self) -> None:
        """Start (or resume) the download in a background thread; no-op if one runs."""
        with self.lock:
            if self.running:
                return
            self.error, self.finished, self.progress = None, None, None
            self.cancel = threading.Event()
            self.thread = threading.Thread(target=self._work, name="coco-download", daemon=True)
            self.thread.start()

    def stop(self) -> None:
        self.cancel.set()

    def _work(self) -> None:
        try:
            self.finished = download_coco(self.dest, progress=self._report, cancel=self.cancel)
        except DownloadCancelled:
            self.error = N_("Download paused. Start again to resume where it stopped.")
        except DatasetError as e:
            self.error = sentence(e)
        except Exception as e:  # a worker must never die silently
            self.error = message("The download failed unexpectedly: {kind}: {error}",
                                 kind=type(e).__name__, error=str(e))

    def _report(self, p: DownloadProgress) -> None:
        self.progress = p


@st.cache_resource
def coco_download() -> Download:
    return Download()

