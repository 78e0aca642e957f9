"""The local broker against real HTTP subscribers on loopback, configured from Knative YAML."""

from __future__ import annotations

import base64
import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import yaml

from colorseason.local.broker import (
    ERROR_CODE,
    ERROR_DATA,
    ERROR_DEST,
    Broker,
    BrokerIngress,
    Delivery,
    Event,
    compile_attribute_filter,
    compile_filters,
    load_topology,
    parse_duration,
    parse_event,
)
from colorseason.local.servers import free_port
from colorseason.local.serving import host_port, local_url, serving
from colorseason.local.webpage import WebPageServer
from local_stack import wait_for

Reply = tuple[int, dict[str, str], bytes]


class Subscriber(ThreadingHTTPServer):
    """A loopback HTTP subscriber that records requests and answers from a script per path."""

    daemon_threads = True

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.script: dict[str, list[Reply]] = {}
        self.gates: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _SubscriberHandler)
        threading.Thread(target=self.serve_forever, args=(0.1,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def answer(self, path: str, *replies: Reply) -> None:
        """Answer ``path`` with ``replies`` in order; the last one repeats (default: empty 202)."""
        self.script[path] = list(replies)

    def hold(self, path: str, gate: threading.Event) -> None:
        """Answer requests to ``path`` only once ``gate`` is set (a slow subscriber)."""
        self.gates[path] = gate

    def next_reply(self, path: str) -> Reply:
        with self._lock:
            replies = self.script.get(path) or [(202, {}, b"")]
            return replies.pop(0) if len(replies) > 1 else replies[0]

    def on(self, path: str) -> list[tuple[dict[str, str], bytes]]:
        return [(h, b) for p, h, b in self.received if p == path]


class _SubscriberHandler(BaseHTTPRequestHandler):
    server: Subscriber
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        with self.server._lock:
            self.server.received.append((self.path, headers, body))
        if gate := self.server.gates.get(self.path):
            gate.wait(30)
        status, reply_headers, reply_body = self.server.next_reply(self.path)
        self.send_response(status)
        for name, value in reply_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply_body)))
        self.end_headers()
        self.wfile.write(reply_body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


MANIFESTS = """
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: colorseason, namespace: colorseason}
spec:
  delivery:
    retry: 2
    backoffPolicy: exponential
    backoffDelay: PT0.2S
    deadLetterSink:
      ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: sub}
      uri: /deadletter
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: requested, namespace: colorseason}
spec:
  broker: colorseason
  filters:
    - exact: {type: dev.colorseason.analysis.requested}
  subscriber:
    ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: sub}
    uri: /analyze
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: lifecycle, namespace: colorseason}
spec:
  broker: colorseason
  filters:
    - prefix: {type: dev.colorseason.analysis.}
  subscriber:
    ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: sub}
    uri: /status
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: completed, namespace: colorseason}
spec:
  broker: colorseason
  filter:
    attributes: {type: dev.colorseason.analysis.completed}
  subscriber:
    ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: sub}
    uri: /results
  delivery:
    retry: 1
    backoffPolicy: linear
    backoffDelay: PT0.1S
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: {name: purge}
spec: {schedule: "0 3 * * *", sink: {ref: {kind: Broker, name: colorseason}}}
"""


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    server = Subscriber()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def ingress(subscriber: Subscriber) -> Iterator[BrokerIngress]:
    topology = load_topology(yaml.safe_load_all(MANIFESTS), {"sub": subscriber.url})
    # Real YAML delays, scaled down so retries take milliseconds.
    broker = Broker(topology, workers=4, backoff_scale=0.01)
    with serving(BrokerIngress(broker)) as server:
        yield server
    broker.close()


def event_headers(type_: str, id_: str = "e1", **extra: str) -> dict[str, str]:
    headers = {"ce-specversion": "1.0", "ce-id": id_, "ce-source": "/test", "ce-type": type_}
    headers.update({f"ce-{k}": v for k, v in extra.items()})
    return {**headers, "content-type": "application/json"}


def post(url: str, headers: dict[str, str], body: bytes) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def send(
    ingress: BrokerIngress, type_: str, body: bytes = b'{"job_id": "j1"}', **extra: str
) -> int:
    status = post(ingress.ingress_url(), event_headers(type_, subject="j1", **extra), body)
    assert ingress.broker.wait_idle(timeout=30)
    return status


REQUESTED = "dev.colorseason.analysis.requested"
COMPLETED = "dev.colorseason.analysis.completed"


# --- parsing and configuration -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT0.2S", 0.2),
        ("PT1S", 1),
        ("PT1M30S", 90),
        ("PT2H", 7200),
        ("P1D", 86400),
        ("P1W", 604800),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "P", "PT", "1S", "PT1", "PTS", "P1DT"])
