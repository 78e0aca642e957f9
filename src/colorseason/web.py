"""The HTTP edge every function shares: routing, errors, limits, CORS, health and access logs.

A function's ``main.py`` declares its routes on a :class:`Router` and hands each request to it;
the router answers health probes, CORS preflights, unknown paths (404) and methods (405), turns
:class:`~colorseason.errors.ColorseasonError` into ``application/problem+json`` (RFC 9457) with the
stable ``code``, turns anything unexpected into a 500 problem without a traceback, and writes one
access-log line per request (JSON lines once ``main.py`` has called
:func:`colorseason.logs.configure`). Handlers never see request bodies unbounded: they read them
through :func:`read_body` / :func:`read_images`, which enforce ``MAX_UPLOAD_BYTES`` (and
``MAX_UPLOAD_TOTAL_BYTES`` for several photos) and keep uploads in memory (werkzeug would spool
multipart files over 500 KB to a temporary file).
"""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

import flask
from flask import Request, Response
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.routing import Map, Rule

from colorseason import events
from colorseason.analysis.formats import FORMAT_NAMES, IMAGE_MEDIA_TYPES
from colorseason.config import Settings
from colorseason.errors import (
    BadRequestError,
    ColorseasonError,
    MethodNotAllowedError,
    NotAcceptableError,
    NotFoundError,
    PayloadTooLargeError,
    TooManyPhotosError,
    UnsupportedMediaTypeError,
)

log = logging.getLogger("colorseason.http")

_EXPOSED_HEADERS = "Location, ETag, Retry-After, Preference-Applied"
_ALLOWED_REQUEST_HEADERS = "Content-Type, Accept, If-None-Match, Prefer"
_WAIT_PREFERENCE = re.compile(r"^\s*wait\s*=\s*\"?(\d{1,9})\"?\s*$", re.IGNORECASE)
# More digits than int() reads from a string (Python's int_max_str_digits): never a face number.
_FACE_NUMBER_DIGITS = 4300

Handler = Callable[..., Response]


# -- responses -----------------------------------------------------------------------------------


