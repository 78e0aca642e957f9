"""A local broker that follows ``eventing/*.yaml``: a development stand-in for a Knative Broker.

`colorseason up` and the end-to-end tests need the event flow of the cluster (DESIGN.md §2) on one
machine, driven by the same manifests, so that a Trigger or delivery change is exercised locally
before it is deployed. This module reads the Broker and Trigger objects and reproduces the parts of
Knative Eventing's data plane the functions rely on:

- **Ingress**: ``POST /<namespace>/<broker>`` (or ``/<broker>``, or ``/`` when there is one broker)
  accepts a CloudEvent in binary or structured mode: 202 when accepted, 400 when malformed.
- **Routing**: each Trigger's ``filters`` (``exact``, ``prefix``, ``suffix``, ``all``, ``any``,
  ``not``; recursive) or, when it has none, its legacy ``filter.attributes`` (exact match, ``""``
  matches any value); no filter matches everything. ``filters`` wins when both are present.
- **Delivery**: binary mode, ``Prefer: reply``. A 2xx with a CloudEvent (binary or structured) is
  a reply and is published back into the broker; an empty 2xx is done; a non-empty 2xx body that
  is not a CloudEvent is a failure (Knative answers 502 for it). Failures with status 5xx, 404,
  408, 409 or 429, and connection errors, are retried (Knative's ``SelectiveRetry``); others are
  not. After the last attempt the event goes to the dead-letter sink with the extensions
  ``knativeerrordest``, ``knativeerrorcode`` and ``knativeerrordata`` (base64 of the response
  body, at most 1024 characters), as Knative's dispatcher adds them.
- **Delivery settings**: ``retry``, ``backoffPolicy`` (linear or exponential), ``backoffDelay``
  (ISO-8601), ``deadLetterSink`` and ``timeout``, from the Trigger's ``delivery`` when it has one,
  else the Broker's (a Trigger's delivery replaces the Broker's whole, as in Knative).

- **Isolation**: each Trigger has its own delivery queue and threads (a dispatcher per
  subscription, as in Knative), dead letters included, so one slow or failing subscriber (results
  waiting on a stopped PostgreSQL) never delays the others' deliveries.

It is not a production broker: events live in memory only (lost on exit, never written to disk,
which is also why an inline image may travel through it), there is no authentication, no ordering
guarantee, no CESQL, and one process does everything. Each delivery attempt is logged as one JSON
line with the event's type, id and subject, never its data.
"""

from __future__ import annotations

import base64
import heapq
import itertools
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from http.client import HTTPConnection, HTTPSConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import yaml
from cloudevents import exceptions as ce_errors
from cloudevents.http import from_http

from colorseason.errors import ColorseasonError, InvalidEventError, PayloadTooLargeError

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

DEFAULT_MAX_EVENT_BYTES = 32 * 1024 * 1024
DEFAULT_TIMEOUT_SECONDS = 120.0

_ISO_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
_SECONDS_PER = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


def parse_duration(text: str) -> float:
    """Seconds in an ISO-8601 duration such as ``PT0.2S`` or ``PT1M30S`` (Knative's format)."""
    match = _ISO_DURATION.match(text.strip()) if text else None
    if not match or text.strip() in {"P", "PT"} or text.strip().endswith("T"):
        raise ValueError(f"not an ISO-8601 duration: {text!r}")
    return sum(float(v) * _SECONDS_PER[k] for k, v in match.groupdict().items() if v)


