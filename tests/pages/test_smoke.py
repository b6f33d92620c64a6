"""Every page renders through the real router with no exception and no error box."""
import pytest

from .conftest import PAGE_FILES, no_exception


@pytest.mark.parametrize("page", PAGE_FILES)
def test_page_renders(app, page):
    at = app(page)
    assert no_exception(at)
    assert not at.error, [e.value for e in at.error]
    assert at.title and at.title[0].value


def test_home_shows_the_dataset_table_and_quick_start(app):
    at = app()
    table = at.dataframe[0].value
    assert {"train_captions", "train_features", "idx_to_word", "val_urls"} <= set(table["key"])
    row = table.set_index("key").loc["train_captions"]
    assert row["dtype"] == "int32" and row["shape"].endswith(", 17)")
    assert any("Quick start" in h.value for h in at.subheader)


def test_a_bad_folder_falls_back_to_the_demo_with_a_message(app, tmp_path):
    at = app()
    at.sidebar.radio[0].set_value("COCO folder").run()
    at.sidebar.text_input[0].set_value(str(tmp_path / "no-such-folder")).run()
    assert no_exception(at)
    messages = " ".join(e.value for e in at.sidebar.error)
    assert "no-such-folder" in messages
    assert any("demo dataset" in i.value for i in at.sidebar.info)
    assert "train: 2,000 images" in at.sidebar.markdown[0].value
