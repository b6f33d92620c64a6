"""A Compare example is one HTML element when its picture travels inline, and drawn as before otherwise."""
from __future__ import annotations

import numpy as np
from PIL import Image

from explorer import state
from explorer.components import strategy_view
from explorer.components.image_picker import PICTURE
from explorer.styles import EXAMPLE_CARD


def card(path, label: str = "val image #7") -> str | None:
    return strategy_view.example_card(label, state.image_fetcher().picture(str(path), PICTURE), "<b>x</b>")


def test_an_example_is_one_element_with_its_small_picture_inline(tmp_path):
    path = tmp_path / "small.png"
    Image.new("RGB", (320, 240), "orange").save(path)
    drawn = card(path, 'val image #7 <"b">')
    assert drawn is not None and drawn.startswith(f'<div class="{EXAMPLE_CARD}">')
    assert '<img src="data:image/' in drawn and "<b>x</b>" in drawn
    assert drawn.count("val image #7 &lt;&quot;b&quot;&gt;") == 2      # alt text and caption, escaped


def test_an_example_whose_picture_is_large_or_missing_is_drawn_as_before(tmp_path):
    path = tmp_path / "noise.png"                                  # a photograph's worth of detail
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)).save(path)
    assert card(path) is None
    assert card(tmp_path / "gone.png") is None
