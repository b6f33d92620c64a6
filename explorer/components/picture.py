"""A picture shown at a fixed width, scaled once instead of on every run.

    picture.show(image.data, 44, image.format)      # st.image(image.data, width=44, output_format=...)

Streamlit sends a picture no wider than the width it is shown at: `st.image(data, width=w)`
of a wider picture decodes it, scales it down to `w` and encodes it again, on every run of
every session (1 to 2 ms a picture; Compare shows six). `show` hands Streamlit the picture
already at that width, made by Streamlit's own fitting function (`fitted`), once per picture
and width; Streamlit then finds nothing to do and sends it as it is. (The Train page's live
panel puts its four small pictures inline in one Markdown element, through `fitted`:
`explorer.components.evolution`; a Browse card its picture, with its caption:
`image_grid.card_body`.) Pictures shown at the column's width ("stretch")
go to Streamlit unchanged (it scales only those wider than 1460 px; the pages' are at most 640).

A picture handed to `st.image` as bytes goes into Streamlit's media files, and the element
carries its address: every browser then asks the server for it, once per picture it shows
(0.53 to 0.57 ms of server CPU a request on the AMD EPYC, more than the element itself
costs; a Browse page shows ten). A picture of at most `INLINE` bytes (every one of the demo's, 0.4 to
1.1 kB as cards) goes inline instead, as a `data:` address in the element (`source`): no
media file, no request. A larger one (a COCO photograph, 20 kB and more) keeps its address,
which a browser fetches once and which a rerun does not send again.
"""
from __future__ import annotations

import base64
import hashlib
import threading
from collections import OrderedDict

import streamlit as st

try:                               # Streamlit 1.67's own fitting (private: a later one may move it)
    from streamlit.elements.lib.image_utils import _ensure_image_size_and_format as _ensure_size_and_format
    from streamlit.elements.lib.layout_utils import LayoutConfig
except ImportError:
    _ensure_size_and_format = None

INLINE = 4096                      # bytes: a picture no larger travels inline, as a data: address
MADE = 256                         # fitted pictures kept (each at most as wide as shown: a few KB to 20 KB)
_made: OrderedDict[tuple, bytes] = OrderedDict()   # (the picture's digest, width, format) -> fitted bytes
_lock = threading.Lock()           # every session's script thread asks


def fitted(data: bytes, width: int, image_format: str) -> bytes:
    """`data` (an encoded picture) as Streamlit sends it shown `width` pixels wide: scaled down
    (bilinear) when it is wider and encoded in `image_format` ("JPEG" at quality 90, or "PNG");
    `data` itself when it is no wider and already in that format. Made once per picture and
    width, and kept by the picture's digest, so a large original is not kept alive with its
    smaller copy (one no wider than shown is kept as it is)."""
    key = (hashlib.blake2b(data, digest_size=16).digest(), width, image_format)
    with _lock:
        made = _made.get(key)
        if made is not None:
            _made.move_to_end(key)
            return made
    made = _fit(data, width, image_format)
    with _lock:
        _made[key] = made
        while len(_made) > MADE:
            _made.popitem(last=False)
    return made


def _fit(data: bytes, width: int, image_format: str) -> bytes:
    """What Streamlit does to a picture it shows `width` pixels wide: its own function, so the
    bytes are Streamlit's whatever its version; where a Streamlit has no such function, the
    picture as it is (Streamlit then fits it itself, on every run, as before)."""
    if _ensure_size_and_format is None:
        return data
    return _ensure_size_and_format(data, LayoutConfig(width=width), image_format)


def data_address(data: bytes, image_format: str) -> str:
    """An encoded picture ("JPEG" or "PNG") as a `data:` address."""
    mime = "image/png" if image_format == "PNG" else "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def inline_address(data: bytes, image_format: str) -> str | None:
    """The `data:` address of an encoded picture small enough to travel inline (a JPEG or PNG of
    at most `INLINE` bytes), else None (see the module)."""
    if len(data) <= INLINE and image_format in ("JPEG", "PNG"):
        return data_address(data, image_format)
    return None


def source(data: bytes, image_format: str) -> bytes | str:
    """What to hand `st.image` for an encoded picture: its `inline_address` when it has one, else
    the bytes."""
    return inline_address(data, image_format) or data


def show(data: bytes, width: int | str, image_format: str, **kwargs) -> None:
    """`st.image(data, width=width, output_format=image_format, **kwargs)`, with the picture
    fitted to an integer `width` once, and inline when it is small (see the module)."""
    if isinstance(width, int) and image_format in ("JPEG", "PNG"):
        data = fitted(data, width, image_format)
    st.image(source(data, image_format), width=width, output_format=image_format, **kwargs)
