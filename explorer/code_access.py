"""Who may have Caption Lab run their own code on this server: `CAPTION_LAB_STUDENT_CODE`.

    local   (the default) only a browser on the server's own machine, as on a student's
            laptop: the connection comes from the loopback address and no proxy forwarded it
    on      everyone, for a teacher who accepts running students' code on a class server
    off     nobody

Running someone's code is running code on the machine, even in the sandbox
(`core.student.confine`), so a server reached over the network says no unless its
admin said yes. Whatever the setting, only a browser on the server's own machine may have
a folder of the server's checked (`sources`); everyone else uploads. Behind a reverse proxy on the same machine every browser looks local:
the proxy must send X-Forwarded-For (the deployment recipe's does), which `local` refuses.
"""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

from explorer.i18n import _

SETTING = "CAPTION_LAB_STUDENT_CODE"
CHOICES = ("local", "on", "off")
FORWARDING_HEADERS = ("x-forwarded-for", "x-real-ip", "forwarded")


@dataclass(frozen=True)
class Access:
    allowed: bool
    reason: str                 # why not (empty when allowed)
    setting: str


def setting() -> str:
    return (os.environ.get(SETTING) or "local").strip().lower()


def is_loopback(ip) -> bool:
    """Whether a connection's address is this machine's own (127.0.0.1, ::1, ::ffff:127.0.0.1)."""
    if not isinstance(ip, str):
        return True
    try:
        address = ipaddress.ip_address(ip.split("%")[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def is_local_browser(ip, headers: dict) -> bool:
    """A browser on the server's own machine: the loopback address, and no proxy forwarded it."""
    return is_loopback(ip) and not {str(k).lower() for k in headers} & set(FORWARDING_HEADERS)


def sources(ip, headers: dict) -> tuple[str, ...]:
    """Where a browser may have its code read from: "folder" (a path on the server's own disk)
    only for a browser on the server's own machine, whatever the setting; "upload" for all.
    On a class server a remote student uploads, and cannot have the server read (and so show)
    an arbitrary folder of the server's."""
    return ("folder", "upload") if is_local_browser(ip, headers) else ("upload",)


def decide(value: str, ip, headers: dict) -> Access:
    """Whether a browser at `ip` (`st.context.ip_address`: None for the loopback address) with
    request `headers` may run code. An address that is not text is taken as the loopback
    one: only Streamlit's AppTest, which runs in this very process, gives one."""
    if value == "on":
        return Access(True, "", value)
    if value == "off":
        return Access(False, _("Running your own code is switched off on this server ({setting}=off).")
                      .format(setting=SETTING), value)
    if value == "local":
        if is_local_browser(ip, headers):
            return Access(True, "", value)
        return Access(False, _("This server runs your own code only for a browser on its own machine "
                               "({setting}=local), and yours connects from elsewhere. Run Caption Lab on your "
                               "laptop (`make run`), or ask the admin to set {setting}=on.").format(setting=SETTING),
                      value)
    return Access(False, _("{setting}={value!r} is not one of {choices}, so running your own code "
                           "is off until the admin fixes it.").format(setting=SETTING, value=value,
                                                                      choices=", ".join(CHOICES)), value)
