"""The event contract: schemas, both content modes, validation, and sending to K_SINK."""

from __future__ import annotations

import base64
import json
import uuid

import jsonschema
import pytest
from cloudevents.conversion import to_structured
from cloudevents.http import CloudEvent

from colorseason import events
from colorseason.errors import BrokerUnavailableError, CorruptImageError, InvalidEventError
from support import Sink

JOB = events.new_job_id()
RESULT = {
    "season": {"id": "true-autumn", "family": "autumn"},
    "probabilities": {"true-autumn": 0.7, "deep-autumn": 0.3},
    "model": {"version": "test"},
}


def test_every_event_type_has_a_valid_schema_whose_id_is_its_dataschema() -> None:
    for event_type in events.EVENT_TYPES:
        path = events.schemas_dir() / events.schema_file_name(event_type)
        schema = json.loads(path.read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["$id"] == events.dataschema_url(event_type)
        assert schema["title"] == event_type
    later = json.loads((events.schemas_dir() / events.REQUESTED_V2_SCHEMA).read_text())
    jsonschema.Draft202012Validator.check_schema(later)
    assert later["$id"] == events.SCHEMA_BASE_URL + events.REQUESTED_V2_SCHEMA
    assert later["title"] == events.REQUESTED
    assert {p.name for p in events.schemas_dir().glob("*.json")} == {
        events.REQUESTED_V2_SCHEMA,
        *(events.schema_file_name(t) for t in events.EVENT_TYPES),
    }


def test_the_photo_limit_of_requested_v2_is_the_librarys() -> None:
    from colorseason.analysis.person import MAX_PHOTOS

    schema = json.loads((events.schemas_dir() / events.REQUESTED_V2_SCHEMA).read_text())
    assert schema["properties"]["photos"]["maxItems"] == MAX_PHOTOS


def test_job_ids_are_unguessable_uuid4_hex() -> None:
    ids = {events.new_job_id() for _ in range(100)}
    assert len(ids) == 100 and all(events.parse_job_id(i) == i for i in ids)
    assert all(uuid.UUID(i).version == 4 for i in ids)


def test_canonical_uuids_in_any_case_are_the_same_job() -> None:
    canonical = str(uuid.UUID(JOB))
    for spelling in (JOB, JOB.upper(), canonical, canonical.upper()):
        assert events.parse_job_id(spelling) == JOB
    for other in ("../etc", JOB[:-1], "{" + canonical + "}", "urn:uuid:" + canonical, 7, None,
                  canonical.replace("-", "", 1), JOB + "0"):  # fmt: skip
        assert events.parse_job_id(other) is None


def test_an_event_about_a_canonical_uuid_is_accepted_and_normalised() -> None:
    canonical = str(uuid.UUID(JOB)).upper()
    headers, body = _binary(events.STARTED, {"job_id": canonical}, **{"ce-subject": canonical})
    event = events.from_request(headers, body)
    assert events.job_id_of(event) == JOB
    # The two spellings of one job still have to agree.
    headers, body = _binary(events.STARTED, {"job_id": canonical}, **{"ce-subject": JOB[::-1]})
    with pytest.raises(InvalidEventError, match="subject"):
        events.from_request(headers, body)


@pytest.mark.parametrize(
    "event",
    [
        events.requested(JOB, claim_key="colorseason:claim:" + JOB, content_type="image/jpeg"),
        events.requested(JOB, image=b"\xff\xd8\xff", content_type="image/jpeg"),
        events.requested(JOB, claim_key="k", content_type="image/png", face=2),
        events.started(JOB),
        events.completed(JOB, RESULT, "http://results.test/results/" + JOB),
        events.failed(JOB, "no_face", "No face was found"),
        events.stored(JOB, "http://results.test/results/" + JOB),
        events.stored(JOB),
        events.purge(),
        events.purge("2030-01-01T00:00:00Z"),
        events.deleted(JOB),
    ],
    ids=lambda e: e["type"],
)
def test_events_round_trip_in_binary_and_structured_mode(event: CloudEvent) -> None:
    assert event["dataschema"] == events.dataschema_url(event["type"])
    _round_trip(event)


def _round_trip(event: CloudEvent) -> None:
    headers, body = events.to_response(event)
    assert headers["ce-type"] == event["type"] and headers["content-type"] == "application/json"
    binary = events.from_request(headers, body)
    headers, body = to_structured(event)
    structured = events.from_request(headers, body)
    for parsed in (binary, structured):
        assert parsed["type"] == event["type"] and parsed.get("subject") == event.get("subject")
        assert parsed.data == event.data


INLINE_PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256))
# A requested event's attributes: in binary mode as ce-* headers, in structured mode in the body.
REQUESTED_ATTRIBUTES = {
    "specversion": "1.0",
    "type": events.REQUESTED,
    "source": "/test",
    "id": "1",
    "subject": JOB,
}


