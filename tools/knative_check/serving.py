"""Knative Serving's admission rules for a Service, beyond what its schema can say.

Written from the webhook's behaviour in knative/serving (pkg/apis/autoscaling/
annotation_validation.go, pkg/apis/serving/k8s_validation.go, fieldmask.go,
metadata_validation.go, v1/revision_validation.go at the release schemas/README.md names), plus
the rules kube-apiserver applies to the Deployment Knative creates from the template: those are
checked by nobody at ``kubectl apply`` time, so a bad toleration only shows as a revision that
never becomes ready.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from .core import (
    Cluster,
    Document,
    at,
    closest,
    go_duration,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_label_key,
    is_label_value,
    is_quantity,
    mapping,
    sequence,
)

AUTOSCALING = "autoscaling.knative.dev/"
KPA = "kpa.autoscaling.knative.dev"
HPA = "hpa.autoscaling.knative.dev"
# Canonical keys and the camelCase spellings Knative still reads.
_AUTOSCALING_KEYS = {
    "class": "class",
    "min-scale": "min-scale",
    "minScale": "min-scale",
    "max-scale": "max-scale",
    "maxScale": "max-scale",
    "initial-scale": "initial-scale",
    "initialScale": "initial-scale",
    "activation-scale": "activation-scale",
    "scale-down-delay": "scale-down-delay",
    "scaleDownDelay": "scale-down-delay",
    "metric": "metric",
    "target": "target",
    "target-utilization-percentage": "target-utilization-percentage",
    "targetUtilizationPercentage": "target-utilization-percentage",
    "target-burst-capacity": "target-burst-capacity",
    "targetBurstCapacity": "target-burst-capacity",
    "window": "window",
    "panic-window-percentage": "panic-window-percentage",
    "panicWindowPercentage": "panic-window-percentage",
    "panic-threshold-percentage": "panic-threshold-percentage",
    "panicThresholdPercentage": "panic-threshold-percentage",
    "scale-to-zero-pod-retention-period": "scale-to-zero-pod-retention-period",
    "scaleToZeroPodRetentionPeriod": "scale-to-zero-pod-retention-period",
    "metric-aggregation-algorithm": "metric-aggregation-algorithm",
    "metricAggregationAlgorithm": "metric-aggregation-algorithm",
}
KNATIVE_DOMAINS = (
    "autoscaling.knative.dev",
    "serving.knative.dev",
    "features.knative.dev",
    "networking.knative.dev",
)
MAX_INT32 = 2**31 - 1
WINDOW_MAX_S = 3600.0

# Pod-spec fields Knative accepts only behind a config-features flag (fieldmask.go PodSpecMask).
POD_FIELD_FLAGS = {
    "affinity": "kubernetes.podspec-affinity",
    "topologySpreadConstraints": "kubernetes.podspec-topologyspreadconstraints",
    "hostAliases": "kubernetes.podspec-hostaliases",
    "nodeSelector": "kubernetes.podspec-nodeselector",
    "runtimeClassName": "kubernetes.podspec-runtimeclassname",
    "tolerations": "kubernetes.podspec-tolerations",
    "securityContext": "kubernetes.podspec-securitycontext",
    "shareProcessNamespace": "kubernetes.podspec-shareprocessnamespace",
    "priorityClassName": "kubernetes.podspec-priorityclassname",
    "schedulerName": "kubernetes.podspec-schedulername",
    "initContainers": "kubernetes.podspec-init-containers",
    "dnsPolicy": "kubernetes.podspec-dnspolicy",
    "dnsConfig": "kubernetes.podspec-dnsconfig",
    "hostIPC": "kubernetes.podspec-hostipc",
    "hostPID": "kubernetes.podspec-hostpid",
    "hostNetwork": "kubernetes.podspec-hostnetwork",
}
POD_SECURITY_FIELDS = {
    "runAsUser",
    "runAsGroup",
    "runAsNonRoot",
    "fsGroup",
    "supplementalGroups",
    "seccompProfile",
}
CONTAINER_SECURITY_FIELDS = {
    "capabilities",
    "readOnlyRootFilesystem",
    "runAsUser",
    "runAsGroup",
    "runAsNonRoot",
    "allowPrivilegeEscalation",
    "seccompProfile",
    "privileged",
}
# Volume sources and the flag each needs set to exactly `enabled`.
VOLUME_FLAGS = {
    "emptyDir": "kubernetes.podspec-volumes-emptydir",
    "persistentVolumeClaim": "kubernetes.podspec-persistent-volume-claim",
    "hostPath": "kubernetes.podspec-volumes-hostpath",
    "csi": "kubernetes.podspec-volumes-csi",
    "ephemeral": "kubernetes.podspec-volumes-ephemeral",
    "image": "kubernetes.podspec-volumes-image",
}
VOLUME_SOURCES = ("secret", "configMap", "projected", *VOLUME_FLAGS)
WRITABLE_VOLUMES = ("emptyDir", "persistentVolumeClaim", "ephemeral")
RESERVED_MOUNT_PATHS = {"/", "/dev", "/dev/log"}
RESERVED_ENV = {"PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"}
RESERVED_PORTS = {8012, 8013, 8022, 9090, 9091, 8008}  # queue-proxy's and the profiler's
PORT_NAMES = {"", "h2c", "http1"}
_IMAGE = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::\d+)?/)?"  # registry
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"  # path
    r"(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$"  # tag, digest
)


def must_not_set(document: Document, where: str, hint: str = "") -> None:
    """Knative's wording for a field its webhook strips from the allowed set."""
    document.error(where, f"must not set the field(s): {where}{hint}")


