"""The analyze function through functions-framework: sync path, bad inputs, jobs and events."""

from __future__ import annotations

import io
import struct
import threading
import uuid

import numpy as np
import pytest
import redis
from cloudevents.http import CloudEvent
from flask.testing import FlaskClient

from colorseason import events
from colorseason.analysis.formats import MAX_IMAGE_BYTES
from colorseason.analysis.person import MAX_PHOTOS
from colorseason.config import Settings
from colorseason.local import embedded
from colorseason.status import ClaimCheck, JobStore
from colorseason.testing import encode, one_person_jpegs, sample_bgr, sample_jpeg, two_faces_jpeg
from support import CLOSED_REDIS_URL, REDIS_URL, deliver, reply_event

SEASON_IDS = {
    "light-spring", "true-spring", "bright-spring", "light-summer", "true-summer", "soft-summer",
    "soft-autumn", "true-autumn", "deep-autumn", "deep-winter", "true-winter", "bright-winter",
}  # fmt: skip


@pytest.fixture(scope="module")
def photo() -> bytes:
    return sample_jpeg("astronaut")


def no_face_png() -> bytes:
    gradient = np.tile(np.linspace(40, 220, 640, dtype=np.uint8), (480, 1))
    return encode(np.dstack([gradient, gradient, gradient]), ".png")


# -- sync path -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "media_type"), [(".jpg", "image/jpeg"), (".png", "image/png"),
                                                  (".webp", "image/webp")])  # fmt: skip
def test_sync_diagnosis_of_a_real_face(analyze, fmt: str, media_type: str) -> None:
    response = analyze.post("/", data=encode(sample_bgr("astronaut"), fmt), content_type=media_type)
    assert response.status_code == 200, response.get_data()
    body = response.get_json()
    assert body["season"]["id"] in SEASON_IDS
    assert body["faces"]["count"] >= 1 and "landmarks" not in body


def test_sync_multipart_and_html_report(analyze) -> None:
    photo = sample_jpeg("grace_hopper")
    form = {"image": (io.BytesIO(photo), "grace.jpg", "image/jpeg")}
    response = analyze.post("/", data=form, content_type="multipart/form-data")
    assert response.status_code == 200 and response.get_json()["season"]["id"] in SEASON_IDS
    html = analyze.post(
        "/?lang=ko", data=photo, content_type="image/jpeg", headers={"Accept": "text/html"}
    )
    assert html.status_code == 200 and html.mimetype == "text/html"
    assert b"<html" in html.get_data().lower()


def test_sync_path_works_with_redis_down(load_function, photo: bytes) -> None:
    analyze = load_function("analyze", REDIS_URL=CLOSED_REDIS_URL)
    assert analyze.post("/", data=photo, content_type="image/jpeg").status_code == 200
    assert analyze.post("/jobs", data=photo, content_type="image/jpeg").status_code == 503


