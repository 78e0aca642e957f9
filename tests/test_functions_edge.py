"""What every function answers alike at its edge: unknown paths and methods are problem+json."""

from __future__ import annotations

import pytest

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
