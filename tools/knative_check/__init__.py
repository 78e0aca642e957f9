"""Offline checks of Knative manifests, kustomizations and func.yaml: what the API server and the
Knative webhooks would reject, found before a cluster sees it.

    uv run python -m tools.knative_check knative eventing functions
    uv run python -m tools.knative_check --features tolerations=disabled rendered.yaml

Layers, each in its own module:

- ``core``: reading YAML strictly (duplicate keys), findings, the Knative ConfigMaps the rules
  depend on (Knative's defaults, then ``config-features`` & co. found in the input, then
  ``--features``), value syntax (names, quantities, Go and ISO-8601 durations);
- ``schemas``: every object against the JSON Schema of its kind (``schemas/``, with their
  provenance in schemas/README.md; built-in kinds through kubernetes-validate);
- ``serving``, ``eventing``, ``funcyaml``: the admission rules no schema expresses;
- ``kustomize``: kustomizations, their files, and ``namespace:`` moving Knative's ConfigMaps;
- here: the order of the layers and the cross-references between objects.

It covers the kinds colorseason deploys (a kind it has no schema for is an error, never a silent
pass); on a real cluster ``kubectl apply --dry-run=server`` runs the real webhooks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import eventing, funcyaml, kustomize, schemas, serving
from .core import Cluster, Document, Finding, mapping, read, read_cluster_config, yaml_files

__all__ = ["Document", "Finding", "check_paths"]


def check_paths(paths: list[Path], features: dict[str, str] | None = None) -> list[Document]:
    """Every document under ``paths``, with its findings. ``features`` (flag name -> enabled,
    allowed or disabled) stand for the cluster's config-features and win over the input's."""
    documents = [d for path in yaml_files(paths) for d in read(path)]
    patches, moved = kustomize.check(documents)
    for document in documents:
        if document.path.resolve() in patches:
            document.role = "patch"
    cluster = Cluster()
    read_cluster_config([d for d in documents if d.path.resolve() not in moved], cluster)
    for name, value in (features or {}).items():
        cluster.set_flag(name, value)
    for document in documents:
        if document.role == "kustomization" or document.failed:
            continue
        if document.role == "patch" and isinstance(document.body, list):
            kustomize.check_json_patch(document)
            continue
        if document.role in ("object", "patch") and not (document.api_version and document.kind):
            document.error("", "not a Kubernetes manifest: no apiVersion or kind")
            continue
        if not schemas.check(document) or document.role == "patch":
            continue
        if document.role == "func.yaml":
            funcyaml.check(document)
        elif document.api_version == "serving.knative.dev/v1" and document.kind == "Service":
            serving.check_service(document, cluster)
        elif _group(document).endswith(".knative.dev"):
            eventing.check(document, cluster)
        elif schemas.is_builtin(document.api_version):
            _check_builtin_pods(document)
    _cross_references(documents)
    return documents


def _group(document: Document) -> str:
    return document.api_version.rpartition("/")[0]


def _check_builtin_pods(document: Document) -> None:
    """Core workloads get the placement rules kube-apiserver applies to pod templates."""
    spec = document.body.get("spec") if isinstance(document.body, dict) else None
    template = (spec or {}).get("template") if isinstance(spec, dict) else None
    pod = (template or {}).get("spec") if isinstance(template, dict) else None
    if isinstance(pod, dict):
        serving.check_placement(document, "spec.template.spec", pod)


def _cross_references(documents: list[Document]) -> None:
    """Warnings, since the target may live in the cluster: every Broker, Service and SinkBinding
    subject named by another object is defined in the input; nothing is defined twice."""
    objects = [d for d in documents if d.role == "object" and d.kind]
    defined: dict[tuple[str, str, str], Document] = {}
    for document in objects:
        key = (document.kind, document.namespace, document.name)
        if key in defined and _group(defined[key]) == _group(document):
            document.warning("metadata.name", f"{document.kind} {document.name} is defined twice")
        defined.setdefault(key, document)
    known = {(k, ns, n) for k, ns, n in defined}

    def refer(
        document: Document, where: str, kind: str, name: object, namespace: object = None
    ) -> None:
        target = (kind, str(namespace or document.namespace), str(name))
        if kind in ("Broker", "Service") and name and target not in known:
            document.warning(
                where, f"{kind} {name!r} is not defined in the input; it must exist in the cluster"
            )

    for document in objects:
        spec = document.body.get("spec") if isinstance(document.body, dict) else None
        if not isinstance(spec, dict) or not _group(document).endswith(".knative.dev"):
            continue
        if document.kind == "Trigger" and spec.get("broker"):
            refer(document, "spec.broker", "Broker", spec["broker"])
        for where, destination in _destinations(spec):
            ref = destination.get("ref")
            if isinstance(ref, dict):
                refer(
                    document,
                    f"{where}.ref",
                    str(ref.get("kind")),
                    ref.get("name"),
                    ref.get("namespace"),
                )
        subject = spec.get("subject")
        if document.kind == "SinkBinding" and isinstance(subject, dict) and subject.get("name"):
            refer(
                document,
                "spec.subject",
                str(subject.get("kind")),
                subject["name"],
                subject.get("namespace"),
            )


def _destinations(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    candidates = {
        "spec.subscriber": spec.get("subscriber"),
        "spec.sink": spec.get("sink"),
        "spec.delivery.deadLetterSink": mapping(spec.get("delivery")).get("deadLetterSink"),
    }
    return [(where, value) for where, value in candidates.items() if isinstance(value, dict)]
