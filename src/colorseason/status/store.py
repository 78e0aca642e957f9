"""Redis: the job state that status serves and analyze creates (claim checks: :mod:`.claims`).

Job state moves one way only — ``queued → processing → failed → completed → deleted`` by rank —
because the broker delivers at least once and in any order: a late ``started`` after
``completed`` must change nothing. ``completed`` beats ``failed`` (a diagnosis that exists wins
over a delivery error reported for a duplicate) and ``deleted`` is a tombstone that keeps late
events from resurrecting a job whose result the user deleted. The compare-and-set is one Lua
script, so concurrent status replicas cannot interleave.

Each job is one JSON string under ``colorseason:job:<id>`` with a TTL (``JOB_TTL_SECONDS``)
refreshed on every change. Job state holds no image, so it may (and should) live in a Redis that
persists (``JOBS_REDIS_URL``, append-only file): a restart must not make every job unknown.
"""

from __future__ import annotations

import enum
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

import redis

from colorseason.errors import StoreUnavailableError
from colorseason.status import changes

if TYPE_CHECKING:
    from colorseason.config import Settings

KEY_PREFIX = "colorseason:"
SOCKET_TIMEOUT_SECONDS = 2.0
WAIT_MAX_SECONDS = 25
"""The longest a long-poll is held: below the Service's timeoutSeconds (30), so a held request
always ends with status's own answer (304), never a gateway timeout."""


class JobState(enum.StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    FAILED = "failed"
    COMPLETED = "completed"
    DELETED = "deleted"

    @property
    def rank(self) -> int:
        """Position in the one-way order; a change applies only to a higher rank."""
        return list(JobState).index(self)

    @property
    def running(self) -> bool:
        return self in (JobState.QUEUED, JobState.PROCESSING)


def utc_now() -> str:
    """An RFC 3339 timestamp in UTC with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Job:
    """One job as clients see it (``GET /jobs/{id}``)."""

    job_id: str
    state: JobState
    created_at: str
    updated_at: str
    result_url: str | None = None
    error: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "job_id": self.job_id,
            "state": self.state.value,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
        if self.state is JobState.COMPLETED and self.result_url:
            body["result_url"] = self.result_url
        if self.state is JobState.FAILED and self.error:
            body["error"] = self.error
        return body

    @cached_property
    def etag(self) -> str:
        """A strong validator of the public view: it changes exactly when the body does."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return '"' + hashlib.blake2b(canonical.encode(), digest_size=12).hexdigest() + '"'


# KEYS[1] the job key; ARGV: record JSON, its rank, TTL seconds, the change channel, the job id.
# Keeps created_at and result_url from the stored record; refuses to move to a rank that is not
# higher, but remembers a result_url it did not know yet (`completed` brings it while the job stays
# processing; the public view, and so the ETag, shows it only once completed). Every write is
# published (changes.py wakes the long-polls and drops recent reads). Returns {applied, record}.
_TRANSITION = """
local current = redis.call('GET', KEYS[1])
local record = cjson.decode(ARGV[1])
if current then
  local old = cjson.decode(current)
  if tonumber(old.rank) >= tonumber(ARGV[2]) then
    if old.result_url == nil and record.result_url ~= nil then
      old.result_url = record.result_url
      current = cjson.encode(old)
      redis.call('SET', KEYS[1], current, 'KEEPTTL')
      redis.call('PUBLISH', ARGV[4], ARGV[5])
    end
    return {0, current}
  end
  record.created_at = old.created_at or record.created_at
  if record.result_url == nil then record.result_url = old.result_url end
end
local encoded = cjson.encode(record)
redis.call('SET', KEYS[1], encoded, 'EX', tonumber(ARGV[3]))
redis.call('PUBLISH', ARGV[4], ARGV[5])
return {1, encoded}
"""


@contextmanager
def available() -> Iterator[None]:
    """Turn any Redis outage into a 503 the broker (or client) retries."""
    try:
        yield
    except redis.RedisError as exc:
        raise StoreUnavailableError(f"Redis is unavailable: {type(exc).__name__}") from None


def connect(url: str) -> redis.Redis:
    """A client for the Redis at ``url``, with the store's timeouts."""
    return redis.Redis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
        health_check_interval=30,
    )


