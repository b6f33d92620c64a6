"""Streamlit's AppTest on the real app: the entry point, its router and the real pages.

`app()` gives an AppTest of `explorer/app.py` that has run once (on the demo dataset,
which `make test` builds); `app(page="browse")` opens a page's own address, and `query`
gives the URL's query parameters (a link, or a refreshed tab, holds them). Runs and the
image cache go to a temporary folder; after each test its training runs are stopped and
cached resources cleared, so no state leaks between tests.
"""
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
ENTRY = str(ROOT / "explorer" / "app.py")
PAGE_FILES = ["home", "lesson", "browse", "layer_lab", "train", "inspect", "compare", "your_code"]


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("CAPTION_LAB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("CAPTION_LAB_IMAGE_CACHE", str(tmp_path / "image-cache"))
    st.cache_resource.clear()

    def make(page: str | None = None, timeout: float = 60, query: dict | None = None) -> AppTest:
        # AppTest calls a widget's format_func (which translates) in the test's own thread:
        # read that thread in the page's language too (`reading`, after a switch)
        reading((query or {}).get("lang", "en"))
        at = AppTest.from_file(ENTRY, default_timeout=timeout)
        at.query_params.update(query or {})             # what the browser's address bar holds
        if page is not None:                            # opened at the page's own address
            at.switch_page(f"../pages/{page}.py")
        at.run()
        return at

    yield make
    reading("en")
    from explorer import state
    state.runner().shutdown(timeout=10)              # no worker outlives its test, even a failed one
    st.cache_resource.clear()


def reading(lang: str) -> None:
    """Read this (the test's) thread in `lang`, as the app's script thread does: AppTest
    formats a widget's options here when a test sets its value."""
    from explorer import i18n
    i18n.use(lang)


def no_exception(at: AppTest) -> bool:
    """True when the run raised nothing; the failure message shows what did."""
    assert not at.exception, [e.value for e in at.exception]
    return True


def table_of(at: AppTest, index: int = 0):
    """Dataframe `index` of the page as it reads: a column of coloured tags (`label_column`'s
    one-item lists) as its text."""
    frame = at.dataframe[index].value.copy()
    for column in frame.columns:
        values = list(frame[column])
        if values and all(not isinstance(v, str) and hasattr(v, "__len__") and len(v) == 1 for v in values):
            frame[column] = [str(v[0]) for v in values]
    return frame


def use_checkpoint(at: AppTest, path, check: bool = True) -> AppTest:
    """Pick the checkpoint file `path` in the sidebar's model picker; with `check`, the
    page must show neither an exception nor an error (pass False where one is expected)."""
    at.radio(key="model.source").set_value("Checkpoint file").run()
    at.text_input(key="model.file").input(str(path)).run()
    if check:
        assert no_exception(at) and not at.error, [e.value for e in at.error]
    return at


@pytest.fixture(scope="session")
def demo_data() -> dict:
    """The demo dataset as `load_coco_data` returns it (read-only: tests share it)."""
    from core import load_coco_data
    from core.data.demo import ensure_demo_dataset
    return load_coco_data(ensure_demo_dataset())


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory) -> dict:
    """A vanilla RNN and an LSTM trained briefly on the demo data, saved with
    `core.save_checkpoint`: {"rnn": path, "lstm": path}. For Inspect and Compare."""
    import numpy as np

    from core import CaptioningRNN, CaptioningSolver, load_coco_data, save_checkpoint
    from core.data.demo import ensure_demo_dataset

    data = load_coco_data(ensure_demo_dataset(), max_train=1000, seed=0)
    folder = tmp_path_factory.mktemp("checkpoints")
    paths = {}
    for cell in ("rnn", "lstm"):
        rng = np.random.default_rng(0)
        model = CaptioningRNN(data["word_to_idx"], input_dim=data["train_features"].shape[1],
                              wordvec_dim=32, hidden_dim=48, cell_type=cell, rng=rng)
        solver = CaptioningSolver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-2},
                                  batch_size=100, num_epochs=4, verbose=False, rng=rng)
        solver.train()
        paths[cell] = save_checkpoint(folder / f"{cell}.h5", model, {"iteration": solver.num_iterations})
    return paths


@pytest.fixture(scope="session")
def char_checkpoints(tmp_path_factory) -> dict:
    """A vanilla RNN and an LSTM trained briefly on the demo data's captions as characters
    (`core.characters`), saved as `checkpoints` are: {"rnn": path, "lstm": path}."""
    import numpy as np

    from core import CaptioningRNN, CaptioningSolver, characters, load_coco_data, save_checkpoint
    from core.data.demo import ensure_demo_dataset

    data = characters(load_coco_data(ensure_demo_dataset(), max_train=200, seed=0))
    folder = tmp_path_factory.mktemp("char-checkpoints")
    paths = {}
    for cell in ("rnn", "lstm"):
        rng = np.random.default_rng(0)
        model = CaptioningRNN(data["word_to_idx"], input_dim=data["train_features"].shape[1],
                              wordvec_dim=16, hidden_dim=48, cell_type=cell, rng=rng)
        solver = CaptioningSolver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-2},
                                  batch_size=100, num_epochs=3, verbose=False, rng=rng)
        solver.train()
        paths[cell] = save_checkpoint(folder / f"{cell}.h5", model, {"iteration": solver.num_iterations,
                                                                     "config": {"tokens": "characters"}})
    return paths


@pytest.fixture
def overfit_run(tmp_path):
    """Step 2 of the Home page's Quick start: the *Notebook RNN overfit* preset trained to the
    end by a real Runner in the app's runs folder (the `app` fixture's). Gives (runner, run id,
    the data dict it trained on, loaded the notebook's way: `np.random.seed(231)` and
    `load_coco_data(..., max_train=50)`)."""
    import numpy as np

    from core import load_coco_data
    from core.data.demo import ensure_demo_dataset
    from explorer.runs.settings import PRESETS
    from explorer.runs.local import LocalRunner

    preset = PRESETS["Notebook RNN overfit"]
    runner = LocalRunner(tmp_path / "runs")
    dataset = {"base_dir": str(ensure_demo_dataset()), "pca_features": True, "is_demo": True}
    try:
        run_id = runner.start(preset, dataset, owner="tester")
        info = runner.wait(run_id, timeout=300)
        assert info.status == "done" and info.final_loss < 0.5, info.message
        saved = np.random.get_state()
        np.random.seed(preset.seed)
        trained = load_coco_data(ensure_demo_dataset(), max_train=preset.max_train)
        np.random.set_state(saved)
        yield runner, run_id, trained
    finally:
        runner.shutdown()


@pytest.fixture
def demo_copy(tmp_path) -> Path:
    """Another folder holding the demo dataset's files (as links): the same data, but not the
    folder a run on the demo dataset names."""
    from core.data.demo import ensure_demo_dataset

    copy = tmp_path / "demo-copy"
    copy.mkdir()
    for item in ensure_demo_dataset().iterdir():
        (copy / item.name).symlink_to(item)
    return copy


def rerun_until(at: AppTest, condition, timeout: float = 120.0, what: str = "the page to show it") -> AppTest:
    """Rerun the app (as a fragment with run_every would) until `condition(at)` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()
        assert no_exception(at)
        if condition(at):
            return at
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
