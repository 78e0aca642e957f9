"""A local broker that follows ``eventing/*.yaml``: a development stand-in for a Knative Broker.

`colorseason up` and the end-to-end tests need the event flow of the cluster (docs/design.md#flows)
on one machine, driven by the same manifests, so that a Trigger or delivery change is exercised
locally before it is deployed. This package reads the Broker and Trigger objects and reproduces
the parts of Knative Eventing's data plane the functions rely on:

- **Ingress**: ``POST /<namespace>/<broker>`` (or ``/<broker>``, or ``/`` when there is one broker)
  accepts a CloudEvent in binary or structured mode: 202 when accepted, 400 when malformed.
- **Routing**: each Trigger's ``filters`` (``exact``, ``prefix``, ``suffix``, ``all``, ``any``,
  ``not``; recursive) or, when it has none, its legacy ``filter.attributes`` (exact match, ``""``
  matches any value); no filter matches everything. ``filters`` wins when both are present.
- **Delivery**: binary mode, ``Prefer: reply``. A 2xx with a CloudEvent (binary or structured) is
  a reply and is published back into the broker; an empty 2xx is done; a non-empty 2xx body that
  is not a CloudEvent is a failure (Knative answers 502 for it). Failures with status 5xx, 404,
  408, 409 or 429, and connection errors, are retried (Knative's ``SelectiveRetry``); others are
  not. After the last attempt the event goes to the dead-letter sink with the extensions
  ``knativeerrordest``, ``knativeerrorcode`` and ``knativeerrordata`` (base64 of the response
  body, at most 1024 characters), as Knative's dispatcher adds them.
- **Delivery settings**: ``retry``, ``backoffPolicy`` (linear or exponential), ``backoffDelay``
  (ISO-8601), ``deadLetterSink`` and ``timeout``, from the Trigger's ``delivery`` when it has one,
  else the Broker's (a Trigger's delivery replaces the Broker's whole, as in Knative).
- **Isolation**: each Trigger has its own delivery queue and threads (a dispatcher per
  subscription, as in Knative), dead letters included, so one slow or failing subscriber (results
  waiting on a stopped PostgreSQL) never delays the others' deliveries.

It is not a production broker: events live in memory only (lost on exit, never written to disk,
which is also why an inline image may travel through it), there is no authentication, no ordering
guarantee, no CESQL, and one process does everything. Each delivery attempt is logged as one JSON
line with the event's type, id and subject, never its data.

One module per role: :mod:`.cloudevent` (the event as carried: attributes and raw bytes),
:mod:`.topology` (pure: the manifests read into Brokers, Triggers, filters and delivery settings),
:mod:`.dispatch` (the :class:`Broker`: lanes, threads, retries, dead letters) and :mod:`.ingress`
(the HTTP server producers post to).
"""

from colorseason.local.broker.cloudevent import Event, parse_event
from colorseason.local.broker.dispatch import ERROR_CODE, ERROR_DATA, ERROR_DEST, Broker
from colorseason.local.broker.ingress import BrokerIngress
from colorseason.local.broker.topology import (
    Delivery,
    Topology,
    compile_attribute_filter,
    compile_filters,
    load_topology,
    parse_duration,
    read_manifests,
)

__all__ = [
    "ERROR_CODE",
    "ERROR_DATA",
    "ERROR_DEST",
    "Broker",
    "BrokerIngress",
    "Delivery",
    "Event",
    "Topology",
    "compile_attribute_filter",
    "compile_filters",
    "load_topology",
    "parse_duration",
    "parse_event",
    "read_manifests",
]
