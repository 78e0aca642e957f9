"""What tests share besides fixtures: the machine's servers, and how a Broker talks to a function.

Fixtures live in conftest.py, which pytest loads by itself; tests import everything else from
here (a conftest is not a module to import from: pytest may load it under another name).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from cloudevents.conversion import to_structured
from cloudevents.http import CloudEvent, from_http
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from colorseason import events

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
# Nothing listens on port 1: a store that is down.
CLOSED_REDIS_URL = "redis://127.0.0.1:1/0"
CLOSED_DATABASE_URL = "postgresql://postgres@127.0.0.1:1/test"


@dataclass
class Sink:
    """A real HTTP endpoint standing in for the Broker ingress (K_SINK): it records events."""

    url: str
    received: list[CloudEvent] = field(default_factory=list)
    status: int = 202

    def of_type(self, event_type: str) -> list[CloudEvent]:
        return [e for e in self.received if e["type"] == event_type]


def deliver(
    client: FlaskClient, event: CloudEvent, path: str = "/", structured: bool = False
) -> TestResponse:
    """POST ``event`` the way a Broker delivers it (binary mode unless ``structured``)."""
    headers, body = to_structured(event) if structured else events.to_response(event)
    return client.post(path, data=body, headers=headers)


def reply_event(response: TestResponse) -> CloudEvent:
    """The binary-mode CloudEvent a function replied with."""
    return from_http(dict(response.headers), response.get_data())


def without_packages(*names: str) -> str:
    """Python source to start a ``python -c`` program with: from then on the named top-level
    packages import as if they were not installed (ModuleNotFoundError), as in an image or an
    install without the extra or group that brings them."""
    return (
        "import sys\n"
        "class NotInstalled:\n"
        "    def find_spec(self, name, *rest):\n"
        f"        if name.partition('.')[0] in {sorted(names)!r}:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, NotInstalled())\n"
    )