# --- events ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """A CloudEvent as the broker carries it: string attributes (extensions included) and raw data.

    The data stays bytes end to end, so what a subscriber receives is what the producer sent.
    """

    attributes: Mapping[str, str]
    data: bytes | None = None

    @property
    def type(self) -> str:
        return self.attributes.get("type", "")

    @property
    def id(self) -> str:
        return self.attributes.get("id", "")

    @property
    def subject(self) -> str | None:
        return self.attributes.get("subject")

    def with_attributes(self, **extra: str) -> Event:
        """A copy with attributes added or replaced (the dead-letter extensions)."""
        return replace(self, attributes={**self.attributes, **extra})

    def to_binary(self) -> tuple[dict[str, str], bytes]:
        """Binary-mode HTTP headers and body (CloudEvents HTTP binding 1.0)."""
        headers = {}
        for name, value in self.attributes.items():
            if name == "datacontenttype":
                headers["content-type"] = value
            else:
                headers[f"ce-{name}"] = _header_value(value)
        return headers, self.data or b""


def _header_value(value: str) -> str:
    """Percent-encode what an HTTP header cannot carry (the binding's rule for non-ASCII)."""
    if value.isascii() and value.isprintable():
        return value
    return "".join(
        c if c.isascii() and c.isprintable() else "".join(f"%{b:02X}" for b in c.encode())
        for c in value
    )


def _ce_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def is_cloudevent(headers: Mapping[str, str]) -> bool:
    """Whether a request or response claims to carry a CloudEvent (binary or structured)."""
    lowered = _ce_headers(headers)
    content_type = lowered.get("content-type", "").split(";")[0].strip().lower()
    return "ce-specversion" in lowered or content_type.startswith("application/cloudevents")


def parse_event(headers: Mapping[str, str], body: bytes) -> Event:
    """Read a binary- or structured-mode CloudEvent; :class:`InvalidEventError` if it is not one."""
    lowered = _ce_headers(headers)
    structured = "ce-specversion" not in lowered
    try:
        event = from_http(lowered, body, data_unmarshaller=lambda raw: raw)
    except (ce_errors.GenericException, ValueError, TypeError) as error:
        raise InvalidEventError(f"not a valid CloudEvent: {error}") from None
    attributes = {k: _attribute_text(v) for k, v in event.get_attributes().items()}
    # The 1.x SDK invents `time` when the event has none; a broker must not change the event.
    had_time = _structured_has_time(body) if structured else "ce-time" in lowered
    if not had_time:
        attributes.pop("time", None)
    data = event.data
    if isinstance(data, str):
        data = data.encode()
    if data is not None and not isinstance(data, bytes):
        raise InvalidEventError("unsupported CloudEvent data")
    return Event(attributes, data or None)


def _attribute_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else str(value)


def _structured_has_time(body: bytes) -> bool:
    try:
        return "time" in json.loads(body)
    except (ValueError, TypeError):
        return False


# --- topology: Brokers, Triggers, delivery, filters ---------------------------------------------

Predicate = Callable[[Mapping[str, str]], bool]


def _match_all(_: Mapping[str, str]) -> bool:
    return True


def compile_filters(filters: Iterable[Mapping[str, Any]]) -> Predicate:
    """A predicate for a Trigger's ``filters`` list: every expression in it must match."""
    predicates = [_compile_expression(expression) for expression in filters]
    return lambda attrs: all(p(attrs) for p in predicates)


def _compile_expression(expression: Mapping[str, Any]) -> Predicate:
    if not isinstance(expression, Mapping) or len(expression) != 1:
        raise ValueError(f"a filter expression has exactly one dialect key, got {expression!r}")
    ((dialect, argument),) = expression.items()
    if dialect in {"exact", "prefix", "suffix"}:
        pairs = {str(k).lower(): str(v) for k, v in dict(argument).items()}
        test: Callable[[str, str], bool] = {
            "exact": str.__eq__,
            "prefix": str.startswith,
            "suffix": str.endswith,
        }[dialect]
        return lambda attrs: all(k in attrs and test(attrs[k], v) for k, v in pairs.items())
    if dialect in {"all", "any"}:
        subs = [_compile_expression(e) for e in argument]
        combine = all if dialect == "all" else any
        return lambda attrs: combine(p(attrs) for p in subs)
    if dialect == "not":
        inner = _compile_expression(argument)
        return lambda attrs: not inner(attrs)
    if dialect == "cesql":
        raise ValueError("CESQL filters are not supported by the local broker")
    raise ValueError(f"unknown filter dialect {dialect!r}")


def compile_attribute_filter(attributes: Mapping[str, Any]) -> Predicate:
    """The legacy ``filter.attributes``: exact matches, where an empty value matches anything."""
    pairs = {str(k).lower(): "" if v is None else str(v) for k, v in attributes.items()}
    return lambda attrs: all(k in attrs and v in ("", attrs[k]) for k, v in pairs.items())


@dataclass(frozen=True)
class Delivery:
    """A resolved ``spec.delivery``: how often to retry, how long to wait, where failures go."""

    retry: int = 0
    backoff_policy: str = "exponential"
    backoff_delay: float = 0.0
    dead_letter_sink: str | None = None
    timeout: float | None = None

    def delay(self, retry_number: int) -> float:
        """Seconds before retry ``retry_number`` (1-based).

        Exponential waits d, 2d, 4d, ... exactly as Knative's dispatcher does; linear waits d, 2d,
        3d, ... as Knative documents it (its code waits 0 before the first linear retry).
        """
        if self.backoff_policy == "linear":
            return self.backoff_delay * retry_number
        return self.backoff_delay * 2 ** (retry_number - 1)


@dataclass(frozen=True)
class Trigger:
    name: str
    broker: str
    subscriber: str
    matches: Predicate = field(default=_match_all, compare=False)
    delivery: Delivery | None = None


@dataclass(frozen=True)
class BrokerSpec:
    name: str
    namespace: str | None = None
    delivery: Delivery | None = None


@dataclass(frozen=True)
class Topology:
    """What the broker routes: the Brokers and Triggers of the manifests, with URLs resolved."""

    brokers: Mapping[str, BrokerSpec]
    triggers: tuple[Trigger, ...]

    def delivery_for(self, trigger: Trigger) -> Delivery:
        if trigger.delivery is not None:
            return trigger.delivery
        broker = self.brokers.get(trigger.broker)
        return broker.delivery if broker and broker.delivery else Delivery()


def resolve_destination(destination: Mapping[str, Any], services: Mapping[str, str]) -> str:
    """A Knative Destination (``ref`` and/or ``uri``) as a URL, with ``ref`` looked up by name.

    As in Knative, a ``uri`` next to a ``ref`` is resolved relative to the ref's URL.
    """
    ref = destination.get("ref")
    uri = destination.get("uri")
    if ref:
        name = ref.get("name")
        if name not in services:
            known = ", ".join(sorted(services)) or "none"
            raise ValueError(f"no local URL for {ref.get('kind', 'ref')} {name!r} (known: {known})")
        base = services[name]
        return urljoin(base.rstrip("/") + "/", uri.lstrip("/")) if uri else base
    if uri and urlsplit(uri).scheme in {"http", "https"}:
        return uri
    raise ValueError(f"a destination needs a ref or an absolute uri, got {dict(destination)!r}")


def parse_delivery(spec: Mapping[str, Any] | None, services: Mapping[str, str]) -> Delivery | None:
    """A ``delivery`` block resolved against the local service URLs (None when absent)."""
    if not spec:
        return None
    policy = spec.get("backoffPolicy", "exponential")
    if policy not in {"linear", "exponential"}:
        raise ValueError(f"backoffPolicy must be linear or exponential, got {policy!r}")
    sink = spec.get("deadLetterSink")
    return Delivery(
        retry=int(spec.get("retry", 0)),
        backoff_policy=policy,
        backoff_delay=parse_duration(spec["backoffDelay"]) if spec.get("backoffDelay") else 0.0,
        dead_letter_sink=resolve_destination(sink, services) if sink else None,
        timeout=parse_duration(spec["timeout"]) if spec.get("timeout") else None,
    )


def load_topology(documents: Iterable[Mapping[str, Any]], services: Mapping[str, str]) -> Topology:
    """Brokers and Triggers from Kubernetes objects; other kinds (sources, bindings) are skipped."""
    brokers: dict[str, BrokerSpec] = {}
    triggers: list[Trigger] = []
    for doc in documents:
        if not isinstance(doc, Mapping) or "eventing.knative.dev" not in str(doc.get("apiVersion")):
            continue
        meta = doc.get("metadata") or {}
        spec = doc.get("spec") or {}
        if doc.get("kind") == "Broker":
            brokers[meta["name"]] = BrokerSpec(
                meta["name"], meta.get("namespace"), parse_delivery(spec.get("delivery"), services)
            )
        elif doc.get("kind") == "Trigger":
            if spec.get("filters"):
                matches = compile_filters(spec["filters"])
            elif (spec.get("filter") or {}).get("attributes"):
                matches = compile_attribute_filter(spec["filter"]["attributes"])
            else:
                matches = _match_all
            triggers.append(
                Trigger(
                    name=meta["name"],
                    broker=spec.get("broker", "default"),
                    subscriber=resolve_destination(spec["subscriber"], services),
                    matches=matches,
                    delivery=parse_delivery(spec.get("delivery"), services),
                )
            )
    orphans = sorted({t.broker for t in triggers} - brokers.keys())
    if orphans:
        raise ValueError(f"Triggers name brokers that no manifest defines: {', '.join(orphans)}")
    return Topology(brokers, tuple(triggers))


def read_manifests(directory: Path) -> list[Mapping[str, Any]]:
    """Every YAML document in ``directory/*.yaml`` (and ``*.yml``), in file-name order."""
    paths = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    documents: list[Mapping[str, Any]] = []
    for path in paths:
        documents.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return documents


# --- dispatch -----------------------------------------------------------------------------------


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
        if is_cloudevent(response.headers):
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


# --- ingress ------------------------------------------------------------------------------------


class _IngressHandler(BaseHTTPRequestHandler):
    server: BrokerServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        try:
            body = self._body()
            broker = self.server.broker_for_path(self.path)
            if broker is None:
                self._reply(HTTPStatus.NOT_FOUND, problem=("not_found", "No such broker"))
                return
            self.server.broker.publish(parse_event(dict(self.headers.items()), body), broker)
        except ColorseasonError as error:
            self._reply(error.status, problem=(error.code, error.message))
            return
        self._reply(HTTPStatus.ACCEPTED)

    def do_GET(self) -> None:
        if self.path.split("?")[0] in {"/healthz", "/health/liveness", "/health/readiness"}:
            self._reply(HTTPStatus.OK, body=b"ok", content_type="text/plain")
        else:
            self._method_not_allowed()

    def do_PUT(self) -> None:
        self._method_not_allowed()

    def do_DELETE(self) -> None:
        self._method_not_allowed()

    def _method_not_allowed(self) -> None:
        self._reply(HTTPStatus.METHOD_NOT_ALLOWED, problem=("method_not_allowed", "Use POST"))

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise InvalidEventError("send a Content-Length (chunked bodies are not supported)")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise InvalidEventError("the Content-Length header is not a number") from None
        if length < 0 or length > self.server.max_event_bytes:
            self.close_connection = True
            raise PayloadTooLargeError(f"events are limited to {self.server.max_event_bytes} bytes")
        return self.rfile.read(length)

    def _reply(
        self,
        status: int,
        *,
        problem: tuple[str, str] | None = None,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> None:
        if problem:
            code, message = problem
            title = HTTPStatus(status).phrase
            document = {"type": "about:blank", "title": title, "status": int(status)}
            body = json.dumps({**document, "detail": message, "code": code}).encode()
            content_type = "application/problem+json"
        self.send_response(status)
        if status == HTTPStatus.METHOD_NOT_ALLOWED:
            self.send_header("Allow", "POST")
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request access log: deliveries are what gets logged."""


class BrokerServer(ThreadingHTTPServer):
    """The broker's HTTP ingress; ``serve_in_background()`` starts it on its own thread."""

    daemon_threads = True

    def __init__(
        self,
        broker: Broker,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        self.broker = broker
        self.max_event_bytes = max_event_bytes
        self._thread: threading.Thread | None = None
        super().__init__((host, port), _IngressHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{'127.0.0.1' if host in {'0.0.0.0', ''} else host}:{port}"

    def ingress_url(self, broker: str | None = None) -> str:
        """The URL producers POST to (what a SinkBinding puts in ``K_SINK``)."""
        spec = self.broker.topology.brokers[broker or self._only_broker()]
        path = f"/{spec.namespace}/{spec.name}" if spec.namespace else f"/{spec.name}"
        return self.url + path

    def broker_for_path(self, path: str) -> str | None:
        parts = [p for p in path.split("?")[0].split("/") if p]
        brokers = self.broker.topology.brokers
        if not parts:
            return self._only_broker() if len(brokers) == 1 else None
        name = parts[-1]
        if len(parts) > 2 or name not in brokers:
            return None
        namespace = brokers[name].namespace
        return name if len(parts) == 1 or namespace in {None, parts[0]} else None

    def _only_broker(self) -> str:
        return next(iter(self.broker.topology.brokers))

    def serve_in_background(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.1}, name="broker-ingress"
        )
        self._thread.daemon = True
        self._thread.start()

    def close(self) -> None:
        """Stop accepting events, then stop the dispatch workers."""
        self.shutdown()
        self.server_close()
        self.broker.close()
