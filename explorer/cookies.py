"""Who a browser is: its owner id and the admin's proof, kept in the browser's cookies.

Nothing that says who someone is goes in an address: an address is shared, projected and
pasted into chats. A browser's identity lives in two cookies instead (SameSite=Strict, so
no other site's page sends them):

- `caption_lab_owner`: a random 128-bit id (32 hex digits) made by the server on a
  browser's first visit. Every tab of that browser is the same person; another browser
  (another Playwright context) is another person.
- `caption_lab_admin`: an HMAC of a fixed label keyed by the admin's token, never the token
  itself (see `explorer.admin`).

Streamlit reads cookies once, from the request that opened the session
(`st.context.cookies`); the server writes one with a tiny script (`write`), which the
browser keeps for the next session: a reload (F5) or a link opened later. A cookie is
what a browser sends, so it is hostile: `read` gives a value only when it matches the
pattern it must have.
"""
from __future__ import annotations

import json
import re

import streamlit as st

from explorer.styles import UNSEEN

OWNER = "caption_lab_owner"
ADMIN = "caption_lab_admin"
YEAR = 365 * 24 * 3600                 # seconds a cookie lasts


def read(name: str, pattern: str) -> str | None:
    """The cookie `name` this session's browser sent, when all of it matches `pattern`."""
    try:
        value = st.context.cookies.get(name)
    except Exception:                  # no browser behind this run (a bare script)
        return None
    return value if isinstance(value, str) and re.fullmatch(pattern, value) else None


def write(name: str, value: str, max_age: int = YEAR) -> None:
    """Ask the browser to keep cookie `name` = `value` (letters and digits only) for `max_age` seconds.

    Drawn where it is called, in a container the app's CSS never shows (`explorer.styles.UNSEEN`:
    it takes no room on the page)."""
    if not re.fullmatch(r"[A-Za-z0-9_]+", name + value):
        raise ValueError("a cookie's name and value are letters, digits and underscores")
    cookie = json.dumps(f"{name}={value}; Max-Age={int(max_age)}; Path=/; SameSite=Strict")
    with st.container(key=f"{UNSEEN}cookie-{name}"):
        st.html(f"<script>document.cookie = {cookie} + (location.protocol === 'https:' ? '; Secure' : '');"
                "</script>", unsafe_allow_javascript=True)
