"""The status function through functions-framework, on the machine's real Redis."""

from __future__ import annotations

import threading
import uuid

import pytest

from colorseason import events
from support import CLOSED_REDIS_URL, deliver

RESULT_URL = "http://results.test/results/"
RESULT = {"season": {"id": "true-winter"}, "probabilities": {}, "model": {"version": "t"}}


def lifecycle(job_id: str) -> list:
    return [
        events.requested(job_id, claim_key="colorseason:claim:" + job_id, content_type="image/png"),
        events.started(job_id),
        events.completed(job_id, RESULT, RESULT_URL + job_id),
        events.stored(job_id, RESULT_URL + job_id),
    ]


@pytest.mark.parametrize(
    "order", [(0, 1, 2, 3), (3, 2, 1, 0), (1, 2, 0, 3, 2, 1), (0, 0, 3, 3), (3, 1)]
)
def test_duplicated_and_reordered_events_end_completed(status, order) -> None:
    job_id = events.new_job_id()
    sent = lifecycle(job_id)
    for index in order:
        response = deliver(status, sent[index], structured=index % 2 == 1)
        assert response.status_code == 202 and response.get_data() == b""
    response = status.get(f"/jobs/{job_id}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["state"] == "completed" and body["result_url"] == RESULT_URL + job_id
    assert "Retry-After" not in response.headers


def test_etag_304_and_retry_after_while_running(status) -> None:
    job_id = events.new_job_id()
    deliver(status, events.started(job_id))
    response = status.get(f"/jobs/{job_id}")
    assert response.get_json()["state"] == "processing"
    assert response.headers["Retry-After"] == "1"
    etag = response.headers["ETag"]
    again = status.get(f"/jobs/{job_id}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b"" and again.headers["ETag"] == etag
    deliver(status, events.failed(job_id, "no_face", "No face was found"))
    changed = status.get(f"/jobs/{job_id}", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.get_json()["error"] == {"code": "no_face", "message": "No face was found"}


def test_completed_is_shown_only_once_results_has_stored_it(status) -> None:
    """status hears `completed` in parallel with results: alone it means "analysed", not done."""
    job_id = events.new_job_id()
    for event in lifecycle(job_id)[:3]:
        deliver(status, event)
    body = status.get(f"/jobs/{job_id}").get_json()
    assert body["state"] == "processing" and "result_url" not in body
    deliver(status, events.stored(job_id))  # the URL is already known from `completed`
    body = status.get(f"/jobs/{job_id}").get_json()
    assert body == {**body, "state": "completed", "result_url": RESULT_URL + job_id}


def test_a_dead_lettered_completed_is_result_unavailable_never_completed(status) -> None:
    job_id = events.new_job_id()
    for event in lifecycle(job_id)[:3]:
        deliver(status, event)
    lost = events.completed(job_id, RESULT, RESULT_URL + job_id)
    lost["knativeerrorcode"] = "503"
    assert deliver(status, lost, "/deadletter").status_code == 202
    body = status.get(f"/jobs/{job_id}").get_json()
    assert body["state"] == "failed" and body["error"]["code"] == "result_unavailable"
    assert "503" in body["error"]["message"] and "result_url" not in body


def test_dead_lettered_facts_still_count_and_started_changes_nothing(status) -> None:
    stored, failed, started = (events.new_job_id() for _ in range(3))
    deliver(status, events.started(stored))
    deliver(status, events.stored(stored, RESULT_URL + stored), "/deadletter")
    assert status.get(f"/jobs/{stored}").get_json()["state"] == "completed"
    deliver(status, events.failed(failed, "no_face", "No face was found"), "/deadletter")
    assert status.get(f"/jobs/{failed}").get_json()["error"]["code"] == "no_face"
    deliver(status, events.requested(started, claim_key="k", content_type="image/png"))
    assert deliver(status, events.started(started), "/deadletter").status_code == 202
    assert status.get(f"/jobs/{started}").get_json()["state"] == "queued"
    tampered = events.stored(events.new_job_id())
    tampered.data["extra"] = True
    assert deliver(status, tampered, "/deadletter").status_code == 400


def test_canonical_uuid_job_ids_reach_the_same_job(status) -> None:
    job_id = events.new_job_id()
    canonical = str(uuid.UUID(job_id)).upper()
    event = events.started(job_id)
    event["subject"] = canonical
    event.data["job_id"] = canonical
    assert deliver(status, event).status_code == 202
    for spelling in (job_id, canonical, canonical.lower(), job_id.upper()):
        response = status.get(f"/jobs/{spelling}")
        assert response.status_code == 200 and response.get_json()["job_id"] == job_id


def test_dead_letter_marks_the_job_failed_but_never_undoes_completed(status) -> None:
    job_id, done = events.new_job_id(), events.new_job_id()
    request = events.requested(job_id, claim_key="colorseason:claim:x", content_type="image/png")
    request["knativeerrorcode"] = "503"
    assert deliver(status, request, "/deadletter").status_code == 202
    body = status.get(f"/jobs/{job_id}").get_json()
    assert body["state"] == "failed" and body["error"]["code"] == "delivery_failed"
    assert "503" in body["error"]["message"]
    for event in lifecycle(done):
        deliver(status, event)
    deliver(status, events.started(done), "/deadletter")
    assert status.get(f"/jobs/{done}").get_json()["state"] == "completed"


def test_deleted_result_makes_the_job_unknown(status) -> None:
    job_id = events.new_job_id()
    for event in [
        *lifecycle(job_id),
        events.deleted(job_id),
        events.completed(job_id, RESULT),
        events.stored(job_id),
    ]:
        assert deliver(status, event).status_code == 202
    response = status.get(f"/jobs/{job_id}")
    assert response.status_code == 404


@pytest.mark.parametrize("path", [f"/jobs/{'0' * 32}", "/jobs/not-a-job-id", "/jobs/"])
def test_unknown_job_is_a_404_problem(status, path: str) -> None:
    response = status.get(path)
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
    assert response.get_json()["code"] == "not_found"


def test_bad_events_are_400_and_never_retried(status) -> None:
    response = status.post("/", data=b"{}", content_type="application/cloudevents+json")
    assert response.status_code == 400 and response.get_json()["code"] == "invalid_event"
    response = deliver(status, events.purge())
    assert response.status_code == 400
    response = status.post("/", data=b"hello", content_type="text/plain")
    assert response.status_code == 400


def test_wrong_method_and_health(status) -> None:
    response = status.delete(f"/jobs/{events.new_job_id()}")
    assert response.status_code == 405 and "GET" in response.headers["Allow"]
    assert status.get("/health/liveness").status_code == 200
    assert status.get("/health/readiness").get_json() == {"status": "ready"}


def test_redis_down_is_503_everywhere(load_function) -> None:
    status = load_function("status", REDIS_URL=CLOSED_REDIS_URL)
    job_id = events.new_job_id()
    for response in (
        status.get(f"/jobs/{job_id}"),
        deliver(status, events.started(job_id)),
        status.get("/health/readiness"),
    ):
        assert response.status_code == 503
        assert response.get_json()["code"] == "store_unavailable"
        assert response.headers["Retry-After"] == "1"
    assert status.get("/health/liveness").status_code == 200


def test_cors_only_for_allowed_origins(load_function) -> None:
    status = load_function("status", CORS_ALLOW_ORIGINS="https://app.example")
    path = f"/jobs/{events.new_job_id()}"
    allowed = status.get(path, headers={"Origin": "https://app.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "ETag" in allowed.headers["Access-Control-Expose-Headers"]
    other = status.get(path, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = status.options(
        path,
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 204
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Prefer" in preflight.headers["Access-Control-Allow-Headers"]  # long-polls
    assert "Preference-Applied" in allowed.headers["Access-Control-Expose-Headers"]


# -- long-poll -----------------------------------------------------------------------------------


def _held_get(status, path: str, headers: dict[str, str]) -> tuple[threading.Thread, list]:
    """GET ``path`` on a thread of its own (a client holding a long-poll)."""
    answers: list = []
    client = status.application.test_client()
    thread = threading.Thread(target=lambda: answers.append(client.get(path, headers=headers)))
    thread.start()
    return thread, answers


def test_a_long_poll_is_held_until_the_job_changes(status) -> None:
    job_id = events.new_job_id()
    deliver(status, events.started(job_id))
    etag = status.get(f"/jobs/{job_id}").headers["ETag"]
    holding, answers = _held_get(
        status, f"/jobs/{job_id}", {"If-None-Match": etag, "Prefer": "wait=20"}
    )
    holding.join(0.5)
    assert holding.is_alive(), "an unchanged job holds the request"
    deliver(status, events.failed(job_id, "no_face", "No face was found"))
    holding.join(10)
    [response] = answers
    assert response.status_code == 200 and response.get_json()["state"] == "failed"
    assert response.headers["ETag"] != etag
    assert response.headers["Preference-Applied"] == "wait=20"


def test_a_long_poll_answers_304_when_nothing_changed(status) -> None:
    job_id = events.new_job_id()
    deliver(status, events.started(job_id))
    etag = status.get(f"/jobs/{job_id}").headers["ETag"]
    response = status.get(f"/jobs/{job_id}?wait=1", headers={"If-None-Match": etag})
    assert response.status_code == 304 and response.get_data() == b""
    assert response.headers["ETag"] == etag and response.headers["Preference-Applied"] == "wait=1"


def test_a_long_poll_answers_at_once_when_the_client_is_behind(status) -> None:
    job_id = events.new_job_id()
    deliver(status, events.started(job_id))
    for headers in (
        {"Prefer": "wait=20"},
        {"Prefer": "wait=20", "If-None-Match": '"stale"'},
        {"Prefer": "wait=20", "If-None-Match": "*"},  # any state: nothing to wait for
    ):
        holding, answers = _held_get(status, f"/jobs/{job_id}", headers)
        holding.join(10)
        assert not holding.is_alive() and answers[0].status_code in {200, 304}


def test_past_its_cap_a_process_answers_long_polls_at_once(load_function) -> None:
    """Held polls keep threads, the broker's deliveries need some: past the cap, clients poll."""
    status = load_function("status", LONG_POLL_MAX_HELD="1")
    job_id = events.new_job_id()
    deliver(status, events.started(job_id))
    etag = status.get(f"/jobs/{job_id}").headers["ETag"]
    headers = {"If-None-Match": etag, "Prefer": "wait=20"}
    holding, answers = _held_get(status, f"/jobs/{job_id}", headers)
    holding.join(0.5)
    assert holding.is_alive()
    declined = status.get(f"/jobs/{job_id}", headers=headers)  # answered at once
    assert declined.status_code == 304 and "Preference-Applied" not in declined.headers
    assert deliver(status, events.stored(job_id)).status_code == 202  # deliveries still go in
    holding.join(10)
    assert answers[0].status_code == 200 and answers[0].headers["Preference-Applied"] == "wait=20"


def test_a_job_deleted_during_a_long_poll_is_a_404(status) -> None:
    job_id = events.new_job_id()
    for event in lifecycle(job_id):
        deliver(status, event)
    etag = status.get(f"/jobs/{job_id}").headers["ETag"]
    holding, answers = _held_get(
        status, f"/jobs/{job_id}", {"If-None-Match": etag, "Prefer": "respond-async, wait=20"}
    )
    holding.join(0.5)
    deliver(status, events.deleted(job_id))
    holding.join(10)
    assert answers[0].status_code == 404


@pytest.mark.parametrize(
    ("query", "prefer", "applied"),
    [("", "wait=999", "wait=25"), ("?wait=7", "wait=3", "wait=7"), ("", "wait=soon", None)],
)
def test_wait_is_capped_and_the_query_alias_wins(status, query, prefer, applied) -> None:
    job_id = events.new_job_id()
    deliver(status, events.stored(job_id))  # completed: nothing will change, but no If-None-Match
    response = status.get(f"/jobs/{job_id}{query}", headers={"Prefer": prefer})
    assert response.status_code == 200
    assert response.headers.get("Preference-Applied") == applied


def test_an_unreadable_wait_query_is_a_400(status) -> None:
    response = status.get(f"/jobs/{events.new_job_id()}?wait=soon")
    assert response.status_code == 400 and response.get_json()["code"] == "bad_request"
