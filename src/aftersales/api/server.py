"""How `aftersales serve` starts uvicorn, one process or several, with Nagle's algorithm off
on every connection.

With ``workers > 1`` uvicorn binds the listening socket itself and hands it to the worker
processes; that socket is made with ``proto`` 0, accepted sockets inherit it, and asyncio
only sets ``TCP_NODELAY`` on a socket that says ``IPPROTO_TCP``. Every keep-alive response
after the first then waits on the client's delayed ACK (about 40 ms on Linux). So here the
listener is bound by us, as a TCP socket that says so, with ``TCP_NODELAY`` set on it too
(Linux copies it to accepted sockets), and passed to uvicorn's supervisor. One process
keeps uvicorn's own path (it binds from host and port, which is unaffected)."""

from __future__ import annotations

import socket

import uvicorn
from uvicorn.supervisors import Multiprocess


def tcp_listener(host: str, port: int) -> socket.socket:
    """A bound, inheritable TCP listening socket whose accepted connections get
    TCP_NODELAY (both from asyncio, which sees IPPROTO_TCP, and from the kernel)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def run(app: str, *, host: str, port: int, workers: int = 1, factory: bool = True) -> None:
    """Serve the ASGI application named by ``app`` ("module:attr") on host:port."""
    if workers <= 1:
        uvicorn.run(app, factory=factory, host=host, port=port)
        return
    config = uvicorn.Config(app, factory=factory, host=host, port=port, workers=workers)
    sock = tcp_listener(host, port)
    try:
        Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:  # the supervisor already stopped its workers
        pass
    finally:
        sock.close()
