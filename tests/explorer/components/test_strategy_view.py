"""A Compare example is one HTML element when its picture travels inline, and drawn as before otherwise."""
from __future__ import annotations

import numpy as np
from PIL import Image

from explorer.components import strategy_view
from explorer.components.image_picker import ImageChoice
from explorer.styles import EXAMPLE_CARD


def choice(path, image: int) -> ImageChoice:
    return ImageChoice("val", image, str(path), np.zeros(512, np.float32))


def test_an_example_is_one_element_with_its_small_picture_inline(tmp_path, monkeypatch):
    monkeypatch.setenv("CAPTION_LAB_IMAGE_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "small.png"
    Image.new("RGB", (320, 240), "orange").save(path)
    card = strategy_view.example_card(choice(path, 7), "<b>the captions</b>")
    assert card is not None and card.startswith(f'<div class="{EXAMPLE_CARD}">')
    assert '<img src="data:image/' in card and "<b>the captions</b>" in card
    assert card.count("val image #7") == 2                      # the picture's alt text and its caption


def test_an_example_whose_picture_is_large_or_missing_is_drawn_as_before(tmp_path, monkeypatch):
    monkeypatch.setenv("CAPTION_LAB_IMAGE_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "noise.png"                                  # a photograph's worth of detail
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)).save(path)
    assert strategy_view.example_card(choice(path, 1), "<b>x</b>") is None
    assert strategy_view.example_card(choice(tmp_path / "gone.png", 2), "<b>x</b>") is None
