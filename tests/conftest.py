"""Shared fixtures: the three functions loaded through functions-framework, and a capturing sink.

Only fixtures live here; what tests import (URLs, the sink's type, ``deliver``) is in support.py.

functions-framework imports every source file as module ``main`` (replacing ``sys.modules["main"]``)
and each function reads its configuration at import. So every load is a fresh ``create_app`` after
the environment is set, and the returned client keeps its own module alive; loading analyze, status
and results side by side in one process is safe because nothing looks ``main`` up again.
"""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest
from cloudevents.http import from_http
from flask.testing import FlaskClient
from functions_framework import create_app

from colorseason.config import Settings
from support import DATABASE_URL, REDIS_URL, Sink

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def sink() -> Iterator[Sink]:
    holder: dict[str, Sink] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            target = holder["sink"]
            if target.status < 300:
                target.received.append(from_http(dict(self.headers), body))
            self.send_response(target.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["sink"] = Sink(f"http://127.0.0.1:{server.server_port}/")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield holder["sink"]
    server.shutdown()


@pytest.fixture
def clean_sink(sink: Sink) -> Sink:
    sink.received.clear()
    sink.status = 202
    return sink


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    """A schema of its own per test session, so parallel runs never collide; dropped at the end."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    yield schema
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


LoadFunction = Callable[..., FlaskClient]


@pytest.fixture
def load_function(
    monkeypatch: pytest.MonkeyPatch, clean_sink: Sink, pg_schema: str
) -> Iterator[LoadFunction]:
    """``load_function("status", REDIS_URL=...)``: a test client for a freshly imported function.

    Defaults point at the machine's real Redis and PostgreSQL and at the capturing sink; keyword
    arguments override variables (``None`` unsets one).
    """
    loaded: list[ModuleType] = []

    def load(name: str, **overrides: str | None) -> FlaskClient:
        env: dict[str, str | None] = {
            **{field.name.upper(): None for field in fields(Settings)},
            "REDIS_URL": REDIS_URL,
            "DATABASE_URL": DATABASE_URL,
            "DATABASE_SCHEMA": pg_schema,
            "K_SINK": clean_sink.url,
            "STATUS_PUBLIC_URL": "http://status.test",
            "RESULTS_PUBLIC_URL": "http://results.test",
            "LOG_LEVEL": "WARNING",
            **overrides,
        }
        for key, value in env.items():
            if value is None:
                monkeypatch.delenv(key, raising=False)
            else:
                monkeypatch.setenv(key, value)
        app = create_app(target="main", source=str(ROOT / "functions" / name / "main.py"))
        loaded.append(sys.modules["main"])
        return app.test_client()

    yield load
    for module in loaded:
        store = getattr(module, "_results", None)
        if store is not None and store.cache_info().currsize:
            store().close()


@pytest.fixture
def analyze(load_function: LoadFunction) -> FlaskClient:
    return load_function("analyze")


@pytest.fixture
def status(load_function: LoadFunction) -> FlaskClient:
    return load_function("status")


@pytest.fixture
def results(load_function: LoadFunction) -> FlaskClient:
    return load_function("results")