def test_parse_duration_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_duration(text)


def test_backoff_delays_follow_policy() -> None:
    exponential = Delivery(retry=4, backoff_policy="exponential", backoff_delay=0.2)
    linear = Delivery(retry=4, backoff_policy="linear", backoff_delay=0.2)
    assert [exponential.delay(n) for n in (1, 2, 3)] == pytest.approx([0.2, 0.4, 0.8])
    assert [linear.delay(n) for n in (1, 2, 3)] == pytest.approx([0.2, 0.4, 0.6])


ATTRS = {"type": "dev.colorseason.analysis.completed", "source": "/colorseason/analyze", "id": "1"}


@pytest.mark.parametrize(
    ("filters", "matches"),
    [
        ([{"exact": {"type": "dev.colorseason.analysis.completed"}}], True),
        ([{"exact": {"type": "dev.colorseason.analysis.failed"}}], False),
        ([{"exact": {"subject": "x"}}], False),  # a missing attribute never matches
        ([{"prefix": {"type": "dev.colorseason.analysis."}}], True),
        ([{"prefix": {"type": "dev.colorseason.results."}}], False),
        ([{"suffix": {"type": ".completed"}}], True),
        ([{"suffix": {"source": "/status"}}], False),
        ([{"prefix": {"type": "dev."}}, {"suffix": {"type": ".failed"}}], False),  # list = AND
        (
            [
                {
                    "all": [
                        {"prefix": {"type": "dev."}},
                        {"exact": {"source": "/colorseason/analyze"}},
                    ]
                }
            ],
            True,
        ),
        ([{"any": [{"exact": {"type": "a"}}, {"suffix": {"type": "completed"}}]}], True),
        ([{"any": [{"exact": {"type": "a"}}, {"exact": {"type": "b"}}]}], False),
        ([{"not": {"exact": {"type": "dev.colorseason.analysis.completed"}}}], False),
        ([{"not": {"any": [{"suffix": {"type": ".failed"}}, {"exact": {"id": "2"}}]}}], True),
        (
            [{"all": [{"not": {"prefix": {"type": "io."}}}, {"any": [{"exact": {"id": "1"}}]}]}],
            True,
        ),
    ],
)
def test_filters_dialect(filters: list[dict[str, Any]], matches: bool) -> None:
    assert compile_filters(filters)(ATTRS) is matches


@pytest.mark.parametrize(
    ("attributes", "matches"),
    [
        ({"type": "dev.colorseason.analysis.completed"}, True),
        ({"type": "dev.colorseason.analysis.completed", "source": "/other"}, False),
        ({"type": "dev.colorseason.analysis."}, False),  # legacy filters are exact, never prefix
        ({"type": "", "source": "/colorseason/analyze"}, True),  # "" matches any value
        ({"subject": ""}, False),  # ...of an attribute the event has
    ],
)
def test_legacy_attribute_filter(attributes: dict[str, str], matches: bool) -> None:
    assert compile_attribute_filter(attributes)(ATTRS) is matches


