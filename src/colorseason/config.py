"""Configuration: environment variables only, read once into one frozen :class:`Settings`.

=========================== ========================== =============================================
variable                    default                    used by / meaning
=========================== ========================== =============================================
``REDIS_URL``               required by analyze        analyze: claim-checked photos, their leases
                                                       (a Redis without persistence: no RDB, no AOF)
``JOBS_REDIS_URL``          ``REDIS_URL``; one of them analyze, status: job state (a Redis with
                            required by analyze and    append-only persistence, so a restart keeps
                            status                     every job; falling back to ``REDIS_URL``
                                                       shares that server's fate)
``DATABASE_URL``            required by results        results: the diagnosis rows
``DATABASE_SCHEMA``         ``colorseason``            results: PostgreSQL schema of its tables
``K_SINK``                  unset: no events sent      analyze, results: where events are POSTed
                                                       (a Knative SinkBinding sets it)
``STATUS_PUBLIC_URL``       the request's host URL     analyze: base of ``status_url``
``RESULTS_PUBLIC_URL``      the request's host URL     analyze: base of ``result_url``
``MAX_UPLOAD_BYTES``        ``15728640`` (15 MiB)      all: largest accepted request body;
                                                       analyze: largest photo (one image body,
                                                       or one ``image`` part of a multipart body)
``MAX_UPLOAD_TOTAL_BYTES``  5 × ``MAX_UPLOAD_BYTES``   analyze, status: largest body that may carry
                                                       several photos (a multipart upload, a
                                                       ``requested`` event)
``CLAIM_CHECK_TTL_SECONDS`` ``600``                    analyze: life of an uploaded image in Redis
``CLAIM_LEASE_SECONDS``     ``10``                     analyze: an attempt's hold on a photo,
                                                       renewed while it runs; a redelivery takes
                                                       over after this long without renewal
``JOB_TTL_SECONDS``         ``86400``                  analyze, status: life of a job's state
``LONG_POLL_MAX_HELD``      ``16``                     status: long-polls one worker holds at once
                                                       (each keeps a thread: half of its 32); past
                                                       that a long-poll is answered at once, without
                                                       ``Preference-Applied``, and the client polls
``RESULT_RETENTION_DAYS``   ``30``                     results: ``expires_at`` of a stored result
``INLINE_IMAGE_MAX_BYTES``  ``0`` (always claim check) analyze: images up to this size travel
                                                       inside the event (memory-only brokers only)
``CORS_ALLOW_ORIGINS``      empty (no CORS)            all: comma list of origins, or ``*``
``LOG_LEVEL``               ``INFO``                   all: ``DEBUG``, ``INFO``, ``WARNING``, ...
=========================== ========================== =============================================

Every function calls :meth:`Settings.from_env` once at import, and :meth:`Settings.store_url` for
each store it needs: without that URL it stops at start, with one line that names the variable.
Only ``colorseason up`` starts servers of its own (``colorseason.local``) and passes their URLs on.
Tests build their own ``Settings`` (or set the variables before the function is loaded) instead of
patching globals.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from colorseason.analysis.formats import MAX_IMAGE_BYTES

# The total limit's default makes room for analysis.person.MAX_PHOTOS photos of the largest size.
_PHOTOS_PER_BODY = 5


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return value


def _optional(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name, "").strip() or None


StoreVariable = Literal["REDIS_URL", "JOBS_REDIS_URL", "DATABASE_URL"]


@dataclass(frozen=True)
class Settings:
    """The whole configuration of one function process (see the module docstring for the table)."""

    redis_url: str | None = None
    jobs_redis_url: str | None = None
    database_url: str | None = None
    database_schema: str = "colorseason"
    k_sink: str | None = None
    status_public_url: str | None = None
    results_public_url: str | None = None
    max_upload_bytes: int = MAX_IMAGE_BYTES
    max_upload_total_bytes: int = _PHOTOS_PER_BODY * max_upload_bytes
    claim_check_ttl_seconds: int = 600
    claim_lease_seconds: int = 10
    job_ttl_seconds: int = 86400
    long_poll_max_held: int = 16
    result_retention_days: int = 30
    inline_image_max_bytes: int = 0
    cors_allow_origins: tuple[str, ...] = ()
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the variables from ``env`` (default ``os.environ``); bad values fail at start."""
        env = os.environ if env is None else env
        origins = tuple(
            o.strip() for o in env.get("CORS_ALLOW_ORIGINS", "").split(",") if o.strip()
        )
        max_upload_bytes = _int(env, "MAX_UPLOAD_BYTES", cls.max_upload_bytes)
        return cls(
            redis_url=_optional(env, "REDIS_URL"),
            jobs_redis_url=_optional(env, "JOBS_REDIS_URL") or _optional(env, "REDIS_URL"),
            database_url=_optional(env, "DATABASE_URL"),
            database_schema=_optional(env, "DATABASE_SCHEMA") or cls.database_schema,
            k_sink=_optional(env, "K_SINK"),
            status_public_url=_optional(env, "STATUS_PUBLIC_URL"),
            results_public_url=_optional(env, "RESULTS_PUBLIC_URL"),
            max_upload_bytes=max_upload_bytes,
            max_upload_total_bytes=_int(
                env, "MAX_UPLOAD_TOTAL_BYTES", _PHOTOS_PER_BODY * max_upload_bytes
            ),
            claim_check_ttl_seconds=_int(
                env, "CLAIM_CHECK_TTL_SECONDS", cls.claim_check_ttl_seconds
            ),
            claim_lease_seconds=max(1, _int(env, "CLAIM_LEASE_SECONDS", cls.claim_lease_seconds)),
            job_ttl_seconds=_int(env, "JOB_TTL_SECONDS", cls.job_ttl_seconds),
            long_poll_max_held=_int(env, "LONG_POLL_MAX_HELD", cls.long_poll_max_held),
            result_retention_days=_int(env, "RESULT_RETENTION_DAYS", cls.result_retention_days),
            inline_image_max_bytes=_int(env, "INLINE_IMAGE_MAX_BYTES", cls.inline_image_max_bytes),
            cors_allow_origins=origins,
            log_level=(_optional(env, "LOG_LEVEL") or cls.log_level).upper(),
        )

    def store_url(self, variable: StoreVariable) -> str:
        """The URL of a store the function cannot work without, or a ValueError saying so.

        Called at import: the process then stops at start with that line (the server prints
        it as the worker fails to boot) instead of failing its first request.
        """
        url, needed = {
            "REDIS_URL": (self.redis_url, "REDIS_URL must be set to the Redis for uploaded photos"),
            "JOBS_REDIS_URL": (
                self.jobs_redis_url,
                "JOBS_REDIS_URL (or REDIS_URL) must be set to the Redis for job state",
            ),
            "DATABASE_URL": (
                self.database_url,
                "DATABASE_URL must be set to the PostgreSQL for results",
            ),
        }[variable]
        if url is None:
            raise ValueError(f"{needed} (`colorseason up` starts one on this machine)")
        return url
