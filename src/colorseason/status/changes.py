"""Wake-ups for long-polls: one Redis pub/sub subscription per process, shared by every waiter.

Every applied job transition publishes the job id on :data:`CHANNEL` (inside the same Lua script
as the change, so no change goes unannounced). A status process subscribes once, on a thread of
its own, and sets the :class:`threading.Event` of each request waiting on that job; the request
then reads the job again. Nothing is kept but the waiters of this process, so status replicas
stay stateless and any replica can answer any long-poll.

Pub/sub loses what is published while the subscription is down. So whenever the subscription
(re)starts, every waiter is woken to read again, and while it is down waiters fall back to reading
every :data:`FALLBACK_POLL_SECONDS`: a change is never missed, only heard later.

The same wake-ups keep a short-lived cache of recent reads (:meth:`ChangeFeed.recent`): nearly
every poll finds its job as it was half a second before, and answering those from memory instead
of a Redis round trip is what lets one status process serve thousands of polls a second. A read is
kept only while the subscription is up, is dropped the moment its job's change is heard, and is
never kept when any change was heard while it was being read (so a read that raced a change
cannot outlive it); the subscription counts as up only once Redis has confirmed it. Every write
of the job store publishes; the one change without a publish, a key expiring after its TTL, is
seen within :data:`RECENT_READ_SECONDS`. Nothing is cached while the subscription is down.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis

log = logging.getLogger(__name__)

CHANNEL = "colorseason:job-changes"
FALLBACK_POLL_SECONDS = 0.5
"""How often a waiter reads the job itself while the subscription is down."""
READY_WAIT_SECONDS = 1.0
"""How long the first waiter of a process waits for the subscription to start."""
RECONNECT_SECONDS = 0.5
RECENT_READ_SECONDS = 5.0
"""The longest a read is answered from memory (a TTL expiry, never published, shows by then)."""
RECENT_READS_MAX = 50_000
"""Reads kept at most (about 20 MB); past it the oldest go first."""


class ChangeFeed:
    """The job ids of applied transitions, delivered to the waiters of this process."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._waiters: dict[str, set[threading.Event]] = {}
        self._subscribed = threading.Event()
        self._thread: threading.Thread | None = None
        self._recent: dict[str, tuple[float, object]] = {}
        self._heard = 0  # changes heard (and subscription restarts) so far

    @contextmanager
    def watch(self, job_id: str) -> Iterator[threading.Event]:
        """An event set whenever ``job_id`` may have changed, while the block runs.

        Register before reading the job: a change between the read and the wait then still sets
        the event.
        """
        changed = threading.Event()
        with self._lock:
            self._waiters.setdefault(job_id, set()).add(changed)
            self._start()
        self._subscribed.wait(READY_WAIT_SECONDS)
        try:
            yield changed
        finally:
            with self._lock:
                waiting = self._waiters.get(job_id, set())
                waiting.discard(changed)
                if not waiting:
                    self._waiters.pop(job_id, None)

    def recent(self, job_id: str) -> tuple[bool, object, int]:
        """``(found, value, token)``: a read of ``job_id`` remembered in the last
        :data:`RECENT_READ_SECONDS`, or, when there is none, a token to :meth:`remember` the read
        about to be made. Starts the subscription on first use."""
        with self._lock:
            self._start()
            kept = self._recent.get(job_id)
            if kept is not None and time.monotonic() - kept[0] < RECENT_READ_SECONDS:
                return True, kept[1], self._heard
            return False, None, self._heard

    def remember(self, job_id: str, value: object, token: int) -> None:
        """Keep ``value``, read after :meth:`recent` gave ``token``, unless a change was heard
        since (it may have raced the read) or the subscription is down."""
        with self._lock:
            if token != self._heard or not self._subscribed.is_set():
                return
            self._recent.pop(job_id, None)  # re-inserted last: the dict stays oldest-first
            self._recent[job_id] = (time.monotonic(), value)
            while len(self._recent) > RECENT_READS_MAX:
                del self._recent[next(iter(self._recent))]

    def wait(self, changed: threading.Event, timeout: float) -> None:
        """Until ``changed`` is set or ``timeout`` passes (in short steps while unsubscribed)."""
        if not self._subscribed.is_set():
            timeout = min(timeout, FALLBACK_POLL_SECONDS)
        changed.wait(timeout)
        changed.clear()

    def _start(self) -> None:
        """Start the listening thread once (with the lock held)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._listen, name="job-changes", daemon=True)
            self._thread.start()

    def _listen(self) -> None:
        while True:
            try:
                with self._client.pubsub() as pubsub:
                    pubsub.subscribe(CHANNEL)
                    while True:
                        message = pubsub.get_message(timeout=1.0)
                        if message is None:
                            continue
                        if message["type"] == "subscribe":  # Redis confirms: changes are heard
                            self._subscribed.set()
                            self.heard(None)  # anything published while we were not listening
                        elif message["type"] == "message":
                            self.heard(message["data"].decode("ascii", "replace"))
            except redis.RedisError as error:
                if self._subscribed.is_set():
                    log.warning("job change feed lost; reconnecting", extra={"error": str(error)})
                self._subscribed.clear()
                self.heard(None)
                time.sleep(RECONNECT_SECONDS)

    def heard(self, job_id: str | None) -> None:
        """A change of ``job_id`` (None: of any job): forget its reads and wake its waiters.

        The listener calls it for what it hears; a store calls it for a change it made itself,
        so that its own process reads its writes without waiting for the publish to come back.
        """
        with self._lock:
            self._heard += 1
            if job_id is None:
                self._recent.clear()
                waiting = [e for events in self._waiters.values() for e in events]
            else:
                self._recent.pop(job_id, None)
                waiting = list(self._waiters.get(job_id, ()))
        for changed in waiting:
            changed.set()
