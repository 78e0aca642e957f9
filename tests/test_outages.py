"""Outages, on private Redis and PostgreSQL servers this module starts and stops itself.

The functions run in this process behind real HTTP servers on loopback, and events flow through
the local broker built from eventing/*.yaml (delays scaled down): the same wiring as
`colorseason up`, without its start-up cost. The machine's shared servers are never stopped.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from colorseason import events
from colorseason.local.broker import Broker, Event, load_topology, read_manifests
from colorseason.local.servers import PostgresServer, RedisServer
from local_stack import wait_for
from support import CLOSED_DATABASE_URL

ROOT = Path(__file__).resolve().parents[1]
RESULT = {"season": {"id": "soft-summer"}, "probabilities": {}, "model": {"version": "test"}}
BACKOFF_SCALE = 0.05  # the YAML's 5 s linear steps become 0.25 s


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
            return response.status, json.loads(body) if body else {}
    except urllib.error.HTTPError as error:
        return error.code, {}


@contextmanager
def serving(client) -> Iterator[str]:
    """A loaded function (its Flask test client) behind a real threaded HTTP server."""
    server = make_server("127.0.0.1", 0, client.application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@contextmanager
def broker_for(urls: dict[str, str], adjust: Callable[[list], None] | None = None):
    """The local broker on the repository's manifests (``adjust`` may edit them first)."""
    documents = [dict(d) for d in read_manifests(ROOT / "eventing")]
    if adjust:
        adjust(documents)
    broker = Broker(load_topology(documents, urls), backoff_scale=BACKOFF_SCALE)
    try:
        yield broker
    finally:
        broker.close()


def publish(broker: Broker, event) -> None:
    headers, body = events.to_response(event)
    attributes = {k.removeprefix("ce-"): v for k, v in headers.items() if k.startswith("ce-")}
    attributes["datacontenttype"] = headers["content-type"]
    broker.publish(Event(attributes, body), "colorseason")


@pytest.fixture
def private_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.close()


@pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR is not set")  # pgserver's lock directory
def test_completed_is_never_shown_before_the_row_exists(load_function, private_postgres) -> None:
    """A client polling all the time never reads `completed` and then a 404, even while
    PostgreSQL is down: the job stays processing until results confirms the row."""
    status = load_function("status")
    results = load_function("results", DATABASE_URL=private_postgres.url)
    jobs = [events.new_job_id() for _ in range(10)]
    seen: dict[str, list[tuple[str, int]]] = {job: [] for job in jobs}
    stop = threading.Event()
    with serving(status) as status_url, serving(results) as results_url:

        def poll() -> None:  # as fast as it can: state, and the result whenever it says completed
            while not stop.is_set():
                for job in jobs:
                    code, body = http_get(f"{status_url}/jobs/{job}")
                    if code == 200 and body["state"] == "completed":
                        seen[job].append(("completed", http_get(f"{results_url}/results/{job}")[0]))
                    elif code == 200:
                        seen[job].append((body["state"], 0))

        with broker_for({"status": status_url, "results": results_url, "analyze": "http://x"}) as b:
            http_get(f"{results_url}/health/readiness")  # migrate while the database is up
            private_postgres.stop()
            poller = threading.Thread(target=poll)
            poller.start()
            try:
                for job in jobs:
                    publish(b, events.started(job))
                    publish(b, events.completed(job, RESULT, f"{results_url}/results/{job}"))
                wait_for(lambda: all(seen.values()), 30, 0.05, "the poller to see every job")
                assert not any(s == "completed" for states in seen.values() for s, _ in states)
                private_postgres.start()
                wait_for(
                    lambda: all(any(s == "completed" for s, _ in seen[j]) for j in jobs),
                    60,
                    0.1,
                    "every job completed once PostgreSQL is back (broker retries)",
                )
            finally:
                stop.set()
                poller.join()
    lies = [(job, code) for job in jobs for state, code in seen[job] if state == "completed"]
    assert lies and all(code == 200 for _, code in lies), [x for x in lies if x[1] != 200]


