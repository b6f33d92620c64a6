"""The Browse page through the real app: minibatch, re-sample, search, details, statistics,
and dead links as placeholder tiles (against a real server on 127.0.0.1)."""
import io
import json

import numpy as np
from PIL import Image

from core.data.coco import load_coco_data
from core.data.stats import display_words, search_captions, split_stats
from explorer import state
from explorer.components.image_grid import CARD_PICTURE, image_address
from explorer.components.picture import INLINE
from tests.support.http_server import LoopbackServer, serve_bytes, serve_status
from tests.support.page_text import page_texts
from tests.support.tiny_coco import write_tiny_coco

from .conftest import no_exception


def batch(at) -> state.Minibatch:
    return at.session_state[state.BROWSE_BATCH]


def inline_pictures(at) -> list[str]:
    """The cards' Markdown bodies whose picture travels inline (every demo picture does)."""
    return [m.value for m in at.markdown if f'<img class="{CARD_PICTURE}" src="data:image/' in m.value]


def card_labels(at) -> list[str]:
    return [b.label for b in at.button if b.key and b.key.startswith("browse.card.")]


def test_browse_shows_a_minibatch_of_cards(app, demo_data):
    at = app("browse")
    assert no_exception(at) and not at.error
    assert at.title[0].value == "Browse"
    mb = batch(at)
    assert (mb.split, mb.seed, len(mb.rows)) == ("train", 231, 10)
    assert len(inline_pictures(at)) == 10 and len(at.image) == 0   # small: inline, with the caption
    labels = card_labels(at)
    assert len(labels) == 10
    row, image = mb.rows[0], demo_data["train_image_idxs"][mb.rows[0]]
    assert labels[0] == f"row {row:,} · image {image:,}"
    first_caption = " ".join(display_words(demo_data["train_captions"][row], demo_data["idx_to_word"]))
    assert inline_pictures(at)[0].endswith(f'margin-bottom:1rem">\n\n{first_caption}')


def test_resample_draws_a_new_batch_that_its_seed_reproduces(app):
    at = app("browse")
    first = batch(at)
    next(b for b in at.button if b.label == "Re-sample").click().run()
    assert no_exception(at)
    second = batch(at)
    assert second.seed == first.seed + 1 and second.rows != first.rows
    assert at.number_input(key="browse.seed").value == second.seed
    at.run()                                                   # any other rerun keeps the batch
    assert batch(at) == second
    at.number_input(key="browse.seed").set_value(first.seed).run()
    assert batch(at) == first                                  # the seed brings the batch back


def test_split_and_batch_size_change_the_batch(app, demo_data):
    at = app("browse")
    at.segmented_control(key="browse.split").set_value("val").run()
    at.slider(key="browse.size").set_value(25).run()
    assert no_exception(at)
    mb = batch(at)
    assert mb.split == "val" and len(mb.rows) == 25 and len(inline_pictures(at)) == 25
    assert max(mb.rows) < len(demo_data["val_captions"])


def test_search_counts_matches_by_split_and_browses_them(app, demo_data):
    at = app("browse")
    at.text_input(key="browse.query").set_value("purple star").run()
    assert no_exception(at)
    found = search_captions(demo_data, ("purple", "star"))
    summary = next(m.value for m in at.markdown if m.value.startswith("Captions with"))
    for split, matches in found.matches.items():
        assert f"**{matches.count:,}** {split} captions" in summary and matches.count > 0
    mb = batch(at)
    assert set(mb.rows) <= set(found.matches["train"].rows.tolist())
    assert len(set(mb.rows)) == len(mb.rows) == 10             # matches drawn without replacement
    purple, star = demo_data["word_to_idx"]["purple"], demo_data["word_to_idx"]["star"]
    for row in mb.rows:
        assert {purple, star} <= set(demo_data["train_captions"][row].tolist())
    assert any("**purple**" in m.value and "**star**" in m.value for m in at.markdown[2:])


def test_search_with_no_match_says_so(app):
    at = app("browse")
    at.text_input(key="browse.query").set_value("zebra").run()
    assert no_exception(at)
    assert "No train caption matches" in at.info[0].value
    assert any("Not in the vocabulary: zebra" in c.value for c in at.caption)
    assert len(at.image) == 0 and not inline_pictures(at)


def test_details_show_every_caption_tokens_mask_and_features(app, demo_data):
    at = app("browse")
    mb = batch(at)
    at.button(key="browse.card.0").click().run()
    assert no_exception(at)
    row = mb.rows[0]
    image = int(demo_data["train_image_idxs"][row])
    all_rows = np.flatnonzero(demo_data["train_image_idxs"] == image)
    listing = next(m.value for m in at.markdown if m.value.startswith("1. "))
    assert listing.count("\n") + 1 == len(all_rows) == 5
    assert "← *this row*" in listing
    tokens = at.dataframe[0].value
    caption = demo_data["train_captions"][row]
    assert list(tokens.index) == ["input word", "input id", "target word", "target id", "in the loss"]
    assert tokens.loc["input id"].tolist() == [str(i) for i in caption[:-1]]
    assert tokens.loc["in the loss"].tolist() == ["✓" if i else "·" for i in caption[1:] != 0]
    assert any(m.value.startswith("**Feature vector** (PCA 512-d): 512 numbers") for m in at.markdown)
    assert len(at.image) == 2 and len(inline_pictures(at)) == 10   # the image and its feature strip
    download = at.get("download_button")[0].proto        # the strip as a PNG for a slide, the dialog kept open
    assert download.label == "Download as PNG" and download.ignore_rerun
    url = str(demo_data["train_urls"][image])
    assert url.startswith("file://")                    # a demo image lives on the server ...
    shown = [c.value for c in at.caption]
    assert f"`{url.rsplit('/', 1)[-1]}`" in shown       # ... and the dialog names it, with no folder
    assert not any("file:" in text or "/root" in text or ".cache" in text for text in shown + page_texts(at))


