"""analyze: the AI pool. Diagnoses uploads directly, queues jobs, and processes `requested` events.

    POST /       an image (or multipart field `image`, up to five times: photos of one person
                 diagnosed together) -> 200 result JSON, or the HTML report for
                 `Accept: text/html`; a `requested` CloudEvent -> a binary-mode reply event
    POST /jobs   the same uploads -> 202 {job_id, status_url, result_url} + Location
    ?face=N      on both: analyse face N of a group photo (left to right from 0), in every photo

See docs/api.md and docs/openapi/analyze.yaml. Configuration: colorseason.config.
"""

from __future__ import annotations

from functools import cache

import functions_framework
from flask import Request, Response

from colorseason import events, jobs, logs, web
from colorseason.analysis.person import MAX_PHOTOS
from colorseason.config import Settings
from colorseason.status import ClaimCheck, JobStore

settings = Settings.from_env()
logs.configure(settings.log_level)
photos_redis_url = settings.store_url("REDIS_URL")  # at import: no start without them
jobs_redis_url = settings.store_url("JOBS_REDIS_URL")


@cache
def _jobs() -> JobStore:
    return JobStore.configured(jobs_redis_url, settings)


@cache
def _claims() -> ClaimCheck:
    return ClaimCheck.configured(photos_redis_url, settings)


def _ready() -> None:
    """Ready once the model and graph are loaded in this worker (not before a fork)."""
    from colorseason import analysis

    analysis.warm_up()


router = web.Router("analyze", settings, readiness=_ready)


@router.route("/", methods=["POST"])
def analyze_or_process(request: Request) -> Response:
    # Both refused (400) when invalid, even where they do not apply: an event names its own face.
    lang, face = web.language(request), web.face_number(request)
    if events.is_cloudevent(request.headers):
        # A requested event may carry several photos inline.
        body = web.read_body(request, settings.max_upload_total_bytes)
        event = events.from_request(request.headers, body, accept=(events.REQUESTED,))
        reply = jobs.process(event, claims=_claims(), jobs=_jobs(), settings=settings)
        return web.empty_response(202) if reply is None else web.event_response(reply)
    html = web.wants_html(request)
    photos = [image for image, _ in _uploads(request)]
    result = jobs.diagnose(photos, [face] * len(photos), max_bytes=settings.max_upload_bytes)
    if html:
        from colorseason import report

        return Response(report.render_html([("photo", result)], lang=lang), mimetype="text/html")
    return web.json_response(result)


@router.route("/jobs", methods=["POST"])
def submit_job(request: Request) -> Response:
    face = web.face_number(request)
    ticket = jobs.submit(
        _uploads(request),
        settings=settings,
        jobs=_jobs(),
        claims=_claims(),
        status_base=settings.status_public_url or request.host_url,
        results_base=settings.results_public_url or request.host_url,
        face=face,
    )
    return web.json_response(ticket.to_dict(), 202, {"Location": ticket.status_url})


def _uploads(request: Request) -> list[web.Upload]:
    return web.read_images(
        request, settings.max_upload_bytes, settings.max_upload_total_bytes, MAX_PHOTOS
    )


@functions_framework.http
def main(request: Request) -> Response:
    return router(request)
