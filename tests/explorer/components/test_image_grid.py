"""A Browse card's body: its picture inline with its caption in one Markdown element drawn with
HTML allowed, so a caption's words (a dataset's vocabulary, which a COCO folder supplies) must
never become HTML, close the picture's HTML block or start another."""
import io
import re

import numpy as np
import pytest
from PIL import Image

from core.data.image_cache import Picture
from explorer.components.image_grid import CARD_PICTURE, Card, card_body
from explorer.components.picture import INLINE

HOSTILE = ["<img src=x onerror=alert(1)>", "&lt;script&gt;", "&#60;b&#62;", "<!--", "-->", "<svg/onload=alert(1)>",
           "<script>alert(1)</script>", "\\<b>", "`code", "$x$", "[x](javascript:alert(1))", "</div>", "<", ">"]


def png(height: int, width: int, seed: int = 0) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def unescaped_angle(text: str) -> bool:
    """Whether `text` has a < or > that no backslash escapes (a backslash itself escaped does not count)."""
    return re.search(r"(?<!\\)(?:\\\\)*[<>]", text) is not None


@pytest.mark.parametrize("word", HOSTILE)
def test_a_hostile_caption_stays_text_under_the_picture(word):
    small = png(12, 16)
    body = card_body(Card(Picture("file:///x.png", small, None, (12, 16)), f"a {word} dog", "row 1",
                          highlight=(word.split()[0],)))       # bold, as a search word is
    picture, caption = body.split("\n\n")                       # one blank line: the picture's block ends there
    assert picture.startswith(f'<img class="{CARD_PICTURE}" src="data:image/png;base64,') and picture.count("<") == 1
    assert "\n" not in caption and not unescaped_angle(caption)  # one paragraph, no tag can open in it
    assert "**" in caption                                       # the word, set in bold as a search's


def test_a_hostile_reason_and_caption_under_a_missing_picture():
    body = card_body(Card(Picture("http://x/y.jpg", None, "<script>alert(1)</script>", None), "<img onerror=x>", "row 1"))
    tile, caption = body.split("\n\n")
    assert "caption-lab-missing" in tile and "<script>" not in tile and "&lt;script&gt;" in tile
    assert not unescaped_angle(caption)


def test_a_picture_too_large_to_travel_inline_has_no_body():
    large = png(100, 100)
    assert len(large) > INLINE
    assert card_body(Card(Picture("file:///x.png", large, None, (100, 100)), "a dog", "row 1")) is None
