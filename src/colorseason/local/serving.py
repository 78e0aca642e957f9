"""The local stack's addresses and its own HTTP servers (broker ingress, web page).

Every part of ``up`` listens on the one ``--host``, an IPv4 or IPv6 address or name (an IPv6
address with or without brackets), and hands out URLs that a client on this machine can open,
whatever interface it was bound to. The two in-process servers run on threads of the ``up``
process (or of a test).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

# A wildcard bind is reached through the loopback address of its family.
_LOOPBACK = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}


def bind_host(host: str | Any) -> str:
    """The address as a socket binds it: ``[::1]``, as a URL writes it, is ``::1``."""
    host = str(host)
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def address_family(host: str | Any) -> socket.AddressFamily:
    """IPv6 for an IPv6 address, else IPv4 (a name binds as IPv4, as ``ThreadingHTTPServer``'s
    default has it)."""
    return socket.AF_INET6 if ":" in bind_host(host) else socket.AF_INET


def host_port(host: str | Any, port: int) -> str:
    """``host:port`` as a URL and gunicorn's ``--bind`` write it: an IPv6 address in brackets."""
    host = bind_host(host)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def local_url(host: str | Any, port: int) -> str:
    """A URL a local client can open of a server bound to ``host``: wildcard binds are reached
    through the loopback address of their family (``0.0.0.0`` → ``127.0.0.1``, ``::`` →
    ``::1``, which a dual-stack and an IPv6-only socket both answer)."""
    host = bind_host(host)
    return f"http://{host_port(_LOOPBACK.get(host, host), port)}"


class LocalServer(ThreadingHTTPServer):
    """A threaded HTTP server on ``host`` (either family) that knows its :func:`local_url`."""

    daemon_threads = True

    def __init__(self, host: str, port: int, handler: type[BaseHTTPRequestHandler]) -> None:
        self.address_family = address_family(host)
        super().__init__((bind_host(host), port), handler)

    @property
    def url(self) -> str:
        return local_url(*self.server_address[:2])


Server = TypeVar("Server", bound=ThreadingHTTPServer)


@contextmanager
def serving(server: Server, name: str = "http") -> Iterator[Server]:
    """Serve ``server`` on a daemon thread called ``name`` until the block ends, then close it."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=name, daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
