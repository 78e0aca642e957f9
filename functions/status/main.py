"""status: job state in a persistent Redis, fed by lifecycle events and read by polling clients.

    POST /            lifecycle CloudEvents (analysis.*, results.stored, results.deleted) -> 202
    POST /deadletter  events the broker gave up on -> failed for an undelivered request, else
                      the event's own meaning (colorseason.status.lifecycle); empty 202
    GET  /jobs/{id}   -> {job_id, state, created_at, updated_at, result_url?, error?} + ETag;
                      with If-None-Match and `Prefer: wait=N` (or ?wait=N) held until the job
                      changes (200) or N s pass (304), N at most 25; a process already holding
                      LONG_POLL_MAX_HELD answers at once, without Preference-Applied

See docs/api.md and docs/openapi/status.yaml. Configuration: colorseason.config.
"""

from __future__ import annotations

from functools import cache

import functions_framework
from flask import Request, Response

from colorseason import events, logs, web
from colorseason.config import Settings
from colorseason.errors import NotFoundError
from colorseason.status import lifecycle
from colorseason.status.store import WAIT_MAX_SECONDS, JobStore

settings = Settings.from_env()
logs.configure(settings.log_level)
jobs_redis_url = settings.store_url("JOBS_REDIS_URL")  # at import: no start without it


@cache
def _jobs() -> JobStore:
    return JobStore.configured(jobs_redis_url, settings, recent_reads=True)


router = web.Router("status", settings, readiness=lambda: _jobs().ping())


@router.route("/", methods=["POST"])
def receive(request: Request) -> Response:
    # A requested event may carry several photos inline (memory-only brokers).
    body = web.read_body(request, settings.max_upload_total_bytes)
    lifecycle.record(_jobs(), events.from_request(request.headers, body, lifecycle.ACCEPTED))
    return web.empty_response(202)


@router.route("/deadletter", methods=["POST"])
def dead_letter(request: Request) -> Response:
    body = web.read_body(request, settings.max_upload_total_bytes)
    event = events.from_request(request.headers, body, lifecycle.ACCEPTED, check_data=False)
    lifecycle.record_dead_letter(_jobs(), event)
    return web.empty_response(202)


@router.route("/jobs/<job_id>", methods=["GET"])
def get_job(request: Request, job_id: str) -> Response:
    wait = web.wait_preference(request, WAIT_MAX_SECONDS)
    job_id = events.parse_job_id(job_id)
    job = _jobs().get(job_id) if job_id else None
    applied = wait is not None  # also when the client is behind: no need to hold then
    known = request.if_none_match  # `*` names no state to wait for a change from
    if job is not None and wait and not known.star_tag and known.contains_raw(job.etag):
        applied, job = _jobs().wait(job.job_id, job.etag, wait)
    if job is None:
        raise NotFoundError("no such job (unknown, expired or deleted)")
    headers = {"ETag": job.etag, "Cache-Control": "no-cache"}
    if applied:
        headers["Preference-Applied"] = f"wait={wait}"
    if job.state.running:
        headers["Retry-After"] = "1"
    if request.if_none_match.contains_raw(job.etag):
        return web.empty_response(304, headers)
    return web.json_response(job.to_dict(), 200, headers)


@functions_framework.http
def main(request: Request) -> Response:
    return router(request)
