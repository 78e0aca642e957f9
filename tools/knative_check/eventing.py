"""Knative Eventing's admission rules for Broker, Trigger, PingSource and SinkBinding.

Written from the webhook's behaviour in knative/eventing (pkg/apis/eventing/v1/
trigger_validation.go and broker_validation.go, pkg/apis/duck/v1/delivery_types.go,
pkg/apis/sources/v1/ping_validation.go and sinkbinding_validation.go, and knative/pkg's
Destination and KReference) at the release schemas/README.md names.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zoneinfo
from typing import Any

from .core import Cluster, Document, at, iso_duration, mapping, sequence

BROKER_CLASS = "eventing.knative.dev/broker.class"
_ATTRIBUTE = re.compile(r"^[a-z][a-z0-9]*$")
DIALECTS = ("exact", "prefix", "suffix", "all", "any", "not", "cesql")


def check(document: Document, cluster: Cluster) -> None:
    spec = mapping(document.body.get("spec"))
    if document.kind == "Broker":
        check_broker(document, spec, cluster)
    elif document.kind == "Trigger":
        check_trigger(document, spec, cluster)
    elif document.kind == "PingSource":
        check_ping_source(document, spec, cluster)
    elif document.kind == "SinkBinding":
        check_sink_binding(document, spec, cluster)


def check_broker(document: Document, spec: dict[str, Any], cluster: Cluster) -> None:
    if not mapping(document.metadata.get("annotations")).get(BROKER_CLASS):
        document.warning(
            f"metadata.annotations.{BROKER_CLASS}",
            "not set: the cluster's default class is filled in, and it can never change "
            "afterwards (the class decides whether events are written to disk)",
        )
    if "config" in spec:
        check_reference(document, "spec.config", spec["config"], cluster)
    check_delivery(document, "spec.delivery", spec.get("delivery"), cluster)


def check_trigger(document: Document, spec: dict[str, Any], cluster: Cluster) -> None:
    has_name, has_ref = bool(spec.get("broker")), "brokerRef" in spec
    if not has_name and not has_ref:
        document.error("spec.broker", "missing field(s)")
    elif has_name and has_ref:
        document.error("spec", "expected exactly one, got both: broker, brokerRef")
    if (
        mapping(spec.get("brokerRef")).get("namespace")
        and cluster.eventing["cross-namespace-event-links"] != "enabled"
    ):
        document.error(
            "spec.brokerRef.namespace",
            "must not set the field(s): namespace (needs cross-namespace-event-links)",
        )
    for name in mapping(mapping(spec.get("filter")).get("attributes")):
        _attribute_name(document, f"spec.filter.attributes.{name}", name)
    for i, item in enumerate(sequence(spec.get("filters"))):
        check_filter(document, f"spec.filters[{i}]", item)
    check_destination(document, "spec.subscriber", spec.get("subscriber"), cluster)
    check_delivery(document, "spec.delivery", spec.get("delivery"), cluster)


def check_filter(document: Document, where: str, item: Any) -> None:
    """One entry of the ``filters`` dialect: exactly one dialect, recursively."""
    present = [d for d in DIALECTS if mapping(item).get(d) not in (None, {}, [], "")]
    if len(present) > 1:
        document.error(
            where,
            f"multiple dialects found ({', '.join(present)}), filters can have only one "
            "dialect set",
        )
    for dialect in ("exact", "prefix", "suffix"):
        for name in mapping(mapping(item).get(dialect)):
            _attribute_name(document, f"{where}.{dialect}.{name}", name)
    for dialect in ("all", "any"):
        for i, child in enumerate(sequence(mapping(item).get(dialect))):
            check_filter(document, f"{where}.{dialect}[{i}]", child)
    if "not" in mapping(item):
        check_filter(document, f"{where}.not", item["not"])


def _attribute_name(document: Document, where: str, name: str) -> None:
    if not _ATTRIBUTE.match(name):
        document.error(
            where,
            f"invalid key name {name!r}: attribute name must start with a letter and can only "
            "contain lowercase alphanumeric",
        )


def check_delivery(document: Document, where: str, delivery: Any, cluster: Cluster) -> None:
    """A DeliverySpec (Broker or Trigger ``delivery``, or a channel's)."""
    if not isinstance(delivery, dict):
        return
    if "deadLetterSink" in delivery:
        check_destination(
            document, at(where, "deadLetterSink"), delivery["deadLetterSink"], cluster
        )
    retry = delivery.get("retry")
    if isinstance(retry, int) and retry < 0:
        document.error(at(where, "retry"), f"invalid value: {retry} (0 or more)")
    policy = delivery.get("backoffPolicy")
    if policy is not None and policy not in ("linear", "exponential"):
        document.error(
            at(where, "backoffPolicy"), f"invalid value: {policy!r} (linear or exponential)"
        )
    for field, flag, zero_ok, negative_ok in (
        ("backoffDelay", None, True, True),
        ("timeout", "delivery-timeout", False, True),
        ("retryAfterMax", "delivery-retryafter", True, False),
    ):
        if field not in delivery:
            continue
        value = str(delivery[field])
        if flag and cluster.eventing[flag] != "enabled":
            document.error(at(where, field), f"must not set the field(s): {field} (needs {flag})")
            continue
        parsed = iso_duration(value)
        if parsed is None:
            document.error(
                at(where, field),
                f"invalid value: {value!r} (an ISO-8601 duration such as PT0.5S or PT1M, "
                "not a Go duration)",
            )
        elif (parsed[0] and not zero_ok) or (parsed[1] and not negative_ok):
            document.error(at(where, field), f"invalid value: {value!r} (must be positive)")
    if delivery.get("format") not in (None, "json", "binary"):
        document.error(
            at(where, "format"), f"invalid value: {delivery['format']!r} (json or binary)"
        )


def check_destination(document: Document, where: str, destination: Any, cluster: Cluster) -> None:
    """A Destination: a ``ref``, an absolute ``uri``, or a ref plus a relative uri (a path)."""
    destination = mapping(destination)
    ref, uri = destination.get("ref"), destination.get("uri")
    if ref is None and uri is None:
        document.error(where, "expected at least one, got none: ref, uri")
        return
    absolute = isinstance(uri, str) and bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]", uri))
    if ref is not None and uri is not None and absolute:
        document.error(
            at(where, "uri"),
            "Absolute URI is not allowed when Ref or [apiVersion, kind, name] is present",
        )
    if ref is None and not absolute:
        document.error(
            at(where, "uri"),
            "Relative URI is not allowed when Ref and [apiVersion, kind, name] is absent",
        )
    if ref is not None:
        check_reference(document, at(where, "ref"), ref, cluster)