def test_binary_mode_image_data_stays_bytes() -> None:
    photo = INLINE_PHOTO
    headers = {f"ce-{name}": value for name, value in REQUESTED_ATTRIBUTES.items()}
    headers["Content-Type"] = "image/jpeg"
    event = events.from_request(headers, photo)
    assert events.is_inline_image(event) and event.data == photo
    with pytest.raises(InvalidEventError, match="subject"):
        events.from_request({**headers, "ce-subject": "nope"}, photo)


def test_structured_mode_data_base64_carries_an_inline_photo() -> None:
    photo = INLINE_PHOTO
    body = {
        **REQUESTED_ATTRIBUTES,
        "datacontenttype": "image/jpeg",
        "data_base64": base64.b64encode(photo).decode(),
    }
    headers = {"Content-Type": events.STRUCTURED_CONTENT_TYPE}
    event = events.from_request(headers, json.dumps(body).encode())
    assert events.is_inline_image(event) and event.data == photo


CLAIMED = {"job_id": JOB, "claim_check": {"store": "redis", "key": "k"}}
STRUCTURED_PURGE = {"specversion": "1.0", "id": "1", "source": "/t", "type": events.PURGE}


def _binary(event_type: str, data: object, **attributes: str) -> tuple[dict[str, str], bytes]:
    headers = {
        "ce-specversion": "1.0",
        "ce-type": event_type,
        "ce-source": "/test",
        "ce-id": "1",
        "ce-subject": JOB,
        "Content-Type": "application/json",
        **attributes,
    }
    return headers, json.dumps(data).encode()


@pytest.mark.parametrize(
    ("headers", "body", "message"),
    [
        ({"Content-Type": events.STRUCTURED_CONTENT_TYPE}, b"{not json", "malformed"),
        ({"Content-Type": events.STRUCTURED_CONTENT_TYPE}, b"[1, 2]", "malformed"),
        ({"Content-Type": events.STRUCTURED_CONTENT_TYPE}, b'{"specversion": "1.0"}', "malformed"),
        ({"Content-Type": events.STRUCTURED_CONTENT_TYPE}, b'{"specversion": "0.1"}', "malformed"),
        ({"Content-Type": events.BATCH_CONTENT_TYPE}, b"[]", "batch"),
        ({"Content-Type": events.STRUCTURED_CONTENT_TYPE}, b"[" * 100_000, "malformed"),
        (
            {**_binary(events.STARTED, None)[0], "Content-Type": events.STRUCTURED_CONTENT_TYPE},
            b'[{"specversion": "1.0"}]',
            "malformed",
        ),
        (
            *_binary(events.FAILED, {"job_id": JOB, "error": {"code": "x", "message": "\ud800"}}),
            "surrogate",
        ),
        (_binary(events.STARTED, None)[0], b'{"job_id": ' + b"[" * 100_000, "malformed"),
        (*_binary("com.example.other", {"job_id": JOB}), "unexpected event type"),
        (*_binary(events.STARTED, {"job_id": "short"}), "job_id"),
        (*_binary(events.STARTED, {"job_id": JOB, "extra": 1}), "Additional properties"),
        (*_binary(events.STARTED, {"job_id": events.new_job_id()}), "subject"),
        (*_binary(events.FAILED, {"job_id": JOB, "error": {"code": "x"}}), "message"),
        (*_binary(events.COMPLETED, {"job_id": JOB}), "result"),
        (
            *_binary(events.COMPLETED, {"job_id": JOB, "result": {**RESULT, "landmarks": []}}),
            "should not be valid",
        ),
        (
            *_binary(
                events.REQUESTED,
                {
                    "job_id": JOB,
                    "image": "AAAA",
                    "content_type": "image/jpeg",
                    "claim_check": {"store": "redis", "key": "k"},
                },
            ),
            "valid",
        ),
        *(
            (*_binary(events.REQUESTED, {**CLAIMED, "face": face}), message)
            for face, message in ((-1, "minimum"), ("1", "not of type"), (1.5, "not of type"))
        ),
        (*_binary(events.PURGE, {"before": "yesterday"}), "does not match"),
        *(
            (
                {"Content-Type": events.STRUCTURED_CONTENT_TYPE},
                json.dumps({**STRUCTURED_PURGE, attribute: value}).encode(),
                f"{attribute} must be a non-empty string",
            )
            for attribute, value in (
                ("id", 5),
                ("source", {}),
                ("dataschema", ""),
                ("datacontenttype", ""),
                ("subject", []),
            )
        ),
    ],
)
def test_malformed_and_schema_invalid_events_are_refused(
    headers: dict[str, str], body: bytes, message: str
) -> None:
    with pytest.raises(InvalidEventError, match=message) as caught:
        events.from_request(headers, body)
    assert caught.value.status == 400


