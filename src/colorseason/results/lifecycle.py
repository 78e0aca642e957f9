"""What each event means for the stored results: the results function's rules, kept out of it.

- ``analysis.completed`` stores the diagnosis (idempotently) and is answered with
  ``results.stored`` once the row exists, so status shows ``completed`` only for a result it can
  serve (docs/design.md#completed-means-stored). A replay is confirmed again; a result the user
  deleted stays deleted (its tombstone refuses the insert) and gets no reply.
- ``results.purge``, and a PingSource tick taken as one, removes the rows past their
  ``expires_at`` (or past the purge's ``before``).
- Deleting a result leaves a tombstone and tells status with ``results.deleted``.
"""

from __future__ import annotations

from datetime import datetime

from colorseason import events
from colorseason.errors import InvalidEventError
from colorseason.results.store import ResultStore

ACCEPTED: tuple[str, ...] = (events.COMPLETED, events.PURGE, events.PING)
"""The event types results takes."""


def record(store: ResultStore, event: events.CloudEvent) -> events.CloudEvent | None:
    """Apply a validated event; returns the reply (``stored``), or None when there is none."""
    if event["type"] != events.COMPLETED:
        store.purge(purge_before(event))
        return None
    job_id = events.job_id_of(event)
    if not store.insert(job_id, event.data["result"]):
        return None
    return events.stored(job_id, event.data.get("result_url"))


def purge_before(event: events.CloudEvent) -> datetime | None:
    """The moment a purge removes results before: its ``before``, or None (their expiry)."""
    before = (event.data or {}).get("before")
    if not before:
        return None
    try:
        return datetime.fromisoformat(before)
    except ValueError:
        raise InvalidEventError(f"purge: before is not an RFC 3339 time: {before[:40]!r}") from None


def delete(store: ResultStore, job_id: str, sink: str | None) -> bool:
    """Delete a result (leaving its tombstone) and tell status, through ``sink`` when there is
    one; False when there was no such result."""
    if not store.delete(job_id):
        return False
    if sink:
        events.send(events.deleted(job_id), sink)
    return True
