"""PostgreSQL: one row per job holding its diagnosis, until it expires or the user deletes it.

Through psycopg 3 and a psycopg_pool connection pool. The schema is created by versioned
migrations (:data:`MIGRATIONS`, recorded in ``schema_migrations``) applied on first use under an
advisory lock, so replicas that start together do not race and a function whose database is down at
start still starts (readiness fails instead, and the first request after recovery migrates).

Inserts are idempotent: ``completed`` arrives at least once, and a replay must change nothing, but
it still learns whether the row exists, so results can confirm it (``results.stored``) however
often it is asked. A deleted result leaves a tombstone (``result`` NULL, ``deleted_at`` set) until
it expires, so a replayed ``completed`` cannot bring back what the user deleted.

When PostgreSQL is down a request waits at most :data:`POOL_TIMEOUT_SECONDS` for a connection and
then answers 503: the broker's retries (hours, per eventing/triggers.yaml) bridge the outage, and a
fast answer keeps its delivery threads free for other work meanwhile. Only the diagnosis is stored:
never the photo, landmarks or a face crop (the ``completed`` schema refuses them).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import psycopg
import psycopg_pool
from psycopg import sql
from psycopg.types.json import Jsonb

from colorseason.errors import InvalidEventError, StoreUnavailableError

POOL_TIMEOUT_SECONDS = 1.0
"""How long a request waits for a connection before answering 503 (the broker then retries).

A healthy pool hands one out at once (each worker has as many connections as threads), so only an
outage ever waits this long."""

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
        CREATE TABLE results (
            job_id        text PRIMARY KEY,
            season        text,
            model_version text,
            result        jsonb,
            created_at    timestamptz NOT NULL DEFAULT now(),
            expires_at    timestamptz NOT NULL,
            deleted_at    timestamptz
        );
        CREATE INDEX results_expires_at ON results (expires_at);
        """,
    ),
)
"""(version, SQL) in order. Append; never edit a released migration."""

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_MIGRATION_LOCK = 0x636F6C6F72  # "color": one advisory lock id for every replica


class ResultStore:
    """The results table behind the results function."""

    def __init__(
        self,
        conninfo: str,
        *,
        schema: str = "colorseason",
        retention_days: int = 30,
        max_connections: int = 4,
        timeout: float = POOL_TIMEOUT_SECONDS,
    ) -> None:
        if not _SCHEMA_NAME.match(schema):
            raise ValueError(f"invalid schema name {schema!r}")
        self.schema = schema
        self._retention_days = retention_days
        self._migrated = False
        self._pool = psycopg_pool.ConnectionPool(
            conninfo,
            min_size=1,
            max_size=max_connections,
            timeout=timeout,
            kwargs={"autocommit": True, "connect_timeout": max(1, int(timeout))},
            open=False,
            name="colorseason-results",
        )
        self._pool.open(wait=False)

    def close(self) -> None:
        self._pool.close()

    def _run(
        self, query: sql.SQL | sql.Composed, params: tuple[Any, ...] = ()
    ) -> list[tuple[Any, ...]]:
        """Run one statement (migrating first if needed); outages become 503."""
        try:
            with self._pool.connection() as conn:
                if not self._migrated:
                    self._migrate(conn)
                cursor = conn.execute(query, params)
                return cursor.fetchall() if cursor.description else [(cursor.rowcount,)]
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as exc:
            raise StoreUnavailableError(
                f"PostgreSQL is unavailable: {type(exc).__name__}"
            ) from None
        except psycopg.DataError as exc:  # e.g. a NUL character in the JSON: can never succeed
            raise InvalidEventError(f"PostgreSQL refused the data: {type(exc).__name__}") from None

    def _migrate(self, conn: psycopg.Connection) -> None:
        schema = sql.Identifier(self.schema)
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
            conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(schema))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for version, statement in MIGRATIONS:
                if version not in applied:
                    conn.execute(statement)
                    conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
        self._migrated = True

    def _table(self) -> sql.Composed:
        return sql.SQL("{}.results").format(sql.Identifier(self.schema))

    def ping(self) -> None:
        """Raise :class:`StoreUnavailableError` unless the database answers and is migrated."""
        self._run(sql.SQL("SELECT 1"))

    def applied_migrations(self) -> list[int]:
        query = sql.SQL("SELECT version FROM {}.schema_migrations ORDER BY version")
        return [row[0] for row in self._run(query.format(sql.Identifier(self.schema)))]

    def insert(self, job_id: str, result: dict[str, Any]) -> bool:
        """Store a diagnosis once; returns whether the job's result is stored now.

        True for a new row and for one an earlier delivery stored (a replay changes nothing);
        False when the user deleted it (a tombstone) or it expired.
        """
        # DO UPDATE (a no-op) rather than DO NOTHING: it waits for a concurrent insert of the same
        # job and returns that row, so a replay racing the first delivery still sees it.
        query = sql.SQL(
            "INSERT INTO {table} AS r (job_id, season, model_version, result, expires_at)"
            " VALUES (%s, %s, %s, %s, now() + make_interval(days => %s))"
            " ON CONFLICT (job_id) DO UPDATE SET job_id = r.job_id"
            " RETURNING r.deleted_at IS NULL AND r.expires_at > now()"
        ).format(table=self._table())
        season = (result.get("season") or {}).get("id")
        version = (result.get("model") or {}).get("version")
        params = (job_id, season, version, Jsonb(result), self._retention_days)
        return bool(self._run(query, params)[0][0])

    def get(self, job_id: str) -> dict[str, Any] | None:
        """The row as ``{job_id, created_at, expires_at, result}``; None if absent or deleted."""
        query = sql.SQL(
            "SELECT result, created_at, expires_at FROM {}"
            " WHERE job_id = %s AND deleted_at IS NULL AND expires_at > now()"
        ).format(self._table())
        rows = self._run(query, (job_id,))
        if not rows:
            return None
        result, created_at, expires_at = rows[0]
        return {
            "job_id": job_id,
            "created_at": _rfc3339(created_at),
            "expires_at": _rfc3339(expires_at),
            "result": result,
        }

    def delete(self, job_id: str) -> bool:
        """Forget a result, leaving a tombstone; returns False if the job never had one.

        Deleting twice is fine (True again), so a client may retry a DELETE that failed half-way.
        """
        query = sql.SQL(
            "UPDATE {} SET result = NULL, season = NULL, model_version = NULL,"
            " deleted_at = coalesce(deleted_at, now()) WHERE job_id = %s"
        ).format(self._table())
        return self._run(query, (job_id,))[0][0] == 1

    def purge(self, before: datetime | None = None) -> int:
        """Delete rows (and tombstones) that expire before ``before`` (default: now)."""
        query = sql.SQL("DELETE FROM {} WHERE expires_at <= coalesce(%s, now())").format(
            self._table()
        )
        return self._run(query, (before,))[0][0]


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