@pytest.mark.parametrize(
    "expression",
    [{"cesql": "type = 'x'"}, {"regex": {"type": "x"}}, {"exact": {"type": "x"}, "prefix": {}}],
)
def test_unsupported_filters_fail_at_load(expression: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        compile_filters([expression])


def test_topology_from_yaml() -> None:
    topology = load_topology(yaml.safe_load_all(MANIFESTS), {"sub": "http://127.0.0.1:9"})
    broker = topology.brokers["colorseason"]
    assert broker.delivery == Delivery(2, "exponential", 0.2, "http://127.0.0.1:9/deadletter")
    triggers = {t.name: t for t in topology.triggers}
    assert triggers["requested"].subscriber == "http://127.0.0.1:9/analyze"
    # A Trigger's delivery replaces the Broker's whole, dead-letter sink included (Knative).
    assert topology.delivery_for(triggers["completed"]) == Delivery(1, "linear", 0.1)
    assert topology.delivery_for(triggers["lifecycle"]) == broker.delivery


def test_unknown_subscriber_and_orphan_trigger_fail_at_load() -> None:
    with pytest.raises(ValueError, match="no local URL for Service 'sub'"):
        load_topology(yaml.safe_load_all(MANIFESTS), {"other": "http://127.0.0.1:9"})
    orphan = [d for d in yaml.safe_load_all(MANIFESTS) if d["kind"] == "Trigger"]
    with pytest.raises(ValueError, match="colorseason"):
        load_topology(orphan, {"sub": "http://127.0.0.1:9"})


def test_parse_event_binary_and_structured_agree() -> None:
    binary = parse_event(event_headers(REQUESTED, subject="j1"), b'{"job_id": "j1"}')
    structured = parse_event(
        {"Content-Type": "application/cloudevents+json; charset=utf-8"},
        json.dumps(
            {
                "specversion": "1.0",
                "id": "e1",
                "source": "/test",
                "type": REQUESTED,
                "subject": "j1",
                "datacontenttype": "application/json",
                "data": {"job_id": "j1"},
            }
        ).encode(),
    )
    assert binary.attributes == structured.attributes
    assert "time" not in binary.attributes  # the SDK would invent one; a broker must not
    assert json.loads(binary.data or b"") == json.loads(structured.data or b"")


def test_parse_event_keeps_binary_data_as_bytes() -> None:
    payload = bytes(range(256))
    headers = {**event_headers(REQUESTED), "content-type": "image/jpeg"}
    assert parse_event(headers, payload).data == payload
    structured = {
        "specversion": "1.0",
        "id": "e1",
        "source": "/t",
        "type": REQUESTED,
        "data_base64": base64.b64encode(payload).decode(),
    }
    structured_headers = {"content-type": "application/cloudevents+json"}
    assert parse_event(structured_headers, json.dumps(structured).encode()).data == payload


# --- ingress -------------------------------------------------------------------------------------


def test_ingress_accepts_binary_and_structured(
    ingress: BrokerIngress, subscriber: Subscriber
) -> None:
    assert send(ingress, REQUESTED) == 202
    structured = json.dumps(
        {"specversion": "1.0", "id": "e2", "source": "/t", "type": REQUESTED, "data": {"a": 1}}
    ).encode()
    headers = {"content-type": "application/cloudevents+json"}
    assert post(ingress.ingress_url(), headers, structured) == 202
    assert ingress.broker.wait_idle(timeout=30)
    ids = sorted(h["ce-id"] for h, _ in subscriber.on("/analyze"))
    assert ids == ["e1", "e2"]


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"content-type": "application/json"}, b'{"job_id": "j1"}'),  # no ce-* headers
        ({"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/t"}, b""),  # no type
        ({"ce-specversion": "9.9", "ce-id": "1", "ce-source": "/t", "ce-type": "t"}, b""),
        ({"content-type": "application/cloudevents+json"}, b"{not json"),
    ],
)
def test_ingress_rejects_malformed_events(
    ingress: BrokerIngress, subscriber: Subscriber, headers: dict[str, str], body: bytes
) -> None:
    request = urllib.request.Request(ingress.ingress_url(), data=body, headers=headers)
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    assert raised.value.code == 400
    assert raised.value.headers["content-type"] == "application/problem+json"
    assert json.loads(raised.value.read())["code"] == "invalid_event"
    assert subscriber.received == []


def test_ingress_paths_and_methods(ingress: BrokerIngress) -> None:
    assert ingress.ingress_url().endswith("/colorseason/colorseason")
    headers = event_headers("io.example.unrouted")
    assert post(ingress.url + "/", headers, b"{}") == 202  # the only broker
    assert post(ingress.url + "/colorseason", headers, b"{}") == 202
    assert post(ingress.url + "/other/colorseason", headers, b"{}") == 404
    assert post(ingress.url + "/colorseason/nope", headers, b"{}") == 404
    with urllib.request.urlopen(ingress.url + "/healthz", timeout=10) as response:
        assert response.status == 200
    request = urllib.request.Request(ingress.ingress_url(), method="PUT", data=b"")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    assert raised.value.code == 405


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8080"),
        ("0.0.0.0", "http://127.0.0.1:8080"),
        ("", "http://127.0.0.1:8080"),
        ("localhost", "http://localhost:8080"),
        ("::", "http://[::1]:8080"),  # an IPv6-only wildcard never answers on 127.0.0.1
        ("[::]", "http://[::1]:8080"),
        ("::1", "http://[::1]:8080"),
        ("[::1]", "http://[::1]:8080"),  # as a URL writes it: never bracketed twice
        ("fe80::1", "http://[fe80::1]:8080"),
    ],
)
def test_local_urls_reach_a_bind_through_the_loopback_of_its_family(host: str, url: str) -> None:
    assert local_url(host, 8080) == url


