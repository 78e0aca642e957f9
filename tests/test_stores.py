"""The stores on the machine's real Redis and PostgreSQL, and the embedded servers."""

from __future__ import annotations

import json
import random
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import redis

from colorseason import events
from colorseason.errors import ImageExpiredError, StoreUnavailableError
from colorseason.results import MIGRATIONS, ResultStore
from colorseason.status import ClaimCheck, JobState, JobStore, changes, connect
from local_stack import wait_for
from support import CLOSED_DATABASE_URL, CLOSED_REDIS_URL, DATABASE_URL, REDIS_URL

RESULT = {
    "season": {"id": "soft-summer", "family": "summer"},
    "probabilities": {"soft-summer": 1.0},
    "model": {"version": "test"},
}


@pytest.fixture(scope="module")
def client() -> redis.Redis:
    return connect(REDIS_URL)


@pytest.fixture
def jobs(client: redis.Redis) -> JobStore:
    return JobStore(client, ttl_seconds=120)


@pytest.fixture
def store(pg_schema: str):
    store = ResultStore(DATABASE_URL, schema=pg_schema, retention_days=30)
    yield store
    store.close()


# -- job state -----------------------------------------------------------------------------------


def test_job_state_moves_forward_and_never_back(jobs: JobStore, client: redis.Redis) -> None:
    job_id = events.new_job_id()
    applied, job = jobs.advance(job_id, JobState.QUEUED, result_url="http://r/results/x")
    assert applied and job.state is JobState.QUEUED
    assert 0 < client.ttl(JobStore.key(job_id)) <= 120
    assert jobs.advance(job_id, JobState.PROCESSING)[0]
    assert jobs.advance(job_id, JobState.COMPLETED)[0]
    for late in (JobState.QUEUED, JobState.PROCESSING, JobState.FAILED, JobState.COMPLETED):
        applied, job = jobs.advance(job_id, late, error={"code": "x", "message": "y"})
        assert not applied and job.state is JobState.COMPLETED
    stored = jobs.get(job_id)
    assert stored.result_url == "http://r/results/x"
    assert (
        stored.to_dict()["result_url"] == "http://r/results/x" and "error" not in stored.to_dict()
    )


def test_completed_overrides_failed_but_not_the_other_way(jobs: JobStore) -> None:
    job_id = events.new_job_id()
    jobs.advance(job_id, JobState.FAILED, error={"code": "image_expired", "message": "gone"})
    assert jobs.get(job_id).to_dict()["error"]["code"] == "image_expired"
    applied, job = jobs.advance(job_id, JobState.COMPLETED)
    assert applied and job.error is None


def test_deleted_is_a_tombstone(jobs: JobStore) -> None:
    job_id = events.new_job_id()
    jobs.advance(job_id, JobState.COMPLETED)
    jobs.advance(job_id, JobState.DELETED)
    assert jobs.get(job_id) is None
    assert not jobs.advance(job_id, JobState.COMPLETED)[0]
    assert jobs.get(job_id) is None


def test_etag_changes_with_the_state_only(jobs: JobStore) -> None:
    job_id = events.new_job_id()
    _, queued = jobs.advance(job_id, JobState.QUEUED)
    assert jobs.get(job_id).etag == queued.etag
    _, processing = jobs.advance(job_id, JobState.PROCESSING)
    assert processing.etag != queued.etag


def test_concurrent_out_of_order_deliveries_end_completed(jobs: JobStore) -> None:
    job_id = events.new_job_id()
    states = [JobState.QUEUED, JobState.PROCESSING, JobState.COMPLETED, JobState.FAILED] * 5
    random.Random(7).shuffle(states)
    threads = [threading.Thread(target=jobs.advance, args=(job_id, s)) for s in states]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert jobs.get(job_id).state is JobState.COMPLETED


def test_unknown_job_is_none(jobs: JobStore) -> None:
    assert jobs.get(events.new_job_id()) is None


# -- claim check ---------------------------------------------------------------------------------


def test_recent_reads_answer_polls_from_memory_until_a_change_is_heard(
    client: redis.Redis,
) -> None:
    """status reads through the change feed's recent reads: a change written past the store
    (no publish) stays unseen, and the publish that every real transition makes ends that."""
    polled = JobStore(client, ttl_seconds=120, recent_reads=True)
    job_id = events.new_job_id()
    JobStore(client, ttl_seconds=120).advance(job_id, JobState.QUEUED)
    # Read until the read is remembered (the subscription starts with the first read).
    wait_for(
        lambda: polled.get(job_id) is not None and polled._changes.recent(job_id)[0], 3.0, 0.01
    )
    record = json.loads(client.get(JobStore.key(job_id)))
    client.set(JobStore.key(job_id), json.dumps(record | {"state": "processing", "rank": 1}))
    assert polled.get(job_id).state is JobState.QUEUED  # from memory: nothing was published
    client.publish(changes.CHANNEL, job_id)
    wait_for(lambda: polled.get(job_id).state is JobState.PROCESSING, 3.0, 0.01)


