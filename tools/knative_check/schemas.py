"""The schema layer: each object against the JSON Schema of its kind.

Knative kinds and func.yaml use the schemas in ``schemas/`` (generated from Knative's CRDs and
func's published schema; schemas/README.md says from which versions). Built-in Kubernetes kinds
use the strict schemas of the ``kubernetes-validate`` package. Unknown fields are errors, as with
kubectl's strict field validation; a kind with no schema is an error, never a silent pass.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate

from .core import Document

SCHEMA_DIRECTORY = Path(__file__).resolve().parent / "schemas"
# Built-in kinds are checked against Kubernetes 1.30: older than any release Knative 1.23 runs on,
# so a field too new for some cluster is reported rather than silently assumed.
KUBERNETES_VERSION = "1.30"
KNATIVE_SCHEMAS = {
    ("serving.knative.dev/v1", "Service"): "knative-service-v1-strict-core.json",
    ("eventing.knative.dev/v1", "Broker"): "knative-broker-v1.json",
    ("eventing.knative.dev/v1", "Trigger"): "knative-trigger-v1.json",
    ("sources.knative.dev/v1", "PingSource"): "knative-pingsource-v1.json",
    ("sources.knative.dev/v1", "SinkBinding"): "knative-sinkbinding-v1.json",
}
FUNC_YAML_SCHEMA = "func_yaml-schema.json"


def is_builtin(api_version: str) -> bool:
    """Served by kube-apiserver itself (``v1``, ``apps/v1``, ``networking.k8s.io/v1``, ...)."""
    group = api_version.rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


@cache
def _validator(file_name: str) -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMA_DIRECTORY / file_name).read_text("utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


def _path(error: jsonschema.ValidationError) -> str:
    where = ""
    for part in error.absolute_path:
        where = f"{where}[{part}]" if isinstance(part, int) else f"{where}.{part}".lstrip(".")
    return where


def _message(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        unknown = sorted(k for k in error.instance if k not in allowed)
        return f"unknown field(s): {', '.join(unknown)}"
    return error.message


def _schema_errors(document: Document, file_name: str, *, partial: bool) -> None:
    errors = sorted(_validator(file_name).iter_errors(document.body), key=lambda e: e.path)
    for error in errors:
        # A oneOf/anyOf failure says little; its closest branch says what is wrong.
        if error.validator in ("oneOf", "anyOf") and error.context:
            error = jsonschema.exceptions.best_match(error.context)
        if partial and error.validator == "required":
            continue  # a patch is a partial object
        if (
            file_name == FUNC_YAML_SCHEMA
            and _path(error) == "build.builder"
            and error.instance == "host"
        ):
            # func writes and accepts it; its published schema lags behind.
            document.warning("build.builder", "host is accepted by func but not by its schema")
            continue
        document.error(_path(error), _message(error))


def check(document: Document) -> bool:
    """Validate ``document`` against its schema; False when no schema knows its kind."""
    partial = document.role == "patch"
    if document.role == "func.yaml":
        _schema_errors(document, FUNC_YAML_SCHEMA, partial=False)
        return True
    key = (document.api_version, document.kind)
    if key in KNATIVE_SCHEMAS:
        _schema_errors(document, KNATIVE_SCHEMAS[key], partial=partial)
        return True
    if not is_builtin(document.api_version):
        document.error(
            "kind",
            f"no schema for {document.api_version} {document.kind}: these checks cover "
            f"{', '.join(sorted(kind for _, kind in KNATIVE_SCHEMAS))} and built-in kinds",
        )
        return False
    try:
        kubernetes_validate.validate(_as_json(document.body), KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        document.error(
            "kind", f"Kubernetes {KUBERNETES_VERSION} has no {document.api_version} {document.kind}"
        )
        return False
    except kubernetes_validate.ValidationError as error:
        if not (partial and error.validator == "required"):
            document.error(_path(error), _message(error))
    return True


def _as_json(body: Any) -> Any:
    """What the API server would decode: YAML scalars such as dates become JSON values."""
    return json.loads(json.dumps(body, default=str))