# --- Service ------------------------------------------------------------------------------------
def check_service(document: Document, cluster: Cluster) -> None:
    name = document.name
    if name and not is_dns1035_label(name):
        document.error("metadata.name", f"{name!r} is not a DNS-1035 label (a-z, 0-9, -)")
    for key in mapping(document.metadata.get("annotations")):
        if key.startswith(AUTOSCALING):
            document.error(
                f"metadata.annotations.{key}",
                'autoscaling annotations must be put under "spec.template.metadata.annotations" '
                "to work",
            )
    spec = mapping(document.body.get("spec"))
    template = mapping(spec.get("template"))
    meta = mapping(template.get("metadata"))
    where = "spec.template"
    check_autoscaling(document, at(where, "metadata.annotations"), meta.get("annotations"), cluster)
    revision = meta.get("name")
    if isinstance(revision, str) and revision:
        if not is_dns1035_label(revision):
            document.error(f"{where}.metadata.name", f"{revision!r} is not a DNS-1035 label")
        elif name and not revision.startswith(f"{name}-"):
            document.error(f"{where}.metadata.name", f"{revision!r} must have prefix {name}-")
    check_revision_spec(document, at(where, "spec"), mapping(template.get("spec")), cluster)


def check_autoscaling(document: Document, where: str, annotations: Any, cluster: Cluster) -> None:
    """The ``autoscaling.knative.dev/*`` annotations of a revision template."""
    values: dict[str, str] = {}
    keys: dict[str, str] = {}
    for key, value in mapping(annotations).items():
        domain = key.partition("/")[0]
        if domain != "autoscaling.knative.dev" and closest(domain, list(KNATIVE_DOMAINS)):
            document.warning(
                at(where, key), f"{domain} looks like a misspelling of a Knative domain"
            )
        if not key.startswith(AUTOSCALING):
            continue
        short = _AUTOSCALING_KEYS.get(key.removeprefix(AUTOSCALING))
        if short is None:
            document.warning(at(where, key), "Knative ignores this unknown autoscaling annotation")
            continue
        values[short], keys[short] = str(value), at(where, key)

    def bad(short: str, message: str = "") -> None:
        document.error(keys[short], message or f"invalid value: {values[short]!r}")

    klass = values.get("class", cluster.pod_autoscaler_class)
    if "class" in values and klass.endswith(".knative.dev") and klass not in (KPA, HPA):
        bad("class")
    scale = {}
    for short in ("min-scale", "max-scale"):
        if short in values:
            number = _int(values[short])
            if number is None or not 0 <= number <= MAX_INT32:
                bad(short, f"expected an integer from 0 to {MAX_INT32}, got {values[short]!r}")
            else:
                scale[short] = number
    low, high = scale.get("min-scale", 0), scale.get("max-scale", 0)
    if high and high < low:
        bad("max-scale", f"max-scale={high} is less than min-scale={low}")
    limit = cluster.max_scale_limit
    if limit and "max-scale" in scale and (high == 0 or high > limit):
        bad("max-scale", f"must be from 1 to max-scale-limit {limit}")
    if "activation-scale" in values:
        activation = _int(values["activation-scale"])
        if activation is None:
            bad("activation-scale")
        elif activation < 2:
            bad("activation-scale", f"activation-scale={activation} must be greater than 1")
        elif low > activation or (high and high < activation):
            bad("activation-scale", "must lie between min-scale and max-scale")
    for short, lowest, highest in (
        ("panic-window-percentage", 1.0, 100.0),
        ("panic-threshold-percentage", 110.0, 1000.0),
        ("target-utilization-percentage", 1.0, 100.0),
        ("target", 0.01, float("inf")),
    ):
        if short in values:
            number = _float(values[short])
            if number is None or not lowest <= number <= highest:
                bad(
                    short,
                    f"expected a number from {lowest:g} to {highest:g}, got {values[short]!r}",
                )
    if "target-burst-capacity" in values:
        number = _float(values["target-burst-capacity"])
        if number is None or (number < 0 and number != -1):
            bad("target-burst-capacity")
    for short, lowest in (
        ("window", 6.0),
        ("scale-down-delay", 0.0),
        ("scale-to-zero-pod-retention-period", 0.0),
    ):
        if short in values:
            seconds = go_duration(values[short])
            if seconds is None:
                bad(short, f"not a duration (e.g. 30s, 2m): {values[short]!r}")
            elif not lowest <= seconds <= WINDOW_MAX_S:
                bad(short, f"must be from {lowest:g}s to 1h, got {values[short]!r}")
            elif short != "scale-to-zero-pod-retention-period" and seconds != round(seconds):
                bad(short, "must be specified with at most second precision")
    if "metric" in values:
        metric = values["metric"]
        if (klass == KPA and metric not in ("concurrency", "rps")) or (klass == HPA and not metric):
            bad(
                "metric",
                f"invalid value: {metric!r} (the {klass} class scales on "
                f"{'concurrency or rps' if klass == KPA else 'cpu, memory or a custom metric'})",
            )
    if klass == KPA and values.get("metric-aggregation-algorithm", "linear") not in (
        "linear",
        "weighted-exponential",
        "weightedExponential",
    ):
        bad("metric-aggregation-algorithm")
    if "initial-scale" in values:
        initial = _int(values["initial-scale"])
        if initial is None or initial < 0:
            bad("initial-scale")
        elif initial == 0 and not cluster.allow_zero_initial_scale:
            bad(
                "initial-scale",
                "initial-scale=0 not allowed by cluster (needs allow-zero-initial-scale: "
                '"true" in config-autoscaler)',
            )