def test_a_transition_from_another_process_is_seen_by_recent_reads(client: redis.Redis) -> None:
    polled = JobStore(client, ttl_seconds=120, recent_reads=True)
    writer = JobStore(connect(REDIS_URL), ttl_seconds=120)
    job_id = events.new_job_id()
    assert polled.get(job_id) is None  # an unknown job is remembered as unknown, too
    writer.advance(job_id, JobState.PROCESSING)
    wait_for(lambda: polled.get(job_id) is not None, 3.0, 0.01)
    writer.advance(job_id, JobState.COMPLETED, result_url="http://r/results/x")
    wait_for(lambda: polled.get(job_id).state is JobState.COMPLETED, 3.0, 0.01)
    writer.advance(job_id, JobState.DELETED)
    wait_for(lambda: polled.get(job_id) is None, 3.0, 0.01)


def test_a_read_that_raced_a_change_is_not_remembered(client: redis.Redis) -> None:
    feed = changes.ChangeFeed(client)
    found, _, token = feed.recent("some-job")
    assert not found
    wait_for(lambda: feed.recent("some-job")[2] != token, 3.0, 0.01)  # subscribed
    _, _, token = feed.recent("some-job")
    client.publish(changes.CHANNEL, "another-job")  # heard while "some-job" was being read
    wait_for(lambda: feed.recent("some-job")[2] != token, 3.0, 0.01)
    feed.remember("some-job", "the read", token)
    assert feed.recent("some-job")[0] is False
    _, _, token = feed.recent("some-job")
    feed.remember("some-job", "the read", token)
    assert feed.recent("some-job")[:2] == (True, "the read")


def test_a_finished_attempt_deletes_the_photo_and_later_ones_have_nothing_to_do(
    client: redis.Redis,
) -> None:
    claims = ClaimCheck(client, ttl_seconds=30, lease_seconds=5)
    job_id = events.new_job_id()
    key = claims.put(job_id, b"\xff\xd8photo")
    assert 0 < client.ttl(key) <= 30
    lease = claims.lease(job_id)
    assert lease is not None and claims.read([key]) == [b"\xff\xd8photo"]
    assert claims.read([key]) == [b"\xff\xd8photo"]  # leased, not taken: still there
    claims.finish(lease, [key])
    assert client.exists(key) == 0 and claims.is_done(job_id)
    assert claims.lease(job_id) is None  # a redelivery: nothing left to do


def test_a_second_attempt_waits_for_the_first_and_then_has_nothing_to_do(
    client: redis.Redis,
) -> None:
    claims = ClaimCheck(client, lease_seconds=5)
    job_id = events.new_job_id()
    key = claims.put(job_id, b"photo")
    first = claims.lease(job_id)
    assert first is not None
    second: list[object] = []
    waiting = threading.Thread(target=lambda: second.append(claims.lease(job_id)))
    waiting.start()
    waiting.join(0.3)
    assert waiting.is_alive(), "the second attempt must wait while the first holds the lease"
    claims.finish(first, [key])
    waiting.join(5)
    assert second == [None]


def test_a_dead_attempts_lease_runs_out_and_a_redelivery_takes_over(client: redis.Redis) -> None:
    claims = ClaimCheck(client, lease_seconds=0.3)
    job_id = events.new_job_id()
    key = claims.put(job_id, b"photo")
    assert claims.lease(job_id) is not None  # ...and then that attempt dies: no heartbeat
    takeover = claims.lease(job_id)
    assert takeover is not None and claims.read([key]) == [b"photo"]


def test_a_live_attempt_keeps_its_lease_past_the_ttl(client: redis.Redis) -> None:
    claims = ClaimCheck(client, lease_seconds=0.3)
    job_id = events.new_job_id()
    key = claims.put(job_id, b"photo")
    lease = claims.lease(job_id)
    with claims.holding(lease):
        assert claims.lease(job_id) is None  # waited 2 TTLs: the holder is alive, it answers
    claims.finish(lease, [key])
    assert not client.exists(key)


def test_a_photo_whose_claim_expired_or_a_foreign_key_is_refused(client: redis.Redis) -> None:
    claims = ClaimCheck(client)
    job_id = events.new_job_id()
    with pytest.raises(ImageExpiredError):
        claims.read([ClaimCheck.key(job_id)])
    with pytest.raises(ImageExpiredError):
        claims.read([JobStore.key(job_id)])  # only claim keys can be read
    with pytest.raises(ImageExpiredError):
        claims.read([])


