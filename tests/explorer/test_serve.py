"""Tests for explorer/serve.py: the app's connections get TCP_NODELAY, Streamlit's own are without it."""
from __future__ import annotations

import asyncio
import socket

from explorer import serve
from tests.support.waiting import run_coroutine


def bound_as_streamlit_binds() -> socket.socket:
    """A listening socket made the way Streamlit's `_bind_socket` makes it: protocol 0."""
    sock = socket.socket(family=socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    return sock


def nodelay_of_accepted(sock: socket.socket) -> int:
    """TCP_NODELAY on the server's side of one connection accepted by an asyncio server on `sock`
    (what uvicorn does with the socket Streamlit hands it)."""
    async def main() -> int:
        accepted = asyncio.get_running_loop().create_future()

        def connected(reader, writer):
            accepted.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(connected, sock=sock)
        port = sock.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        value = await asyncio.wait_for(accepted, 10)
        writer.close()
        server.close()
        await server.wait_closed()
        return value

    return run_coroutine(main())


def test_a_socket_bound_as_streamlit_binds_it_leaves_nagle_on():
    assert nodelay_of_accepted(bound_as_streamlit_binds()) == 0        # the delay explorer.serve removes


def test_relabelled_as_tcp_its_connections_get_nodelay_and_it_keeps_its_address():
    plain = bound_as_streamlit_binds()
    address = plain.getsockname()
    fixed = serve.tcp_socket(plain)
    assert fixed.proto == socket.IPPROTO_TCP and fixed.getsockname() == address and not fixed.getblocking()
    assert nodelay_of_accepted(fixed) == 1


def test_install_patches_streamlits_binding_once(monkeypatch):
    from streamlit.web.server.starlette import starlette_server
    monkeypatch.setattr(starlette_server, "_bind_socket", starlette_server._bind_socket)   # restored after
    assert serve.install() and serve.install()
    patched = starlette_server._bind_socket
    assert patched.caption_lab_nodelay and serve.install() and starlette_server._bind_socket is patched
    sock = patched("127.0.0.1", 0, 8)
    try:
        assert sock.proto == socket.IPPROTO_TCP and nodelay_of_accepted(sock) == 1
    finally:
        sock.close()