@pytest.mark.parametrize(
    ("body", "media_type", "status", "codes"),
    [
        (b"hello", "text/plain", 415, {"unsupported_media_type"}),
        (b"", "image/jpeg", 400, {"bad_request"}),
        (b"this is not an image at all" * 10, "image/jpeg", None,
         {"unsupported_media_type", "corrupt_image"}),
        ("truncated", "image/jpeg", 422, {"corrupt_image"}),
        ("no face", "image/png", 422, {"no_face"}),
    ],
)  # fmt: skip
def test_bad_uploads_are_problems_with_stable_codes(
    analyze, photo: bytes, body, media_type: str, status: int | None, codes: set[str]
) -> None:
    data = {"truncated": photo[: len(photo) // 3], "no face": no_face_png()}.get(body, body)
    response = analyze.post("/", data=data, content_type=media_type)
    assert response.content_type == "application/problem+json"
    problem = response.get_json()
    assert problem["code"] in codes and problem["status"] == response.status_code
    assert status is None or response.status_code == status


def test_oversize_body_is_413(load_function, photo: bytes) -> None:
    analyze = load_function("analyze", MAX_UPLOAD_BYTES="1000")
    for path in ("/", "/jobs"):
        response = analyze.post(path, data=photo, content_type="image/jpeg")
        assert response.status_code == 413 and response.get_json()["code"] == "payload_too_large"
    form = {"image": (io.BytesIO(photo), "a.jpg", "image/jpeg")}
    assert analyze.post("/", data=form, content_type="multipart/form-data").status_code == 413


def test_the_decoder_takes_every_photo_the_upload_limit_takes(load_function, photo: bytes) -> None:
    """One limit: a photo over the default limit (the CLI's) that MAX_UPLOAD_BYTES lets in is
    diagnosed and queued, never refused by the decoder as image_too_large."""
    padded = photo + bytes(2 * MAX_IMAGE_BYTES)  # a JPEG may carry anything after its end
    analyze = load_function("analyze", MAX_UPLOAD_BYTES=str(len(padded)))
    response = analyze.post("/", data=padded, content_type="image/jpeg")
    assert response.status_code == 200, response.get_json()
    queued = analyze.post("/jobs", data=padded, content_type="image/jpeg")
    assert queued.status_code == 202, queued.get_json()
    redis.Redis.from_url(REDIS_URL).delete(ClaimCheck.key(queued.get_json()["job_id"]))
    default = load_function("analyze")
    for path in ("/", "/jobs"):
        refused = default.post(path, data=padded, content_type="image/jpeg")
        assert refused.get_json()["code"] == "payload_too_large", path


def test_oversize_chunked_bodies_are_413_not_truncated(load_function, photo: bytes) -> None:
    """Without a Content-Length (chunked), the limit must still hold, and say 413."""
    analyze = load_function("analyze", MAX_UPLOAD_BYTES="1000")
    # What gunicorn hands over for a chunked request: no length, a stream that ends by itself.
    chunked = {"headers": {"Transfer-Encoding": "chunked"}}
    chunked["environ_overrides"] = {"wsgi.input_terminated": True}
    response = analyze.post(
        "/", input_stream=io.BytesIO(photo), content_type="image/jpeg", **chunked
    )
    assert response.status_code == 413
    boundary = "b0undary"
    form = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + photo
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = analyze.post(
        "/",
        input_stream=io.BytesIO(form),
        content_type=f"multipart/form-data; boundary={boundary}",
        **chunked,
    )
    assert response.status_code == 413


def test_negotiation_methods_and_paths(analyze, photo: bytes) -> None:
    refused = analyze.post(
        "/", data=photo, content_type="image/jpeg", headers={"Accept": "image/png"}
    )
    assert refused.status_code == 406
    assert analyze.get("/").status_code == 405
    for body, media_type in ((photo, "image/jpeg"), (b"{}", events.STRUCTURED_CONTENT_TYPE)):
        bad_lang = analyze.post("/?lang=xx", data=body, content_type=media_type)
        assert bad_lang.status_code == 400 and bad_lang.get_json()["code"] == "bad_request"
    assert analyze.post("/nowhere", data=photo, content_type="image/jpeg").status_code == 404
    assert analyze.get("/health/liveness").status_code == 200
    assert analyze.get("/health/readiness").status_code == 200


# -- jobs and events -----------------------------------------------------------------------------


def test_submit_queues_the_job_and_parks_the_photo(analyze, status, clean_sink, photo) -> None:
    response = analyze.post("/jobs", data=photo, content_type="image/jpeg")
    assert response.status_code == 202
    ticket = response.get_json()
    job_id = ticket["job_id"]
    assert events.parse_job_id(job_id) == job_id
    assert (
        response.headers["Location"] == ticket["status_url"] == f"http://status.test/jobs/{job_id}"
    )
    assert ticket["result_url"] == f"http://results.test/results/{job_id}"
    polled = status.get(f"/jobs/{job_id}")  # right after the 202: never a 404
    assert polled.status_code == 200 and polled.get_json()["state"] == "queued"
    [requested] = clean_sink.of_type(events.REQUESTED)
    assert requested["subject"] == job_id and "image" not in requested.data
    key = requested.data["claim_check"]["key"]
    assert redis.Redis.from_url(REDIS_URL).get(key) == photo


def _keys(client: redis.Redis) -> set[bytes]:
    return set(client.scan_iter("colorseason:*"))


PrivateAnalyze = tuple[FlaskClient, redis.Redis, redis.Redis]


@pytest.fixture
def private_analyze(load_function) -> PrivateAnalyze:
    """analyze on this process's own embedded Redis servers, and a client for each: (analyze,
    photos, job state). No other test writes there, so what a test counts is its own doing."""
    photos_url, jobs_url = embedded.start_redis(), embedded.start_redis(persistent=True)
    analyze = load_function("analyze", REDIS_URL=photos_url, JOBS_REDIS_URL=jobs_url)
    return analyze, redis.Redis.from_url(photos_url), redis.Redis.from_url(jobs_url)


def test_submit_with_the_broker_down_is_503_and_leaves_nothing(
    private_analyze: PrivateAnalyze, clean_sink, photo
) -> None:
    """Neither the job nor its photo stays behind when the requested event cannot be sent."""
    analyze, photos, jobs = private_analyze
    photos_before, jobs_before = _keys(photos), _keys(jobs)
    clean_sink.status = 503
    response = analyze.post("/jobs", data=photo, content_type="image/jpeg")
    assert response.status_code == 503 and response.get_json()["code"] == "broker_unavailable"
    assert _keys(photos) - photos_before == set() and _keys(jobs) - jobs_before == set()
    clean_sink.status = 202  # the test can fail: an accepted job leaves one of each
    assert analyze.post("/jobs", data=photo, content_type="image/jpeg").status_code == 202
    (claim,) = _keys(photos) - photos_before
    (job,) = _keys(jobs) - jobs_before
    assert claim.startswith(b"colorseason:claim:") and job.startswith(b"colorseason:job:")


def _bad_uploads(photo: bytes) -> dict[str, tuple[bytes, str]]:
    """What the intake must refuse without decoding, with the content type each one claims."""
    tiny = encode(np.full((32, 32, 3), 128, np.uint8), ".png")
    bomb = bytearray(encode(sample_bgr("astronaut"), ".png"))
    bomb[16:24] = struct.pack(">II", 20_000, 20_000)  # the IHDR claims 400 MP
    return {
        "json as webp": (b"{}", "image/webp"),
        "gif as jpeg": (b"GIF89a" + bytes(100), "image/jpeg"),
        "truncated": (photo[: len(photo) // 3], "image/jpeg"),
        "tiny": (tiny, "image/png"),
        "bomb": (bytes(bomb), "image/png"),
        "strip": (encode(np.full((64, 900, 3), 128, np.uint8), ".webp"), "image/webp"),
    }


def test_submit_refuses_bad_uploads_at_the_door(
    private_analyze: PrivateAnalyze, clean_sink, photo
) -> None:
    """Same problem code as the sync path, and nothing queued: no job, no photo, no event."""
    analyze, private, _ = private_analyze
    keys_before = private.dbsize()
    for name, (body, media_type) in _bad_uploads(photo).items():
        sync = analyze.post("/", data=body, content_type=media_type).get_json()
        refused = analyze.post("/jobs", data=body, content_type=media_type)
        assert refused.content_type == "application/problem+json", name
        assert refused.get_json()["code"] == sync["code"], name
        assert refused.status_code == sync["status"] < 500, name
    assert private.dbsize() == keys_before
    assert clean_sink.received == []
    accepted = analyze.post("/jobs", data=photo, content_type="image/jpeg")  # the test can fail
    assert accepted.status_code == 202 and private.dbsize() > keys_before


def _requested_via_claim_check(photo: bytes) -> CloudEvent:
    job_id = events.new_job_id()
    key = ClaimCheck(redis.Redis.from_url(REDIS_URL)).put(job_id, photo)
    return events.requested(job_id, claim_key=key, content_type="image/jpeg")


def test_requested_event_replies_completed_and_announces_started(analyze, clean_sink, photo):
    event = _requested_via_claim_check(photo)
    response = deliver(analyze, event)
    assert response.status_code == 200
    reply = reply_event(response)
    assert reply["type"] == events.COMPLETED and reply["subject"] == event["subject"]
    assert reply["source"] == events.SOURCE_ANALYZE
    assert reply["dataschema"] == events.dataschema_url(events.COMPLETED)
    assert reply.data["result"]["season"]["id"] in SEASON_IDS
    assert [e["subject"] for e in clean_sink.of_type(events.STARTED)] == [event["subject"]]


@pytest.mark.parametrize("mode", ["binary-image", "data_base64", "json-base64"])
def test_inline_photos_need_no_redis(load_function, photo: bytes, mode: str) -> None:
    analyze = load_function("analyze", REDIS_URL=CLOSED_REDIS_URL)
    job_id = events.new_job_id()
    attributes = {"type": events.REQUESTED, "source": "/test", "subject": job_id}
    if mode == "json-base64":
        response = deliver(
            analyze, events.requested(job_id, image=photo, content_type="image/jpeg")
        )
    else:
        event = CloudEvent({**attributes, "datacontenttype": "image/jpeg"}, photo)
        response = deliver(analyze, event, structured=mode == "data_base64")
    assert response.status_code == 200
    assert reply_event(response)["type"] == events.COMPLETED


def test_a_canonical_uuid_job_id_is_answered_in_normal_form(analyze, photo: bytes) -> None:
    event = _requested_via_claim_check(photo)
    job_id = event["subject"]
    event["subject"] = str(uuid.UUID(job_id)).upper()
    event.data["job_id"] = event["subject"]
    reply = reply_event(deliver(analyze, event))
    assert reply["type"] == events.COMPLETED
    assert reply["subject"] == reply.data["job_id"] == job_id


def test_pipeline_errors_are_failed_replies_not_http_errors(analyze, photo: bytes) -> None:
    for data, code in ((no_face_png(), "no_face"), (photo[:500], "corrupt_image")):
        response = deliver(analyze, _requested_via_claim_check(data))
        assert response.status_code == 200
        reply = reply_event(response)
        assert reply["type"] == events.FAILED and reply.data["error"]["code"] == code
    job_id = events.new_job_id()
    bad_base64 = {"job_id": job_id, "image": "!!!!", "content_type": "image/jpeg"}
    event = CloudEvent({"type": events.REQUESTED, "source": "/t", "subject": job_id}, bad_base64)
    assert reply_event(deliver(analyze, event)).data["error"]["code"] == "corrupt_image"


def test_expired_photo_fails_the_job(analyze) -> None:
    job_id = events.new_job_id()
    event = events.requested(job_id, claim_key=ClaimCheck.key(job_id), content_type="image/png")
    reply = reply_event(deliver(analyze, event))
    assert reply["type"] == events.FAILED and reply.data["error"]["code"] == "image_expired"


def test_a_duplicate_while_the_first_attempt_runs_is_an_empty_2xx_never_failed(
    analyze, clean_sink, photo
) -> None:
    """The broker redelivers `requested` while the first attempt is still analysing."""
    event = _requested_via_claim_check(photo)
    job_id = event["subject"]
    claims = ClaimCheck(redis.Redis.from_url(REDIS_URL), lease_seconds=5)
    first = claims.lease(job_id)  # the first attempt, alive (its heartbeat renews the lease)
    answers: list = []
    with claims.holding(first):
        duplicate = threading.Thread(target=lambda: answers.append(deliver(analyze, event)))
        duplicate.start()
        duplicate.join(0.5)
        assert duplicate.is_alive(), "the duplicate waits for the attempt that holds the photo"
        claims.finish(first, [event.data["claim_check"]["key"]])
    duplicate.join(10)
    [response] = answers
    assert response.status_code == 202 and response.get_data() == b""
    assert not clean_sink.of_type(events.FAILED) and not clean_sink.of_type(events.STARTED)


def test_a_dead_first_attempt_is_recovered_when_its_lease_runs_out(load_function, photo) -> None:
    """The first attempt leased the photo and died (no heartbeat): a redelivery takes over."""
    analyze = load_function("analyze", CLAIM_LEASE_SECONDS="1")
    event = _requested_via_claim_check(photo)
    assert ClaimCheck(redis.Redis.from_url(REDIS_URL), lease_seconds=1).lease(event["subject"])
    reply = reply_event(deliver(analyze, event))
    assert reply["type"] == events.COMPLETED and reply["subject"] == event["subject"]
    again = deliver(analyze, event)  # and a redelivery after that finds the work done
    assert again.status_code == 202 and again.get_data() == b""
    assert not redis.Redis.from_url(REDIS_URL).exists(event.data["claim_check"]["key"])


def test_requested_with_redis_down_is_503_for_a_retry(load_function) -> None:
    analyze = load_function("analyze", REDIS_URL=CLOSED_REDIS_URL)
    job_id = events.new_job_id()
    event = events.requested(job_id, claim_key=ClaimCheck.key(job_id), content_type="image/png")
    response = deliver(analyze, event)
    assert response.status_code == 503 and response.get_json()["code"] == "store_unavailable"


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"specversion": "1.0", "type": "x"}',
        b'{"specversion": "1.0", "type": "x", "source": "/s", "id": null}',
        b'{"specversion": "1.0", "type": "x", "source": "/s", "id": "1", "data": "\xff"}',
    ],
)
def test_malformed_cloudevents_are_400(analyze, body: bytes) -> None:
    response = analyze.post("/", data=body, content_type="application/cloudevents+json")
    assert response.status_code == 400 and response.get_json()["code"] == "invalid_event"


@pytest.mark.parametrize(
    "content_type", ["application/cloudevents+avro", "application/cloudevents-batch+json"]
)
def test_events_in_a_mode_or_format_analyze_does_not_read_are_400_not_uploads(
    analyze, content_type: str
) -> None:
    response = analyze.post("/", data=b"\x00\x01", content_type=content_type)
    assert response.status_code == 400 and response.get_json()["code"] == "invalid_event"


def test_schema_invalid_and_foreign_events_are_400(analyze) -> None:
    job_id = events.new_job_id()
    invalid = CloudEvent(
        {"type": events.REQUESTED, "source": "/t", "subject": job_id}, {"job_id": job_id}
    )
    assert deliver(analyze, invalid).status_code == 400
    assert deliver(analyze, events.started(job_id)).status_code == 400
    # A photo sent as an event without its image content type: refused, and not quoted back
    # (a 400 body travels on into the dead-lettered event).
    headers, _ = events.to_response(events.started(job_id))
    headers = {**headers, "ce-type": events.REQUESTED, "content-type": "application/octet-stream"}
    response = analyze.post("/", data=sample_jpeg(), headers=headers)
    assert response.status_code == 400
    assert "\\x" not in response.get_data(as_text=True)


# -- choosing a face: ?face=N ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def group_photo() -> bytes:
    return two_faces_jpeg()


def test_sync_face_picks_a_face_by_its_number(analyze, group_photo: bytes) -> None:
    default = analyze.post("/", data=group_photo, content_type="image/jpeg").get_json()
    chosen = analyze.post("/?face=1", data=group_photo, content_type="image/jpeg").get_json()
    assert default["faces"]["count"] == chosen["faces"]["count"] == 2
    assert (default["faces"]["analysed"], chosen["faces"]["analysed"]) == (0, 1)
    assert chosen["faces"]["boxes"] == default["faces"]["boxes"]
    html = analyze.post(
        "/?face=1", data=group_photo, content_type="image/jpeg", headers={"Accept": "text/html"}
    )
    assert html.status_code == 200 and html.mimetype == "text/html"


BAD_FACES = ["-1", "x", "1.5", "+1", " 1", "", "1e2", "\u0663", "9" * 5000]


@pytest.mark.parametrize("path", ["/", "/jobs"])
def test_a_face_that_is_not_a_number_is_400_and_queues_nothing(
    analyze, clean_sink, group_photo: bytes, path: str
) -> None:
    for face in BAD_FACES:
        response = analyze.post(
            path, query_string={"face": face}, data=group_photo, content_type="image/jpeg"
        )
        assert response.status_code == 400, face
        assert response.content_type == "application/problem+json"
        assert response.get_json()["code"] == "bad_request"
    assert clean_sink.received == []


def test_a_face_the_photo_does_not_have_is_422(analyze, group_photo: bytes) -> None:
    for face in ("2", "1" + "0" * 30):
        response = analyze.post(f"/?face={face}", data=group_photo, content_type="image/jpeg")
        assert response.status_code == 422, face
        assert response.get_json()["code"] == "face_not_found"


def test_jobs_carry_the_face_in_the_requested_event(analyze, status, clean_sink, group_photo):
    for face, outcome in ((None, 0), (1, 1), (7, "face_not_found")):
        clean_sink.received.clear()
        query = {} if face is None else {"face": str(face)}
        response = analyze.post(
            "/jobs", query_string=query, data=group_photo, content_type="image/jpeg"
        )
        assert response.status_code == 202
        [requested] = clean_sink.of_type(events.REQUESTED)
        assert requested.data.get("face") == face
        assert [photo.face for photo in events.photos_of(requested)] == [face]
        assert deliver(status, requested).status_code == 202  # status takes the new field
        reply = reply_event(deliver(analyze, requested))
        if isinstance(outcome, int):
            assert reply["type"] == events.COMPLETED
            assert reply.data["result"]["faces"]["analysed"] == outcome
        else:
            assert reply["type"] == events.FAILED and reply.data["error"]["code"] == outcome


# -- the whole async flow, in broker order -------------------------------------------------------


def test_async_flow_with_duplicates_and_reordering(analyze, status, results, clean_sink, photo):
    ticket = analyze.post("/jobs", data=photo, content_type="image/jpeg").get_json()
    job_id = ticket["job_id"]
    [requested] = clean_sink.of_type(events.REQUESTED)

    # Broker: requested -> status (prefix trigger) and analyze (exact trigger), status twice.
    assert deliver(status, requested).status_code == 202
    response = deliver(analyze, requested)
    assert response.status_code == 200
    reply = reply_event(response)
    assert reply["type"] == events.COMPLETED
    [started] = clean_sink.of_type(events.STARTED)

    # The reply reaches status before started, and both are redelivered.
    for event in (reply, requested, started, reply, started):
        assert deliver(status, event).status_code == 202
    assert status.get(f"/jobs/{job_id}").get_json()["state"] == "processing"  # not stored yet
    # A duplicate requested finds the photo taken: empty 2xx, no new reply.
    duplicate = deliver(analyze, requested)
    assert duplicate.status_code == 202 and duplicate.get_data() == b""

    # completed -> results, twice; each confirmation -> status.
    for _ in range(2):
        confirmation = reply_event(deliver(results, reply))
        assert confirmation["type"] == events.STORED
        assert deliver(status, confirmation).status_code == 202

    polled = status.get(f"/jobs/{job_id}").get_json()
    assert polled["state"] == "completed" and polled["result_url"] == ticket["result_url"]
    stored = results.get(f"/results/{job_id}").get_json()
    assert stored["result"] == reply.data["result"]
    assert JobStore(redis.Redis.from_url(REDIS_URL)).get(job_id) is not None

    # The user deletes the result; results tells status through the broker.
    assert results.delete(f"/results/{job_id}").status_code == 204
    [deleted] = clean_sink.of_type(events.DELETED)
    assert deliver(status, deleted).status_code == 202
    assert status.get(f"/jobs/{job_id}").status_code == 404
    assert results.get(f"/results/{job_id}").status_code == 404
    assert deliver(status, reply).status_code == 202  # late redelivery: still gone
    assert status.get(f"/jobs/{job_id}").status_code == 404


# -- one person, several photos --------------------------------------------------------------------


@pytest.fixture(scope="module")
def person() -> list[bytes]:
    return one_person_jpegs()


def _form(photos: list[bytes]) -> dict:
    return {"image": [(io.BytesIO(p), f"photo{n}.jpg", "image/jpeg") for n, p in enumerate(photos)]}


def test_three_photos_one_corrupt_are_one_diagnosis_with_each_photo_reported(
    analyze, person: list[bytes]
) -> None:
    photos = [person[0], person[1][: len(person[1]) // 3], person[2]]
    response = analyze.post("/", data=_form(photos), content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data()
    result = response.get_json()
    assert result["season"]["id"] in SEASON_IDS
    assert [photo["ok"] for photo in result["photos"]] == [True, False, True]
    assert result["photos"][1]["error"]["code"] == "corrupt_image"
    assert result["agreement"]["photos"] == 2
    html = analyze.post(
        "/", data=_form(photos), content_type="multipart/form-data", headers={"Accept": "text/html"}
    )
    assert html.status_code == 200 and b"2 of 2 photos agree" in html.get_data()


def test_one_photo_in_a_form_is_todays_single_photo_result(analyze, photo: bytes) -> None:
    alone = analyze.post("/", data=photo, content_type="image/jpeg").get_json()
    form = analyze.post("/", data=_form([photo]), content_type="multipart/form-data").get_json()
    assert "photos" not in form and "agreement" not in form
    assert {k: v for k, v in form.items() if k != "timings_ms"} == {
        k: v for k, v in alone.items() if k != "timings_ms"
    }


def test_face_applies_to_every_photo(analyze, group_photo: bytes) -> None:
    form = _form([group_photo, two_faces_jpeg()])
    result = analyze.post("/?face=1", data=form, content_type="multipart/form-data").get_json()
    assert result["faces"]["analysed"] == 1 and all(p["ok"] for p in result["photos"])
    missing = analyze.post(
        "/?face=2", data=_form([group_photo] * 2), content_type="multipart/form-data"
    )
    assert missing.status_code == 422 and missing.get_json()["code"] == "face_not_found"


@pytest.mark.parametrize("path", ["/", "/jobs"])
def test_more_photos_than_one_diagnosis_takes_is_400_and_queues_nothing(
    analyze, clean_sink, photo: bytes, path: str
) -> None:
    response = analyze.post(path, data=_form([photo] * 6), content_type="multipart/form-data")
    assert response.status_code == 400 and response.content_type == "application/problem+json"
    assert response.get_json()["code"] == "too_many_photos"
    assert clean_sink.received == []


def test_the_total_and_the_per_photo_limits_are_413(load_function, person: list[bytes]) -> None:
    largest = max(len(p) for p in person)
    total = largest * 2  # room for two photos of the three, each under the per-photo limit
    analyze = load_function(
        "analyze", MAX_UPLOAD_BYTES=str(largest + 1000), MAX_UPLOAD_TOTAL_BYTES=str(total)
    )
    for path in ("/", "/jobs"):
        response = analyze.post(path, data=_form(person), content_type="multipart/form-data")
        assert response.status_code == 413, path
        assert response.get_json()["code"] == "payload_too_large"
        assert str(total) in response.get_json()["detail"]  # the total limit said so
    one = analyze.post("/", data=_form(person[:1]), content_type="multipart/form-data")
    assert one.status_code == 200
    # The body of three is over one photo's limit, and well within the default total.
    roomy = load_function("analyze", MAX_UPLOAD_BYTES=str(largest + 1000))
    for path, status in (("/", 200), ("/jobs", 202)):
        response = roomy.post(path, data=_form(person), content_type="multipart/form-data")
        assert response.status_code == status, response.get_data()
    one_photo = load_function("analyze", MAX_UPLOAD_BYTES=str(largest - 1))
    response = one_photo.post("/", data=_form(person), content_type="multipart/form-data")
    assert response.status_code == 413 and "one photo" in response.get_json()["detail"]


def test_the_total_limit_makes_room_for_the_most_photos_by_default() -> None:
    assert Settings().max_upload_total_bytes == MAX_PHOTOS * Settings().max_upload_bytes
    assert Settings.from_env({"MAX_UPLOAD_BYTES": "1000"}).max_upload_total_bytes == 5000
    given = {"MAX_UPLOAD_BYTES": "1000", "MAX_UPLOAD_TOTAL_BYTES": "1500"}
    assert Settings.from_env(given).max_upload_total_bytes == 1500


def test_a_declared_oversize_body_is_refused_before_it_is_read(load_function) -> None:
    analyze = load_function("analyze", MAX_UPLOAD_TOTAL_BYTES="5000")
    reads: list[int] = []

    class Watched(io.BytesIO):
        def read(self, *args: int) -> bytes:
            reads.append(1)
            return super().read(*args)

    response = analyze.post(
        "/",
        input_stream=Watched(b"x" * 6000),
        content_type="multipart/form-data; boundary=b",
        headers={"Content-Length": "6000"},
    )
    assert response.status_code == 413 and reads == []


def test_jobs_of_several_photos_carry_a_claim_check_each_and_complete_together(
    analyze, status, results, clean_sink, person: list[bytes]
) -> None:
    ticket = analyze.post("/jobs", data=_form(person), content_type="multipart/form-data")
    assert ticket.status_code == 202, ticket.get_data()
    job_id = ticket.get_json()["job_id"]
    [requested] = clean_sink.of_type(events.REQUESTED)
    assert requested["dataschema"] == events.SCHEMA_BASE_URL + events.REQUESTED_V2_SCHEMA
    keys = [p["claim_check"]["key"] for p in requested.data["photos"]]
    assert keys == [ClaimCheck.key(job_id, n) for n in range(3)]
    client = redis.Redis.from_url(REDIS_URL)
    assert client.mget(keys) == person
    assert not any("image" in p for p in requested.data["photos"])  # only claim checks

    assert deliver(status, requested).status_code == 202  # status takes version 2
    reply = reply_event(deliver(analyze, requested))
    assert reply["type"] == events.COMPLETED, reply.data
    result = reply.data["result"]
    assert [p["ok"] for p in result["photos"]] == [True] * 3
    assert result["agreement"]["photos"] == 3
    assert client.exists(*keys) == 0  # all gone once the job is done
    again = deliver(analyze, requested)
    assert again.status_code == 202 and again.get_data() == b""

    assert reply_event(deliver(results, reply))["type"] == events.STORED
    stored = results.get(f"/results/{job_id}").get_json()["result"]
    assert stored["photos"] == result["photos"] and stored["agreement"] == result["agreement"]


def test_a_job_refuses_photos_at_the_door_only_when_every_one_fails(
    analyze, clean_sink, photo: bytes
) -> None:
    bad = b"GIF89a" + bytes(100)
    refused = analyze.post("/jobs", data=_form([bad, bad]), content_type="multipart/form-data")
    assert refused.status_code == 415 and refused.get_json()["code"] == "unsupported_media_type"
    assert clean_sink.received == []
    mixed = analyze.post("/jobs", data=_form([photo, bad]), content_type="multipart/form-data")
    assert mixed.status_code == 202
    [requested] = clean_sink.of_type(events.REQUESTED)
    result = reply_event(deliver(analyze, requested)).data["result"]
    assert [p["ok"] for p in result["photos"]] == [True, False]
    assert result["photos"][1]["error"]["code"] == "unsupported_media_type"


def test_several_inline_photos_need_no_redis(load_function, clean_sink, person) -> None:
    analyze = load_function(
        "analyze", REDIS_URL=CLOSED_REDIS_URL, INLINE_IMAGE_MAX_BYTES=str(sum(map(len, person)))
    )
    job = events.new_job_id()
    photos = [events.Photo(image=p, content_type="image/jpeg") for p in person]
    reply = reply_event(deliver(analyze, events.requested_photos(job, photos), structured=True))
    assert reply["type"] == events.COMPLETED and len(reply.data["result"]["photos"]) == 3


def test_the_photos_travel_inline_only_when_together_they_fit(
    load_function, clean_sink, person: list[bytes]
) -> None:
    for limit, inline in ((sum(map(len, person)), True), (sum(map(len, person)) - 1, False)):
        clean_sink.received.clear()
        analyze = load_function("analyze", INLINE_IMAGE_MAX_BYTES=str(limit))
        response = analyze.post("/jobs", data=_form(person), content_type="multipart/form-data")
        assert response.status_code == 202
        [requested] = clean_sink.of_type(events.REQUESTED)
        forms = {"image" in p for p in requested.data["photos"]}
        assert forms == {inline}


def test_an_expired_photo_of_several_fails_the_job(analyze) -> None:
    job_id = events.new_job_id()
    claims = ClaimCheck(redis.Redis.from_url(REDIS_URL))
    photos = [
        events.Photo(claim_key=claims.put(job_id, sample_jpeg(), 0), content_type="image/jpeg"),
        events.Photo(claim_key=ClaimCheck.key(job_id, 1), content_type="image/jpeg"),  # gone
    ]
    reply = reply_event(deliver(analyze, events.requested_photos(job_id, photos)))
    assert reply["type"] == events.FAILED and reply.data["error"]["code"] == "image_expired"


def test_several_photos_with_the_broker_down_leave_nothing(
    private_analyze: PrivateAnalyze, clean_sink, person
) -> None:
    analyze, private, _ = private_analyze
    keys_before = private.dbsize()
    clean_sink.status = 503
    response = analyze.post("/jobs", data=_form(person), content_type="multipart/form-data")
    assert response.status_code == 503 and response.get_json()["code"] == "broker_unavailable"
    assert private.dbsize() == keys_before  # none of the three photos stayed
    clean_sink.status = 202  # the test can fail: the same upload parks three photos
    accepted = analyze.post("/jobs", data=_form(person), content_type="multipart/form-data")
    assert accepted.status_code == 202
    assert private.dbsize() == keys_before + 3


def test_with_the_photos_redis_down_no_job_is_left_queued(load_function, clean_sink, person):
    jobs_url = embedded.start_redis(persistent=True)  # job state on a private server, up
    analyze = load_function("analyze", REDIS_URL=CLOSED_REDIS_URL, JOBS_REDIS_URL=jobs_url)
    private = redis.Redis.from_url(jobs_url)
    keys_before = private.dbsize()
    response = analyze.post("/jobs", data=_form(person), content_type="multipart/form-data")
    assert response.status_code == 503 and response.get_json()["code"] == "store_unavailable"
    assert private.dbsize() == keys_before and clean_sink.received == []


def test_an_older_producers_requested_event_is_still_processed(analyze, photo: bytes) -> None:
    """Version 1 exactly as producers before version 2 wrote it: no dataschema, one photo."""
    job_id = events.new_job_id()
    key = ClaimCheck(redis.Redis.from_url(REDIS_URL)).put(job_id, photo)
    data = {"job_id": job_id, "claim_check": {"store": "redis", "key": key}}
    event = CloudEvent({"type": events.REQUESTED, "source": "/older", "subject": job_id}, data)
    reply = reply_event(deliver(analyze, event))
    assert reply["type"] == events.COMPLETED and "photos" not in reply.data["result"]
