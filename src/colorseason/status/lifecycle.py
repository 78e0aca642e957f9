"""What each event means for a job's state: the status function's rules, kept out of the function.

A job shows ``completed`` only once results confirms the stored row (``results.stored``), never on
``analysis.completed`` alone: status and results receive ``completed`` in parallel, and a client
that read ``completed`` first would then get 404 from results (for as long as PostgreSQL is down).
Until the confirmation the job stays ``processing``.

Dead letters (events the broker gave up on) are told apart by what they were:

- a *request* nobody carried out is a failure: ``requested`` → ``delivery_failed``,
  ``completed`` (results never stored it) → ``result_unavailable``;
- a *fact* stays true however late it arrives: ``failed``, ``stored`` and ``deleted`` are applied as
  if delivered normally (a ``stored`` dead letter means the result exists: the job is completed);
- ``started`` is only a progress hint and changes nothing.

Every change goes through :meth:`JobStore.advance`, so a job never moves backwards.
"""

from __future__ import annotations

from colorseason import events
from colorseason.errors import ColorseasonError, DeliveryFailedError, ResultUnavailableError
from colorseason.status.store import Job, JobState, JobStore

STATE_OF: dict[str, JobState] = {
    events.REQUESTED: JobState.QUEUED,
    events.STARTED: JobState.PROCESSING,
    events.COMPLETED: JobState.PROCESSING,  # analysed, not yet stored
    events.FAILED: JobState.FAILED,
    events.STORED: JobState.COMPLETED,
    events.DELETED: JobState.DELETED,
}

ACCEPTED: tuple[str, ...] = tuple(STATE_OF)
"""The event types status takes, on ``POST /`` and as dead letters."""


def record(jobs: JobStore, event: events.CloudEvent) -> Job:
    """Apply a validated lifecycle event; returns the job as stored afterwards."""
    data = event.data if isinstance(event.data, dict) else {}
    _, job = jobs.advance(
        events.job_id_of(event),
        STATE_OF[event["type"]],
        result_url=data.get("result_url"),
        error=data.get("error"),
    )
    return job


def record_dead_letter(jobs: JobStore, event: events.CloudEvent) -> None:
    """Apply an event the broker could not deliver (type and subject validated, data not yet)."""
    kind = event["type"]
    reason = event.get("knativeerrorcode")
    last_answer = f" (last answer: HTTP {reason})" if reason else ""
    error: ColorseasonError
    if kind == events.REQUESTED:
        error = DeliveryFailedError(f"{kind} could not be delivered{last_answer}")
    elif kind == events.COMPLETED:
        error = ResultUnavailableError(f"results could not store the diagnosis{last_answer}")
    elif kind == events.STARTED:
        return
    else:
        record(jobs, events.validate(event))
        return
    jobs.advance(events.job_id_of(event), JobState.FAILED, error=error.to_dict())
