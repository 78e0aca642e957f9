"""The JSON log lines: one object per line, and never a photo's bytes (a README privacy promise)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from colorseason import logs, web
from colorseason.config import Settings
from colorseason.logs import JsonFormatter
from colorseason.testing import sample_jpeg

PHOTO = sample_jpeg("astronaut")[:4096]


def _line(message: str, *args: Any, **extra: Any) -> str:
    record = logging.makeLogRecord(
        {"name": "colorseason.test", "levelno": logging.INFO, "levelname": "INFO"}
    )
    record.msg, record.args = message, args or None
    record.__dict__.update(extra)
    return JsonFormatter().format(record)


def _assert_no_photo(line: str) -> dict[str, Any]:
    """The line is one JSON object and holds no trace of the photo's bytes, in any spelling."""
    assert "\n" not in line
    for spelling in (PHOTO[:16].hex(), repr(PHOTO[:16])[2:-1], PHOTO[:16].decode("latin-1")):
        assert spelling not in line
    assert "\\xff\\xd8" not in line and "JFIF" not in line
    return json.loads(line)


def test_a_structured_line_has_the_fields_and_the_extras() -> None:
    entry = _assert_no_photo(_line("job %s queued", "7e55", job_id="7e55", inline=False))
    assert entry["message"] == "job 7e55 queued" and entry["level"] == "INFO"
    assert entry["logger"] == "colorseason.test" and entry["time"].endswith("Z")
    assert entry["job_id"] == "7e55" and entry["inline"] is False


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_bytes_in_an_extra_field_are_only_counted(kind: type) -> None:
    entry = _assert_no_photo(_line("upload", image=kind(PHOTO)))
    assert entry["image"] == f"<{len(PHOTO)} bytes>"


def test_bytes_deep_inside_an_extra_field_are_only_counted() -> None:
    upload = {"parts": [{"name": "image", "body": PHOTO}], "sizes": (len(PHOTO), PHOTO)}
    entry = _assert_no_photo(_line("upload", upload=upload))
    assert entry["upload"]["parts"][0]["body"] == f"<{len(PHOTO)} bytes>"
    assert entry["upload"]["sizes"] == [len(PHOTO), f"<{len(PHOTO)} bytes>"]


def test_bytes_in_the_message_are_only_counted() -> None:
    entry = _assert_no_photo(_line("received %r (%d bytes)", PHOTO, len(PHOTO)))
    assert entry["message"] == f"received '<{len(PHOTO)} bytes>' ({len(PHOTO)} bytes)"
    entry = _assert_no_photo(_line(PHOTO))  # type: ignore[arg-type]
    assert entry["message"] == f"<{len(PHOTO)} bytes>"


def test_the_entry_points_configure_the_logs_and_the_router_does_not(load_function) -> None:
    root = logging.getLogger()
    kept, level = list(root.handlers), root.level

    def json_handlers() -> list[logging.Handler]:
        return [h for h in root.handlers if isinstance(h.formatter, JsonFormatter)]

    for handler in json_handlers():  # what functions loaded by earlier tests configured
        root.removeHandler(handler)
    try:
        web.Router("test", Settings(log_level="DEBUG"))
        assert json_handlers() == [] and root.level == level
        load_function("status", LOG_LEVEL="ERROR")  # main.py configures at import
        assert len(json_handlers()) == 1 and root.level == logging.ERROR
        logs.configure("INFO")  # idempotent: still one handler
        assert len(json_handlers()) == 1 and root.level == logging.INFO
    finally:
        root.handlers[:] = kept
        root.setLevel(level)