@pytest.mark.parametrize(("data", "face"), [(CLAIMED, None), ({**CLAIMED, "face": 1}, 1),
                                             ({**CLAIMED, "face": 1.0}, 1)])  # fmt: skip
def test_a_requested_event_may_name_a_face(data: dict, face: int | None) -> None:
    event = events.from_request(*_binary(events.REQUESTED, data))
    [photo] = events.photos_of(event)
    assert photo.face == face and type(photo.face) is type(face)
    assert photo.claim_key == "k" and photo.image is None


# -- requested, version 2: several photos of one person -------------------------------------------

V2 = {"ce-dataschema": events.SCHEMA_BASE_URL + events.REQUESTED_V2_SCHEMA}
PARKED = {"claim_check": {"store": "redis", "key": "k"}}


def test_several_photos_travel_as_version_2_and_one_photo_as_version_1() -> None:
    photos = [
        events.Photo(claim_key="colorseason:claim:" + JOB + ":0", content_type="image/jpeg"),
        events.Photo(claim_key="colorseason:claim:" + JOB + ":1", face=2),
        events.Photo(image=b"\xff\xd8\xff", content_type="image/jpeg"),
    ]
    several = events.requested_photos(JOB, photos)
    assert several["dataschema"] == events.SCHEMA_BASE_URL + events.REQUESTED_V2_SCHEMA
    assert len(several.data["photos"]) == 3 and "claim_check" not in several.data
    _round_trip(several)
    parsed = events.from_request(*events.to_response(several))
    assert events.photos_of(parsed) == photos  # in order, the inline photo decoded

    one = events.requested_photos(JOB, photos[1:2])
    assert one["dataschema"] == events.dataschema_url(events.REQUESTED)
    claim_check = {"store": "redis", "key": photos[1].claim_key}
    assert one.data == {"job_id": JOB, "claim_check": claim_check, "face": 2}
    assert events.photos_of(one) == photos[1:2]


def test_an_inline_photo_as_the_events_data_is_one_photo() -> None:
    photo = b"\xff\xd8\xff\xe0" + bytes(range(16))
    headers = {**_binary(events.REQUESTED, None)[0], "Content-Type": "image/jpeg"}
    event = events.from_request(headers, photo)
    assert events.photos_of(event) == [events.Photo(image=photo, content_type="image/jpeg")]


def test_photos_that_are_not_base64_are_corrupt() -> None:
    for data, where in (
        ({"job_id": JOB, "image": "!!!!", "content_type": "image/png"}, "the inline image"),
        ({"job_id": JOB, "photos": [PARKED, {"image": "!!!!", "content_type": "image/png"}]},
         "photo 2 of 2"),
    ):  # fmt: skip
        headers, body = _binary(events.REQUESTED, data, **(V2 if "photos" in data else {}))
        with pytest.raises(CorruptImageError, match=where):
            events.photos_of(events.from_request(headers, body))


def test_a_completed_result_of_several_photos_is_taken_and_holds_no_photo() -> None:
    photos = [{"ok": True, "season": RESULT["season"]}, {"ok": False, "error": {"code": "x"}}]
    agreement = {"photos": 1, "family_share": 1.0, "skin_lightness_spread": 0.0}
    event = events.completed(JOB, {**RESULT, "photos": photos, "agreement": agreement})
    _round_trip(event)
    with pytest.raises(InvalidEventError):
        events.completed(JOB, {**RESULT, "photos": [{"ok": True, "image": "AAAA"}]})


def test_a_refusal_never_quotes_a_photo() -> None:
    """A photo in the wrong place (here: both inline and claim-checked) is not quoted back, not
    even inside the object or list that fails: the 400 body travels on into a dead letter."""
    image = base64.b64encode(bytes(range(256)) * 4).decode()
    wrong = {**PARKED, "image": image, "content_type": "image/jpeg"}
    for data, attributes in (
        ({"job_id": JOB, **wrong}, {}),
        ({"job_id": JOB, "photos": [wrong, PARKED]}, V2),
        ({"job_id": JOB, "photos": [PARKED] * 5 + [wrong]}, V2),
    ):
        with pytest.raises(InvalidEventError) as caught:
            events.from_request(*_binary(events.REQUESTED, data, **attributes))
        assert image[:12] not in caught.value.message, caught.value.message


