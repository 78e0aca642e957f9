"""Asynchronous jobs: accepting a photo (``POST /jobs``) and processing a ``requested`` event.

This is analyze's side of the flow in docs/design.md#jobs-claim-checks-and-leases, kept out of
the function so tests reach it:

- :func:`submit` refuses what the sync path would refuse without decoding (size, magic bytes,
  header dimensions: ``decode.validate``, same codes), parks the photo (claim check in the
  memory-only Redis, or inline in the event when allowed), writes the job as ``queued`` straight
  into the job store that status reads — analyze and status share it — so a poll right after the
  202 never gets 404, then sends ``requested`` to ``K_SINK``. status also treats a ``requested``
  event as ``queued``; both writes are idempotent.
- :func:`process` leases the job's photo (:mod:`colorseason.status.claims`), announces
  ``started``, runs the pipeline and returns the ``completed`` or ``failed`` event to reply with.
  A redelivered ``requested`` waits for the attempt that holds the lease and then answers with
  nothing (empty 2xx), or takes over when that attempt died; it never fails the job. A photo the
  pipeline refuses is a ``failed`` event, not an HTTP error: retrying cannot help. Only our
  outages (Redis) raise.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass

from cloudevents.http import CloudEvent

from colorseason import events
from colorseason.analysis import decode
from colorseason.config import Settings
from colorseason.errors import (
    BrokerUnavailableError,
    ColorseasonError,
    CorruptImageError,
    ImageExpiredError,
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


def submit(
    image: bytes,
    content_type: str | None,
    *,
    settings: Settings,
    jobs: JobStore,
    claims: ClaimCheck,
    status_base: str,
    results_base: str,
    face: int | None = None,
) -> Ticket:
    """Accept a photo for asynchronous analysis (see the module docstring); ``face`` travels in
    the ``requested`` event (a number the photo does not have fails the job: only the pipeline
    counts faces).

    Raises the sync path's 4xx errors for a photo it would refuse before decoding, and
    :class:`StoreUnavailableError` or :class:`BrokerUnavailableError` (503) when the job cannot be
    announced; nothing is left behind then (neither photo nor job).
    """
    decode.validate(image)
    job_id = events.new_job_id()
    ticket = Ticket(job_id, status_url(status_base, job_id), result_url(results_base, job_id))
    jobs.advance(job_id, JobState.QUEUED, result_url=ticket.result_url)
    claim_key = None
    if content_type and len(image) <= settings.inline_image_max_bytes:
        event = events.requested(job_id, image=image, content_type=content_type, face=face)
    else:
        claim_key = claims.put(job_id, image)
        event = events.requested(job_id, claim_key=claim_key, content_type=content_type, face=face)
    try:
        events.send(event, settings.k_sink)
    except BrokerUnavailableError:
        if claim_key:
            claims.discard(claim_key)
        jobs.discard(job_id)
        raise
    log.info("job queued", extra={"job_id": job_id, "inline": claim_key is None})
    return ticket


def _inline_photo(event: CloudEvent) -> bytes:
    if events.is_inline_image(event):
        return bytes(event.data)
    try:
        return base64.b64decode(event.data["image"], validate=True)
    except (binascii.Error, ValueError):
        raise CorruptImageError("the inline image is not valid base64") from None


def process(
    event: CloudEvent, *, claims: ClaimCheck, jobs: JobStore, settings: Settings
) -> CloudEvent | None:
    """Run a validated ``requested`` event; returns the reply event, or None for a redelivery.

    An inline photo travels with every delivery, so a duplicate simply runs again (consumers are
    idempotent). A claim-checked photo is leased (see :mod:`colorseason.status.claims`): None when
    another attempt finished or is finishing the job. Photos whose claim check expired before any
    attempt ran give a ``failed`` event (``image_expired``), unless the job completed anyway.
    """
    job_id = events.job_id_of(event)
    if events.is_inline_image(event) or "image" in event.data:
        try:
            photo = _inline_photo(event)
        except CorruptImageError as error:
            return events.failed(job_id, error.code, error.message)
        return _analyse(job_id, photo, events.face_of(event), settings)
    keys = [event.data["claim_check"]["key"]]
    lease = claims.lease(job_id)
    if lease is None:
        log.info("redelivered requested event: another attempt answers", extra={"job_id": job_id})
        return None
    try:
        (photo,) = claims.read(keys)
    except ImageExpiredError as error:
        claims.release(lease)
        job = jobs.get(job_id)
        if job is not None and job.state is JobState.COMPLETED:
            return None
        return events.failed(job_id, error.code, error.message)
    with claims.holding(lease):
        reply = _analyse(job_id, photo, events.face_of(event), settings)
    claims.finish(lease, keys)
    return reply


def _analyse(job_id: str, photo: bytes, face: int | None, settings: Settings) -> CloudEvent:
    """Announce ``started``, run the pipeline on face number ``face`` (None: the largest), and
    build the outcome event."""
    from colorseason import analysis  # the pipeline is heavy; only analyze's event path needs it

    try:
        events.send(events.started(job_id), settings.k_sink)
    except BrokerUnavailableError:
        # Only a progress hint: the reply still carries the outcome, so carry on.
        log.warning("started event not sent", extra={"job_id": job_id})
    try:
        result = analysis.analyze(photo, face=face)
    except ColorseasonError as error:
        log.info("job failed", extra={"job_id": job_id, "code": error.code})
        return events.failed(job_id, error.code, error.message)
    except Exception:
        log.exception("pipeline crashed", extra={"job_id": job_id})
        return events.failed(job_id, ColorseasonError.code, "the analysis failed unexpectedly")
    url = result_url(settings.results_public_url, job_id) if settings.results_public_url else None
    log.info("job completed", extra={"job_id": job_id})
    return events.completed(job_id, result, url)
