"""results: diagnoses in PostgreSQL, written from `completed` events, read and deleted by clients.

    POST /               a `completed` CloudEvent -> 200 + binary-mode `results.stored` once the
                         row exists (empty 202 if the user deleted it); `purge` (and PingSource
                         ticks, taken as a purge) -> empty 202
    GET  /results/{id}   -> {job_id, created_at, expires_at, result}
    DELETE /results/{id} -> 204; status forgets the job too (a `results.deleted` event to K_SINK)

See docs/api.md and docs/openapi/results.yaml. Configuration: colorseason.config.
"""

from __future__ import annotations

from functools import cache

import functions_framework
from flask import Request, Response

from colorseason import events, logs, results, web
from colorseason.config import Settings
from colorseason.errors import NotFoundError
from colorseason.results import lifecycle

settings = Settings.from_env()
logs.configure(settings.log_level)
database_url = settings.store_url("DATABASE_URL")  # at import: no start without it


@cache
def _results() -> results.ResultStore:
    return results.ResultStore(
        database_url,
        schema=settings.database_schema,
        retention_days=settings.result_retention_days,
    )


router = web.Router("results", settings, readiness=lambda: _results().ping())


@router.route("/", methods=["POST"])
def receive(request: Request) -> Response:
    body = web.read_body(request, settings.max_upload_bytes)
    event = events.from_request(request.headers, body, accept=lifecycle.ACCEPTED)
    reply = lifecycle.record(_results(), event)
    return web.empty_response(202) if reply is None else web.event_response(reply)


@router.route("/results/<job_id>", methods=["GET"])
def get_result(request: Request, job_id: str) -> Response:
    job_id = events.parse_job_id(job_id)
    row = _results().get(job_id) if job_id else None
    if row is None:
        raise NotFoundError("no such result (unknown, not ready yet, expired or deleted)")
    return web.json_response(row, 200, {"Cache-Control": "private, no-store"})


@router.route("/results/<job_id>", methods=["DELETE"])
def delete_result(request: Request, job_id: str) -> Response:
    job_id = events.parse_job_id(job_id)
    if not (job_id and lifecycle.delete(_results(), job_id, settings.k_sink)):
        raise NotFoundError("no such result")
    return web.empty_response(204)


@functions_framework.http
def main(request: Request) -> Response:
    return router(request)