@pytest.mark.parametrize(
    ("data", "attributes", "message"),
    [
        ({"job_id": JOB, "photos": [PARKED, PARKED]}, {}, "Additional properties"),  # no v2 URL
        ({"job_id": JOB, "photos": []}, V2, "should be non-empty"),
        ({"job_id": JOB, "photos": [PARKED] * 6}, V2, "maxItems"),
        ({"job_id": JOB, "photos": [{**PARKED, "face": -1}]}, V2, "minimum"),
        ({"job_id": JOB, "photos": [{"content_type": "image/png"}]}, V2, "valid"),
        ({"job_id": JOB, "photos": [{**PARKED, "image": "AAAA"}]}, V2, "valid"),
        (CLAIMED, V2, "photos"),  # version 1 data under the version 2 URL
    ],
)
def test_requested_v2_is_validated_by_its_own_schema(
    data: dict, attributes: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidEventError, match=message):
        events.from_request(*_binary(events.REQUESTED, data, **attributes))


def test_accept_limits_the_types_a_function_takes() -> None:
    headers, body = events.to_response(events.started(JOB))
    with pytest.raises(InvalidEventError, match="unexpected event type"):
        events.from_request(headers, body, accept=(events.COMPLETED,))


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("image/jpeg", "image/jpeg"),
        ("Application/CloudEvents+JSON; charset=utf-8", "application/cloudevents+json"),
        (" multipart/form-data ; boundary=x", "multipart/form-data"),
        ("", ""),
        (None, ""),
    ],
)
def test_a_media_type_is_the_content_type_without_parameters(
    content_type: str | None, expected: str
) -> None:
    assert events.media_type(content_type) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"ce-specversion": "1.0", "content-type": "application/json"}, True),  # binary
        ({"Ce-Specversion": "1.0", "Content-Type": "image/jpeg"}, True),  # binary, a photo
        ({"content-type": "application/cloudevents+json"}, True),  # structured
        ({"Content-Type": "Application/CloudEvents+JSON; charset=utf-8"}, True),
        ({"content-type": "application/cloudevents-batch+json"}, True),  # batched (then refused)
        # Another event format: once only the broker's rule; analyze now answers it 400 too.
        ({"content-type": "application/cloudevents+avro"}, True),
        ({"content-type": "application/cloudevents"}, True),
        # Once an event to the broker's prefix rule: not a media type of the binding.
        ({"content-type": "application/cloudeventsx+json"}, False),
        ({"content-type": "application/json"}, False),  # plain JSON, no ce-* headers
        ({"content-type": "image/jpeg"}, False),  # an upload
        ({"content-type": "multipart/form-data; boundary=x"}, False),
        ({"ce-type": events.STARTED}, False),  # ce-* attributes without a specversion
        ({}, False),
    ],
)
def test_is_cloudevent_tells_events_in_any_mode_from_plain_bodies(
    headers: dict[str, str], expected: bool
) -> None:
    assert events.is_cloudevent(headers) is expected


def test_from_http_keeps_raw_data_as_it_came_and_refuses_what_is_no_event() -> None:
    headers, body = events.to_response(events.started(JOB))
    assert events.from_http(headers, body).data == {"job_id": JOB}
    assert events.from_http(headers, body, raw_data=True).data == body
    with pytest.raises(InvalidEventError, match="malformed CloudEvent"):
        events.from_http({"content-type": "application/cloudevents+json"}, b"{not json")


def test_send_posts_binary_mode_events_to_the_sink(clean_sink: Sink) -> None:
    events.send(events.started(JOB), clean_sink.url)
    [received] = clean_sink.received
    assert received["type"] == events.STARTED and received.data == {"job_id": JOB}


@pytest.mark.parametrize("sink_url", [None, "http://127.0.0.1:1/", "refused"])
def test_send_without_a_working_sink_is_a_503(sink_url: str | None, clean_sink: Sink) -> None:
    if sink_url == "refused":
        clean_sink.status, sink_url = 500, clean_sink.url
    with pytest.raises(BrokerUnavailableError) as caught:
        events.send(events.started(JOB), sink_url)
    assert caught.value.status == 503
