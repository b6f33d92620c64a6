"""`python -m explorer.serve [options]`: `streamlit run explorer/app.py [options]`, without Nagle's delay.

Streamlit's server binds its listening socket as `socket.socket(family)`, protocol 0, and
asyncio turns on TCP_NODELAY only for sockets whose protocol says TCP. So on every page
the server sends its first message at once and holds the rest until the browser
acknowledges it, which a browser delays (40 ms on Linux, up to 200 ms on Windows): a
page that takes 5 ms to run arrives after 45 ms, on every click of every session.
Measured with `benchmarks.classroom_load` (the README quotes it). This launcher binds the
same socket with the TCP protocol number, so every connection gets TCP_NODELAY, then
runs Streamlit's own command line: every option of `streamlit run` works the same.

`make run` and `deploy.cluster` start the app this way; plain `streamlit run
explorer/app.py` still works, only slower. If a Streamlit version no longer has the
function patched here, the app starts as plain `streamlit run` would, and says so.
"""
from __future__ import annotations

import socket
import sys
from pathlib import Path

APP = Path(__file__).resolve().with_name("app.py")


def tcp_socket(sock: socket.socket) -> socket.socket:
    """The same bound, listening socket, re-labelled with protocol TCP (no new bind: the
    file descriptor moves over), so that asyncio sets TCP_NODELAY on its connections."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto == socket.IPPROTO_TCP:
        return sock
    timeout = sock.gettimeout()
    fixed = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    fixed.settimeout(timeout)
    fixed.set_inheritable(True)
    return fixed


def install() -> bool:
    """Patch Streamlit's socket binding (see the module docstring); whether it could be."""
    try:
        from streamlit.web.server.starlette import starlette_server as server
    except ImportError:
        return False
    bind = getattr(server, "_bind_socket", None)
    if bind is None or getattr(bind, "caption_lab_nodelay", False):
        return bind is not None

    def bind_with_nodelay(*args, **kwargs):
        return tcp_socket(bind(*args, **kwargs))

    bind_with_nodelay.caption_lab_nodelay = True
    server._bind_socket = bind_with_nodelay
    return True


def main(argv: list[str] | None = None) -> int:
    from streamlit.web import cli
    if not install():
        print("Caption Lab: this Streamlit has no _bind_socket to patch; pages answer up to 40 ms later.",
              file=sys.stderr)
    args = list(sys.argv[1:] if argv is None else argv)
    return cli.main(args=["run", str(APP), *args], prog_name="streamlit", standalone_mode=True)


if __name__ == "__main__":
    sys.exit(main())
