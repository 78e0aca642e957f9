"""Asynchronous jobs: accepting a photo (``POST /jobs``) and processing a ``requested`` event.

This is analyze's side of the flow in docs/design.md#jobs-claim-checks-and-leases, kept out of
the function so tests reach it:

- :func:`submit` refuses what the sync path would refuse without decoding (size, magic bytes,
  header dimensions: ``decode.validate``, same codes; of several photos, only when every one
  fails, as the sync path reports the others' failures in the result), parks the photos (claim
  checks in the memory-only Redis, or inline in the event when allowed), writes the job as
  ``queued`` straight into the job store that status reads — analyze and status share it — so a
  poll right after the 202 never gets 404, then sends ``requested`` to ``K_SINK``. status also
  treats a ``requested`` event as ``queued``; both writes are idempotent.
- :func:`process` leases the job's photos (:mod:`colorseason.status.claims`), announces
  ``started``, runs :func:`diagnose` and returns the ``completed`` or ``failed`` event to reply
  with.
  A redelivered ``requested`` waits for the attempt that holds the lease and then answers with
  nothing (empty 2xx), or takes over when that attempt died; it never fails the job. A photo the
  pipeline refuses is a ``failed`` event, not an HTTP error: retrying cannot help. Only our
  outages (Redis) raise.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from colorseason import events
from colorseason.analysis import decode
from colorseason.config import Settings
from colorseason.errors import (
    BrokerUnavailableError,
    ColorseasonError,
    CorruptImageError,
    ImageExpiredError,
    StoreUnavailableError,
)
from colorseason.status.claims import ClaimCheck
from colorseason.status.store import JobState, JobStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ticket:
    """What ``POST /jobs`` answers: where to poll and where the result will be."""

    job_id: str
    status_url: str
    result_url: str

    def to_dict(self) -> dict[str, str]:
        return {"job_id": self.job_id, "status_url": self.status_url, "result_url": self.result_url}


def status_url(base: str, job_id: str) -> str:
    return f"{base.rstrip('/')}/jobs/{job_id}"


def result_url(base: str, job_id: str) -> str:
    return f"{base.rstrip('/')}/results/{job_id}"


def diagnose(
    photos: Sequence[bytes], faces: Sequence[int | None], *, max_bytes: int
) -> dict[str, Any]:
    """The diagnosis of analyze's sync and event paths alike: one photo alone, exactly as
    ``analysis.analyze`` gives it, or several of one person together (``analyze_person``);
    ``faces`` has a face number (None: the largest) per photo, and a photo may have ``max_bytes``
    (``MAX_UPLOAD_BYTES``: the decoder takes what the HTTP edge took)."""
    from colorseason import analysis  # heavy: loaded only where photos are diagnosed

    if len(photos) == 1:
        return analysis.analyze(photos[0], face=faces[0], max_bytes=max_bytes)
    return analysis.analyze_person(photos, faces=faces, max_bytes=max_bytes)


def submit(
    uploads: Sequence[tuple[bytes, str | None]],
    *,
    settings: Settings,
    jobs: JobStore,
    claims: ClaimCheck,
    status_base: str,
    results_base: str,
    face: int | None = None,
) -> Ticket:
    """Accept photos of one person, ``(bytes, declared type)`` each, for asynchronous analysis
    (see the module docstring); ``face`` travels in the ``requested`` event for every photo (a
    number a photo does not have fails it: only the pipeline counts faces).

    Raises the sync path's 4xx errors for photos it would refuse before decoding, and
    :class:`StoreUnavailableError` or :class:`BrokerUnavailableError` (503) when the job cannot be
    announced; nothing is left behind then (neither photos nor job).
    """
    _validate([image for image, _ in uploads], settings.max_upload_bytes)
    job_id = events.new_job_id()
    ticket = Ticket(job_id, status_url(status_base, job_id), result_url(results_base, job_id))
    jobs.advance(job_id, JobState.QUEUED, result_url=ticket.result_url)
    # A job's photos travel together: all inline (when they fit together), or all claim-checked.
    inline = all(kind for _, kind in uploads) and (
        sum(len(image) for image, _ in uploads) <= settings.inline_image_max_bytes
    )
    several = len(uploads) > 1
    claim_keys: list[str] = []
    try:
        photos = []
        for number, (image, kind) in enumerate(uploads):
            if inline:
                photos.append(events.Photo(image=image, content_type=kind, face=face))
                continue
            claim_keys.append(claims.put(job_id, image, number if several else None))
            photos.append(events.Photo(claim_key=claim_keys[-1], content_type=kind, face=face))
        events.send(events.requested_photos(job_id, photos), settings.k_sink)
    except (BrokerUnavailableError, StoreUnavailableError):
        with suppress(StoreUnavailableError):  # the photos' Redis may be what is down
            claims.discard(claim_keys)
        jobs.discard(job_id)
        raise
    log.info("job queued", extra={"job_id": job_id, "photos": len(photos), "inline": inline})
    return ticket


def _validate(photos: Sequence[bytes], max_bytes: int) -> None:
    """``decode.validate`` for each photo; raises the first photo's error when none passes (of
    several, the pipeline reports those that fail beside the others' diagnosis)."""
    errors = []
    for image in photos:
        try:
            decode.validate(image, max_bytes=max_bytes)
        except ColorseasonError as error:
            errors.append(error)
    if len(errors) == len(photos):
        raise errors[0]