def check_reference(document: Document, where: str, ref: Any, cluster: Cluster) -> None:
    ref = mapping(ref)
    for field in ("apiVersion", "kind", "name"):
        if not ref.get(field):
            document.error(at(where, field), "missing field(s)")
    if "group" in ref and cluster.eventing["kreference-group"] != "enabled":
        document.error(
            at(where, "group"), "must not set the field(s): group (needs kreference-group)"
        )


def check_ping_source(document: Document, spec: dict[str, Any], cluster: Cluster) -> None:
    schedule = str(spec.get("schedule", ""))
    problem = cron_problem(schedule)
    if problem:
        document.error("spec.schedule", f"invalid value: {schedule!r}: {problem}")
    zone = spec.get("timezone")
    if zone:
        try:
            zoneinfo.ZoneInfo(str(zone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            document.error("spec.timezone", f"provided bad location {zone}: not an IANA time zone")
    data, encoded = spec.get("data"), spec.get("dataBase64")
    is_json = spec.get("contentType") == "application/json"
    if data and encoded:
        document.error("spec", "expected exactly one, got both: data, dataBase64")
    elif encoded:
        try:
            decoded = base64.b64decode(str(encoded), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as error:
            document.error("spec.dataBase64", f"invalid value: {error}")
        else:
            if is_json and not _json_object(decoded):
                document.error(
                    "spec.dataBase64", "contentType is application/json but this is no JSON object"
                )
    elif data and is_json and not _json_object(str(data)):
        document.error("spec.data", "contentType is application/json but this is no JSON object")
    check_destination(document, "spec.sink", spec.get("sink"), cluster)
    check_overrides(document, spec)


def check_sink_binding(document: Document, spec: dict[str, Any], cluster: Cluster) -> None:
    subject = mapping(spec.get("subject"))
    for field in ("apiVersion", "kind"):
        if not subject.get(field):
            document.error(f"spec.subject.{field}", "missing field(s)")
    if ("name" in subject) == ("selector" in subject):
        document.error("spec.subject", "expected exactly one of name, selector")
    if subject.get("namespace") and subject["namespace"] != document.namespace:
        document.error("spec.subject.namespace", "must be the SinkBinding's own namespace")
    check_destination(document, "spec.sink", spec.get("sink"), cluster)
    check_overrides(document, spec)


def check_overrides(document: Document, spec: dict[str, Any]) -> None:
    for name in mapping(mapping(spec.get("ceOverrides")).get("extensions")):
        if not re.fullmatch(r"[a-z0-9]+", name) or name in ("id", "type", "source", "specversion"):
            document.error(
                f"spec.ceOverrides.extensions.{name}", "not a valid CloudEvent extension name"
            )


def _json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


# --- cron, as robfig/cron (which PingSource uses) parses it -------------------------------------
_DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {month: i for i, month in enumerate(_MONTH_NAMES, start=1)}
_DAYS = {day: i for i, day in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
# (name, lowest, highest, names, may be "?")
_FIELDS = (
    ("second", 0, 59, {}, False),
    ("minute", 0, 59, {}, False),
    ("hour", 0, 23, {}, False),
    ("day of month", 1, 31, {}, True),
    ("month", 1, 12, _MONTHS, False),
    ("day of week", 0, 6, _DAYS, True),
)


def cron_problem(schedule: str) -> str | None:
    """Why PingSource would reject ``schedule``, or None: 5 fields, or 6 with seconds first;
    ``@hourly``-style descriptors; never ``@every``."""
    if "@every" in schedule:
        return "unsupported descriptor @every"
    if schedule.startswith("@"):
        return None if schedule in _DESCRIPTORS else f"unrecognized descriptor {schedule}"
    parts = schedule.split()
    if len(parts) not in (5, 6):
        return f"expected 5 or 6 fields, found {len(parts)}"
    fields = _FIELDS if len(parts) == 6 else _FIELDS[1:]
    for part, (name, lowest, highest, names, question) in zip(parts, fields, strict=True):
        for item in part.split(","):
            problem = _cron_item(item, lowest, highest, names, question)
            if problem:
                return f"{name} {item!r}: {problem}"
    return None


def _cron_item(
    item: str, lowest: int, highest: int, names: dict[str, int], question: bool
) -> str | None:
    span, _, step = item.partition("/")
    if step and (not step.isdigit() or int(step) == 0):
        return "bad step"
    if span in ("*", "?"):
        return None if span == "*" or question else "? is only for the day fields"

    def value(text: str) -> int | None:
        if text.lower() in names:
            return names[text.lower()]
        return int(text) if text.isdigit() else None

    first, dash, last = span.partition("-")
    start, end = value(first), value(last) if dash else value(first)
    if start is None or end is None:
        return "not a number or name"
    if not lowest <= start <= end <= highest:
        return f"out of range {lowest}-{highest}"
    return None