def test_the_dialog_links_a_web_image_and_names_a_server_file_by_its_name_alone():
    flickr = "http://farm4.staticflickr.com/3153/2970773875_164f0c0b83_z.jpg"
    assert image_address(flickr).startswith("[http") and image_address(flickr).endswith(f"]({flickr})")
    assert image_address("file:///root/.cache/caption-lab/demo/images/val%2042.png") == "`val 42.png`"
    assert image_address("/srv/coco/images/train2014_1.jpg") == "`train2014_1.jpg`"


def test_statistics_tab_shows_the_numbers_and_charts(app, demo_data):
    at = app("browse")
    at.session_state["browse.tab"] = "Statistics"
    at.run()
    assert no_exception(at)
    stats = split_stats(demo_data, "train")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Captions"] == f"{stats.num_captions:,}"
    assert metrics["<UNK> rate"] == f"{stats.unk_token_rate:.2%}"
    assert metrics["Mean length"] == f"{stats.mean_length:.1f} words"
    words = len(demo_data["idx_to_word"]) - 4                   # the vocabulary less its four special tokens
    assert metrics["Vocabulary used"] == f"{stats.words_used:,} of {words:,}"
    assert f"vocabulary: {words:,} words + 4 special tokens" in "\n".join(m.value for m in at.sidebar.markdown)
    charts = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert len(charts) == 3
    assert charts[0]["title"]["text"] == f"Caption length (train): {stats.mean_length:.1f} words on average"
    assert all(c["title"]["subtitle"] == "demo · train" for c in charts)
    assert len(at.image) == 0 and not inline_pictures(at)      # the minibatch tab did not run
    next(b for b in at.button if b.label == "Re-sample").click().run()
    assert batch(at).seed == 232                               # the shared minibatch follows


def test_the_controls_and_batch_survive_a_visit_to_another_page(app):
    at = app("browse")
    at.segmented_control(key="browse.split").set_value("val").run()
    next(b for b in at.button if b.label == "Re-sample").click().run()
    before = batch(at)
    at.switch_page("../pages/layer_lab.py").run()
    at.switch_page("../pages/browse.py").run()
    assert no_exception(at)
    assert at.number_input(key="browse.seed").value == 232
    assert at.segmented_control(key="browse.split").value == "val"
    assert batch(at) == before


def png(seed: int, height: int = 12, width: int = 16) -> bytes:
    buffer = io.BytesIO()
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def test_dead_links_become_tiles_that_say_why(app, tmp_path):
    """Four kinds of link: a 404, a page that is not an image, a small picture (inline with its
    caption) and a large one (over `picture.INLINE`: `st.image` sends it by address)."""
    routes, large = {}, png(99, 100, 100)
    assert len(large) > INLINE >= len(png(0))
    for i in range(12):
        path = f"/train2014/tiny_{i:06d}.jpg"
        routes[path] = [serve_status(404), serve_bytes(b"<html>gone</html>", "text/html"),
                        serve_bytes(png(i), "image/png"), serve_bytes(large, "image/png")][i % 4]
    with LoopbackServer(routes) as server:
        folder = write_tiny_coco(tmp_path / "coco", url_base=server.url(""))
        at = app()
        at.sidebar.radio[0].set_value(state.COCO).run()
        at.sidebar.text_input[0].set_value(str(folder)).run()
        at.switch_page("../pages/browse.py").run()
        at.slider(key="browse.size").set_value(25).run()
    assert no_exception(at) and not at.error
    data = load_coco_data(folder)
    rows = list(batch(at).rows)
    images = data["train_image_idxs"][rows]
    tiles = [m.value for m in at.markdown if "caption-lab-missing" in m.value]
    assert len(inline_pictures(at)) == int(np.sum(images % 4 == 2)) > 0
    assert len(at.image) == int(np.sum(images % 4 == 3)) > 0
    assert all(i.proto.imgs[0].url.startswith("/mock/media/") for i in at.image)     # by address
    assert len(tiles) == int(np.sum(images % 4 < 2)) > 0
    assert sum("HTTP 404" in t for t in tiles) == int(np.sum(images % 4 == 0))
    assert sum("not an image (text/html)" in t for t in tiles) == int(np.sum(images % 4 == 1))
    captions = [" ".join(display_words(data["train_captions"][r], data["idx_to_word"])) for r in rows]
    shown = [m.value for m in at.markdown]
    for caption, image in zip(captions, images):       # every card's caption, with its picture or on its own
        assert any(text == caption if image % 4 == 3 else text.endswith(f"\n\n{caption}") for text in shown)


def test_the_open_tab_survives_a_visit_to_another_page(app):
    at = app("browse")
    at.session_state["browse.tab"] = "Statistics"
    at.run()
    at.switch_page("../pages/home.py").run()
    at.switch_page("../pages/browse.py").run()
    assert no_exception(at)
    assert at.session_state["browse.tab"] == "Statistics"
    assert len(at.metric) == 4 and not inline_pictures(at)     # the statistics, not the minibatch