def test_a_completed_that_results_never_stores_fails_the_job_honestly(load_function) -> None:
    status = load_function("status")
    results = load_function("results", DATABASE_URL=CLOSED_DATABASE_URL)

    def short_budget(documents: list) -> None:  # hours of retries are the YAML's; 1 will do here
        for doc in documents:
            if doc.get("metadata", {}).get("name") == "results-function-trigger-0":
                doc["spec"] = {**doc["spec"], "delivery": {**doc["spec"]["delivery"], "retry": 1}}

    job = events.new_job_id()
    with serving(status) as status_url, serving(results) as results_url:
        urls = {"status": status_url, "results": results_url, "analyze": "http://x"}
        with broker_for(urls, short_budget) as broker:
            publish(broker, events.started(job))
            publish(broker, events.completed(job, RESULT, f"{results_url}/results/{job}"))
            assert broker.wait_idle(60)
        code, body = http_get(f"{status_url}/jobs/{job}")
    assert code == 200 and body["state"] == "failed", body
    assert body["error"]["code"] == "result_unavailable" and "result_url" not in body


@pytest.mark.parametrize("persistent", [True, False], ids=["aof", "memory-only"])
def test_job_state_survives_a_restart_of_its_redis_only_with_persistence(
    load_function, persistent: bool
) -> None:
    """The check that matters runs on the AOF server; the memory-only one shows it can fail."""
    server = RedisServer(persistent=persistent).start()
    try:
        status = load_function("status", JOBS_REDIS_URL=server.url)
        job = events.new_job_id()
        for event in (events.started(job), events.stored(job, f"http://results.test/{job}")):
            assert status.post("/", **_delivery(event)).status_code == 202
        before = status.get(f"/jobs/{job}").get_json()
        server.stop()
        assert status.get(f"/jobs/{job}").status_code == 503  # down: an outage, not "unknown"
        server.start()
        after = status.get(f"/jobs/{job}")
        if persistent:
            assert after.status_code == 200 and after.get_json() == before
        else:
            assert after.status_code == 404
    finally:
        server.close()


def test_a_long_poll_hears_a_change_made_after_its_redis_restarted(load_function) -> None:
    """The pub/sub subscription breaks with the restart: waiters are woken and resubscribed."""
    server = RedisServer(persistent=True).start()
    try:
        status = load_function("status", JOBS_REDIS_URL=server.url)
        job = events.new_job_id()
        status.post("/", **_delivery(events.started(job)))
        etag = status.get(f"/jobs/{job}").headers["ETag"]
        answers: list = []
        client = status.application.test_client()
        headers = {"If-None-Match": etag, "Prefer": "wait=20"}
        holder = threading.Thread(
            target=lambda: answers.append(client.get(f"/jobs/{job}", headers=headers))
        )
        holder.start()
        holder.join(0.5)
        server.stop()
        server.start()
        holder.join(0.5)
        assert holder.is_alive(), "the long-poll outlives the restart"
        status.post("/", **_delivery(events.stored(job, f"http://results.test/{job}")))
        holder.join(15)
        assert answers and answers[0].status_code == 200
        assert answers[0].get_json()["state"] == "completed"
    finally:
        server.close()


def _delivery(event) -> dict[str, Any]:
    headers, body = events.to_response(event)
    return {"data": body, "headers": headers}


def test_results_answers_503_when_its_database_is_down(load_function, private_postgres) -> None:
    results = load_function("results", DATABASE_URL=private_postgres.url)
    assert results.get("/health/readiness").status_code == 200
    private_postgres.stop()
    for _ in range(3):  # a broken pooled connection first, then the pool's wait for a new one
        response = results.post("/", **_delivery(events.completed(events.new_job_id(), RESULT)))
        assert response.status_code == 503 and response.get_json()["code"] == "store_unavailable"
