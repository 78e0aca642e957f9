"""`colorseason up` started the way a user starts it, for the end-to-end and browser tests.

The stack runs as a subprocess in its own session on free ports (``--port 0``) and is found through
its ``--urls`` file, exactly as a script would. Stopping it sends SIGTERM and then checks the
promise of a clean stop: exit status 0, no process of the tree still running the moment `up` has
exited (not a moment later), no URLs file left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import psycopg
from psycopg import sql

from colorseason.local.servers import start_up
from support import DATABASE_URL, REDIS_URL

START_TIMEOUT_SECONDS = 300.0


@dataclass
class Stack:
    urls: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes]

    def records(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far (the non-JSON lines of native libraries skipped)."""
        records = []
        for line in self.log.read_text(errors="replace").splitlines():
            with suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict):
                    records.append(record)
        return records

    def deliveries(self, **match: Any) -> list[dict[str, Any]]:
        """The broker's delivery log lines whose fields equal ``match``."""
        return [
            r
            for r in self.records()
            if r.get("message") == "delivery" and all(r.get(k) == v for k, v in match.items())
        ]


def wait_for(
    predicate: Any, timeout: float, interval: float = 0.25, what: str = "condition"
) -> Any:
    """Poll ``predicate`` until it returns something truthy (and return that)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@contextmanager
def running_stack(
    workdir: Path, env: Mapping[str, str | None] | None = None, args: Sequence[str] = ()
) -> Iterator[Stack]:
    """`colorseason up --port 0 --urls FILE` on the machine's Redis and PostgreSQL by default.

    ``env`` overrides the environment (None unsets a variable: e.g. ``DATABASE_URL`` for the
    embedded server); ``args`` are more options for `up`. Results go to a PostgreSQL schema of
    their own, dropped afterwards, so runs never collide.
    """
    urls_file, log = workdir / "urls.json", workdir / "up.log"
    schema = f"e2e_{uuid.uuid4().hex[:12]}"
    environment = {
        **os.environ,
        "REDIS_URL": REDIS_URL,
        "DATABASE_URL": DATABASE_URL,
        "DATABASE_SCHEMA": schema,
    }
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    process, urls = start_up(workdir, environment, args, timeout=START_TIMEOUT_SECONDS)
    tree: list[psutil.Process] = []
    try:
        tree = psutil.Process(process.pid).children(recursive=True)
        yield Stack(urls, log, process)
    finally:
        _stop(process, tree, log)
        if "DATABASE_URL" in environment:
            with psycopg.connect(environment["DATABASE_URL"], autocommit=True) as connection:
                drop = sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                connection.execute(drop)
    assert not urls_file.exists(), "the URLs file outlived the stack"


def still_running(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those of ``processes`` that have not exited (a zombie has: only its entry is left)."""
    running = []
    for process in processes:
        with suppress(psutil.NoSuchProcess):
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                running.append(process)
    return running


def _stop(process: subprocess.Popen[bytes], tree: list[psutil.Process], log: Path) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise AssertionError(
            f"colorseason up did not stop on SIGTERM:\n{log.read_text()}"
        ) from None
    alive = still_running(tree)
    for leftover in alive:
        leftover.kill()
    assert not alive, f"processes outlived colorseason up: {alive}"
    assert code == 0, f"colorseason up exited {code}:\n{log.read_text()[-4000:]}"
