"""schemathesis hooks for tests/test_openapi.py: the one contract rule OpenAPI cannot state.

A colorseason CloudEvent's ``subject`` is its job id and equals ``data.job_id`` (events.py); JSON
Schema has no way to say that two values are equal, so schema-valid events are made to keep it.
Cases generated to be invalid are left as they are.
"""

from __future__ import annotations

import schemathesis
from schemathesis import GenerationMode


@schemathesis.hook
def map_case(context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
    body = case.body
    if case.meta is None or case.meta.generation.mode != GenerationMode.POSITIVE:
        return case
    if isinstance(body, dict) and isinstance(body.get("data"), dict) and "subject" in body:
        job_id = body["data"].get("job_id")
        if isinstance(job_id, str):
            body["subject"] = job_id
    return case
