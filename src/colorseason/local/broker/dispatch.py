"""Delivery: each matching Trigger's subscriber gets the event, with retries and dead letters.

Every Trigger has its own lane (a delay queue and threads), as a Knative dispatcher keeps per
subscription, so one slow or failing subscriber never delays the others' deliveries. Retries wait
in the delay queue without holding a thread. Each attempt is logged as one JSON line with the
event's type, id and subject, never its data.
"""

from __future__ import annotations

import base64
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from http.client import HTTPConnection, HTTPSConnection
from typing import Any
from urllib.parse import urlsplit

from colorseason import events
from colorseason.errors import InvalidEventError
from colorseason.local.broker.cloudevent import Event, parse_event
from colorseason.local.broker.topology import Delivery, Topology, Trigger

log = logging.getLogger(__name__)

ERROR_DEST = "knativeerrordest"
ERROR_CODE = "knativeerrorcode"
ERROR_DATA = "knativeerrordata"
ERROR_DATA_MAX_LENGTH = 1024
"""Knative truncates the base64 of the failed response body to this many characters."""

RETRIABLE_STATUSES = frozenset({404, 408, 409, 429})
"""Besides every 5xx: the 4xx codes Knative's ``SelectiveRetry`` retries."""

NOT_A_CLOUDEVENT_STATUS = 502
"""What Knative's filter reports for a non-empty 2xx reply that is not a CloudEvent."""

DISPATCH_ERROR_STATUS = 500
"""What Knative's dispatcher reports when no HTTP response came back (refused, reset, timeout)."""

MAX_HOPS = 255
"""Like Knative's ``knativebrokerttl``: a reply chain longer than this is dropped, not looped."""

DEFAULT_TIMEOUT_SECONDS = 120.0
"""How long an attempt may take when its delivery sets no ``timeout``."""


@dataclass(frozen=True)
class _Task:
    event: Event
    trigger: Trigger
    url: str
    delivery: Delivery
    hops: int
    attempt: int = 1
    dead_letter: bool = False


class _DelayQueue:
    """Tasks that become due at a time: retries wait here without holding a worker thread."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Task]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._closed = False

    def put(self, task: _Task, delay: float = 0.0) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._order), task))
            self._cond.notify()

    def get(self) -> _Task | None:
        """The next due task, waiting for it; None once closed."""
        with self._cond:
            while not self._closed:
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait <= 0:
                    return heapq.heappop(self._heap)[2]
                self._cond.wait(wait)
            return None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


@dataclass(frozen=True)
class _Response:
    status: int
    headers: Mapping[str, str]
    body: bytes


def _post(url: str, headers: Mapping[str, str], body: bytes, timeout: float) -> _Response:
    parts = urlsplit(url)
    connection_class = HTTPSConnection if parts.scheme == "https" else HTTPConnection
    connection = connection_class(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers={**headers, "prefer": "reply"})
        response = connection.getresponse()
        return _Response(response.status, dict(response.getheaders()), response.read())
    finally:
        connection.close()


def is_retriable(status: int) -> bool:
    """Knative's ``SelectiveRetry``: 5xx, 404, 408, 409 and 429 (and no response at all)."""
    return status >= 500 or status in RETRIABLE_STATUSES


