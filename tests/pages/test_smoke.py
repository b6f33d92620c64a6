"""Every page renders through the real router with no exception and no error box; the
shared sidebar's dataset choice, a bad folder and the COCO download included."""

import pytest

from core.data.demo import ensure_demo_dataset
from explorer import state
from tests.support.http_server import LoopbackServer, free_port, serve_bytes
from tests.support.tiny_coco import write_tiny_coco, zip_dataset

from .conftest import PAGE_FILES, no_exception, rerun_until


@pytest.mark.parametrize("page", PAGE_FILES)
def test_page_renders(app, page):
    at = app(page)
    assert no_exception(at)
    assert not at.error, [e.value for e in at.error]
    heading = at.title or at.header                  # the Lesson's heading is its step's title
    assert heading and heading[0].value


def test_home_shows_the_dataset_table_and_quick_start(app):
    at = app()
    table = at.dataframe[0].value
    assert {"train_captions", "train_features", "idx_to_word", "val_urls"} <= set(table["key"])
    row = table.set_index("key").loc["train_captions"]
    assert row["dtype"] == "int32" and row["shape"].endswith(", 17)")
    assert any("Quick start" in h.value for h in at.subheader)


def test_a_bad_folder_falls_back_to_the_demo_with_a_message(app, tmp_path):
    at = app()
    at.sidebar.radio[0].set_value(state.COCO).run()
    at.sidebar.text_input[0].set_value(str(tmp_path / "no-such-folder")).run()
    assert no_exception(at)
    messages = " ".join(e.value for e in at.sidebar.error)
    assert "no-such-folder" in messages
    assert any("demo dataset" in i.value for i in at.sidebar.info)
    assert "train: 2,000 images" in at.sidebar.markdown[0].value


def test_an_empty_folder_path_is_a_hint_not_an_error(app):
    at = app()
    at.sidebar.radio[0].set_value(state.COCO).run()
    assert no_exception(at)
    assert not at.sidebar.error
    assert any("Type the path" in i.value and "demo dataset" in i.value for i in at.sidebar.info)


# --- the "Download COCO" panel, against a real HTTP server on 127.0.0.1 -------------------

@pytest.fixture
def data_root(tmp_path, monkeypatch):
    """A fresh data root (where the download goes) that still holds the built demo dataset."""
    root = tmp_path / "data"
    root.mkdir()
    demo = ensure_demo_dataset()
    (root / demo.name).symlink_to(demo)
    monkeypatch.setenv("CAPTION_LAB_DATA", str(root))
    return root


def test_download_without_a_network_fails_with_a_message_and_keeps_the_demo(app, data_root, monkeypatch):
    url = f"http://127.0.0.1:{free_port()}/coco_captioning.zip"
    monkeypatch.setenv("CAPTION_LAB_COCO_URL", url)
    at = app()
    at.sidebar.radio[0].set_value(state.DOWNLOAD).run()
    assert any("until the download has finished" in i.value for i in at.sidebar.info)
    next(b for b in at.sidebar.button if b.label == "Download COCO").click().run()
    rerun_until(at, lambda at: any(b.label == "Try again" for b in at.sidebar.button))
    errors = " ".join(e.value for e in at.sidebar.error)
    assert "Could not connect" in errors and url in errors
    health = at.sidebar.markdown[-1].value
    assert "demo dataset" in health and "train: 2,000 images" in health


def test_a_finished_download_becomes_the_dataset(app, data_root, tmp_path, monkeypatch):
    archive = zip_dataset(write_tiny_coco(tmp_path / "source"), tmp_path / "coco_captioning.zip").read_bytes()
    with LoopbackServer({"/coco_captioning.zip": serve_bytes(archive, "application/zip")}) as server:
        monkeypatch.setenv("CAPTION_LAB_COCO_URL", server.url("/coco_captioning.zip"))
        at = app()
        at.sidebar.radio[0].set_value(state.DOWNLOAD).run()
        next(b for b in at.sidebar.button if b.label == "Download COCO").click().run()
        rerun_until(at, lambda at: "COCO at" in at.sidebar.markdown[-1].value)
    assert "train: 12 images" in at.sidebar.markdown[-1].value
    assert not at.sidebar.error and not at.sidebar.button      # the panel is gone
    assert (data_root / "coco_captioning" / "coco2014_captions.h5").is_file()
