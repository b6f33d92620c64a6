"""Who is the admin: the one browser allowed what affects everyone on a shared server.

Pausing or starting the server-wide COCO download, and stopping or deleting anyone's
run, belong to the admin, not to any student's browser. The admin is:

- with `CAPTION_LAB_ADMIN_TOKEN` set: a browser whose address holds `?admin=<that token>`
  (the token is kept in the session, so it can be dropped from the address afterwards);
- without it: a browser on the server's own machine (loopback, not forwarded by a proxy),
  as on a student's laptop, where the student is their own admin.

The command line (`python -m explorer.runs`, `python -m core.data download`) is always
the admin's.
"""
from __future__ import annotations

import hmac
import os

import streamlit as st

from explorer.code_access import is_local_browser
from explorer.i18n import N_

TOKEN = "CAPTION_LAB_ADMIN_TOKEN"
PARAM = "admin"
SESSION = "app.admin"                 # True once this session showed the admin's token
ONLY_ADMIN = N_("Only the admin can do this on a shared server: a browser on the server itself, or the "
              "admin's link (see CAPTION_LAB_ADMIN_TOKEN in the README).")


def is_admin() -> bool:
    """Whether this browser session is the admin's."""
    token = os.environ.get(TOKEN, "")
    if token:
        given = st.query_params.get(PARAM, "")
        if given and hmac.compare_digest(str(given), token):
            st.session_state[SESSION] = True
        return bool(st.session_state.get(SESSION))
    return is_local_browser(st.context.ip_address, dict(st.context.headers))
