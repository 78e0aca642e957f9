"""What every function answers alike at its edge: unknown paths and methods are problem+json."""

from __future__ import annotations

import pytest
from functions_framework import _function_registry

FUNCTIONS = ("analyze", "status", "results")
UNMATCHED = [
    ("GET", "/results/ab%0Acd", 404),  # functions-framework's catch-all matches no newline
    ("PUT", "/jobs/x%0A", 404),
    ("GET", "/robots.txt", 404),  # functions-framework keeps these two for itself
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