@pytest.mark.parametrize(
    ("host", "bind"),
    [("0.0.0.0", "0.0.0.0:80"), ("localhost", "localhost:80"), ("::", "[::]:80"),
     ("::1", "[::1]:80"), ("[::1]", "[::1]:80")],
)  # fmt: skip
def test_gunicorn_binds_the_host_as_given_with_ipv6_in_brackets(host: str, bind: str) -> None:
    assert host_port(host, 80) == bind


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")
@pytest.mark.parametrize("host", ["::1", "[::1]", "::", "127.0.0.1", "0.0.0.0"])
def test_the_local_servers_listen_on_either_family_at_the_urls_they_hand_out(
    subscriber: Subscriber, host: str
) -> None:
    topology = load_topology(yaml.safe_load_all(MANIFESTS), {"sub": subscriber.url})
    broker = Broker(topology, workers=1)
    try:
        with (
            serving(BrokerIngress(broker, host)) as ingress,
            serving(WebPageServer(host, 0)) as web,
        ):
            for url in (ingress.url + "/healthz", web.url + "/"):
                with urllib.request.urlopen(url, timeout=10) as response:
                    assert response.status == 200, url
    finally:
        broker.close()
    assert free_port(host) > 0


def test_ingress_refusals_are_problems_as_the_functions_write_them(ingress: BrokerIngress) -> None:
    refusals = [
        ("POST", "/other/colorseason", 404, "not_found", "No such broker"),
        ("PUT", "/colorseason/colorseason", 405, "method_not_allowed", "Use POST"),
    ]
    for method, path, status, code, detail in refusals:
        request = urllib.request.Request(
            ingress.url + path + "?x=1", b"{}", event_headers(REQUESTED), method=method
        )
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(request, timeout=10)
        assert raised.value.code == status
        assert json.loads(raised.value.read()) == {
            "type": f"https://colorseason.dev/problems/{code}",
            "title": {404: "Not found", 405: "Method not allowed"}[status],
            "status": status,
            "detail": detail,
            "code": code,
            "instance": path,
        }


def test_the_web_page_answers_an_unknown_path_with_a_problem() -> None:
    with serving(WebPageServer("127.0.0.1", 0)) as web:
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(web.url + "/nope.js?v=1", timeout=10)
        assert raised.value.code == 404
        assert raised.value.headers["Content-Type"] == "application/problem+json"
        problem = json.loads(raised.value.read())
        assert problem["code"] == "not_found" and problem["instance"] == "/nope.js"


def test_ingress_limits_event_size(subscriber: Subscriber) -> None:
    topology = load_topology(yaml.safe_load_all(MANIFESTS), {"sub": subscriber.url})
    broker = Broker(topology, workers=1)
    try:
        with serving(BrokerIngress(broker, max_event_bytes=1000)) as server:
            assert post(server.ingress_url(), event_headers(REQUESTED), b"x" * 1001) == 413
    finally:
        broker.close()


# --- routing and delivery ------------------------------------------------------------------------


def test_routes_by_filters_in_binary_mode(ingress: BrokerIngress, subscriber: Subscriber) -> None:
    body = b'{"job_id": "j1", "note": "bytes kept as sent"}'
    assert send(ingress, REQUESTED, body) == 202
    (headers, received), *_ = subscriber.on("/analyze")
    assert received == body
    assert headers["ce-type"] == REQUESTED and headers["ce-subject"] == "j1"
    assert headers["content-type"] == "application/json"
    assert headers["prefer"] == "reply"
    assert "ce-time" not in headers
    assert len(subscriber.on("/status")) == 1  # prefix trigger
    assert subscriber.on("/results") == []  # legacy exact filter: not this type


