"""What the local broker routes, read from Knative YAML: Brokers, Triggers, filters, delivery.

Pure: manifests and the local service URLs in, a :class:`Topology` out, with every subscriber and
dead-letter sink resolved to a URL and every Trigger's filter compiled to a predicate over an
event's attributes. Anything the broker could not honour (an unknown dialect, CESQL, a subscriber
with no local URL, a Trigger of a Broker no manifest defines) fails here, at load, rather than by
dropping events later.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import yaml

_ISO_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
_SECONDS_PER = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}

Predicate = Callable[[Mapping[str, str]], bool]
"""A compiled filter: does an event with these attributes match?"""


def parse_duration(text: str) -> float:
    """Seconds in an ISO-8601 duration such as ``PT0.2S`` or ``PT1M30S`` (Knative's format)."""
    match = _ISO_DURATION.match(text.strip()) if text else None
    if not match or text.strip() in {"P", "PT"} or text.strip().endswith("T"):
        raise ValueError(f"not an ISO-8601 duration: {text!r}")
    return sum(float(v) * _SECONDS_PER[k] for k, v in match.groupdict().items() if v)


def _match_all(_: Mapping[str, str]) -> bool:
    return True


def compile_filters(filters: Iterable[Mapping[str, Any]]) -> Predicate:
    """A predicate for a Trigger's ``filters`` list: every expression in it must match."""
    predicates = [_compile_expression(expression) for expression in filters]
    return lambda attrs: all(p(attrs) for p in predicates)


_STRING_TESTS: dict[str, Callable[[str, str], bool]] = {
    "exact": operator.eq,
    "prefix": str.startswith,
    "suffix": str.endswith,
}


def _compile_expression(expression: Mapping[str, Any]) -> Predicate:
    if not isinstance(expression, Mapping) or len(expression) != 1:
        raise ValueError(f"a filter expression has exactly one dialect key, got {expression!r}")
    ((dialect, argument),) = expression.items()
    if dialect in {"exact", "prefix", "suffix"}:
        pairs = {str(k).lower(): str(v) for k, v in dict(argument).items()}
        test = _STRING_TESTS[dialect]
        return lambda attrs: all(k in attrs and test(attrs[k], v) for k, v in pairs.items())
    if dialect in {"all", "any"}:
        subs = [_compile_expression(e) for e in argument]
        combine = all if dialect == "all" else any
        return lambda attrs: combine(p(attrs) for p in subs)
    if dialect == "not":
        inner = _compile_expression(argument)
        return lambda attrs: not inner(attrs)
    if dialect == "cesql":
        raise ValueError("CESQL filters are not supported by the local broker")
    raise ValueError(f"unknown filter dialect {dialect!r}")


def compile_attribute_filter(attributes: Mapping[str, Any]) -> Predicate:
    """The legacy ``filter.attributes``: exact matches, where an empty value matches anything."""
    pairs = {str(k).lower(): "" if v is None else str(v) for k, v in attributes.items()}
    return lambda attrs: all(k in attrs and v in ("", attrs[k]) for k, v in pairs.items())


@dataclass(frozen=True)
class Delivery:
    """A resolved ``spec.delivery``: how often to retry, how long to wait, where failures go."""

    retry: int = 0
    backoff_policy: str = "exponential"
    backoff_delay: float = 0.0
    dead_letter_sink: str | None = None
    timeout: float | None = None

    def delay(self, retry_number: int) -> float:
        """Seconds before retry ``retry_number`` (1-based).

        Exponential waits d, 2d, 4d, ... exactly as Knative's dispatcher does; linear waits d, 2d,
        3d, ... as Knative documents it (its code waits 0 before the first linear retry).
        """
        if self.backoff_policy == "linear":
            return self.backoff_delay * retry_number
        return self.backoff_delay * 2 ** (retry_number - 1)


@dataclass(frozen=True)
class Trigger:
    name: str
    broker: str
    subscriber: str
    matches: Predicate = field(default=_match_all, compare=False)
    delivery: Delivery | None = None


@dataclass(frozen=True)
class BrokerSpec:
    name: str
    namespace: str | None = None
    delivery: Delivery | None = None


@dataclass(frozen=True)
class Topology:
    """What the broker routes: the Brokers and Triggers of the manifests, with URLs resolved."""

    brokers: Mapping[str, BrokerSpec]
    triggers: tuple[Trigger, ...]

    def delivery_for(self, trigger: Trigger) -> Delivery:
        if trigger.delivery is not None:
            return trigger.delivery
        broker = self.brokers.get(trigger.broker)
        return broker.delivery if broker and broker.delivery else Delivery()


def resolve_destination(destination: Mapping[str, Any], services: Mapping[str, str]) -> str:
    """A Knative Destination (``ref`` and/or ``uri``) as a URL, with ``ref`` looked up by name.

    As in Knative, a ``uri`` next to a ``ref`` is resolved relative to the ref's URL.
    """
    ref = destination.get("ref")
    uri = destination.get("uri")
    if ref:
        name = ref.get("name")
        if name not in services:
            known = ", ".join(sorted(services)) or "none"
            raise ValueError(f"no local URL for {ref.get('kind', 'ref')} {name!r} (known: {known})")
        base = services[name]
        return urljoin(base.rstrip("/") + "/", uri.lstrip("/")) if uri else base
    if uri and urlsplit(uri).scheme in {"http", "https"}:
        return uri
    raise ValueError(f"a destination needs a ref or an absolute uri, got {dict(destination)!r}")


def parse_delivery(spec: Mapping[str, Any] | None, services: Mapping[str, str]) -> Delivery | None:
    """A ``delivery`` block resolved against the local service URLs (None when absent)."""
    if not spec:
        return None
    policy = spec.get("backoffPolicy", "exponential")
    if policy not in {"linear", "exponential"}:
        raise ValueError(f"backoffPolicy must be linear or exponential, got {policy!r}")
    sink = spec.get("deadLetterSink")
    return Delivery(
        retry=int(spec.get("retry", 0)),
        backoff_policy=policy,
        backoff_delay=parse_duration(spec["backoffDelay"]) if spec.get("backoffDelay") else 0.0,
        dead_letter_sink=resolve_destination(sink, services) if sink else None,
        timeout=parse_duration(spec["timeout"]) if spec.get("timeout") else None,
    )


def load_topology(documents: Iterable[Mapping[str, Any]], services: Mapping[str, str]) -> Topology:
    """Brokers and Triggers from Kubernetes objects; other kinds (sources, bindings) are skipped."""
    brokers: dict[str, BrokerSpec] = {}
    triggers: list[Trigger] = []
    for doc in documents:
        if not isinstance(doc, Mapping) or "eventing.knative.dev" not in str(doc.get("apiVersion")):
            continue
        meta = doc.get("metadata") or {}
        spec = doc.get("spec") or {}
        if doc.get("kind") == "Broker":
            brokers[meta["name"]] = BrokerSpec(
                meta["name"], meta.get("namespace"), parse_delivery(spec.get("delivery"), services)
            )
        elif doc.get("kind") == "Trigger":
            if spec.get("filters"):
                matches = compile_filters(spec["filters"])
            elif (spec.get("filter") or {}).get("attributes"):
                matches = compile_attribute_filter(spec["filter"]["attributes"])
            else:
                matches = _match_all
            triggers.append(
                Trigger(
                    name=meta["name"],
                    broker=spec.get("broker", "default"),
                    subscriber=resolve_destination(spec["subscriber"], services),
                    matches=matches,
                    delivery=parse_delivery(spec.get("delivery"), services),
                )
            )
    orphans = sorted({t.broker for t in triggers} - brokers.keys())
    if orphans:
        raise ValueError(f"Triggers name brokers that no manifest defines: {', '.join(orphans)}")
    return Topology(brokers, tuple(triggers))


def read_manifests(directory: Path) -> list[Mapping[str, Any]]:
    """Every YAML document in ``directory/*.yaml`` (and ``*.yml``), in file-name order."""
    paths = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    documents: list[Mapping[str, Any]] = []
    for path in paths:
        documents.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return documents
