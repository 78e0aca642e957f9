"""What every layer shares: findings, the documents read from YAML, cluster settings, value syntax.

A finding is an error (a cluster would reject the object, or accept it and never run it) or a
warning (it would be accepted, but probably not do what was meant).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
FUNC_YAML = "func.yaml"
SKIPPED_DIRECTORIES = {"node_modules", "__pycache__", "venv"}


@dataclass(frozen=True)
class Finding:
    level: Literal["error", "warning"]
    where: str  # field path in the object ("" for the object as a whole)
    message: str


@dataclass
class Document:
    """One YAML document, and what the checks found in it."""

    path: Path
    index: int  # position in a multi-document file
    body: Any
    role: Literal["object", "patch", "kustomization", "func.yaml"] = "object"
    findings: list[Finding] = field(default_factory=list)

    def error(self, where: str, message: str) -> None:
        self.findings.append(Finding("error", where, message))

    def warning(self, where: str, message: str) -> None:
        self.findings.append(Finding("warning", where, message))

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", "")) if isinstance(self.body, dict) else ""

    @property
    def api_version(self) -> str:
        return str(self.body.get("apiVersion", "")) if isinstance(self.body, dict) else ""

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.body.get("metadata") if isinstance(self.body, dict) else None
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        if self.role == "func.yaml" and isinstance(self.body, dict):
            return str(self.body.get("name", ""))
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace", ""))

    @property
    def label(self) -> str:
        """How the report names it: ``Service analyze``, ``patch ConfigMap x``, ``func.yaml x``."""
        if self.role == "kustomization":
            return "Kustomization"
        if self.role == "func.yaml":
            return f"func.yaml {self.name}".strip()
        prefix = "patch " if self.role == "patch" else ""
        return f"{prefix}{self.kind or '?'} {self.name}".strip()

    @property
    def failed(self) -> bool:
        return any(f.level == "error" for f in self.findings)


# --- reading ------------------------------------------------------------------------------------
class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that refuses duplicate keys (kubectl's strict decoding does) and keeps
    timestamps as strings (func.yaml's ``created:`` is a string to func)."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (line {mark.line + 1})", mark
            )
        seen[key] = True
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def yaml_files(paths: list[Path]) -> Iterator[Path]:
    """The YAML files and kustomizations in ``paths`` (directories are walked, sorted)."""
    for path in paths:
        if path.is_file():
            yield path
            continue
        for child in sorted(path.rglob("*")):
            inside = child.relative_to(path).parts[:-1]
            if any(part.startswith(".") or part in SKIPPED_DIRECTORIES for part in inside):
                continue
            if child.is_file() and (
                child.suffix in (".yaml", ".yml") or child.name in KUSTOMIZATION_NAMES
            ):
                yield child


def read(path: Path) -> list[Document]:
    """The documents of one file; a file that does not parse is one document with an error."""
    role: Literal["object", "kustomization", "func.yaml"] = "object"
    if path.name in KUSTOMIZATION_NAMES:
        role = "kustomization"
    elif path.name == FUNC_YAML:
        role = "func.yaml"
    try:
        bodies = list(yaml.load_all(path.read_text("utf-8"), Loader=_StrictLoader))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        broken = Document(path, 0, None, role)
        broken.error("", f"not readable as YAML: {error}".replace("\n", " "))
        return [broken]
    documents = [Document(path, i, body, role) for i, body in enumerate(bodies) if body is not None]
    expanded = []
    for document in documents:
        items = document.body.get("items") if document.kind == "List" else None
        if isinstance(items, list):
            expanded += [Document(path, document.index, item, role) for item in items]
        else:
            expanded.append(document)
    return expanded


# --- cluster settings ---------------------------------------------------------------------------
# Knative Serving's config-features keys and their defaults (serving pkg/apis/config/features.go).
SERVING_FEATURES = {
    "multi-container": "enabled",
    "multi-container-probing": "disabled",
    "kubernetes.podspec-affinity": "disabled",
    "kubernetes.podspec-topologyspreadconstraints": "disabled",
    "kubernetes.podspec-hostaliases": "disabled",
    "kubernetes.podspec-fieldref": "disabled",
    "kubernetes.podspec-nodeselector": "disabled",
    "kubernetes.podspec-runtimeclassname": "disabled",
    "kubernetes.podspec-securitycontext": "disabled",
    "kubernetes.podspec-shareprocessnamespace": "disabled",
    "kubernetes.podspec-hostipc": "disabled",
    "kubernetes.podspec-hostpid": "disabled",
    "kubernetes.podspec-hostnetwork": "disabled",
    "kubernetes.podspec-priorityclassname": "disabled",
    "kubernetes.podspec-schedulername": "disabled",
    "kubernetes.containerspec-addcapabilities": "disabled",
    "kubernetes.podspec-tolerations": "disabled",
    "kubernetes.podspec-volumes-emptydir": "enabled",
    "kubernetes.podspec-volumes-hostpath": "disabled",
    "kubernetes.podspec-volumes-mount-propagation": "disabled",
    "kubernetes.podspec-volumes-csi": "disabled",
    "kubernetes.podspec-volumes-ephemeral": "disabled",
    "kubernetes.podspec-volumes-image": "disabled",
    "kubernetes.podspec-persistent-volume-claim": "disabled",
    "kubernetes.podspec-persistent-volume-write": "disabled",
    "kubernetes.podspec-init-containers": "disabled",
    "kubernetes.podspec-dnspolicy": "disabled",
    "kubernetes.podspec-dnsconfig": "disabled",
    "queueproxy.mount-podinfo": "disabled",
    "queueproxy.resource-defaults": "disabled",
    "secure-pod-defaults": "disabled",
    "tag-header-based-routing": "disabled",
    "autodetect-http2": "disabled",
}
# The Knative Eventing flags these checks consult (eventing pkg/apis/feature/features.go).
EVENTING_FEATURES = {
    "delivery-timeout": "enabled",
    "delivery-retryafter": "disabled",
    "cross-namespace-event-links": "disabled",
    "kreference-group": "disabled",
}
FLAG_VALUES = ("enabled", "allowed", "disabled")
SECURE_POD_DEFAULTS_VALUES = ("enabled", "disabled", "allowrootbounded")


@dataclass
class Cluster:
    """The Knative ConfigMaps the rules depend on: Knative's defaults, then what the input says
    (``config-*`` ConfigMaps in ``knative-serving`` / ``knative-eventing``), then ``--features``."""

    serving: dict[str, str] = field(default_factory=lambda: dict(SERVING_FEATURES))
    eventing: dict[str, str] = field(default_factory=lambda: dict(EVENTING_FEATURES))
    allow_zero_initial_scale: bool = False
    pod_autoscaler_class: str = "kpa.autoscaling.knative.dev"
    max_scale_limit: int = 0
    max_revision_timeout_seconds: int = 600
    container_concurrency_max: int = 1000
    allow_container_concurrency_zero: bool = True

    def allows(self, flag: str) -> bool:
        """Fields behind this flag may be set (``enabled`` or ``allowed``)."""
        return self.serving[flag] != "disabled"

    def enabled(self, flag: str) -> bool:
        return self.serving[flag] == "enabled"

    def set_flag(self, name: str, value: str) -> None:
        """``--features NAME=VALUE``; raises ``ValueError`` for an unknown name or value."""
        value = value.lower()
        if name in self.serving:
            allowed = SECURE_POD_DEFAULTS_VALUES if name == "secure-pod-defaults" else FLAG_VALUES
            target = self.serving
        elif name in self.eventing:
            allowed, target = FLAG_VALUES, self.eventing
        else:
            raise ValueError(f"unknown feature flag {name!r}")
        if value not in allowed:
            raise ValueError(f"{name}: {value!r} is not one of {', '.join(allowed)}")
        target[name] = value


def read_cluster_config(documents: list[Document], cluster: Cluster) -> None:
    """Apply the ``config-*`` ConfigMaps found in the input; warn about keys Knative ignores."""
    for document in documents:
        if document.role != "object" or document.kind != "ConfigMap":
            continue
        data = document.body.get("data") or {}
        if not isinstance(data, dict):
            continue
        where = {
            ("knative-serving", "config-features"): "serving",
            ("knative-eventing", "config-features"): "eventing",
            ("knative-serving", "config-autoscaler"): "autoscaler",
            ("knative-serving", "config-defaults"): "defaults",
        }.get((document.namespace, document.name))
        if where is None and document.name in ("config-features", "config-autoscaler"):
            document.warning(
                "metadata.namespace",
                f"{document.name} outside knative-serving/knative-eventing is not read by "
                "Knative; its settings are not applied here either",
            )
        if where == "serving":
            _read_flags(document, data, cluster.serving, SERVING_FEATURES)
        elif where == "eventing":
            for key, value in data.items():
                if key in cluster.eventing and str(value).lower() in FLAG_VALUES:
                    cluster.eventing[key] = str(value).lower()
        elif where == "autoscaler":
            if "allow-zero-initial-scale" in data:
                cluster.allow_zero_initial_scale = str(data["allow-zero-initial-scale"]) == "true"
            cluster.pod_autoscaler_class = str(
                data.get("pod-autoscaler-class", cluster.pod_autoscaler_class)
            )
            cluster.max_scale_limit = _int(data, "max-scale-limit", cluster.max_scale_limit)
        elif where == "defaults":
            cluster.max_revision_timeout_seconds = _int(
                data, "max-revision-timeout-seconds", cluster.max_revision_timeout_seconds
            )
            cluster.container_concurrency_max = _int(
                data, "container-concurrency-max-limit", cluster.container_concurrency_max
            )
            if "allow-container-concurrency-zero" in data:
                cluster.allow_container_concurrency_zero = (
                    str(data["allow-container-concurrency-zero"]) == "true"
                )


def _read_flags(
    document: Document, data: dict[str, Any], flags: dict[str, str], known: dict[str, str]
) -> None:
    for key, raw in data.items():
        value = str(raw).lower()
        if key.startswith("_"):  # Knative's own `_example` block
            continue
        if key not in known:
            near = closest(key, list(known))
            hint = f" (did you mean {near}?)" if near else ""
            document.warning(f"data.{key}", f"Knative does not know this flag{hint}")
            continue
        allowed = SECURE_POD_DEFAULTS_VALUES if key == "secure-pod-defaults" else FLAG_VALUES
        if value not in allowed:
            document.warning(
                f"data.{key}",
                f"{raw!r} is not one of {', '.join(allowed)}: Knative keeps the default "
                f"({known[key]})",
            )
            continue
        flags[key] = value


def _int(data: dict[str, Any], key: str, default: int) -> int:
    try:
        return int(str(data.get(key, default)))
    except ValueError:
        return default


# --- value syntax -------------------------------------------------------------------------------
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
# Kubernetes resource.Quantity: a signed decimal, then a binary or decimal suffix or an exponent.
_QUANTITY = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$")
_GO_DURATION = re.compile(r"^[+-]?((\d+\.?\d*|\.\d+)(ns|us|µs|ms|s|m|h))+$")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
# ISO-8601 durations as Knative Eventing parses them: PnYnMnWnDTnHnMnS, any part a decimal.
_NUMBER = r"(\d+(?:[.,]\d+)?)"
_ISO_DURATION = re.compile(
    rf"^[-+]?P(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?"
    rf"(?:T(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?$"
)


def is_dns1123_label(value: str) -> bool:
    return len(value) <= 63 and bool(_DNS1123_LABEL.match(value))


def is_dns1035_label(value: str) -> bool:
    return len(value) <= 63 and bool(_DNS1035_LABEL.match(value))


def is_dns1123_subdomain(value: str) -> bool:
    return len(value) <= 253 and bool(_DNS1123_SUBDOMAIN.match(value))


def is_label_key(key: str) -> bool:
    """A label or annotation key: an optional DNS subdomain prefix and a qualified name."""
    prefix, _, name = key.rpartition("/")
    if prefix and not is_dns1123_subdomain(prefix):
        return False
    return len(name) <= 63 and bool(_QUALIFIED_NAME.match(name))


def is_label_value(value: str) -> bool:
    return len(value) <= 63 and bool(_LABEL_VALUE.match(value))


def is_quantity(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return math.isfinite(value)
    return isinstance(value, str) and bool(_QUANTITY.match(value))


def go_duration(value: str) -> float | None:
    """Seconds in a Go duration (``2m``, ``1h30m``, ``0``), or None if it is not one."""
    if value == "0":
        return 0.0
    if not _GO_DURATION.match(value):
        return None
    sign = -1.0 if value.startswith("-") else 1.0
    parts = re.findall(r"(\d+\.?\d*|\.\d+)(ns|us|µs|ms|s|m|h)", value)
    return sign * sum(float(number) * _GO_UNITS[unit] for number, unit in parts)


def iso_duration(value: str) -> tuple[bool, bool] | None:
    """(is zero, is negative) of an ISO-8601 duration, or None if it is not one."""
    match = _ISO_DURATION.match(value)
    if not match or value.rstrip("-+") in ("P", "PT") or value.endswith("T"):
        return None
    numbers = [float(n.replace(",", ".")) for n in match.groups() if n is not None]
    if not numbers:
        return None
    return all(n == 0 for n in numbers), value.startswith("-")


def closest(word: str, candidates: list[str]) -> str | None:
    """The candidate ``word`` is probably a misspelling of (for "did you mean")."""
    found = difflib.get_close_matches(word, candidates, n=1, cutoff=0.85)
    return found[0] if found else None


def at(where: str, key: str | int) -> str:
    """Extend a field path: ``at("spec", "template")``, ``at("containers", 0)``."""
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else key


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def sequence(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