def test_legacy_filter_routes(ingress: BrokerIngress, subscriber: Subscriber) -> None:
    send(ingress, COMPLETED)
    assert len(subscriber.on("/results")) == 1
    assert len(subscriber.on("/status")) == 1
    assert subscriber.on("/analyze") == []


def test_unmatched_event_is_accepted_and_dropped(
    ingress: BrokerIngress, subscriber: Subscriber
) -> None:
    assert send(ingress, "io.example.other") == 202
    assert subscriber.received == []


def test_reply_is_republished(ingress: BrokerIngress, subscriber: Subscriber) -> None:
    reply = event_headers(COMPLETED, "reply-1", subject="j1")
    subscriber.answer("/analyze", (200, reply, b'{"job_id": "j1", "result": {}}'))
    send(ingress, REQUESTED)
    (headers, body), *_ = subscriber.on("/results")
    assert headers["ce-id"] == "reply-1"
    assert json.loads(body)["job_id"] == "j1"
    # status saw both the requested event and the reply
    assert sorted(h["ce-type"] for h, _ in subscriber.on("/status")) == [COMPLETED, REQUESTED]


def test_structured_reply_is_republished(ingress: BrokerIngress, subscriber: Subscriber) -> None:
    document = {"specversion": "1.0", "id": "r2", "source": "/a", "type": COMPLETED, "data": {}}
    reply = (200, {"content-type": "application/cloudevents+json"}, json.dumps(document).encode())
    subscriber.answer("/analyze", reply)
    send(ingress, REQUESTED)
    assert [h["ce-id"] for h, _ in subscriber.on("/results")] == ["r2"]


def test_reply_loops_are_cut(subscriber: Subscriber) -> None:
    topology = load_topology(yaml.safe_load_all(MANIFESTS), {"sub": subscriber.url})
    broker = Broker(topology, workers=2)
    subscriber.answer("/analyze", (200, event_headers(REQUESTED, "again"), b"{}"))
    try:
        broker.publish(parse_event(event_headers(REQUESTED), b"{}"), "colorseason", hops=3)
        assert broker.wait_idle(timeout=30)
    finally:
        broker.close()
    assert len(subscriber.on("/analyze")) == 3


def test_a_slow_subscriber_never_delays_another(
    ingress: BrokerIngress, subscriber: Subscriber
) -> None:
    """results stuck on a stopped database must not hold up status (each Trigger has a lane)."""
    gate = threading.Event()
    subscriber.hold("/results", gate)
    try:
        for i in range(20):  # each matches `completed` (/results) and `lifecycle` (/status)
            status = post(ingress.ingress_url(), event_headers(COMPLETED, f"c{i}"), b"{}")
            assert status == 202
        wait_for(lambda: len(subscriber.on("/status")) == 20, 30, 0.05, "status's deliveries")
        # Meanwhile results has only its own lane's threads stuck, the rest queued behind them.
        assert len(subscriber.on("/results")) <= 4
    finally:
        gate.set()
    assert ingress.broker.wait_idle(timeout=30)
    assert len(subscriber.on("/results")) == 20


def test_retries_then_succeeds(ingress: BrokerIngress, subscriber: Subscriber) -> None:
    subscriber.answer("/status", (503, {}, b"down"), (500, {}, b"down"), (202, {}, b""))
    send(ingress, "dev.colorseason.analysis.started")
    assert len(subscriber.on("/status")) == 3  # 1 + broker retry 2
    assert subscriber.on("/deadletter") == []


@pytest.mark.parametrize("status", [404, 408, 409, 429, 500, 502, 503])
def test_retriable_statuses_are_retried(
    ingress: BrokerIngress, subscriber: Subscriber, status: int
) -> None:
    subscriber.answer("/status", (status, {}, b""))
    send(ingress, "dev.colorseason.analysis.started")
    assert len(subscriber.on("/status")) == 3


def test_dead_letter_after_retries_with_knative_extensions(
    ingress: BrokerIngress, subscriber: Subscriber
) -> None:
    subscriber.answer("/status", (503, {}, b'{"code": "store_unavailable"}'))
    send(ingress, "dev.colorseason.analysis.started", b'{"job_id": "j1"}')
    assert len(subscriber.on("/status")) == 3
    ((headers, body),) = subscriber.on("/deadletter")
    assert body == b'{"job_id": "j1"}'
    assert headers["ce-type"] == "dev.colorseason.analysis.started"
    assert headers["ce-subject"] == "j1"
    assert headers[f"ce-{ERROR_CODE}"] == "503"
    assert headers[f"ce-{ERROR_DEST}"] == subscriber.url + "/status"
    assert base64.b64decode(headers[f"ce-{ERROR_DATA}"]) == b'{"code": "store_unavailable"}'


