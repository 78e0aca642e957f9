"""The local stack's own HTTP servers (broker ingress, web page): background threads and URLs.

Both run on threads of the ``up`` process (or of a test), and both hand out URLs that a client on
this machine can open, whatever interface they were bound to.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from typing import Any, TypeVar

Server = TypeVar("Server", bound=ThreadingHTTPServer)


def local_url(host: str | Any, port: int) -> str:
    """A URL a local client can open: wildcard binds are reached through the loopback address."""
    host = str(host)
    if host in {"0.0.0.0", "", "::"}:
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


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