def _utf8_json(body: Any) -> bytes:
    """Compact JSON as UTF-8; a lone surrogate (JSON lets a caller send one) becomes '?'."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(_utf8_json(body), status=status, headers=headers, mimetype="application/json")


def empty_response(status: int = 204, headers: dict[str, str] | None = None) -> Response:
    return Response(b"", status=status, headers=headers)


def event_response(event: events.CloudEvent) -> Response:
    """A 200 whose body is ``event`` in binary mode: the reply a Broker re-publishes."""
    headers, payload = events.to_response(event)
    return Response(payload, status=200, headers=headers)


def problem_response(error: ColorseasonError, instance: str | None = None) -> Response:
    """``error`` as RFC 9457 problem details (:meth:`ColorseasonError.to_problem`)."""
    payload = _utf8_json(error.to_problem(instance))
    if isinstance(error, PayloadTooLargeError):
        # A streamed body keeps the rest of the oversize request from being read into memory
        # after we answer; the client is told we will not read it either.
        headers = {"Content-Length": str(len(payload)), "Connection": "close"}
        return Response(iter([payload]), error.status, headers, "application/problem+json")
    response = Response(payload, status=error.status, mimetype="application/problem+json")
    if error.status == 503:
        response.headers["Retry-After"] = "1"
    return response


# -- request bodies ------------------------------------------------------------------------------


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"the body is over the {limit}-byte limit")


def _refuse_declared_oversize(request: Request, limit: int) -> None:
    """413 before reading anything when the Content-Length already says too much."""
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)


def read_body(request: Request, limit: int) -> bytes:
    """The whole request body, refusing more than ``limit`` bytes with 413 (even when chunked)."""
    _refuse_declared_oversize(request, limit)
    # One byte over the limit is allowed through, so a chunked body that werkzeug cuts at the
    # limit is told apart from one that fits exactly.
    request.max_content_length = limit + 1
    try:
        data = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise _too_large(limit) from None
    if len(data) > limit:
        raise _too_large(limit)
    return data


def _memory_stream(*_args: Any, **_kwargs: Any) -> io.BytesIO:
    """Multipart parts stay in memory: a photo is never written to disk (docs/design.md#privacy)."""
    return io.BytesIO()


Upload = tuple[bytes, str | None]
"""A photo as uploaded: its bytes and the type its sender declared (None: not one we take)."""


def read_images(request: Request, limit: int, total_limit: int, max_photos: int) -> list[Upload]:
    """The uploaded photos, in order: an ``image/*`` body (one photo), or the multipart field
    ``image`` once or several times (the photos of one person).

    Each photo may have ``limit`` bytes, a multipart body ``total_limit`` (refused before it is
    read when its Content-Length says more) and at most ``max_photos`` parts: 413 and 400
    ``too_many_photos`` otherwise. The declared type is a hint; the pipeline sniffs magic bytes
    and refuses a mismatch.
    """
    kind = events.media_type(request.content_type)
    if kind in IMAGE_MEDIA_TYPES:
        uploads: list[Upload] = [(read_body(request, limit), kind)]
    elif kind == "multipart/form-data":
        _refuse_declared_oversize(request, total_limit)
        request.max_content_length = total_limit  # bounds a chunked body without Content-Length
        parser = FormDataParser(stream_factory=_memory_stream, max_content_length=total_limit)
        try:
            _, _, files = parser.parse(
                request.stream, kind, request.content_length, request.mimetype_params
            )
        except RequestEntityTooLarge:
            raise _too_large(total_limit) from None
        parts = files.getlist("image")
        if not parts:
            raise BadRequestError("multipart upload without an `image` field")
        if len(parts) > max_photos:
            raise TooManyPhotosError(
                f"{len(parts)} `image` parts; send at most {max_photos} photos of one person"
            )
        uploads = [_image_part(part, limit) for part in parts]
    else:
        raise UnsupportedMediaTypeError(
            f"send {FORMAT_NAMES} as image/* or multipart/form-data, not {kind or 'nothing'}"
        )
    for number, (data, _) in enumerate(uploads, 1):
        if not data:
            which = f"photo {number} of {len(uploads)}" if len(uploads) > 1 else "the upload"
            raise BadRequestError(f"{which} is empty")
    return uploads


def _image_part(part: FileStorage, limit: int) -> Upload:
    data = part.stream.getvalue() if isinstance(part.stream, io.BytesIO) else part.read()
    if len(data) > limit:
        raise PayloadTooLargeError(f"an `image` part is over the {limit}-byte limit of one photo")
    declared = events.media_type(part.content_type) or None
    if declared not in (*IMAGE_MEDIA_TYPES, "application/octet-stream", None):
        raise UnsupportedMediaTypeError(f"an `image` part is {declared}; send {FORMAT_NAMES}")
    return data, declared if declared in IMAGE_MEDIA_TYPES else None


def wait_preference(request: Request, limit: int) -> int | None:
    """Seconds the client is willing to wait: ``Prefer: wait=N`` (RFC 7240) or ``?wait=N``.

    Capped at ``limit``; None when not asked. An unreadable ``Prefer`` is ignored, as RFC 7240
    asks of preferences; an unreadable ``?wait`` is the caller's mistake (400).
    """
    if "wait" in request.args:
        raw = request.args["wait"]
        if not raw.isascii() or not raw.isdigit():
            raise BadRequestError("wait must be a whole number of seconds")
        return min(int(raw), limit)
    for header in request.headers.getlist("Prefer"):
        for preference in header.split(","):
            match = _WAIT_PREFERENCE.match(preference.split(";")[0])
            if match:
                return min(int(match.group(1)), limit)
    return None


def wants_html(request: Request) -> bool:
    """Content negotiation between the JSON result and the HTML report (406 for anything else)."""
    accept = request.accept_mimetypes
    if not accept:
        return False
    best = accept.best_match(["application/json", "text/html"])
    if best is None:
        raise NotAcceptableError("this endpoint answers application/json or text/html")
    return best == "text/html"


def language(request: Request) -> str:
    """``?lang=en|ko``, else the best of ``Accept-Language``, else English."""
    from colorseason.i18n import LANGUAGES

    lang = request.args.get("lang")
    if lang is None:
        return request.accept_languages.best_match(LANGUAGES, LANGUAGES[0])
    if lang not in LANGUAGES:
        raise BadRequestError(f"lang must be one of {', '.join(LANGUAGES)}")
    return lang


def face_number(request: Request) -> int | None:
    """``?face=N``: which face of a group photo to analyse (numbered left to right from 0), or
    None for the largest. Anything but a non-negative integer is a 400; a number the photo does
    not have is the pipeline's 422 ``face_not_found``."""
    value = request.args.get("face")
    if value is None:
        return None
    # ASCII digits only: int() would also take "+1", " 1", "1_0" and other scripts' digits.
    if not (value.isascii() and value.isdigit()) or len(value) > _FACE_NUMBER_DIGITS:
        raise BadRequestError("face must be a non-negative integer (faces are numbered from 0)")
    return int(value)


# -- routing -------------------------------------------------------------------------------------


def _unknown_endpoint(request: Request) -> NotFoundError:
    return NotFoundError(f"no such endpoint: {request.path}")


class Router:
    """Routes for one function, plus what every function answers (health, CORS, errors, logs).

    ``readiness`` raises a :class:`ColorseasonError` (usually 503) while the function cannot serve.
    Created while functions-framework imports ``main.py`` (inside its Flask app's context), the
    router puts itself in front of that app as its WSGI application (:meth:`wsgi`): every request
    reaches the router without Flask's request context, functions-framework's per-request
    wrappers and a second URL match, which cost more than a status poll itself (a ``GET
    /jobs/{id}`` in 0.11 ms instead of 0.25 ms, docs/benchmarks.md). It also means the router
    answers what that app would refuse itself (paths with a newline, ``/robots.txt``).
    ``main`` stays the function's entry point, for a framework that calls it directly.
    """

    def __init__(
        self, name: str, settings: Settings, readiness: Callable[[], None] | None = None
    ) -> None:
        self.name = name
        self.settings = settings
        self._readiness = readiness
        self._map = Map(strict_slashes=False)
        # Matched by path and method alone (no host rules), so one adapter serves every request.
        self._paths = self._map.bind("localhost")
        self._handlers: dict[str, Handler] = {}
        self.route("/health/liveness", methods=["GET"])(self._liveness)
        self.route("/health/readiness", methods=["GET"])(self._ready)
        if flask.has_app_context():
            flask.current_app.wsgi_app = self.wsgi  # type: ignore[method-assign]

    def route(self, rule: str, methods: list[str]) -> Callable[[Handler], Handler]:
        """Register ``handler(request, **path_args) -> Response`` for ``rule``."""

        def register(handler: Handler) -> Handler:
            endpoint = f"{handler.__name__}:{rule}"
            self._map.add(Rule(rule, endpoint=endpoint, methods=methods))
            self._handlers[endpoint] = handler
            return handler

        return register

    def __call__(self, request: Request) -> Response:
        """Answer one request; never raises."""
        started = time.perf_counter()
        try:
            if request.method == "OPTIONS" and "Origin" in request.headers:
                response = self._preflight(request)
            else:
                response = self._dispatch(request)
        except ColorseasonError as error:
            response = problem_response(error, request.path)
        except Exception:
            log.exception("unhandled error", extra={"function": self.name, "path": request.path})
            response = problem_response(ColorseasonError(), request.path)
        return self._finish(request, response, started)

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        """The function's WSGI application: each request answered by :meth:`__call__`."""
        return self(Request(environ))(environ, start_response)

    def _finish(self, request: Request, response: Response, started: float) -> Response:
        self._cors(request, response)
        level = logging.WARNING if response.status_code >= 500 else logging.INFO
        logged = not request.path.startswith("/health/") or response.status_code >= 400
        if logged and log.isEnabledFor(level):
            log.log(
                level,
                "request",
                extra={
                    "function": self.name,
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "event_type": request.headers.get("ce-type"),
                },
            )
        return response

    def _dispatch(self, request: Request) -> Response:
        try:
            endpoint, args = self._paths.match(request.path, method=request.method)
        except MethodNotAllowed as exc:
            error = MethodNotAllowedError(f"{request.method} is not allowed on {request.path}")
            response = problem_response(error, request.path)
            response.headers["Allow"] = ", ".join(sorted(exc.valid_methods or []))
            return response
        except HTTPException:  # NotFound, or a redirect for a missing slash: unknown either way
            raise _unknown_endpoint(request) from None
        return self._handlers[endpoint](request, **args)

    def _liveness(self, request: Request) -> Response:
        return json_response({"status": "ok"})

    def _ready(self, request: Request) -> Response:
        if self._readiness is not None:
            self._readiness()
        return json_response({"status": "ready"})

    def _allowed_origin(self, origin: str | None) -> str | None:
        allowed = self.settings.cors_allow_origins
        if not origin or not allowed:
            return None
        if "*" in allowed:
            return "*"
        return origin if origin in allowed else None

    def _preflight(self, request: Request) -> Response:
        response = empty_response(204)
        if self._allowed_origin(request.headers.get("Origin")):
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = _ALLOWED_REQUEST_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
        return response

    def _cors(self, request: Request, response: Response) -> None:
        origin = self._allowed_origin(request.headers.get("Origin"))
        if origin is None:
            return
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = _EXPOSED_HEADERS
        if origin != "*":
            response.vary.add("Origin")