def process(
    event: events.CloudEvent, *, claims: ClaimCheck, jobs: JobStore, settings: Settings
) -> events.CloudEvent | None:
    """Run a validated ``requested`` event (either version); returns the reply event, or None for
    a redelivery.

    Inline photos travel with every delivery, so a duplicate simply runs again (consumers are
    idempotent). Claim-checked photos are leased (see :mod:`colorseason.status.claims`): None when
    another attempt finished or is finishing the job. Photos whose claim check expired before any
    attempt ran give a ``failed`` event (``image_expired``), unless the job completed anyway.
    """
    job_id = events.job_id_of(event)
    try:
        photos = events.photos_of(event)
    except CorruptImageError as error:
        return events.failed(job_id, error.code, error.message)
    faces = [photo.face for photo in photos]

    def images(parked: Sequence[bytes] = ()) -> list[bytes]:
        """Every photo's bytes: inline ones as they came, claim-checked ones from ``parked``."""
        claimed = iter(parked)
        return [next(claimed) if photo.image is None else photo.image for photo in photos]

    keys = [photo.claim_key for photo in photos if photo.claim_key is not None]
    if not keys:
        return _analyse(job_id, images(), faces, settings)
    lease = claims.lease(job_id)
    if lease is None:
        log.info("redelivered requested event: another attempt answers", extra={"job_id": job_id})
        return None
    try:
        parked = claims.read(keys)
    except ImageExpiredError as error:
        claims.release(lease)
        job = jobs.get(job_id)
        if job is not None and job.state is JobState.COMPLETED:
            return None
        return events.failed(job_id, error.code, error.message)
    with claims.holding(lease):
        reply = _analyse(job_id, images(parked), faces, settings)
    claims.finish(lease, keys)
    return reply


def _announce_started(job_id: str, sink: str | None) -> None:
    try:
        events.send(events.started(job_id), sink)
    except BrokerUnavailableError:
        # Only a progress hint: the reply still carries the outcome, so carry on.
        log.warning("started event not sent", extra={"job_id": job_id})


def _analyse(
    job_id: str, photos: list[bytes], faces: list[int | None], settings: Settings
) -> events.CloudEvent:
    """Announce ``started``, diagnose the photos (:func:`diagnose`), and build the outcome
    event.

    ``started`` goes out on a thread of its own while the photos are diagnosed: it is only a
    progress hint (the job states move one way, so arriving after the outcome changes nothing),
    and waiting for the broker to take it kept every job a broker round trip longer. It is
    joined before the outcome is returned, so nothing outlives the request (a pod's CPU is
    throttled between requests); by then it has long been sent.
    """
    announcing = threading.Thread(
        target=_announce_started, args=(job_id, settings.k_sink), name="started", daemon=True
    )
    announcing.start()
    try:
        result = diagnose(photos, faces, max_bytes=settings.max_upload_bytes)
    except ColorseasonError as error:
        log.info("job failed", extra={"job_id": job_id, "code": error.code})
        return events.failed(job_id, error.code, error.message)
    except Exception:
        log.exception("pipeline crashed", extra={"job_id": job_id})
        return events.failed(job_id, ColorseasonError.code, "the analysis failed unexpectedly")
    finally:
        announcing.join(events.SINK_TIMEOUT_SECONDS)
    url = result_url(settings.results_public_url, job_id) if settings.results_public_url else None
    log.info("job completed", extra={"job_id": job_id, "photos": len(photos)})
    return events.completed(job_id, result, url)
