"""status: job state in Redis, fed by lifecycle events and read by polling clients.

    POST /            lifecycle CloudEvents (analysis.*, results.deleted) -> empty 202
    POST /deadletter  events the broker gave up on -> the job is marked failed; empty 202
    GET  /jobs/{id}   -> {job_id, state, created_at, updated_at, result_url?, error?} + ETag

See docs/api.md and docs/openapi/status.yaml. Configuration: colorseason.config.
"""

from __future__ import annotations

from functools import cache

from flask import Request, Response

from colorseason import events, web
from colorseason.config import Settings
from colorseason.errors import DeliveryFailedError, NotFoundError
from colorseason.status.store import JobState, JobStore, connect

settings = Settings.from_env()

STATE_OF = {
    events.REQUESTED: JobState.QUEUED,
    events.STARTED: JobState.PROCESSING,
    events.COMPLETED: JobState.COMPLETED,
    events.FAILED: JobState.FAILED,
    events.DELETED: JobState.DELETED,
}


@cache
def _jobs() -> JobStore:
    return JobStore(connect(settings.redis_url), settings.job_ttl_seconds)


router = web.Router("status", settings, readiness=lambda: _jobs().ping())


@router.route("/", methods=["POST"])
def receive(request: Request) -> Response:
    body = web.read_body(request, settings.max_upload_bytes)
    event = events.from_request(request.headers, body, accept=tuple(STATE_OF))
    data = event.data if isinstance(event.data, dict) else {}
    _jobs().advance(
        events.job_id_of(event),
        STATE_OF[event["type"]],
        result_url=data.get("result_url"),
        error=data.get("error"),
    )
    return web.empty_response(202)


@router.route("/deadletter", methods=["POST"])
def dead_letter(request: Request) -> Response:
    body = web.read_body(request, settings.max_upload_bytes)
    event = events.from_request(
        request.headers, body, accept=events.ANALYSIS_TYPES, check_data=False
    )
    reason = event.get("knativeerrorcode")
    error = DeliveryFailedError(
        f"{event['type']} could not be delivered"
        + (f" (last answer: HTTP {reason})" if reason else "")
    )
    _jobs().advance(events.job_id_of(event), JobState.FAILED, error=error.to_dict())
    return web.empty_response(202)


@router.route("/jobs/<job_id>", methods=["GET"])
def get_job(request: Request, job_id: str) -> Response:
    job = _jobs().get(job_id) if events.is_job_id(job_id) else None
    if job is None:
        raise NotFoundError("no such job (unknown, expired or deleted)")
    headers = {"ETag": job.etag, "Cache-Control": "no-cache"}
    if job.state.running:
        headers["Retry-After"] = "1"
    if request.if_none_match.contains_raw(job.etag):
        return web.empty_response(304, headers)
    return web.json_response(job.to_dict(), 200, headers)


def main(request: Request) -> Response:
    return router(request)
