"""Claim checks: photos parked in a memory-only Redis between ``POST /jobs`` and their analysis.

The broker delivers ``requested`` at least once, and an attempt may die with the photo in hand (a
pod lost mid-analysis). So a photo is not handed out once and gone; an attempt *leases* the job:

- :meth:`ClaimCheck.lease` takes the job's lease (``SET NX`` with a TTL) or, while another attempt
  holds it, waits until that attempt finishes (then there is nothing left to do: None) or its lease
  runs out (it died: this attempt takes over). A redelivery is never a failure.
- While the attempt runs, :meth:`ClaimCheck.holding` renews the lease every third of its TTL, so a
  live attempt keeps it however long the analysis takes, and a dead one loses it within one TTL.
- :meth:`ClaimCheck.finish` deletes the photos and marks the job done in one step, so a later
  redelivery learns the work is over instead of finding the photos "expired".

Keys: a one-photo job's photo under ``colorseason:claim:<job>``, photo *n* of a job of several
under ``colorseason:claim:<job>:<n>`` (the lease and the done mark cover every photo of a job),
the lease under ``colorseason:lease:<job>`` and the done mark under ``colorseason:done:<job>``.
Nothing here may persist: the Redis must run without RDB and AOF (it holds photos), which is why
job state lives elsewhere (``JOBS_REDIS_URL``).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import redis

from colorseason.errors import ImageExpiredError
from colorseason.status.store import KEY_PREFIX, available, connect

if TYPE_CHECKING:
    from colorseason.config import Settings

CLAIM_PREFIX = f"{KEY_PREFIX}claim:"
WAIT_POLL_SECONDS = 0.05
"""How often an attempt waiting for another one looks at the lease."""

# KEYS: lease, done mark, photos...; ARGV: token, done TTL. The done mark is set whoever holds the
# lease; the photos are deleted only by the holder (an attempt that lost its lease to a takeover
# leaves them to the attempt now running). Returns whether this attempt still held the lease.
_FINISH = """
redis.call('SET', KEYS[2], '1', 'EX', tonumber(ARGV[2]))
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
for i = 3, #KEYS do redis.call('DEL', KEYS[i]) end
return 1
"""

# KEYS[1] lease; ARGV: token, TTL ms (0: release). Touches the lease only while this attempt has it.
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) == 0 then return redis.call('DEL', KEYS[1]) end
return redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
"""


@dataclass(frozen=True)
class Lease:
    """One attempt's hold on a job's photos."""

    job_id: str
    token: str


class ClaimCheck:
    """Photos in a memory-only Redis, handed to one attempt at a time (see the module docstring)."""

    def __init__(
        self,
        client: redis.Redis,
        ttl_seconds: int = 600,
        *,
        lease_seconds: float = 10.0,
        done_ttl_seconds: int = 86400,
    ) -> None:
        self._client = client
        self._ttl = ttl_seconds
        self._lease_ms = max(1, round(lease_seconds * 1000))
        self._done_ttl = max(1, done_ttl_seconds)
        self._finish = client.register_script(_FINISH)
        self._renew = client.register_script(_RENEW)

    @classmethod
    def configured(cls, url: str, settings: Settings) -> ClaimCheck:
        """The photos' store at ``url`` with analyze's settings (TTL, lease, how long a finished
        job's mark is kept)."""
        return cls(
            connect(url),
            settings.claim_check_ttl_seconds,
            lease_seconds=settings.claim_lease_seconds,
            done_ttl_seconds=settings.job_ttl_seconds,
        )

    @staticmethod
    def key(job_id: str, photo: int | None = None) -> str:
        """Where a job's photo waits: ``photo`` is its number in a job of several, else None."""
        return f"{CLAIM_PREFIX}{job_id}" if photo is None else f"{CLAIM_PREFIX}{job_id}:{photo}"

    @staticmethod
    def _lease_key(job_id: str) -> str:
        return f"{KEY_PREFIX}lease:{job_id}"

    @staticmethod
    def _done_key(job_id: str) -> str:
        return f"{KEY_PREFIX}done:{job_id}"

    def put(self, job_id: str, image: bytes, photo: int | None = None) -> str:
        """Park ``image`` (photo number ``photo`` of a job of several) for at most the claim-check
        TTL; returns the key the event carries."""
        key = self.key(job_id, photo)
        with available():
            self._client.set(key, image, ex=self._ttl)
        return key

    def discard(self, keys: Sequence[str]) -> None:
        with available():
            self._client.delete(*keys)

    def lease(self, job_id: str) -> Lease | None:
        """This attempt's lease on the job, or None when an earlier attempt finished the job.

        Waits while another attempt holds the lease: until it finishes (None), or its lease runs
        out because it died (the lease is this attempt's). A holder still renewing after twice
        the lease TTL is alive and will answer for the job itself: None then too.
        """
        token = uuid.uuid4().hex
        deadline = time.monotonic() + 2 * self._lease_ms / 1000
        lease_key, done_key = self._lease_key(job_id), self._done_key(job_id)
        with available():
            while True:
                if self._client.exists(done_key):
                    return None
                if self._client.set(lease_key, token, nx=True, px=self._lease_ms):
                    if self._client.exists(done_key):  # finished between the two looks
                        self._renew(keys=[lease_key], args=[token, 0])
                        return None
                    return Lease(job_id, token)
                if time.monotonic() > deadline:
                    return None
                time.sleep(WAIT_POLL_SECONDS)

    @contextmanager
    def holding(self, lease: Lease) -> Iterator[None]:
        """Keep ``lease`` alive while the block runs (a heartbeat thread renews it)."""
        stop = threading.Event()
        interval = self._lease_ms / 3000

        def heartbeat() -> None:
            while not stop.wait(interval):
                try:
                    if not self._renew(
                        keys=[self._lease_key(lease.job_id)], args=[lease.token, self._lease_ms]
                    ):
                        return  # taken over: the other attempt answers for the job too
                except redis.RedisError:
                    continue  # a blip; the next beat tries again

        thread = threading.Thread(target=heartbeat, name="claim-lease", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def read(self, keys: Sequence[str]) -> list[bytes]:
        """The photos under ``keys`` (they stay until :meth:`finish`).

        Raises :class:`ImageExpiredError` when one is gone (its TTL passed) or a key does not name
        a colorseason photo.
        """
        if not keys or not all(key.startswith(CLAIM_PREFIX) for key in keys):
            raise ImageExpiredError("the claim-check key does not name a colorseason photo")
        with available():
            photos = self._client.mget(keys)
        if any(photo is None for photo in photos):
            raise ImageExpiredError("the photo expired before it was analysed; submit it again")
        return cast(list[bytes], photos)  # the client never decodes: every value is bytes

    def is_done(self, job_id: str) -> bool:
        """Whether an attempt finished the job (its photos are gone for that reason)."""
        with available():
            return bool(self._client.exists(self._done_key(job_id)))

    def finish(self, lease: Lease, keys: Sequence[str]) -> None:
        """The attempt is over (with a diagnosis or a refusal): photos gone, job marked done."""
        lease_key, done_key = self._lease_key(lease.job_id), self._done_key(lease.job_id)
        with available():
            self._finish(keys=[lease_key, done_key, *keys], args=[lease.token, self._done_ttl])

    def release(self, lease: Lease) -> None:
        """Give the lease up without finishing (the photos stay for another attempt)."""
        with available():
            self._renew(keys=[self._lease_key(lease.job_id)], args=[lease.token, 0])
