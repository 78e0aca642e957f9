"""The CloudEvent as the local broker carries it: string attributes and the data as raw bytes.

The broker never interprets an event beyond its attributes (it routes on them), so it keeps the
data bytes exactly as the producer sent them and writes them out again in binary mode.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from colorseason import events
from colorseason.errors import InvalidEventError


@dataclass(frozen=True)
class Event:
    """A CloudEvent as the broker carries it: string attributes (extensions included) and raw data.

    The data stays bytes end to end, so what a subscriber receives is what the producer sent.
    """

    attributes: Mapping[str, str]
    data: bytes | None = None

    @property
    def type(self) -> str:
        return self.attributes.get("type", "")

    @property
    def id(self) -> str:
        return self.attributes.get("id", "")

    @property
    def subject(self) -> str | None:
        return self.attributes.get("subject")

    def with_attributes(self, **extra: str) -> Event:
        """A copy with attributes added or replaced (the dead-letter extensions)."""
        return replace(self, attributes={**self.attributes, **extra})

    def to_binary(self) -> tuple[dict[str, str], bytes]:
        """Binary-mode HTTP headers and body (CloudEvents HTTP binding 1.0)."""
        headers = {}
        for name, value in self.attributes.items():
            if name == "datacontenttype":
                headers["content-type"] = value
            else:
                headers[f"ce-{name}"] = _header_value(value)
        return headers, self.data or b""


def _header_value(value: str) -> str:
    """Percent-encode what an HTTP header cannot carry (the binding's rule for non-ASCII)."""
    if value.isascii() and value.isprintable():
        return value
    return "".join(
        c if c.isascii() and c.isprintable() else "".join(f"%{b:02X}" for b in c.encode())
        for c in value
    )


def parse_event(headers: Mapping[str, str], body: bytes) -> Event:
    """Read a binary- or structured-mode CloudEvent; :class:`InvalidEventError` if it is not one."""
    lowered = {k.lower(): v for k, v in headers.items()}
    structured = "ce-specversion" not in lowered
    event = events.from_http(lowered, body, raw_data=True)
    attributes = {k: _attribute_text(v) for k, v in event.get_attributes().items()}
    # The 1.x SDK invents `time` when the event has none; a broker must not change the event.
    had_time = _structured_has_time(body) if structured else "ce-time" in lowered
    if not had_time:
        attributes.pop("time", None)
    data = event.data
    if isinstance(data, str):
        data = data.encode()
    if data is not None and not isinstance(data, bytes):
        raise InvalidEventError("unsupported CloudEvent data")
    return Event(attributes, data or None)


def _attribute_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else str(value)


def _structured_has_time(body: bytes) -> bool:
    try:
        return "time" in json.loads(body)
    except (ValueError, TypeError):
        return False
