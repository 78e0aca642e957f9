"""The event contract: CloudEvent types, sources, schemas, and (de)serialisation.

Everything that produces or consumes a colorseason CloudEvent goes through this module; nothing
else builds ``ce-*`` headers. Events are CloudEvents 1.0 through the ``cloudevents`` SDK's 1.x API
(the version functions-framework pins). Conventions (docs/design.md#conventions):

- ``type`` is ``dev.colorseason.<noun>.<verb-past>`` (:data:`EVENT_TYPES`);
- ``source`` is a URI reference naming the producing function (``SOURCE_*``; status
  produces none, and a purge sent by hand names ``SOURCE_PURGE``);
- ``subject`` is the job id, and equals ``data.job_id``. Producers may write it as 32 hex digits or
  as a canonical UUID (``8-4-4-4-12``), in any case; :func:`job_id_of` and :func:`parse_job_id`
  give every consumer the one normal form, 32 lower-case hex digits;
- ``data`` is JSON, validated against ``eventing/schemas/<noun>-<verb>.json``, whose URL is the
  ``dataschema`` attribute. Two exceptions, both ``analysis.requested``: it may carry the raw photo
  as binary-mode ``image/*`` data (see that schema's description), and it has a version 2
  (``analysis-requested-v2.json``, several photos of one person), which an event declares with
  that schema's URL as its ``dataschema`` (:data:`REQUESTED_V2_SCHEMA`); without it, version 1.

Replies to a Broker delivery are binary-mode events (:func:`to_response`); events we originate are
POSTed to ``K_SINK`` in binary mode (:func:`send`).

This is also the only module that imports the SDK: the rest of the project names
:class:`CloudEvent` from here and reads HTTP messages with :func:`from_http`, so a move to another
SDK version touches this file alone. The media types of the HTTP binding, and how a Content-Type
is read (:func:`media_type`), live here too.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from cloudevents import exceptions as ce_errors
from cloudevents.conversion import to_binary
from cloudevents.http import CloudEvent as CloudEvent  # re-exported: the project's one import
from cloudevents.http import from_http as _sdk_from_http

from colorseason.analysis.formats import IMAGE_MEDIA_TYPES
from colorseason.errors import BrokerUnavailableError, CorruptImageError, InvalidEventError

log = logging.getLogger(__name__)

REQUESTED = "dev.colorseason.analysis.requested"
STARTED = "dev.colorseason.analysis.started"
COMPLETED = "dev.colorseason.analysis.completed"
FAILED = "dev.colorseason.analysis.failed"
PURGE = "dev.colorseason.results.purge"
STORED = "dev.colorseason.results.stored"
DELETED = "dev.colorseason.results.deleted"

EVENT_TYPES: tuple[str, ...] = (REQUESTED, STARTED, COMPLETED, FAILED, PURGE, STORED, DELETED)
"""Every type this project emits or consumes; each has a schema in ``eventing/schemas/``."""

PING = "dev.knative.sources.ping"
"""Knative PingSource's fixed type (it cannot be chosen): results takes a tick as a purge, and
validates its data (``{}`` in eventing/sources.yaml) as purge data."""

SOURCE_ANALYZE = "/colorseason/analyze"
SOURCE_RESULTS = "/colorseason/results"
SOURCE_PURGE = "/colorseason/purge"

SCHEMA_BASE_URL = "https://colorseason.dev/eventing/schemas/"
"""Base of every ``dataschema`` URL (the schemas' ``$id``s)."""

REQUESTED_V2_SCHEMA = "analysis-requested-v2.json"
"""Version 2 of ``requested``: one to five photos of one person (:func:`requested_photos`), named
by its ``dataschema``. Any other ``requested`` is version 1 (one photo), the form older producers
send and analyze still sends for a one-photo job, so that a revision rolling out beside an older
one never hands it an event it would refuse."""

STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"
BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"
# The HTTP binding's structured and batched modes, in any event format (``+json``, ``+avro``, …).
_CLOUDEVENTS_MEDIA_TYPES = ("application/cloudevents", "application/cloudevents-batch")

SINK_TIMEOUT_SECONDS = 5.0
"""How long a POST to K_SINK may take; the Broker ingress answers in milliseconds when healthy."""

_JOB_ID = re.compile(
    r"[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE
)
# Context attributes whose CloudEvents type is a string (the SDK takes any JSON value for them).
_STRING_ATTRIBUTES = ("specversion", "id", "source", "type", "subject", "datacontenttype",
                      "dataschema", "time")  # fmt: skip
_REPO_SCHEMAS = Path(__file__).resolve().parents[2] / "eventing" / "schemas"
_PACKAGED_SCHEMAS = Path(__file__).resolve().parent / "schemas"


def schema_file_name(event_type: str) -> str:
    """``dev.colorseason.analysis.requested`` → ``analysis-requested.json``."""
    noun, verb = event_type.removeprefix("dev.colorseason.").split(".")
    return f"{noun}-{verb}.json"


def dataschema_url(event_type: str) -> str:
    """The ``dataschema`` attribute for ``event_type``."""
    return SCHEMA_BASE_URL + schema_file_name(event_type)


def schemas_dir() -> Path:
    """Where the JSON Schemas live: in the wheel (``colorseason/schemas``) or the repo checkout."""
    return _PACKAGED_SCHEMAS if _PACKAGED_SCHEMAS.is_dir() else _REPO_SCHEMAS


def _schema_of(event_type: str, dataschema: str | None) -> str:
    """The schema file an event's data follows: its type's, or a later version it names."""
    if event_type == REQUESTED and dataschema == SCHEMA_BASE_URL + REQUESTED_V2_SCHEMA:
        return REQUESTED_V2_SCHEMA
    return schema_file_name(event_type)


@cache
def _validator(file_name: str) -> jsonschema.protocols.Validator:
    schema = json.loads((schemas_dir() / file_name).read_text("utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def new_job_id() -> str:
    """A fresh, unguessable job id: uuid4 as 32 hex digits (122 random bits)."""
    return uuid.uuid4().hex


def parse_job_id(value: object) -> str | None:
    """``value`` as a job id in normal form (32 lower-case hex digits), or None if it is not one.

    Accepts the 32-digit form and the canonical UUID form with dashes, in any case, so a producer
    that writes ``str(uuid4())`` reaches the same job as one that writes ``uuid4().hex``. Anything
    else (a path, a URN) is None: answered 404 without a lookup, or refused in an event.
    """
    if not isinstance(value, str) or _JOB_ID.fullmatch(value) is None:
        return None
    return value.replace("-", "").lower()


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type value, without its parameters and in lower case (``""``
    for none): ``"Image/JPEG; q=1"`` → ``"image/jpeg"``."""
    return (content_type or "").split(";")[0].strip().lower()


def _lowered(headers: Mapping[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


def is_cloudevent(headers: Mapping[str, str]) -> bool:
    """Whether an HTTP request or response carries a CloudEvent: binary mode (a ``ce-specversion``
    header) or structured or batched mode in any format (``application/cloudevents+json``,
    ``application/cloudevents-batch+json``, ``+avro``, …). Anything else is a plain body (an
    upload); a message that claims to be an event but is unreadable is :func:`from_http`'s 400.
    """
    lowered = _lowered(headers)
    kind = media_type(lowered.get("content-type"))
    return "ce-specversion" in lowered or kind.split("+")[0] in _CLOUDEVENTS_MEDIA_TYPES


def make_event(
    event_type: str, source: str, job_id: str | None, data: Any, schema: str | None = None
) -> CloudEvent:
    """Build a JSON event of ``event_type`` (validated: we never emit what we would refuse);
    ``schema`` names a later version's schema file than the type's own."""
    event = CloudEvent(
        {
            "type": event_type,
            "source": source,
            "id": uuid.uuid4().hex,
            "datacontenttype": "application/json",
            "dataschema": SCHEMA_BASE_URL + schema if schema else dataschema_url(event_type),
            **({"subject": job_id} if job_id else {}),
        },
        data,
    )
    validate(event)
    return event


def requested(
    job_id: str,
    *,
    claim_key: str | None = None,
    image: bytes | None = None,
    content_type: str | None = None,
    face: int | None = None,
) -> CloudEvent:
    """A ``requested`` event: by claim check (``claim_key``) or with the photo inline; ``face``
    is the face number to analyse (None: the largest)."""
    if claim_key is not None:
        data: dict[str, Any] = {
            "job_id": job_id,
            "claim_check": {"store": "redis", "key": claim_key},
        }
        if content_type:
            data["content_type"] = content_type
    elif image is not None and content_type:
        data = {
            "job_id": job_id,
            "content_type": content_type,
            "image": base64.b64encode(image).decode("ascii"),
        }
    else:
        raise ValueError("a requested event needs a claim_key or an image with its content_type")
    if face is not None:
        data["face"] = face
    return make_event(REQUESTED, SOURCE_ANALYZE, job_id, data)


@dataclass(frozen=True)
class Photo:
    """One photo of a ``requested`` event: waiting under a claim-check ``claim_key``, or the
    ``image`` itself (inline); ``face`` is the face number to analyse (None: the largest)."""

    image: bytes | None = None
    claim_key: str | None = None
    content_type: str | None = None
    face: int | None = None


def requested_photos(job_id: str, photos: Sequence[Photo]) -> CloudEvent:
    """A ``requested`` event for photos of one person, each by claim check or inline (with its
    content type). One photo is sent as version 1, which every analyze revision takes; several
    as version 2 (:data:`REQUESTED_V2_SCHEMA`)."""
    if len(photos) == 1:
        (photo,) = photos
        return requested(
            job_id,
            claim_key=photo.claim_key,
            image=photo.image,
            content_type=photo.content_type,
            face=photo.face,
        )
    items = []
    for photo in photos:
        if photo.claim_key is not None:
            item: dict[str, Any] = {"claim_check": {"store": "redis", "key": photo.claim_key}}
        elif photo.image is not None and photo.content_type:
            item = {"image": base64.b64encode(photo.image).decode("ascii")}
        else:
            raise ValueError("a photo needs a claim_key or an image with its content_type")
        if photo.content_type:
            item["content_type"] = photo.content_type
        if photo.face is not None:
            item["face"] = photo.face
        items.append(item)
    data = {"job_id": job_id, "photos": items}
    return make_event(REQUESTED, SOURCE_ANALYZE, job_id, data, REQUESTED_V2_SCHEMA)


def started(job_id: str) -> CloudEvent:
    return make_event(STARTED, SOURCE_ANALYZE, job_id, {"job_id": job_id})


def completed(job_id: str, result: dict[str, Any], result_url: str | None = None) -> CloudEvent:
    data: dict[str, Any] = {"job_id": job_id, "result": result}
    if result_url:
        data["result_url"] = result_url
    return make_event(COMPLETED, SOURCE_ANALYZE, job_id, data)


def failed(job_id: str, code: str, message: str) -> CloudEvent:
    error = {"code": code, "message": message[:2000]}
    return make_event(FAILED, SOURCE_ANALYZE, job_id, {"job_id": job_id, "error": error})


def purge(before: str | None = None) -> CloudEvent:
    return make_event(PURGE, SOURCE_PURGE, None, {"before": before} if before else {})


def stored(job_id: str, result_url: str | None = None) -> CloudEvent:
    """results' reply to a ``completed`` whose row exists: the job may now show ``completed``."""
    data: dict[str, Any] = {"job_id": job_id}
    if result_url:
        data["result_url"] = result_url
    return make_event(STORED, SOURCE_RESULTS, job_id, data)


def deleted(job_id: str) -> CloudEvent:
    return make_event(DELETED, SOURCE_RESULTS, job_id, {"job_id": job_id})


def job_id_of(event: CloudEvent) -> str:
    """The job a validated event is about: its ``subject`` in normal form (:func:`parse_job_id`)."""
    job_id = parse_job_id(event.get("subject"))
    if job_id is None:
        raise InvalidEventError("the subject must be the job id")
    return job_id


def photos_of(event: CloudEvent) -> list[Photo]:
    """The photos a validated ``requested`` event carries, in order, either version: inline ones
    decoded, claim-checked ones by key. Raises :class:`CorruptImageError` for an inline photo
    that is not base64 (the job fails: no retry can mend it)."""
    if is_inline_image(event):
        return [Photo(image=bytes(event.data), content_type=_data_media_type(event))]
    items = event.data.get("photos", [event.data])  # version 2, or version 1's one photo
    photos = []
    for number, item in enumerate(items):
        image = None
        if "image" in item:
            try:
                image = base64.b64decode(item["image"], validate=True)
            except (binascii.Error, ValueError):
                which = f"photo {number + 1} of {len(items)}: " if len(items) > 1 else ""
                raise CorruptImageError(f"{which}the inline image is not valid base64") from None
        face = item.get("face")
        photos.append(
            Photo(
                image=image,
                claim_key=item["claim_check"]["key"] if "claim_check" in item else None,
                content_type=item.get("content_type"),
                # JSON Schema counts 2.0 as an integer; a list index needs an int.
                face=None if face is None else int(face),
            )
        )
    return photos


def is_inline_image(event: CloudEvent) -> bool:
    """A ``requested`` event whose data is the photo itself: binary mode with an ``image/*``
    body, or structured mode with ``data_base64`` and an ``image/*`` datacontenttype."""
    return (
        isinstance(event.data, bytes | bytearray) and _data_media_type(event) in IMAGE_MEDIA_TYPES
    )


def _data_media_type(event: CloudEvent) -> str:
    return media_type(event.get("datacontenttype"))


def validate(
    event: CloudEvent, accept: tuple[str, ...] = EVENT_TYPES, *, check_data: bool = True
) -> CloudEvent:
    """Check an event against the contract: known type, job id subject, schema-valid data.

    ``check_data=False`` checks only the type and subject (dead letters: the data is whatever
    failed to be delivered). Raises :class:`InvalidEventError` (400: never retried) otherwise.
    """
    event_type = event["type"]
    if event_type not in accept:
        raise InvalidEventError(f"unexpected event type {event_type!r}; expected one of {accept}")
    if event_type == PING:
        event_type = PURGE
    if (event_type == REQUESTED and is_inline_image(event)) or not check_data:
        if event_type != PURGE and parse_job_id(event.get("subject")) is None:
            raise InvalidEventError("the subject must be the job id")
        return event
    data = event.data
    if data is None and event_type == PURGE:
        data = {}
    validator = _validator(_schema_of(event_type, event.get("dataschema")))
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "data"
        raise InvalidEventError(f"{event_type} {where}: {_schema_message(error)}")
    if (
        isinstance(data, dict)
        and "job_id" in data
        and parse_job_id(event.get("subject")) != parse_job_id(data["job_id"])
    ):
        raise InvalidEventError("subject must equal data.job_id")
    return event


# Validators whose messages name properties and never quote the value that failed them.
_NAMING_VALIDATORS = frozenset({"required", "additionalProperties"})


def _schema_message(error: jsonschema.ValidationError) -> str:
    """The validator's message, unless it would quote a large or binary value.

    A 400 body travels on into a dead-lettered event (``knativeerrordata``): it must never carry
    photo bytes that arrived in the wrong place, not even inside an object or a list quoted whole
    (a ``oneOf`` over an event's data, or its list of photos).
    """
    if error.validator in _NAMING_VALIDATORS or not _is_bulky(error.instance):
        return error.message[:300]
    return f"fails the schema's {error.validator!r} rule"


def _is_bulky(value: Any) -> bool:
    """Whether ``value`` holds bytes or a long string anywhere (a photo, base64 or not), or is too
    long to quote whole in a message."""
    pending, size = [value], 0
    while pending:
        item = pending.pop()
        if isinstance(item, bytes | bytearray) or (isinstance(item, str) and len(item) > 80):
            return True
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        size += len(item) + 4 if isinstance(item, str) else 6  # about its length in a repr
        if size > 300:  # a message is cut there: the rule it breaks would be lost
            return True
    return False


def _unmarshaller(headers: Mapping[str, str]):
    """Keep binary-mode image bodies as bytes; everything else must be JSON (or stays a string
    and then fails schema validation)."""
    if "ce-specversion" in headers and media_type(headers.get("content-type")).startswith("image/"):
        return lambda body: body

    def json_or_raw(body: str | bytes) -> Any:
        try:
            return json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return body

    return json_or_raw


def _as_is(data: Any) -> Any:
    return data


def from_http(headers: Mapping[str, str], body: bytes, *, raw_data: bool = False) -> CloudEvent:
    """The CloudEvent in an HTTP message (binary or structured mode) as the SDK reads it, not yet
    checked against the contract; :class:`InvalidEventError` (400) when it is unreadable.

    The data is JSON when it is, else left as it came (binary-mode photos stay bytes);
    ``raw_data`` leaves all of it as it came (the local broker relays events untouched).
    """
    lowered = _lowered(headers)
    unmarshaller = _as_is if raw_data else _unmarshaller(lowered)
    try:
        return _sdk_from_http(lowered, body, data_unmarshaller=unmarshaller)
    except ce_errors.GenericException as exc:
        raise InvalidEventError(f"malformed CloudEvent: {str(exc)[:300]}") from None
    # Invalid UTF-8, a null attribute, a JSON array where the SDK wants an object, [[[[…
    except (ValueError, TypeError, AttributeError, RecursionError):
        raise InvalidEventError("malformed CloudEvent: unreadable attributes or data") from None


def from_request(
    headers: Mapping[str, str],
    body: bytes,
    accept: tuple[str, ...] = EVENT_TYPES,
    *,
    check_data: bool = True,
) -> CloudEvent:
    """Parse a binary- or structured-mode CloudEvent from an HTTP request and validate it."""
    if media_type(_lowered(headers).get("content-type")) == BATCH_CONTENT_TYPE:
        raise InvalidEventError("batched CloudEvents are not supported")
    event = from_http(headers, body)
    for name in _STRING_ATTRIBUTES:
        value = event.get(name)
        if value is not None and not (isinstance(value, str) and value):
            raise InvalidEventError(f"malformed CloudEvent: {name} must be a non-empty string")
    if not _is_unicode(event.get_attributes()) or not _is_unicode(event.data):
        raise InvalidEventError("malformed CloudEvent: a string holds a lone UTF-16 surrogate")
    return validate(event, accept, check_data=check_data)


def _is_unicode(value: Any) -> bool:
    """Whether every string in ``value`` is text Redis, PostgreSQL and logs can store (JSON lets a
    lone surrogate such as ``"\\ud800"`` through)."""
    if isinstance(value, bytes | bytearray):
        return True
    try:
        json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def to_response(event: CloudEvent) -> tuple[dict[str, str], bytes]:
    """Headers and body of a binary-mode reply (what a Broker re-publishes)."""
    headers, body = to_binary(event)
    return headers, body if isinstance(body, bytes) else body.encode("utf-8")


def send(event: CloudEvent, sink: str | None, timeout: float = SINK_TIMEOUT_SECONDS) -> None:
    """POST ``event`` in binary mode to ``sink`` (K_SINK).

    Raises :class:`BrokerUnavailableError` (503) when there is no sink or it does not take the event
    with a 2xx, so callers answer with a status the client (or the broker) retries.
    """
    if not sink:
        raise BrokerUnavailableError("no event sink configured (K_SINK is unset)")
    headers, body = to_response(event)
    request = urllib.request.Request(sink, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except (urllib.error.URLError, OSError) as exc:
        log.warning("event not delivered", extra={"event_type": event["type"], "error": str(exc)})
        raise BrokerUnavailableError(f"the event sink did not accept {event['type']}") from None
