"""Streamlit's AppTest on the real app: the entry point, its router and the real pages.

`app()` gives an AppTest of `explorer/app.py` that has run once (on the demo dataset,
which `make test` builds); `app(page="browse")` switches to a page and runs it. Runs
and the image cache go to a temporary folder, and cached resources are cleared after
each test so no state leaks between tests.
"""
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
ENTRY = str(ROOT / "explorer" / "app.py")
PAGE_FILES = ["home", "browse", "layer_lab", "train", "inspect", "compare"]


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("CAPTION_LAB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("CAPTION_LAB_IMAGE_CACHE", str(tmp_path / "image-cache"))
    st.cache_resource.clear()

    def make(page: str | None = None, timeout: float = 60) -> AppTest:
        at = AppTest.from_file(ENTRY, default_timeout=timeout).run()
        if page is not None:
            at.switch_page(f"../pages/{page}.py").run()
        return at

    yield make
    st.cache_resource.clear()


def no_exception(at: AppTest) -> bool:
    """True when the run raised nothing; the failure message shows what did."""
    assert not at.exception, [e.value for e in at.exception]
    return True
