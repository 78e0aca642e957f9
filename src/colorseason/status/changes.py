"""Wake-ups for long-polls: one Redis pub/sub subscription per process, shared by every waiter.

Every applied job transition publishes the job id on :data:`CHANNEL` (inside the same Lua script
as the change, so no change goes unannounced). A status process subscribes once, on a thread of
its own, and sets the :class:`threading.Event` of each request waiting on that job; the request
then reads the job again. Nothing is kept but the waiters of this process, so status replicas
stay stateless and any replica can answer any long-poll.

Pub/sub loses what is published while the subscription is down. So whenever the subscription
(re)starts, every waiter is woken to read again, and while it is down waiters fall back to reading
every :data:`FALLBACK_POLL_SECONDS`: a change is never missed, only heard later.
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


class ChangeFeed:
    """The job ids of applied transitions, delivered to the waiters of this process."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._waiters: dict[str, set[threading.Event]] = {}
        self._subscribed = threading.Event()
        self._thread: threading.Thread | None = None

    @contextmanager
    def watch(self, job_id: str) -> Iterator[threading.Event]:
        """An event set whenever ``job_id`` may have changed, while the block runs.

        Register before reading the job: a change between the read and the wait then still sets
        the event.
        """
        changed = threading.Event()
        with self._lock:
            self._waiters.setdefault(job_id, set()).add(changed)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._listen, name="job-changes", daemon=True
                )
                self._thread.start()
        self._subscribed.wait(READY_WAIT_SECONDS)
        try:
            yield changed
        finally:
            with self._lock:
                waiting = self._waiters.get(job_id, set())
                waiting.discard(changed)
                if not waiting:
                    self._waiters.pop(job_id, None)

    def wait(self, changed: threading.Event, timeout: float) -> None:
        """Until ``changed`` is set or ``timeout`` passes (in short steps while unsubscribed)."""
        if not self._subscribed.is_set():
            timeout = min(timeout, FALLBACK_POLL_SECONDS)
        changed.wait(timeout)
        changed.clear()

    def _listen(self) -> None:
        while True:
            try:
                with self._client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    pubsub.subscribe(CHANNEL)
                    self._subscribed.set()
                    self._wake(None)  # anything published while we were not listening
                    while True:
                        message = pubsub.get_message(timeout=1.0)
                        if message is not None:
                            self._wake(message["data"].decode("ascii", "replace"))
            except redis.RedisError as error:
                if self._subscribed.is_set():
                    log.warning("job change feed lost; reconnecting", extra={"error": str(error)})
                self._subscribed.clear()
                self._wake(None)
                time.sleep(RECONNECT_SECONDS)

    def _wake(self, job_id: str | None) -> None:
        """Set the waiters of ``job_id`` (None: of every job)."""
        with self._lock:
            if job_id is None:
                waiting = [e for events in self._waiters.values() for e in events]
            else:
                waiting = list(self._waiters.get(job_id, ()))
        for changed in waiting:
            changed.set()
