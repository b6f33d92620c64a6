"""`picture.fitted` makes the bytes Streamlit would make of a picture shown at a width, so the
pages look exactly as before; and `show` hands Streamlit a picture it has nothing left to do to."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from streamlit.elements.lib import image_utils
from streamlit.elements.lib.layout_utils import LayoutConfig

from explorer.components import picture


def encoded(width: int, height: int, fmt: str, mode: str = "RGB") -> bytes:
    rng = np.random.default_rng(width * 1000 + height)
    pixels = rng.integers(0, 256, (height, width, 4 if mode == "RGBA" else 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels, mode).save(out, format=fmt)
    return out.getvalue()


def streamlit_makes(data: bytes, width: int, fmt: str) -> bytes:
    return image_utils._ensure_image_size_and_format(data, LayoutConfig(width=width), fmt)


@pytest.mark.parametrize("size, fmt, width", [
    ((240, 180), "JPEG", 44),          # a landscape thumbnail on Train's live panel
    ((180, 240), "JPEG", 44),          # a portrait one
    ((320, 213), "PNG", 200),          # a demo picture (PNG) on a Compare example
    ((150, 150), "JPEG", 200),         # narrower than shown: left as it is
    ((150, 150), "PNG", 200),
    ((200, 100), "JPEG", 200),         # exactly as wide
])
def test_fitted_is_what_streamlit_sends(size, fmt, width):
    data = encoded(*size, fmt)
    made = picture.fitted(data, width, fmt)
    assert made == streamlit_makes(data, width, fmt)
    with Image.open(io.BytesIO(made)) as shown:
        assert shown.width == min(width, size[0]) and shown.format == fmt


def test_fitted_converts_a_png_to_jpeg_as_streamlit_does():
    data = encoded(120, 90, "PNG", "RGBA")
    assert picture.fitted(data, 60, "JPEG") == streamlit_makes(data, 60, "JPEG")
    assert picture.fitted(data, 200, "JPEG") == streamlit_makes(data, 200, "JPEG")


def test_a_fitted_picture_leaves_streamlit_nothing_to_do():
    data = encoded(240, 180, "JPEG")
    made = picture.fitted(data, 44, "JPEG")
    assert streamlit_makes(made, 44, "JPEG") is made          # sent as it is: not decoded, scaled, encoded
    assert picture.fitted(data, 44, "JPEG") is made           # made once


def test_show_sends_the_picture_st_image_sends():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_string("""
import io
import streamlit as st
from PIL import Image
from explorer.components import picture
out = io.BytesIO()
Image.new("RGB", (240, 180), "red").save(out, format="JPEG")
picture.show(out.getvalue(), 44, "JPEG", caption="a picture")
st.image(out.getvalue(), width=44, output_format="JPEG")       # as the pages drew it before
st.image(out.getvalue(), width=45, output_format="JPEG")
""").run()
    assert not at.exception
    shown = [e.proto.imgs[0] for e in at.get("image")]
    assert shown[0].caption == "a picture"
    assert shown[0].url == shown[1].url != shown[2].url        # a media file is named after its bytes


def test_only_the_last_pictures_are_kept():
    first = encoded(60, 40, "PNG")
    made = picture.fitted(first, 30, "PNG")
    for k in range(picture.MADE):                             # as many other pictures as are kept
        picture.fitted(encoded(61 + k % 50, 41 + k // 50, "PNG"), 30, "PNG")
    assert len(picture._made) == picture.MADE
    again = picture.fitted(first, 30, "PNG")
    assert again == made and again is not made                 # the first was let go, and made again alike
