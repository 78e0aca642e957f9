"""The results function through functions-framework, on the machine's real PostgreSQL."""

from __future__ import annotations

import uuid

from colorseason import events
from support import CLOSED_DATABASE_URL, DATABASE_URL, deliver, reply_event

RESULT = {
    "season": {"id": "light-spring", "family": "spring"},
    "probabilities": {"light-spring": 0.9, "true-spring": 0.1},
    "model": {"version": "test"},
}


def assert_stored_reply(response, job_id: str, result_url: str | None = None) -> None:
    assert response.status_code == 200, response.get_data()
    reply = reply_event(response)
    assert reply["type"] == events.STORED and reply["source"] == events.SOURCE_RESULTS
    assert reply["subject"] == job_id and reply.data.get("result_url") == result_url


def test_completed_is_stored_once_served_and_confirmed_every_time(results) -> None:
    job_id = events.new_job_id()
    url = f"http://results.test/results/{job_id}"
    assert_stored_reply(deliver(results, events.completed(job_id, RESULT, url)), job_id, url)
    first = results.get(f"/results/{job_id}")
    assert first.status_code == 200 and first.get_json()["result"] == RESULT
    assert "no-store" in first.headers["Cache-Control"]
    replay = events.completed(job_id, {**RESULT, "season": {"id": "deep-winter"}})
    assert_stored_reply(deliver(results, replay, structured=True), job_id)  # confirmed again
    assert results.get(f"/results/{job_id}").get_json() == first.get_json()


def test_a_row_stored_before_stored_replies_existed_is_confirmed(results, pg_schema) -> None:
    """Rows written by an earlier release (no reply then) are confirmed on the next delivery."""
    from colorseason.results import ResultStore

    job_id = events.new_job_id()
    store = ResultStore(DATABASE_URL, schema=pg_schema)
    try:
        assert store.insert(job_id, RESULT)
    finally:
        store.close()
    assert_stored_reply(deliver(results, events.completed(job_id, RESULT)), job_id)


def test_canonical_uuid_job_ids_are_normalised(results) -> None:
    job_id = events.new_job_id()
    canonical = str(uuid.UUID(job_id))
    event = events.completed(job_id, RESULT)
    event["subject"] = canonical.upper()
    event.data["job_id"] = canonical
    assert_stored_reply(deliver(results, event), job_id)
    for spelling in (canonical, canonical.upper(), job_id.upper()):
        response = results.get(f"/results/{spelling}")
        assert response.status_code == 200 and response.get_json()["job_id"] == job_id
    assert results.delete(f"/results/{canonical}").status_code == 204
    assert results.get(f"/results/{job_id}").status_code == 404


def test_delete_is_final_and_tells_status(results, clean_sink) -> None:
    job_id = events.new_job_id()
    deliver(results, events.completed(job_id, RESULT))
    assert results.delete(f"/results/{job_id}").status_code == 204
    assert results.get(f"/results/{job_id}").status_code == 404
    [told] = clean_sink.of_type(events.DELETED)
    assert told["subject"] == job_id
    late = deliver(results, events.completed(job_id, RESULT))  # a late replay: not confirmed
    assert late.status_code == 202 and late.get_data() == b""
    assert results.get(f"/results/{job_id}").status_code == 404
    assert results.delete(f"/results/{job_id}").status_code == 204  # retry-safe
    assert results.delete(f"/results/{events.new_job_id()}").status_code == 404
    assert results.delete("/results/nope").status_code == 404


def test_delete_with_the_broker_down_is_503_and_retryable(results, clean_sink) -> None:
    job_id = events.new_job_id()
    deliver(results, events.completed(job_id, RESULT))
    clean_sink.status = 503
    assert results.delete(f"/results/{job_id}").status_code == 503
    clean_sink.status = 202
    assert results.delete(f"/results/{job_id}").status_code == 204
    assert len(clean_sink.of_type(events.DELETED)) == 1


def test_purge_deletes_expired_results(load_function) -> None:
    expiring = load_function("results", RESULT_RETENTION_DAYS="0")
    job_id = events.new_job_id()
    deliver(expiring, events.completed(job_id, RESULT))
    assert expiring.get(f"/results/{job_id}").status_code == 404  # already past retention
    assert deliver(expiring, events.purge()).status_code == 202
    keeping = load_function("results")
    kept = events.new_job_id()
    deliver(keeping, events.completed(kept, RESULT))
    assert deliver(keeping, events.purge("2000-01-01T00:00:00Z")).status_code == 202
    assert keeping.get(f"/results/{kept}").status_code == 200
    assert deliver(keeping, events.purge("2999-01-01T00:00:00Z")).status_code == 202
    assert keeping.get(f"/results/{kept}").status_code == 404


def test_bad_events_are_400(results) -> None:
    job_id = events.new_job_id()
    response = deliver(results, events.started(job_id))
    assert response.status_code == 400 and response.get_json()["code"] == "invalid_event"
    headers, body = events.to_response(events.completed(job_id, RESULT))
    tampered = body.replace(b'"model"', b'"landmarks":[[0,0]],"model"')
    assert results.post("/", data=tampered, headers=headers).status_code == 400


def test_postgres_down_is_5xx_and_nothing_is_lost_after_recovery(load_function) -> None:
    job_id = events.new_job_id()
    event = events.completed(job_id, RESULT)
    down = load_function("results", DATABASE_URL=CLOSED_DATABASE_URL)
    response = deliver(down, event)
    assert response.status_code == 503 and response.get_json()["code"] == "store_unavailable"
    assert down.get("/health/readiness").status_code == 503
    assert down.get("/health/liveness").status_code == 200
    recovered = load_function("results")  # the broker retries the same event
    assert_stored_reply(deliver(recovered, event), job_id)
    assert recovered.get(f"/results/{job_id}").get_json()["result"] == RESULT
    assert recovered.get("/health/readiness").status_code == 200


def test_a_pingsource_tick_purges(load_function) -> None:
    from cloudevents.http import CloudEvent

    expiring = load_function("results", RESULT_RETENTION_DAYS="0")
    job_id = events.new_job_id()
    deliver(expiring, events.completed(job_id, RESULT))
    # What Knative's PingSource sends: its own fixed type and source, the configured data.
    tick = CloudEvent(
        {
            "type": events.PING,
            "source": "/apis/v1/namespaces/colorseason/pingsources/results-purge",
            "datacontenttype": "application/json",
        },
        {},
    )
    assert deliver(expiring, tick).status_code == 202
    tick_with_bad_data = CloudEvent({"type": events.PING, "source": "/x"}, {"before": 7})
    assert deliver(expiring, tick_with_bad_data).status_code == 400
    impossible_date = events.purge("2024-13-45T25:99:99Z")
    assert deliver(expiring, impossible_date).status_code == 400


def test_unstorable_result_is_400_not_a_retried_500(results) -> None:
    job_id = events.new_job_id()
    nul = events.completed(job_id, {**RESULT, "model": {"version": "v\u0000"}})
    response = deliver(results, nul)
    assert response.status_code == 400 and response.get_json()["code"] == "invalid_event"
