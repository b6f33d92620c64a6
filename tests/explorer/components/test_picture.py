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


def test_show_sends_a_large_picture_as_st_image_does_and_a_small_one_inline():
    """A picture larger than `INLINE` goes to Streamlit's media files, named after its bytes, as
    `st.image` sends it; a small one travels in the element as a `data:` address of the bytes
    `st.image` would have made, with no media file."""
    import base64

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_string("""
import io
import numpy as np
import streamlit as st
from PIL import Image
from explorer.components import picture
small, large = io.BytesIO(), io.BytesIO()
Image.new("RGB", (240, 180), "red").save(small, format="JPEG")
noise = np.random.default_rng(0).integers(0, 256, (400, 600, 3), dtype=np.uint8)
Image.fromarray(noise).save(large, format="JPEG")
picture.show(small.getvalue(), 44, "JPEG", caption="a picture")
picture.show(large.getvalue(), 300, "JPEG")
st.image(large.getvalue(), width=300, output_format="JPEG")      # as the pages drew it before
st.image(large.getvalue(), width=301, output_format="JPEG")
st.session_state["bytes"] = (small.getvalue(), large.getvalue())
""").run()
    assert not at.exception
    shown = [e.proto.imgs[0] for e in at.get("image")]
    small, large = at.session_state["bytes"]
    inline = picture.fitted(small, 44, "JPEG")
    assert len(inline) <= picture.INLINE < len(picture.fitted(large, 300, "JPEG"))
    assert shown[0].caption == "a picture"
    assert shown[0].url == "data:image/jpeg;base64," + base64.b64encode(inline).decode()
    assert shown[0].url.split(",", 1)[1] and base64.b64decode(shown[0].url.split(",", 1)[1]) == \
        streamlit_makes(small, 44, "JPEG")
    assert "/media/" in shown[1].url and not shown[1].url.startswith("data:")     # (AppTest: "/mock/media/...")
    assert shown[1].url == shown[2].url != shown[3].url        # a media file is named after its bytes


def test_source_inlines_only_small_jpegs_and_pngs():
    small = encoded(20, 20, "PNG")
    assert picture.source(small, "PNG").startswith("data:image/png;base64,")
    assert picture.source(small, "GIF") is small                       # only what Streamlit sends as is
    big = encoded(200, 200, "PNG")
    assert len(big) > picture.INLINE and picture.source(big, "PNG") is big


def test_only_the_last_pictures_are_kept():
    first = encoded(60, 40, "PNG")
    made = picture.fitted(first, 30, "PNG")
    for k in range(picture.MADE):                             # as many other pictures as are kept
        picture.fitted(encoded(61 + k % 50, 41 + k // 50, "PNG"), 30, "PNG")
    assert len(picture._made) == picture.MADE
    again = picture.fitted(first, 30, "PNG")
    assert again == made and again is not made                 # the first was let go, and made again alike
