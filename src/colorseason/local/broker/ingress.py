"""The local broker's HTTP ingress: where producers POST events (what ``K_SINK`` names).

``POST /<namespace>/<broker>`` (or ``/<broker>``, or ``/`` when there is one broker) takes a
CloudEvent in binary or structured mode: 202 when accepted, 400 when malformed, 404 for an unknown
broker, 413 over the size limit. ``GET /healthz`` (and the Knative probe paths) answer 200.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any

from colorseason.errors import (
    ColorseasonError,
    InvalidEventError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
)
from colorseason.local.broker.cloudevent import parse_event
from colorseason.local.broker.dispatch import Broker
from colorseason.local.serving import LocalServer

DEFAULT_MAX_EVENT_BYTES = 32 * 1024 * 1024


class _IngressHandler(BaseHTTPRequestHandler):
    server: BrokerIngress
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        try:
            body = self._body()
            broker = self.server.broker_for_path(self.path)
            if broker is None:
                raise NotFoundError("No such broker")
            self.server.broker.publish(parse_event(dict(self.headers.items()), body), broker)
        except ColorseasonError as error:
            self._problem(error)
            return
        self._reply(HTTPStatus.ACCEPTED)

    def do_GET(self) -> None:
        if self.path.split("?")[0] in {"/healthz", "/health/liveness", "/health/readiness"}:
            self._reply(HTTPStatus.OK, b"ok", "text/plain")
        else:
            self._method_not_allowed()

    def do_PUT(self) -> None:
        self._method_not_allowed()

    def do_DELETE(self) -> None:
        self._method_not_allowed()

    def _method_not_allowed(self) -> None:
        self._problem(MethodNotAllowedError("Use POST"))

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

    def _problem(self, error: ColorseasonError) -> None:
        problem = error.to_problem(self.path.split("?")[0])
        self._reply(error.status, json.dumps(problem).encode(), "application/problem+json")

    def _reply(self, status: int, body: bytes = b"", content_type: str | None = None) -> None:
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


class BrokerIngress(LocalServer):
    """The broker's HTTP ingress, publishing into ``broker``; serve it with
    :func:`colorseason.local.serving.serving`."""

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
        super().__init__(host, port, _IngressHandler)

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