def test_redis_down_is_a_503() -> None:
    down = connect(CLOSED_REDIS_URL)
    for call in (
        lambda: JobStore(down).get(events.new_job_id()),
        lambda: JobStore(down).advance(events.new_job_id(), JobState.QUEUED),
        lambda: JobStore(down).ping(),
        lambda: ClaimCheck(down).put(events.new_job_id(), b"x"),
        lambda: ClaimCheck(down).lease(events.new_job_id()),
    ):
        with pytest.raises(StoreUnavailableError) as caught:
            call()
        assert caught.value.status == 503


# -- results -------------------------------------------------------------------------------------


def test_migrations_are_versioned_and_applied_once(store: ResultStore, pg_schema: str) -> None:
    store.ping()
    assert store.applied_migrations() == [v for v, _ in MIGRATIONS]
    again = ResultStore(DATABASE_URL, schema=pg_schema)
    try:
        assert again.applied_migrations() == [v for v, _ in MIGRATIONS]
    finally:
        again.close()
    with psycopg.connect(DATABASE_URL) as conn:
        columns = {
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = %s AND table_name = 'results'",
                (pg_schema,),
            )
        }
    assert columns == {
        "job_id",
        "season",
        "model_version",
        "result",
        "created_at",
        "expires_at",
        "deleted_at",
    }


def test_insert_is_idempotent_and_expires_after_retention(store: ResultStore) -> None:
    job_id = events.new_job_id()
    assert store.insert(job_id, RESULT)
    first = store.get(job_id)
    assert store.insert(job_id, {**RESULT, "season": {"id": "deep-winter"}})  # still stored
    assert store.get(job_id) == first and first["result"] == RESULT
    created = datetime.fromisoformat(first["created_at"])
    expires = datetime.fromisoformat(first["expires_at"])
    assert expires - created == timedelta(days=30)


def test_delete_leaves_a_tombstone_that_replays_cannot_undo(store: ResultStore) -> None:
    job_id = events.new_job_id()
    store.insert(job_id, RESULT)
    assert store.delete(job_id) and store.delete(job_id)
    assert store.get(job_id) is None
    assert not store.insert(job_id, RESULT)
    assert store.get(job_id) is None
    assert not store.delete(events.new_job_id())


def test_purge_removes_expired_rows_only(store: ResultStore, pg_schema: str) -> None:
    expiring = ResultStore(DATABASE_URL, schema=pg_schema, retention_days=0)
    try:
        old, fresh = events.new_job_id(), events.new_job_id()
        expiring.insert(old, RESULT)
        store.insert(fresh, RESULT)
        assert store.get(old) is None  # expired rows are never served, even before the purge
        assert store.purge() >= 1
        assert store.get(fresh) is not None
        assert store.purge(datetime.now(UTC) + timedelta(days=31)) >= 1
        assert store.get(fresh) is None
    finally:
        expiring.close()


def test_postgres_down_is_a_503() -> None:
    down = ResultStore(CLOSED_DATABASE_URL, schema="unused", timeout=1)
    try:
        with pytest.raises(StoreUnavailableError) as caught:
            down.insert(events.new_job_id(), RESULT)
        assert caught.value.status == 503
    finally:
        down.close()


# -- embedded servers ----------------------------------------------------------------------------


def test_embedded_redis_photos_never_persist_job_state_does_and_both_clean_up() -> None:
    import psutil

    from colorseason.local import embedded

    photos, jobs = embedded.start_redis(), embedded.start_redis(persistent=True)
    assert embedded.start_redis() == photos and photos != jobs
    servers = {}
    for url, appendonly in ((photos, "no"), (jobs, "yes")):
        server = redis.Redis.from_url(url)
        assert server.config_get("save") == {"save": ""}
        assert server.config_get("appendonly") == {"appendonly": appendonly}
        servers[url] = int(server.info("server")["process_id"])
    directories = [Path(u.removeprefix("unix://")).parent for u in (photos, jobs)]
    assert all(d.stat().st_mode & 0o077 == 0 for d in directories), "private directories"
    embedded.stop_redis()
    embedded.stop_redis(persistent=True)
    assert not any(d.exists() for d in directories)
    # Stopping returns only once the server processes are gone.
    assert not any(psutil.pid_exists(pid) for pid in servers.values())


def test_embedded_postgres_serves_the_results_store() -> None:
    from colorseason.local import embedded

    url = embedded.start_postgres()
    store = ResultStore(url)
    try:
        job_id = events.new_job_id()
        assert store.insert(job_id, RESULT) and store.get(job_id)["result"] == RESULT
    finally:
        store.close()
        embedded.stop_postgres()