def test_client_errors_are_not_retried(ingress: BrokerIngress, subscriber: Subscriber) -> None:
    subscriber.answer("/status", (400, {}, b"schema says no"))
    send(ingress, "dev.colorseason.analysis.started")
    assert len(subscriber.on("/status")) == 1
    ((headers, _),) = subscriber.on("/deadletter")
    assert headers[f"ce-{ERROR_CODE}"] == "400"


def test_non_cloudevent_2xx_body_is_a_failure(
    ingress: BrokerIngress, subscriber: Subscriber
) -> None:
    subscriber.answer("/status", (200, {"content-type": "text/plain"}, b"OK"))
    send(ingress, "dev.colorseason.analysis.started")
    assert len(subscriber.on("/status")) == 3
    ((headers, _),) = subscriber.on("/deadletter")
    assert headers[f"ce-{ERROR_CODE}"] == "502"
    assert b"not recognized as CloudEvent" in base64.b64decode(headers[f"ce-{ERROR_DATA}"])


def test_error_data_is_truncated(ingress: BrokerIngress, subscriber: Subscriber) -> None:
    subscriber.answer("/status", (400, {}, b"x" * 5000))
    send(ingress, "dev.colorseason.analysis.started")
    ((headers, _),) = subscriber.on("/deadletter")
    assert len(headers[f"ce-{ERROR_DATA}"]) == 1024


def test_trigger_delivery_overrides_broker(ingress: BrokerIngress, subscriber: Subscriber) -> None:
    subscriber.answer("/results", (503, {}, b""))
    send(ingress, COMPLETED)
    assert len(subscriber.on("/results")) == 2  # the Trigger's retry: 1
    # Its delivery has no dead-letter sink; the Broker's is not inherited.
    assert [h["ce-type"] for h, _ in subscriber.on("/deadletter")] == []


def test_unreachable_subscriber_is_retried_and_dead_lettered(subscriber: Subscriber) -> None:
    dead = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    dead_url = f"http://127.0.0.1:{dead.server_address[1]}"
    dead.server_close()  # nothing listens there any more
    docs = list(yaml.safe_load_all(MANIFESTS))
    services = {"sub": subscriber.url, "gone": dead_url}
    docs[1]["spec"]["subscriber"]["ref"]["name"] = "gone"
    broker = Broker(load_topology(docs, services), workers=2, backoff_scale=0.01)
    try:
        broker.publish(parse_event(event_headers(REQUESTED), b"{}"), "colorseason")
        assert broker.wait_idle(timeout=30)
    finally:
        broker.close()
    ((headers, _),) = subscriber.on("/deadletter")
    assert headers[f"ce-{ERROR_CODE}"] == "500"
    assert headers[f"ce-{ERROR_DEST}"] == dead_url + "/analyze"
    assert base64.b64decode(headers[f"ce-{ERROR_DATA}"]).startswith(b"dispatch error")


def test_broker_logs_deliveries_without_data(
    ingress: BrokerIngress, subscriber: Subscriber, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="colorseason.local.broker")
    send(ingress, REQUESTED, b'{"job_id": "j1", "secret": "do-not-log"}')
    records = [r for r in caplog.records if r.getMessage() == "delivery"]
    assert {r.trigger for r in records} == {"requested", "lifecycle"}
    for record in records:
        assert record.event_type == REQUESTED and record.event_id == "e1"
        assert record.subject == "j1" and record.status == 202 and record.attempt == 1
        assert record.duration_ms >= 0 and record.outcome == "delivered"
    assert "do-not-log" not in caplog.text
    assert all("do-not-log" not in str(vars(r)) for r in caplog.records)


def test_event_to_binary_encodes_non_ascii() -> None:
    headers, body = Event(
        {"id": "1", "subject": "사진", "datacontenttype": "text/plain"}, b"x"
    ).to_binary()
    assert headers["ce-subject"] == "%EC%82%AC%EC%A7%84"
    assert headers["content-type"] == "text/plain" and body == b"x"
