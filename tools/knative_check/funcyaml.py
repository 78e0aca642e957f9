"""func.yaml: what ``func`` itself refuses (``Function.Validate`` in knative/func pkg/functions),
and what ``func deploy`` would write that Knative then rejects."""

from __future__ import annotations

import posixpath
import re
from typing import Any

from .core import Document, is_quantity, mapping, sequence
from .serving import AUTOSCALING

_WHOLE = re.compile(r"^{{\s*(secret|configMap):([-._a-zA-Z0-9]+)\s*}}$")
_KEYED = re.compile(r"^{{\s*(secret|configMap):([-._a-zA-Z0-9]+):([-._a-zA-Z0-9]+)\s*}}$")
_LOCAL = re.compile(r"^{{\s*env:(\w+)\s*}}$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


def check(document: Document) -> None:
    body = mapping(document.body)
    run, deploy = mapping(body.get("run")), mapping(body.get("deploy"))
    check_envs(document, "run.envs", sequence(run.get("envs")), whole_allowed=True)
    check_envs(document, "build.buildEnvs", sequence(mapping(body.get("build")).get("buildEnvs")))
    check_volumes(document, sequence(run.get("volumes")))
    check_options(document, mapping(deploy.get("options")))
    for key in mapping(deploy.get("annotations")):
        if key.startswith(AUTOSCALING):
            document.error(
                f"deploy.annotations.{key}",
                "func deploy puts deploy.annotations on the Service's own metadata, where Knative "
                "rejects autoscaling annotations: use deploy.options.scale",
            )


def check_envs(
    document: Document, where: str, envs: list[Any], *, whole_allowed: bool = False
) -> None:
    seen: dict[str, int] = {}
    for i, env in enumerate(map(mapping, envs)):
        here = f"{where}[{i}]"
        name, value = env.get("name"), env.get("value")
        if name is not None:
            if name in seen:
                document.error(here, f"duplicate name {name!r} (first at entry {seen[name]})")
            seen.setdefault(name, i)
        if name is None and value is None:
            document.error(here, "is not properly set (no name, no value)")
        elif value is None:
            document.error(here, f"is missing value field, only name {name!r} is set")
        elif name is None:
            if not whole_allowed or not _WHOLE.match(str(value)):
                document.error(
                    here,
                    f"invalid value {value!r}: without a name only '{{{{ secret:name }}}}' or "
                    "'{{ configMap:name }}' is allowed",
                )
        else:
            if not _ENV_NAME.match(str(name)):
                document.error(f"{here}.name", f"invalid environment variable name {name!r}")
            text = str(value)
            allowed = (_LOCAL, _KEYED) if whole_allowed else (_LOCAL,)
            if text.startswith("{{") and not any(p.match(text) for p in allowed):
                document.error(
                    f"{here}.value",
                    f"invalid value {text!r}: allowed are '{{{{ env:NAME }}}}'"
                    + (
                        ", '{{ secret:name:key }}', '{{ configMap:name:key }}'"
                        if whole_allowed
                        else ""
                    ),
                )


def check_volumes(document: Document, volumes: list[Any]) -> None:
    paths: dict[str, int] = {}
    for i, volume in enumerate(map(mapping, volumes)):
        here = f"run.volumes[{i}]"
        path = volume.get("path")
        if path is None:
            document.error(here, "is missing path field")
        else:
            clean = posixpath.normpath(str(path))
            if clean in paths:
                document.error(
                    f"{here}.path", f"duplicate path {path!r} (first at entry {paths[clean]})"
                )
            paths.setdefault(clean, i)
        kinds = [
            k for k in ("secret", "configMap", "persistentVolumeClaim", "emptyDir") if k in volume
        ]
        if len(kinds) != 1:
            document.error(here, f"expected exactly one volume type, got {kinds or 'none'}")
        if "persistentVolumeClaim" in volume and not mapping(volume["persistentVolumeClaim"]).get(
            "claimName"
        ):
            document.error(f"{here}.persistentVolumeClaim", "is missing claim name")
        empty = mapping(volume.get("emptyDir"))
        if empty.get("medium", "") not in ("", "Memory"):
            document.error(f"{here}.emptyDir.medium", f"invalid storage medium {empty['medium']!r}")
        if "sizeLimit" in empty and not is_quantity(empty["sizeLimit"]):
            document.error(f"{here}.emptyDir.sizeLimit", f"not a quantity: {empty['sizeLimit']!r}")


def check_options(document: Document, options: dict[str, Any]) -> None:
    """deploy.options: func's own bounds, which are Knative's autoscaling bounds too."""
    scale = mapping(options.get("scale"))
    where = "deploy.options.scale"
    low, high = scale.get("min"), scale.get("max")
    for field, value in (("min", low), ("max", high)):
        if isinstance(value, int) and value < 0:
            document.error(f"{where}.{field}", f"invalid value {value}: must not be negative")
    if isinstance(low, int) and isinstance(high, int) and high < low:
        document.error(f"{where}.max", f"max {high} must be greater or equal to min {low}")
    if scale.get("metric") not in (None, "concurrency", "rps"):
        document.error(f"{where}.metric", f"invalid value {scale['metric']!r} (concurrency or rps)")
    target, utilization = scale.get("target"), scale.get("utilization")
    if isinstance(target, int | float) and target < 0.01:
        document.error(f"{where}.target", f"{target} must not be less than 0.01")
    if isinstance(utilization, int | float) and not 1 <= utilization <= 100:
        document.error(f"{where}.utilization", f"{utilization} must be from 1 to 100")
    resources = mapping(options.get("resources"))
    for part in ("requests", "limits"):
        for name, value in mapping(resources.get(part)).items():
            if name in ("cpu", "memory") and not is_quantity(value):
                document.error(
                    f"deploy.options.resources.{part}.{name}", f"not a quantity: {value!r}"
                )
    concurrency = mapping(resources.get("limits")).get("concurrency")
    if isinstance(concurrency, int) and not 0 <= concurrency <= 1000:
        document.error(
            "deploy.options.resources.limits.concurrency",
            f"{concurrency}: Knative's containerConcurrency is 0 to 1000",
        )