class JobStore:
    """Job state with one-way transitions (see the module docstring)."""

    def __init__(
        self,
        client: redis.Redis,
        ttl_seconds: int = 86400,
        max_held: int = 16,
        recent_reads: bool = False,
    ) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._recent_reads = recent_reads
        self._transition = client.register_script(_TRANSITION)
        self._changes = changes.ChangeFeed(client)
        self._holds = threading.BoundedSemaphore(max(1, max_held))

    @classmethod
    def configured(cls, url: str, settings: Settings, recent_reads: bool = False) -> JobStore:
        """The job store at ``url`` with a function's settings (TTL, long-polls held);
        ``recent_reads``: :meth:`get` may answer from the change feed's recent reads."""
        return cls(
            connect(url),
            settings.job_ttl_seconds,
            max_held=settings.long_poll_max_held,
            recent_reads=recent_reads,
        )

    @staticmethod
    def key(job_id: str) -> str:
        return f"{KEY_PREFIX}job:{job_id}"

    def ping(self) -> None:
        """Raise :class:`StoreUnavailableError` unless Redis answers (readiness)."""
        with available():
            self._client.ping()

    def advance(
        self,
        job_id: str,
        state: JobState,
        *,
        result_url: str | None = None,
        error: dict[str, str] | None = None,
    ) -> tuple[bool, Job]:
        """Move ``job_id`` to ``state`` unless it is already there or further; create it if new.

        Returns whether the change applied and the job as stored afterwards.
        """
        now = utc_now()
        record: dict[str, Any] = {
            "job_id": job_id,
            "state": state.value,
            "rank": state.rank,
            "created_at": now,
            "updated_at": now,
        }
        if result_url:
            record["result_url"] = result_url
        if error:
            record["error"] = error
        with available():
            applied, stored = self._transition(
                keys=[self.key(job_id)],
                args=[json.dumps(record), state.rank, self._ttl, changes.CHANNEL, job_id],
            )
        if applied:
            self._changes.heard(job_id)
        return bool(applied), _job(json.loads(stored))

    def get(self, job_id: str) -> Job | None:
        """The job, or None when unknown, expired or deleted; with ``recent_reads``, as read in
        the last few seconds when no change to it has been heard since (:mod:`.changes`)."""
        if not self._recent_reads:
            return self._read(job_id)
        found, job, token = self._changes.recent(job_id)
        if found:
            return job  # type: ignore[return-value]
        job = self._read(job_id)
        self._changes.remember(job_id, job, token)
        return job

    def _read(self, job_id: str) -> Job | None:
        with available():
            stored = self._client.get(self.key(job_id))
        if stored is None:
            return None
        job = _job(json.loads(stored))
        return None if job.state is JobState.DELETED else job

    def wait(self, job_id: str, etag: str, timeout: float) -> tuple[bool, Job | None]:
        """``(held, job)``: the job as soon as its ETag differs from ``etag``, else as it is after
        ``timeout`` s; ``held`` False (and the job as it is now) when this process already holds
        ``max_held`` waits.

        The long-poll behind ``Prefer: wait``: held on a pub/sub wake-up (:mod:`.changes`), not
        by polling Redis. Each hold keeps a request thread, so the cap leaves the rest of them to
        the broker's deliveries and to plain polls: past it, clients poll instead. The job is None
        when it is gone (deleted or expired) meanwhile. A Redis that goes away during the wait (a
        restart) is waited out; only if it is still down at the end is the answer a 503.
        """
        if not self._holds.acquire(blocking=False):
            return False, self.get(job_id)
        try:
            return True, self._hold(job_id, etag, min(timeout, WAIT_MAX_SECONDS))
        finally:
            self._holds.release()

    def _hold(self, job_id: str, etag: str, timeout: float) -> Job | None:
        deadline = time.monotonic() + timeout
        with self._changes.watch(job_id) as changed:
            while True:
                remaining = deadline - time.monotonic()
                try:
                    job = self.get(job_id)
                except StoreUnavailableError:
                    if remaining <= 0:
                        raise
                    self._changes.wait(changed, min(remaining, changes.FALLBACK_POLL_SECONDS))
                    continue
                if job is None or job.etag != etag or remaining <= 0:
                    return job
                self._changes.wait(changed, remaining)

    def discard(self, job_id: str) -> None:
        """Forget a job that was never announced (its ``requested`` event could not be sent)."""
        with available():
            self._client.delete(self.key(job_id))
            self._client.publish(changes.CHANNEL, job_id)
        self._changes.heard(job_id)


def _job(record: dict[str, Any]) -> Job:
    return Job(
        job_id=record["job_id"],
        state=JobState(record["state"]),
        created_at=record["created_at"],
        updated_at=record["updated_at"],
        result_url=record.get("result_url"),
        error=record.get("error") or None,
    )