def _int(value: str) -> int | None:
    return int(value) if re.fullmatch(r"[+-]?\d+", value) else None


def _float(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


# --- revision template spec ---------------------------------------------------------------------
def check_revision_spec(
    document: Document, where: str, spec: dict[str, Any], cluster: Cluster
) -> None:
    concurrency = spec.get("containerConcurrency")
    if isinstance(concurrency, int):
        lowest = 0 if cluster.allow_container_concurrency_zero else 1
        if not lowest <= concurrency <= cluster.container_concurrency_max:
            document.error(
                at(where, "containerConcurrency"),
                f"expected {lowest} <= {concurrency} <= {cluster.container_concurrency_max}",
            )
    timeout = spec.get("timeoutSeconds")
    if isinstance(timeout, int) and not 0 <= timeout <= cluster.max_revision_timeout_seconds:
        document.error(
            at(where, "timeoutSeconds"),
            f"expected 0 <= {timeout} <= {cluster.max_revision_timeout_seconds} "
            "(max-revision-timeout-seconds)",
        )
    check_pod_spec(document, where, spec, cluster)


def check_pod_spec(document: Document, where: str, pod: dict[str, Any], cluster: Cluster) -> None:
    for field, flag in POD_FIELD_FLAGS.items():
        if field in pod and not cluster.allows(flag):
            must_not_set(
                document,
                at(where, field),
                f" (needs {flag}: enabled in config-features of knative-serving)",
            )
    if pod.get("automountServiceAccountToken") is True:
        must_not_set(document, at(where, "automountServiceAccountToken"), " (only false)")
    pod_security = mapping(pod.get("securityContext"))
    if cluster.allows("kubernetes.podspec-securitycontext"):
        for field in sorted(set(pod_security) - POD_SECURITY_FIELDS):
            must_not_set(document, at(where, f"securityContext.{field}"))
    account = pod.get("serviceAccountName")
    if isinstance(account, str) and account and not is_dns1123_subdomain(account):
        document.error(at(where, "serviceAccountName"), f"{account!r} is not a DNS-1123 subdomain")

    containers = [mapping(c) for c in sequence(pod.get("containers"))]
    mounted = {
        m.get("name") for c in containers for m in map(mapping, sequence(c.get("volumeMounts")))
    }
    volumes = check_volumes(
        document, at(where, "volumes"), sequence(pod.get("volumes")), mounted, cluster
    )
    if not containers:
        document.error(at(where, "containers"), "missing field(s)")
    if len(containers) > 1 and not cluster.enabled("multi-container"):
        document.error(
            at(where, "containers"),
            f"multi-container is off, but found {len(containers)} containers",
        )
    with_ports = [c for c in containers if sequence(c.get("ports"))]
    if sum(len(sequence(c.get("ports"))) for c in containers) > 1:
        document.error(at(where, "containers[*].ports"), "more than one container port is set")
    elif len(containers) > 1 and not with_ports:
        document.error(
            at(where, "containers[*].ports"),
            "missing field(s): ports (one container must declare the serving port)",
        )
    serving = with_ports[0] if with_ports else (containers[0] if len(containers) == 1 else None)
    port_name = (
        mapping((sequence(serving.get("ports")) or [{}])[0]).get("name", "") if serving else ""
    )
    names: set[str] = set()
    for i, container in enumerate(containers):
        here = at(at(where, "containers"), i)
        name = container.get("name", "")
        if name in names:
            document.error(at(here, "name"), f"duplicate container name {name!r}")
        names.add(name)
        check_container(document, here, container, volumes, cluster, serving=container is serving)
        check_probes(
            document,
            here,
            container,
            port_name or "http",
            serving=container is serving,
            cluster=cluster,
        )
        if cluster.serving["secure-pod-defaults"] not in ("enabled", "allowrootbounded"):
            warn_insecure_defaults(
                document,
                at(here, "securityContext"),
                pod_security,
                mapping(container.get("securityContext")),
            )
    check_placement(document, where, pod)


def check_volumes(
    document: Document, where: str, volumes: list[Any], mounted: set[Any], cluster: Cluster
) -> dict[str, dict[str, Any]]:
    by_name: dict[str, dict[str, Any]] = {}
    for i, volume in enumerate(map(mapping, volumes)):
        here = at(where, i)
        name = str(volume.get("name", ""))
        if name in by_name:
            document.error(at(here, "name"), f"duplicate volume name {name!r}")
        if not is_dns1123_label(name):
            document.error(at(here, "name"), f"{name!r} is not a DNS-1123 label")
        if name not in mounted:
            document.error(at(here, "name"), f"volume with name {name!r} not mounted")
        sources = [s for s in VOLUME_SOURCES if s in volume]
        if len(sources) != 1:
            document.error(here, f"expected exactly one volume source, got {sources or 'none'}")
        for source in sources:
            flag = VOLUME_FLAGS.get(source)
            if flag and not cluster.enabled(flag):
                document.error(
                    at(here, source),
                    f"{source} volume support is disabled, but found volume {name!r} "
                    f"(needs {flag}: enabled)",
                )
        empty = volume.get("emptyDir")
        if isinstance(empty, dict):
            if empty.get("medium", "") not in ("", "Memory"):
                document.error(
                    at(here, "emptyDir.medium"),
                    f'invalid value: {empty["medium"]!r} ("" or Memory)',
                )
            if "sizeLimit" in empty and not is_quantity(empty["sizeLimit"]):
                document.error(
                    at(here, "emptyDir.sizeLimit"), f"not a quantity: {empty['sizeLimit']!r}"
                )
        claim = mapping(volume.get("persistentVolumeClaim"))
        if (
            claim
            and not claim.get("readOnly")
            and not cluster.enabled("kubernetes.podspec-persistent-volume-write")
        ):
            document.error(
                at(here, "persistentVolumeClaim"),
                "a writable claim needs kubernetes.podspec-persistent-volume-write: enabled",
            )
        by_name[name] = volume
    return by_name


def check_container(
    document: Document,
    where: str,
    container: dict[str, Any],
    volumes: dict[str, dict[str, Any]],
    cluster: Cluster,
    *,
    serving: bool,
) -> None:
    if container.get("name") == "queue-proxy":
        document.error(at(where, "name"), '"queue-proxy" is a reserved container name')
    image = container.get("image")
    if not image:
        document.error(at(where, "image"), "missing field(s)")
    elif not isinstance(image, str) or not _IMAGE.match(image):
        document.error(at(where, "image"), f"Failed to parse image reference {image!r}")
    reserved = RESERVED_ENV if serving else RESERVED_ENV - {"PORT"}
    for i, env in enumerate(map(mapping, sequence(container.get("env")))):
        here = at(at(where, "env"), i)
        if env.get("name") in reserved:
            document.error(at(here, "name"), f"{env['name']!r} is a reserved environment variable")
        source = mapping(env.get("valueFrom"))
        for ref in ("fieldRef", "resourceFieldRef"):
            if ref in source and not cluster.allows("kubernetes.podspec-fieldref"):
                must_not_set(
                    document, at(here, f"valueFrom.{ref}"), " (needs kubernetes.podspec-fieldref)"
                )
    for i, source in enumerate(map(mapping, sequence(container.get("envFrom")))):
        if ("configMapRef" in source) == ("secretRef" in source):
            document.error(
                at(at(where, "envFrom"), i), "expected exactly one of configMapRef, secretRef"
            )
    ports = [mapping(p) for p in sequence(container.get("ports"))]
    for i, port in enumerate(ports):
        here = at(at(where, "ports"), i)
        number = port.get("containerPort")
        if number in RESERVED_PORTS:
            document.error(
                at(here, "containerPort"),
                f"{number} is a reserved port, please use a different value",
            )
        if i == 0 and port.get("protocol", "TCP") != "TCP":
            document.error(at(here, "protocol"), f"invalid value: {port['protocol']!r} (TCP only)")
        if i == 0 and port.get("name", "") not in PORT_NAMES:
            document.error(
                at(here, "name"), f"Port name {port['name']} is not allowed (empty, h2c or http1)"
            )
    for part in ("requests", "limits"):
        for resource, value in mapping(mapping(container.get("resources")).get(part)).items():
            if not is_quantity(value):
                document.error(
                    at(where, f"resources.{part}.{resource}"), f"not a quantity: {value!r}"
                )
    security = mapping(container.get("securityContext"))
    for field in sorted(set(security) - CONTAINER_SECURITY_FIELDS):
        must_not_set(document, at(where, f"securityContext.{field}"))
    if security.get("privileged") is True:
        must_not_set(document, at(where, "securityContext.privileged"), " (only false)")
    if mapping(security.get("capabilities")).get("add") and not cluster.enabled(
        "kubernetes.containerspec-addcapabilities"
    ):
        must_not_set(
            document,
            at(where, "securityContext.capabilities.add"),
            " (needs kubernetes.containerspec-addcapabilities: enabled)",
        )
    check_mounts(
        document,
        at(where, "volumeMounts"),
        sequence(container.get("volumeMounts")),
        volumes,
        cluster,
    )


def check_mounts(
    document: Document,
    where: str,
    mounts: list[Any],
    volumes: dict[str, dict[str, Any]],
    cluster: Cluster,
) -> None:
    paths: set[str] = set()
    for i, mount in enumerate(map(mapping, mounts)):
        here = at(where, i)
        volume = volumes.get(str(mount.get("name")))
        if volume is None:
            document.error(at(here, "name"), "volumeMount has no matching volume")
            volume = {}
        path = str(mount.get("mountPath", ""))
        clean = posixpath.normpath(path) if path else ""
        if not path:
            document.error(at(here, "mountPath"), "missing field(s)")
        elif clean in RESERVED_MOUNT_PATHS:
            document.error(at(here, "mountPath"), f"mountPath {clean!r} is a reserved path")
        elif not posixpath.isabs(path):
            document.error(at(here, "mountPath"), f"invalid value: {path!r} (an absolute path)")
        elif clean in paths:
            document.error(at(here, "mountPath"), f"{path!r} must be unique")
        paths.add(clean)
        writable = any(source in volume for source in WRITABLE_VOLUMES)
        if volume and not writable and not mount.get("readOnly"):
            document.error(
                at(here, "readOnly"), "volume mount should be readOnly for this type of volume"
            )
        if mapping(volume.get("persistentVolumeClaim")).get("readOnly") and not mount.get(
            "readOnly"
        ):
            document.error(at(here, "readOnly"), "volume is readOnly but volume mount is not")
        if "mountPropagation" in mount:
            if not cluster.enabled("kubernetes.podspec-volumes-mount-propagation"):
                must_not_set(
                    document,
                    at(here, "mountPropagation"),
                    " (needs kubernetes.podspec-volumes-mount-propagation)",
                )
            elif mount["mountPropagation"] not in ("None", "HostToContainer"):
                document.error(
                    at(here, "mountPropagation"),
                    "mount propagation should be set to None or HostToContainer",
                )
        for field in ("subPathExpr", "recursiveReadOnly"):
            if field in mount:
                must_not_set(document, at(here, field))


def check_probes(
    document: Document,
    where: str,
    container: dict[str, Any],
    port_name: str,
    *,
    serving: bool,
    cluster: Cluster,
) -> None:
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(kind)
        if not isinstance(probe, dict):
            continue
        here = at(where, kind)
        if not serving and not cluster.enabled("multi-container-probing"):
            must_not_set(document, here, " (a sidecar probe needs multi-container-probing)")
            continue
        handlers = [h for h in ("httpGet", "tcpSocket", "exec", "grpc") if h in probe]
        if len(handlers) != 1:
            document.error(
                here, f"expected exactly one of httpGet, tcpSocket, exec, grpc; got {handlers}"
            )
        for handler in ("httpGet", "tcpSocket"):
            port = mapping(probe.get(handler)).get("port")
            if serving and isinstance(port, str) and port != port_name:
                document.error(
                    at(here, f"{handler}.port"),
                    f"Probe port must match container port ({port_name})",
                )
            if not serving and handler in probe and port in (None, 0, ""):
                document.error(at(here, f"{handler}.port"), "Probe port must be specified")
        if kind != "readinessProbe":
            continue
        number = {f: v for f, v in probe.items() if isinstance(v, int)}  # the schema saw to types
        for field in ("periodSeconds", "initialDelaySeconds"):
            if number.get(field, 0) < 0:
                document.error(at(here, field), "must not be negative")
        if number.get("successThreshold", 1) < 1:
            document.error(at(here, "successThreshold"), "must be at least 1")
        if number.get("periodSeconds", 0) == 0:
            # Knative's own aggressive readiness probing: no thresholds of its own.
            for field in ("failureThreshold", "timeoutSeconds"):
                if number.get(field, 0) != 0:
                    document.error(
                        at(here, field), f"{field} is disallowed when periodSeconds is zero"
                    )
        else:
            for field in ("failureThreshold", "timeoutSeconds"):
                if number.get(field, 1) < 1:
                    document.error(at(here, field), "must be at least 1")


def warn_insecure_defaults(
    document: Document, where: str, pod: dict[str, Any], security: dict[str, Any]
) -> None:
    """Knative's warnings for securityContext fields left at Kubernetes' insecure defaults
    (``pod`` is the pod-level securityContext, which can supply two of them)."""

    def insecure(field: str) -> None:
        document.warning(
            at(where, field),
            "Kubernetes default value is insecure, Knative may default this to secure in a "
            "future release",
        )

    if "runAsNonRoot" not in security and "runAsNonRoot" not in pod:
        insecure("runAsNonRoot")
    if "allowPrivilegeEscalation" not in security:
        insecure("allowPrivilegeEscalation")
    seccomp = mapping(security.get("seccompProfile")) or mapping(pod.get("seccompProfile"))
    if not seccomp.get("type"):
        insecure("seccompProfile.type")
    drop = mapping(security.get("capabilities")).get("drop")
    if drop is None:
        insecure("capabilities.drop")
    elif drop and drop[0] == "all":
        document.warning(at(where, "capabilities.drop"), "Must be spelled as 'ALL'")


# --- what kube-apiserver checks when Knative creates the Deployment ----------------------------
def check_placement(document: Document, where: str, pod: dict[str, Any]) -> None:
    for i, toleration in enumerate(map(mapping, sequence(pod.get("tolerations")))):
        here = at(at(where, "tolerations"), i)
        operator = toleration.get("operator", "Equal")
        key = toleration.get("key", "")
        if operator not in ("Equal", "Exists"):
            document.error(
                at(here, "operator"), f"Unsupported value: {operator!r} (Equal or Exists)"
            )
        if operator == "Exists" and toleration.get("value"):
            document.error(at(here, "value"), "must be empty when operator is Exists")
        if not key and operator != "Exists":
            document.error(at(here, "key"), "an empty key needs operator Exists")
        if key and not is_label_key(key):
            document.error(at(here, "key"), f"{key!r} is not a valid label key")
        if toleration.get("value") and not is_label_value(str(toleration["value"])):
            document.error(at(here, "value"), f"{toleration['value']!r} is not a valid label value")
        effect = toleration.get("effect", "")
        if effect not in ("", "NoSchedule", "PreferNoSchedule", "NoExecute"):
            document.error(at(here, "effect"), f"Unsupported value: {effect!r}")
        if "tolerationSeconds" in toleration and effect != "NoExecute":
            document.error(at(here, "tolerationSeconds"), "only for effect NoExecute")
    for key, value in mapping(pod.get("nodeSelector")).items():
        if not is_label_key(key) or not is_label_value(str(value)):
            document.error(at(at(where, "nodeSelector"), key), f"not a valid label {key}={value}")
    affinity = mapping(mapping(pod.get("affinity")).get("nodeAffinity"))
    required = mapping(affinity.get("requiredDuringSchedulingIgnoredDuringExecution"))
    base = at(where, "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution")
    terms = sequence(required.get("nodeSelectorTerms"))
    if required and not terms:
        document.error(at(base, "nodeSelectorTerms"), "must have at least one node selector term")
    for i, term in enumerate(map(mapping, terms)):
        for j, expression in enumerate(map(mapping, sequence(term.get("matchExpressions")))):
            _check_node_requirement(
                document, f"{base}.nodeSelectorTerms[{i}].matchExpressions[{j}]", expression
            )
    preferred = sequence(affinity.get("preferredDuringSchedulingIgnoredDuringExecution"))
    for i, term in enumerate(map(mapping, preferred)):
        weight = term.get("weight")
        here = at(
            where, f"affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
        )
        if not isinstance(weight, int) or not 1 <= weight <= 100:
            document.error(at(here, "weight"), "must be from 1 to 100")
        for j, expression in enumerate(
            map(mapping, sequence(mapping(term.get("preference")).get("matchExpressions")))
        ):
            _check_node_requirement(
                document, f"{here}.preference.matchExpressions[{j}]", expression
            )


def _check_node_requirement(document: Document, where: str, requirement: dict[str, Any]) -> None:
    key, operator = str(requirement.get("key", "")), requirement.get("operator")
    values = sequence(requirement.get("values"))
    if not is_label_key(key):
        document.error(at(where, "key"), f"{key!r} is not a valid label key")
    if operator in ("In", "NotIn") and not values:
        document.error(at(where, "values"), f"must be specified when operator is {operator}")
    elif operator in ("Exists", "DoesNotExist") and values:
        document.error(at(where, "values"), f"may not be specified when operator is {operator}")
    elif operator in ("Gt", "Lt") and (
        len(values) != 1 or not re.fullmatch(r"-?\d+", str(values[0]))
    ):
        document.error(at(where, "values"), f"must be a single integer when operator is {operator}")
    elif operator not in ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"):
        document.error(at(where, "operator"), f"Unsupported value: {operator!r}")
    for i, value in enumerate(values):
        if not is_label_value(str(value)):
            document.error(at(at(where, "values"), i), f"{value!r} is not a valid label value")
