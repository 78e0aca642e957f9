"""End to end through `colorseason up`, as clients and event producers see the system.

Everything here crosses real process boundaries: the stack runs as a subprocess on free ports
(functions-framework processes, the local broker reading eventing/*.yaml, the machine's Redis and
PostgreSQL), and the tests speak HTTP and CloudEvents to the URLs it writes.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import psutil
import pytest
from cloudevents.conversion import to_binary
from cloudevents.http import CloudEvent

from colorseason.analysis.seasons import SEASONS_BY_ID
from colorseason.local.servers import PostgresServer
from colorseason.testing import multipart_photos, one_person_jpegs, sample_jpeg
from local_stack import Stack, running_stack, still_running, wait_for
from support import REDIS_URL

pytestmark = pytest.mark.e2e

REQUESTED = "dev.colorseason.analysis.requested"
COMPLETED = "dev.colorseason.analysis.completed"
STORED = "dev.colorseason.results.stored"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("up")) as running:
        yield running


def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Message, bytes]:
    """(status, headers, body); the headers are looked up by name in any case, as HTTP has
    them (granian, status's server, sends them in lower case)."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def get_json(url: str) -> tuple[int, Any]:
    status, _, body = http("GET", url)
    return status, json.loads(body) if body else None


def poll_job(
    status_url: str,
    until: set[str],
    *,
    known: bool = True,
    timeout: float = 120,
    interval: float = 0.5,
) -> tuple[dict[str, Any], list[str]]:
    """Poll like a client (every 0.5 s, or ``interval``) until the job reaches a state in ``until``.

    ``known``: the job was created by ``POST /jobs``, so status must never answer 404 for it.
    """
    seen: list[str] = []

    def reached() -> dict[str, Any] | None:
        status, job = get_json(status_url)
        if status == 404 and not known and not seen:
            return None
        assert status == 200, f"status answered {status}: {job}"
        if not seen or seen[-1] != job["state"]:
            seen.append(job["state"])
        return job if job["state"] in until else None

    return wait_for(reached, timeout, interval=interval, what=f"job state in {until}"), seen


def stored_result(result_url: str, what: str = "the stored result") -> dict[str, Any]:
    """Wait for results to serve the row (it may lag status's "completed" by a delivery)."""

    def fetched() -> dict[str, Any] | None:
        status, row = get_json(result_url)
        return row if status == 200 else None

    return wait_for(fetched, 60, 0.5, what)


def submit(stack: Stack, name: str = "astronaut") -> dict[str, str]:
    status, headers, body = http(
        "POST", stack.urls["analyze"] + "/jobs", sample_jpeg(name), {"Content-Type": "image/jpeg"}
    )
    assert status == 202, body
    ticket = json.loads(body)
    assert headers["Location"] == ticket["status_url"]
    return ticket


def test_async_flow_upload_broker_poll_result_delete(stack: Stack) -> None:
    ticket = submit(stack)
    job, seen = poll_job(ticket["status_url"], {"completed", "failed"}, interval=0.02)
    assert job["state"] == "completed", job
    assert set(seen) <= {"queued", "processing", "completed"}
    status, row = get_json(ticket["result_url"])  # at once: completed means stored
    assert status == 200, row
    result = row["result"]
    assert result["season"]["id"] in SEASONS_BY_ID
    assert set(result["probabilities"]) == set(SEASONS_BY_ID)
    assert {"skin", "eyes", "hair", "lips"} <= set(result["measurements"])

    # The broker routed requested -> analyze, its reply -> status and results, all in the manifests.
    job_id = ticket["job_id"]
    triggers = {(d["event_type"], d["trigger"]) for d in stack.deliveries(subject=job_id)}
    assert (REQUESTED, "analyze-function-trigger-0") in triggers
    assert (COMPLETED, "results-function-trigger-0") in triggers
    assert (COMPLETED, "status-function-trigger-0") in triggers
    assert (STORED, "status-function-trigger-2") in triggers  # results' reply: now completed
    assert all(d.get("outcome") in {"delivered", "reply"} for d in stack.deliveries(subject=job_id))

    assert http("DELETE", ticket["result_url"])[0] == 204
    assert get_json(ticket["result_url"])[0] == 404


def test_three_photos_of_one_person_are_one_job_through_the_broker(stack: Stack) -> None:
    plain, warm, _ = one_person_jpegs()
    photos = [plain, warm, plain[:9000]]  # the last one cut short: corrupt
    body, headers = multipart_photos(photos)
    status, _, answer = http("POST", stack.urls["analyze"] + "/jobs", body, headers)
    assert status == 202, answer
    ticket = json.loads(answer)
    job, _ = poll_job(ticket["status_url"], {"completed", "failed"}, interval=0.05)
    assert job["state"] == "completed", job
    result = get_json(ticket["result_url"])[1]["result"]
    assert [photo["ok"] for photo in result["photos"]] == [True, True, False]
    assert result["photos"][2]["error"]["code"] == "corrupt_image"
    assert result["agreement"]["photos"] == 2
    # The one requested (version 2) went to analyze and status; its reply to results and status.
    triggers = {(d["event_type"], d["trigger"]) for d in stack.deliveries(subject=ticket["job_id"])}
    assert (REQUESTED, "analyze-function-trigger-0") in triggers
    assert (COMPLETED, "results-function-trigger-0") in triggers
    # The same upload, synchronously: the same diagnosis.
    status, _, answer = http("POST", stack.urls["analyze"] + "/", body, headers)
    assert status == 200 and json.loads(answer)["season"] == result["season"]
    log = stack.log.read_bytes()  # every process of the stack: no photo, raw or base64
    for photo in photos[:2]:
        middle = len(photo) // 2 // 3 * 3
        assert photo[middle : middle + 24] not in log
        assert base64.b64encode(photo[middle : middle + 24]) not in log


def test_a_long_polling_client_hears_completed_and_finds_the_result(stack: Stack) -> None:
    ticket = submit(stack)
    etag, answers = None, []
    while not answers or answers[-1][2].get("state") not in {"completed", "failed"}:
        headers = {"Prefer": "wait=20", **({"If-None-Match": etag} if etag else {})}
        status, response_headers, body = http("GET", ticket["status_url"], headers=headers)
        assert status in {200, 304}, (status, body)
        assert response_headers["Preference-Applied"] == "wait=20"
        etag = response_headers["ETag"]
        answers.append((status, etag, json.loads(body) if body else answers[-1][2]))
        assert len(answers) < 50, answers
    assert answers[-1][2]["state"] == "completed", answers
    assert get_json(answers[-1][2]["result_url"])[0] == 200
    changes = [a for a in answers if a[0] == 200]
    assert len({a[1] for a in changes}) == len(changes), "each 200 is a new state"


def test_a_duplicate_requested_never_shows_the_job_failed(stack: Stack) -> None:
    """The broker (or a producer) delivers the same `requested` twice while it is processed."""
    import redis

    from colorseason import events
    from colorseason.status import ClaimCheck

    job_id = uuid.uuid4().hex
    key = ClaimCheck(redis.Redis.from_url(REDIS_URL)).put(job_id, sample_jpeg("grace_hopper"))
    headers, body = events.to_response(events.requested(job_id, claim_key=key))
    for _ in range(2):
        assert http("POST", stack.urls["broker"], body, headers)[0] == 202
    status_url = f"{stack.urls['status']}/jobs/{job_id}"
    _, seen = poll_job(status_url, {"completed"}, known=False, interval=0.02)
    assert "failed" not in seen, seen
    answers = stack.deliveries(subject=job_id, trigger="analyze-function-trigger-0")
    assert [d["status"] for d in answers if d["outcome"] == "delivered"] in ([200, 202], [202, 200])


def test_malformed_event_is_dead_lettered_and_job_failed(stack: Stack) -> None:
    job_id = uuid.uuid4().hex
    # Valid CloudEvent, but its data breaks the schema: neither an inline image nor a claim check.
    event = CloudEvent(
        {"type": REQUESTED, "source": "/tests/e2e", "subject": job_id},
        {"job_id": job_id, "unexpected": True},
    )
    headers, body = to_binary(event)
    assert http("POST", stack.urls["broker"], body, headers)[0] == 202

    status_url = f"{stack.urls['status']}/jobs/{job_id}"
    job = wait_for(
        lambda: (r := get_json(status_url))[0] == 200 and r[1]["state"] == "failed" and r[1],
        60,
        0.5,
        "the dead-lettered job to be failed",
    )
    assert job["error"]["code"] == "delivery_failed"
    dead = stack.deliveries(subject=job_id, outcome="dead-lettered")
    assert dead, stack.deliveries(subject=job_id)
    # A schema failure is a 4xx: dead-lettered at once, never retried.
    assert {d["status"] for d in dead} == {400}
    assert all(d["attempt"] == 1 for d in dead)
    assert stack.deliveries(subject=job_id, destination="dead-letter-sink", outcome="delivered")


def test_producer_event_straight_to_broker_ingress(stack: Stack) -> None:
    """A producer with the CloudEvents SDK: the photo itself as binary-mode event data."""
    job_id = uuid.uuid4().hex
    event = CloudEvent(
        {
            "type": REQUESTED,
            "source": "/tests/producer",
            "subject": job_id,
            "datacontenttype": "image/jpeg",
        },
        sample_jpeg("grace_hopper"),
    )
    headers, body = to_binary(event)
    status, _, answer = http("POST", stack.urls["broker"], body, headers)
    assert status == 202, answer
    status_url = f"{stack.urls['status']}/jobs/{job_id}"
    job, _ = poll_job(status_url, {"completed", "failed"}, known=False)
    assert job["state"] == "completed", job
    row = stored_result(job["result_url"])
    assert row["job_id"] == job_id and row["result"]["season"]["id"] in SEASONS_BY_ID


@pytest.fixture
def throwaway_postgres() -> Iterator[tuple[str, Any]]:
    """A PostgreSQL of this test's own (pgserver, in a temporary directory) that it may stop.

    Never the machine's server: other tests and helpers use that one.
    """
    server = PostgresServer().start()
    try:
        yield server.url, lambda action: server.stop() if action == "stop" else server.start()
    finally:
        server.close()


@pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR is not set")  # pgserver's lock directory
def test_postgres_outage_is_bridged_by_broker_retries(
    tmp_path: Path, throwaway_postgres: tuple[str, Any]
) -> None:
    database_url, postgres = throwaway_postgres
    with running_stack(tmp_path / "up", {"DATABASE_URL": database_url}) as stack:
        postgres("stop")
        ticket = submit(stack)
        job_id = ticket["job_id"]
        wait_for(
            lambda: stack.deliveries(
                subject=job_id, trigger="results-function-trigger-0", outcome="retry"
            ),
            60,
            what="results to fail while PostgreSQL is down (and the broker to retry)",
        )
        assert get_json(ticket["result_url"])[0] >= 500  # results cannot answer either
        assert get_json(ticket["status_url"])[1]["state"] in {"queued", "processing"}
        postgres("start")
        row = stored_result(
            ticket["result_url"], "the row stored by a retry once PostgreSQL is back"
        )
        assert row["result"]["season"]["id"] in SEASONS_BY_ID
        # The broker logs a delivery once the answer is back, a moment after the row is stored.
        stored = wait_for(
            lambda: stack.deliveries(
                subject=job_id, trigger="results-function-trigger-0", outcome="delivered"
            ),
            30,
            what="the broker to log the delivery that stored the row",
        )
        assert stored[-1]["attempt"] > 1
        assert not stack.deliveries(subject=job_id, outcome="dead-lettered")
        job, _ = poll_job(ticket["status_url"], {"completed", "failed"})
        assert job["state"] == "completed", job


def test_embedded_servers_start_and_stop_without_leftovers(tmp_path: Path) -> None:
    """The default for a user: no REDIS_URL / DATABASE_URL, results kept in --database-dir."""
    database_dir = tmp_path / "db"
    env = {"REDIS_URL": None, "JOBS_REDIS_URL": None, "DATABASE_URL": None}
    with running_stack(tmp_path / "up", env, ["--database-dir", str(database_dir)]) as stack:
        ticket = submit(stack)
        job, _ = poll_job(ticket["status_url"], {"completed", "failed"})
        assert job["state"] == "completed", job
        assert stored_result(ticket["result_url"])["job_id"] == ticket["job_id"]
        started = [r for r in stack.records() if r.get("message") == "embedded redis started"]
        assert sorted(r["persistent"] for r in started) == [False, True]  # photos, job state
        servers = [
            process
            for process in psutil.process_iter(["cmdline"])
            for record in started
            if record["url"].removeprefix("unix://") in " ".join(process.info["cmdline"] or [])
        ]
        postmaster = [
            process
            for process in psutil.process_iter(["cmdline"])
            if str(database_dir) in " ".join(process.info["cmdline"] or [])
        ]
        assert len(servers) == 2 and postmaster
    # running_stack returned once `up` exited: by then its servers must be gone too.
    assert not still_running(servers + postmaster), "embedded servers outlived colorseason up"
    for record in started:
        socket_dir = Path(record["url"].removeprefix("unix://")).parent
        assert not socket_dir.exists(), "an embedded Redis left its directory"
    assert (database_dir / "PG_VERSION").exists()  # the one thing the user asked to keep
