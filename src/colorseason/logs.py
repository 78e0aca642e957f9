"""The project's logs: one JSON object per line on stdout, never a photo's bytes.

:func:`configure` sets them up; the entry points call it (each function's ``main.py`` with its
``LOG_LEVEL``, and ``colorseason up``), never a library module as a side effect. The CLI's
``analyze`` writes its results on stdout and leaves logging alone.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Mapping
from typing import Any

_STANDARD_RECORD_KEYS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def _without_bytes(value: Any) -> Any:
    """``value`` with every bytes-like object in it, however deep, replaced by its size."""
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{memoryview(value).nbytes} bytes>"
    if isinstance(value, Mapping):
        return {_without_bytes(key): _without_bytes(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_without_bytes(item) for item in value]
    return value


def _message(record: logging.LogRecord) -> str:
    """``record.getMessage()``, with any bytes among the message and its arguments counted."""
    message = str(_without_bytes(record.msg))
    args = record.args
    if not args:
        return message
    return message % (
        _without_bytes(args) if isinstance(args, Mapping) else tuple(_without_bytes(list(args)))
    )


class JsonFormatter(logging.Formatter):
    """One JSON object per line. Extra fields are included; bytes never are, however deep in a
    field or in the message's arguments they sit (photos stay out: only their size is written)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": _message(record),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_RECORD_KEYS:
                entry[key] = _without_bytes(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        line = json.dumps(entry, ensure_ascii=False, default=str)
        # stdout cannot take a lone surrogate, which a caller's JSON may carry into a message.
        return line.encode("utf-8", "replace").decode("utf-8")


JsonFormatter.converter = time.gmtime


def configure(level: str = "INFO") -> None:
    """Structured logs on stdout at ``level`` (idempotent; leaves other handlers, e.g. pytest's,
    alone). The entry points call it: each function's ``main.py`` and ``colorseason up``."""
    root = logging.getLogger()
    root.setLevel(level)
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
