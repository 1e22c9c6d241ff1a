"""`aftersales serve --workers N` keeps TCP_NODELAY on every accepted connection: the
listener it hands to uvicorn's supervisor is a TCP socket that says so (asyncio only turns
Nagle off for sockets reporting IPPROTO_TCP), so keep-alive responses are not held back
waiting for the client's delayed ACK."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from aftersales.api import server


def _accepted_nodelay(listener: socket.socket) -> int:
    seen: list[int] = []

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            sock = transport.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def main() -> None:
        srv = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        port = listener.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
        srv.close()
        await srv.wait_closed()

    asyncio.run(main())
    return seen[0]


def test_the_listener_for_several_workers_gives_connections_tcp_nodelay() -> None:
    listener = server.tcp_listener("127.0.0.1", 0)
    assert listener.proto == socket.IPPROTO_TCP
    listener.listen()
    assert _accepted_nodelay(listener) != 0


def test_serve_with_two_workers_hands_the_supervisor_our_listener(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handed: list[tuple[int, list[socket.socket]]] = []

    class Supervisor:
        def __init__(self, config: Any, sockets: list[socket.socket]) -> None:
            handed.append((config.workers, sockets))

        def run(self) -> None:
            pass

    monkeypatch.setattr(server, "Multiprocess", Supervisor)
    server.run("aftersales.api.app:create_app", host="127.0.0.1", port=0, workers=2)
    ((workers, sockets),) = handed
    assert workers == 2 and [s.proto for s in sockets] == [socket.IPPROTO_TCP]