class _Lane:
    """One Trigger's deliveries: a delay queue and threads of its own, as a Knative dispatcher
    keeps per subscription, so a slow or failing subscriber holds up only its own events."""

    def __init__(self, name: str, workers: int, work: Callable[[_DelayQueue], None]) -> None:
        self.queue = _DelayQueue()
        self.threads = [
            threading.Thread(target=work, args=(self.queue,), name=f"{name}-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self.threads:
            thread.start()

    def close(self) -> None:
        self.queue.close()
        for thread in self.threads:
            thread.join(timeout=5)


class Broker:
    """Routes published events to matching Triggers' subscribers, each Trigger on its own lane."""

    def __init__(
        self,
        topology: Topology,
        *,
        workers: int = 4,
        backoff_scale: float = 1.0,
        default_timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        """``workers`` delivery threads per Trigger; ``backoff_scale`` multiplies each backoff
        delay (tests and drills shrink it; 1.0 keeps the YAML)."""
        self.topology = topology
        self.backoff_scale = backoff_scale
        self.default_timeout = default_timeout
        self._pending = 0
        self._idle = threading.Condition()
        self._lanes = {
            trigger.name: _Lane(f"broker-{trigger.name}", workers, self._work)
            for trigger in topology.triggers
        }

    def publish(self, event: Event, broker: str, *, hops: int = MAX_HOPS) -> int:
        """Queue ``event`` for every matching Trigger of ``broker``; returns how many matched."""
        if broker not in self.topology.brokers:
            raise KeyError(broker)
        if hops <= 0:
            self._log(event, None, outcome="dropped", reason="reply chain too long")
            return 0
        matched = 0
        for trigger in self.topology.triggers:
            if trigger.broker == broker and trigger.matches(event.attributes):
                delivery = self.topology.delivery_for(trigger)
                self._enqueue(_Task(event, trigger, trigger.subscriber, delivery, hops))
                matched += 1
        if not matched:
            self._log(event, None, outcome="unmatched")
        return matched

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no delivery is queued, waiting for a retry, or in flight."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        """Stop the workers; queued and retrying deliveries are dropped (memory only)."""
        for lane in self._lanes.values():
            lane.queue.close()
        for lane in self._lanes.values():
            lane.close()

    def _enqueue(self, task: _Task, delay: float = 0.0) -> None:
        with self._idle:
            self._pending += 1
        self._lanes[task.trigger.name].queue.put(task, delay * self.backoff_scale)

    def _work(self, queue: _DelayQueue) -> None:
        while (task := queue.get()) is not None:
            try:
                self._attempt(task)
            except Exception:  # a bug here must not kill the worker and hang every later event
                log.exception("delivery crashed")
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _attempt(self, task: _Task) -> None:
        headers, body = task.event.to_binary()
        started = time.perf_counter()
        reply: Event | None = None
        try:
            response = _post(task.url, headers, body, task.delivery.timeout or self.default_timeout)
        except OSError as error:
            response = _Response(DISPATCH_ERROR_STATUS, {}, f"dispatch error: {error}".encode())
        ms = round((time.perf_counter() - started) * 1000, 1)
        status = response.status
        if 200 <= status < 300 and not task.dead_letter:
            try:
                reply = self._reply(response)
            except InvalidEventError as error:
                response = _Response(NOT_A_CLOUDEVENT_STATUS, {}, error.message.encode())
                status = NOT_A_CLOUDEVENT_STATUS
        if 200 <= status < 300:
            self._log(task.event, task, status=response.status, duration_ms=ms, outcome="delivered")
            if reply is not None:
                self._log(reply, task, outcome="reply")
                self.publish(reply, task.trigger.broker, hops=task.hops - 1)
            return
        retries_left = task.attempt <= task.delivery.retry
        if retries_left and is_retriable(status):
            self._log(task.event, task, status=status, duration_ms=ms, outcome="retry")
            delay = task.delivery.delay(task.attempt)
            self._enqueue(replace(task, attempt=task.attempt + 1), delay)
            return
        sink = task.delivery.dead_letter_sink
        if task.dead_letter or not sink:
            self._log(task.event, task, status=status, duration_ms=ms, outcome="lost")
            return
        self._log(task.event, task, status=status, duration_ms=ms, outcome="dead-lettered")
        encoded = base64.b64encode(response.body).decode()[:ERROR_DATA_MAX_LENGTH]
        failed = task.event.with_attributes(
            **{ERROR_DEST: task.url, ERROR_CODE: str(status), ERROR_DATA: encoded}
        )
        self._enqueue(replace(task, event=failed, url=sink, attempt=1, dead_letter=True))

    @staticmethod
    def _reply(response: _Response) -> Event | None:
        """The CloudEvent in a 2xx reply; None when empty; InvalidEventError when it is not one."""
        if events.is_cloudevent(response.headers):
            return parse_event(response.headers, response.body)
        if response.body.strip():
            raise InvalidEventError(
                "received a non-empty response not recognized as CloudEvent: "
                "the response must be either empty or a valid CloudEvent"
            )
        return None

    @staticmethod
    def _log(event: Event, task: _Task | None, **fields: Any) -> None:
        """One structured line per delivery attempt: attributes that identify it, never data."""
        record = {
            "event_type": event.type,
            "event_id": event.id,
            "subject": event.subject,
            "trigger": task.trigger.name if task else None,
            "attempt": task.attempt if task else None,
            **fields,
        }
        if task and task.dead_letter:
            record["destination"] = "dead-letter-sink"
        log.info("delivery", extra=record)
