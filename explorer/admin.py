"""Who is the admin: the one browser allowed what affects everyone on a shared server.

Pausing or starting the server-wide COCO download, and stopping or deleting anyone's
run, belong to the admin, not to any student's browser. The admin is:

- with `CAPTION_LAB_ADMIN_TOKEN` set: a browser that opened the admin's link,
  `?admin=<that token>`. `start()` takes the token out of the address as soon as it has
  been checked (right or wrong), so a projected browser never shows it, and asks the
  browser to keep a proof in a cookie (`cookies.ADMIN`: an HMAC of a fixed label keyed by
  the token, never the token itself), so the admin stays admin after a reload;
- without it: a browser on the server's own machine (loopback, not forwarded by a proxy),
  as on a student's laptop, where the student is their own admin.

The command line (`python -m explorer.runs`, `python -m core.data download`) is always
the admin's.
"""
from __future__ import annotations

import hashlib
import hmac
import os

import streamlit as st

from explorer import cookies
from explorer.code_access import is_local_browser
from explorer.i18n import N_, _

TOKEN = "CAPTION_LAB_ADMIN_TOKEN"
PARAM = "admin"
SESSION = "app.admin"                 # True once this session showed the admin's token (or its proof)
LABEL = b"caption-lab admin"          # what the cookie's HMAC signs
ONLY_ADMIN = N_("Only the admin can do this on a shared server: a browser on the server itself, or the "
              "admin's link (see CAPTION_LAB_ADMIN_TOKEN in the README).")


def proof(token: str) -> str:
    """The admin cookie's value for `token`: it shows the token was given without holding it."""
    return hmac.new(token.encode(), LABEL, hashlib.sha256).hexdigest()


def start() -> None:
    """At the top of every script run: check an `?admin=` in the address and drop it from the
    address; recognise the admin's cookie on a session's first run."""
    token = os.environ.get(TOKEN, "")
    given = st.query_params.get(PARAM) if PARAM in st.query_params else None
    if given is not None:
        del st.query_params[PARAM]
    if not token:
        return
    kept = cookies.read(cookies.ADMIN, r"[0-9a-f]{64}")
    if given is not None:
        if hmac.compare_digest(str(given).encode(), token.encode()):
            st.session_state[SESSION] = True
        else:
            st.session_state.setdefault(SESSION, False)
            st.toast(_("This admin link's token is not this server's: this browser is not the admin."),
                     icon=":material/lock:")
    elif SESSION not in st.session_state:
        st.session_state[SESSION] = kept is not None and hmac.compare_digest(kept, proof(token))
    if st.session_state.get(SESSION) and kept != proof(token):
        cookies.write(cookies.ADMIN, proof(token))       # until the browser sends it back


def is_admin() -> bool:
    """Whether this browser session is the admin's."""
    if os.environ.get(TOKEN, ""):
        return bool(st.session_state.get(SESSION))
    return is_local_browser(st.context.ip_address, dict(st.context.headers))
