"""The deployment manifests: valid for Knative offline, and consistent with the code and each other.

A broken manifest shows up late on a cluster: as a webhook rejection at `kubectl apply`, or worse as
a revision that never becomes ready, an event nobody consumes, or a `func deploy` that silently
undoes a setting. These tests catch that before a cluster sees it:

- every YAML under knative/, eventing/ and functions/*/func.yaml passes the project's offline
  checks (``tools/knative_check``: CRD schemas + Knative webhook rules + core Kubernetes schemas),
  without warnings, and yamllint; the rendered kustomizations too when kubectl or kustomize is
  installed; broken copies of the tree prove that the checks can fail;
- the event contract (``colorseason.events``) is routed as docs/design.md#who-gets-which-event
  says, through the same Trigger filters the local broker applies;
- func.yaml, knative/ and eventing/ agree (scale, resources, env, volumes, subscriptions);
- the AI pool scales to zero on concurrency and is pinned to inference nodes, the web pool is not;
- the images install only their extra, as a non-root user, with no jax and no matplotlib in the
  analyze image, whose pipeline runs without them.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import runpy
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from colorseason import events
from colorseason.config import Settings
from colorseason.local.broker import compile_attribute_filter, load_topology, read_manifests

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "tools" / "knative_check" / "schemas"
FUNCTIONS = ("analyze", "status", "results")
WEB_POOL = ("status", "results")
WEB_POOL_DOCKERFILE = ROOT / "functions" / "web-pool.Dockerfile"
MANIFEST_DIRS = ("knative", "eventing", "functions")
POOL_KEY, POOL_VALUE = "colorseason.dev/pool", "inference"
AUTOSCALING = "autoscaling.knative.dev/"
PING_TYPE = "dev.knative.sources.ping"

# Who produces each contract event (events.SOURCE_*), as the routing checks need a source too.
PRODUCER = {
    events.REQUESTED: events.SOURCE_ANALYZE,
    events.STARTED: events.SOURCE_ANALYZE,
    events.COMPLETED: events.SOURCE_ANALYZE,
    events.FAILED: events.SOURCE_ANALYZE,
    events.PURGE: events.SOURCE_PURGE,
    events.STORED: events.SOURCE_RESULTS,
    events.DELETED: events.SOURCE_RESULTS,
}

# docs/design.md#who-gets-which-event: which functions consume each event type.
EXPECTED_ROUTES = {
    events.REQUESTED: {"analyze", "status"},
    events.STARTED: {"status"},
    events.COMPLETED: {"status", "results"},
    events.FAILED: {"status"},
    events.PURGE: {"results"},
    events.STORED: {"status"},
    events.DELETED: {"status"},
}


# --- helpers ------------------------------------------------------------------------------------
def _documents(directory: str) -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted((ROOT / directory).rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text("utf-8")):
            if isinstance(doc, dict) and "kind" in doc:
                yield path, doc


def _objects(directory: str, kind: str) -> dict[str, dict[str, Any]]:
    """Objects of one kind by name; kustomize patches (overlays) are left out."""
    return {
        doc["metadata"]["name"]: doc
        for path, doc in _documents(directory)
        if doc["kind"] == kind
        and "overlays" not in path.parts
        and path.name != "kustomization.yaml"
    }


def _services() -> dict[str, dict[str, Any]]:
    return {
        name: doc
        for name, doc in _objects("knative", "Service").items()
        if doc["apiVersion"] == "serving.knative.dev/v1"
    }


def _func_yaml(name: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "functions" / name / "func.yaml").read_text("utf-8"))


def _pod(service: dict[str, Any]) -> dict[str, Any]:
    return service["spec"]["template"]["spec"]


def _container(service: dict[str, Any]) -> dict[str, Any]:
    (container,) = _pod(service)["containers"]
    return container


def _annotations(service: dict[str, Any]) -> dict[str, str]:
    return service["spec"]["template"]["metadata"].get("annotations", {})


def _validate(*args: str) -> subprocess.CompletedProcess[str]:
    """The offline checks, run as docs/deploy.md tells users to run them."""
    return subprocess.run(
        [sys.executable, "-m", "tools.knative_check", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _topology() -> Any:
    return load_topology(
        read_manifests(ROOT / "eventing"), {name: f"http://{name}" for name in FUNCTIONS}
    )


def _consumers(attributes: dict[str, str]) -> set[str]:
    """The functions the eventing/ Triggers deliver an event with these attributes to."""
    return {
        t.subscriber.removeprefix("http://").split("/")[0]
        for t in _topology().triggers
        if t.matches(attributes)
    }


def _event(event_type: str, source: str | None = None) -> dict[str, str]:
    return {
        "specversion": "1.0",
        "id": "1",
        "type": event_type,
        "source": source or PRODUCER[event_type],
    }


def _dockerfile(name: str) -> str:
    """The Dockerfile of ``name``'s image as Docker reads it for that image: the web pool shares
    one, with the function as its FUNCTION build argument."""
    if name in WEB_POOL:
        return WEB_POOL_DOCKERFILE.read_text("utf-8").replace("${FUNCTION}", name)
    return (ROOT / "functions" / name / "Dockerfile").read_text("utf-8")


def _server(name: str) -> tuple[str, dict[str, Any]]:
    """The server and settings the image's CMD runs ``name`` with: functions/serve.py picks
    granian for a function with granian.conf.py, gunicorn (gunicorn.conf.py) otherwise."""
    cmd = re.findall(r"^CMD (.+)$", _dockerfile(name), re.MULTILINE)
    assert cmd and "python /app/functions/serve.py" in cmd[-1].replace('", "', " "), cmd
    assert name in cmd[-1], cmd
    for server in ("granian", "gunicorn"):
        settings = ROOT / "functions" / name / f"{server}.conf.py"
        if settings.is_file():
            return server, runpy.run_path(str(settings))
    raise AssertionError(f"functions/{name} has no server settings")


# --- the offline checks and yamllint ------------------------------------------------------------
def test_manifests_pass_the_offline_checks_without_warnings() -> None:
    result = _validate("-q", "--warnings-as-errors", *MANIFEST_DIRS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.fullmatch(r"\d+ objects, 0 errors, 0 warnings\n", result.stdout), result.stdout
    assert int(result.stdout.split()[0]) >= 30, "the checks must have found the manifests"


# One known mistake each, the kind a cluster rejects (or accepts and never runs): the checks must
# name it. (file, text in it, the mistake, what the report must say)
BROKEN_COPIES = [
    (
        "knative/cluster/config-features.yaml",
        "kubernetes.podspec-tolerations: enabled",
        "kubernetes.podspec-tolerations: disabled",
        "must not set the field(s): spec.template.spec.tolerations",
    ),
    (  # a namespace: moves config-features out of knative-serving, so its flags stop applying
        "knative/cluster/kustomization.yaml",
        "kind: Kustomization\n",
        "kind: Kustomization\nnamespace: colorseason\n",
        "must not set the field(s): spec.template.spec.affinity",
    ),
    (
        "knative/base/analyze.yaml",
        "  labels:\n    app.kubernetes.io/name: analyze\n",
        '  annotations:\n    autoscaling.knative.dev/min-scale: "1"\n'
        "  labels:\n    app.kubernetes.io/name: analyze\n",
        'autoscaling annotations must be put under "spec.template.metadata.annotations"',
    ),
    (
        "knative/base/analyze.yaml",
        "    metadata:\n      annotations:",
        "    metadata:\n      annotation:",
        "spec.template.metadata: unknown field(s): annotation",
    ),
    (
        "knative/base/analyze.yaml",
        'autoscaling.knative.dev/min-scale: "0"',
        'autoscaling.knative.dev/min-scale: "20"',
        "max-scale=10 is less than min-scale=20",
    ),
    (
        "knative/base/analyze.yaml",
        'autoscaling.knative.dev/scale-down-delay: "2m"',
        'autoscaling.knative.dev/scale-down-delay: "2 minutes"',
        "autoscaling.knative.dev/scale-down-delay: not a duration",
    ),
    (
        "knative/base/analyze.yaml",
        "containerConcurrency: 2",
        "containerConcurrency: 2000",
        "spec.template.spec.containerConcurrency: expected 0 <= 2000 <= 1000",
    ),
    (
        "knative/base/analyze.yaml",
        "operator: Equal",
        "operator: equal",
        "tolerations[0].operator: Unsupported value: 'equal'",
    ),
    (
        "knative/base/analyze.yaml",
        "          volumeMounts:\n            - name: scratch",
        "          volumeMounts:\n            - name: scrach",
        "volumeMount has no matching volume",
    ),
    (
        "eventing/broker.yaml",
        "backoffPolicy: exponential",
        "backoffPolicy: Exponential",
        "spec.delivery.backoffPolicy: invalid value: 'Exponential'",
    ),
    (
        "eventing/broker.yaml",
        "backoffDelay: PT0.5S",
        "backoffDelay: 500ms",
        "spec.delivery.backoffDelay: invalid value: '500ms' (an ISO-8601 duration",
    ),
    (
        "eventing/broker.yaml",
        "      uri: /deadletter",
        "      uri: http://status.colorseason.svc/deadletter",
        "Absolute URI is not allowed when Ref",
    ),
    (
        "eventing/triggers.yaml",
        "    - prefix:\n        type: dev.colorseason.analysis.\n",
        "    - prefix:\n        type: dev.colorseason.analysis.\n      exact:\n        source: x\n",
        "filters can have only one dialect set",
    ),
    (
        "eventing/triggers.yaml",
        "    - suffix:\n        source: /pingsources/results-purge",
        "    - suffix:\n        Source: /pingsources/results-purge",
        "invalid key name 'Source'",
    ),
    (
        "eventing/sources.yaml",
        'schedule: "7 * * * *"',
        'schedule: "@every 1h"',
        "unsupported descriptor @every",
    ),
    (
        "functions/analyze/func.yaml",
        "namespace: colorseason\ninvoke: http\n",
        "namespace: colorseason\ninvoke: http\nbuild:\n  builder: docker\n",
        "build.builder: 'docker' is not one of",
    ),
    (
        "functions/analyze/func.yaml",
        "      min: 0\n",
        "      min: 11\n",
        "max 10 must be greater or equal to min 11",
    ),
    (
        "knative/base/kustomization.yaml",
        "  - networkpolicies.yaml\n",
        "  - networkpolicy.yaml\n",
        "networkpolicy.yaml: no such file or directory",
    ),
    (
        "knative/base/config.yaml",
        "  LOG_LEVEL: INFO\n",
        "  LOG_LEVEL: INFO\n  LOG_LEVEL: DEBUG\n",
        "duplicate key 'LOG_LEVEL'",
    ),
]


@pytest.mark.parametrize(("file", "old", "new", "message"), BROKEN_COPIES)
def test_the_checks_reject_a_broken_copy(
    tmp_path: Path, file: str, old: str, new: str, message: str
) -> None:
    """Proves the check above can fail: the same tree with one known mistake must not pass."""
    for directory in MANIFEST_DIRS:
        shutil.copytree(ROOT / directory, tmp_path / directory)
    target = tmp_path / file
    text = target.read_text("utf-8")
    assert old in text, f"{file} changed: update this test's mutation"
    target.write_text(text.replace(old, new, 1), "utf-8")
    result = _validate("-q", *(str(tmp_path / d) for d in MANIFEST_DIRS))
    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stdout, result.stdout


@pytest.mark.parametrize(
    ("args", "status", "says"),
    [
        (["--features", "tolerashuns", "knative"], 2, "unknown feature flag"),
        (["eventing/schemas"], 1, "nothing to check"),
        (["no-such-directory"], 2, "no such file or directory"),
    ],
)
def test_the_checks_refuse_what_they_cannot_check(args: list[str], status: int, says: str) -> None:
    """A typo in a flag or a path without manifests is never a silent pass."""
    result = _validate(*args)
    assert result.returncode == status, result.stdout + result.stderr
    assert says in result.stderr


def test_the_schemas_are_the_recorded_ones() -> None:
    """The JSON Schemas are generated data (schemas/README.md): edited by hand, they would no
    longer say what Knative says."""
    recorded = {}
    for line in (SCHEMAS / "SHA256SUMS").read_text("utf-8").splitlines():
        digest, name = line.split(maxsplit=1)
        recorded[name] = digest
    present = {p.name for p in SCHEMAS.glob("*.json")}
    assert set(recorded) == present
    for name, digest in recorded.items():
        assert hashlib.sha256((SCHEMAS / name).read_bytes()).hexdigest() == digest, name


def test_rendered_kustomizations_pass_the_offline_checks(tmp_path: Path) -> None:
    """kustomize output (namespace, image digests, patches applied) is what a cluster receives."""
    if shutil.which("kustomize"):
        render = ["kustomize", "build"]
    elif shutil.which("kubectl"):
        render = ["kubectl", "kustomize"]
    else:
        pytest.skip(
            "NOT CHECKED: the rendered kustomizations (neither kustomize nor kubectl is on PATH; "
            "install either to check what a cluster would receive)"
        )
    kustomizations = ("knative/cluster", "knative/overlays/production")
    for i, directory in enumerate(kustomizations):
        out = subprocess.run(
            [*render, str(ROOT / directory)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert out.returncode == 0, out.stderr
        (tmp_path / f"{i}.yaml").write_text(out.stdout, "utf-8")
    result = _validate("-q", "--warnings-as-errors", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_yamllint() -> None:
    files = [str(ROOT / d) for d in ("knative", "eventing")]
    files += [str(p) for p in sorted((ROOT / "functions").glob("*/func.yaml"))]
    result = subprocess.run(
        [sys.executable, "-m", "yamllint", "-s", "-c", str(ROOT / ".yamllint"), *files],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- events: contract <-> schemas <-> Triggers --------------------------------------------------
@pytest.mark.parametrize("event_type", events.EVENT_TYPES)
def test_every_event_type_has_a_schema_and_the_designed_consumers(event_type: str) -> None:
    assert (ROOT / "eventing" / "schemas" / events.schema_file_name(event_type)).is_file()
    assert _consumers(_event(event_type)) == EXPECTED_ROUTES[event_type]


def test_the_routing_table_covers_the_whole_contract() -> None:
    assert set(EXPECTED_ROUTES) == set(events.EVENT_TYPES) == set(PRODUCER)


def test_the_scheduled_purge_reaches_results_only() -> None:
    """A PingSource cannot choose its type: its ticks must still reach results (and only it)."""
    (ping,) = _objects("eventing", "PingSource").values()
    assert ping["spec"]["sink"]["ref"]["kind"] == "Broker"
    source = f"/apis/v1/namespaces/any-namespace/pingsources/{ping['metadata']['name']}"
    assert _consumers(_event(PING_TYPE, source)) == {"results"}
    assert _consumers(_event(PING_TYPE, "/apis/v1/namespaces/x/pingsources/other")) == set()


def test_dead_letters_go_to_status() -> None:
    topology = _topology()
    (broker,) = topology.brokers.values()
    assert broker.delivery is not None
    assert broker.delivery.dead_letter_sink == "http://status/deadletter"
    assert broker.delivery.retry >= 1
    assert broker.delivery.backoff_policy == "exponential"


def test_the_stores_triggers_retry_for_hours_and_results_dead_letters_to_status() -> None:
    """A Redis or PostgreSQL outage of hours must not lose a job's state or its result."""
    topology = _topology()
    facts = [_event(t) for t in events.EVENT_TYPES if t != events.PURGE]  # a purge tick recurs
    store_triggers = [
        t
        for t in topology.triggers
        if t.subscriber.split("/")[2] in WEB_POOL and any(t.matches(e) for e in facts)
    ]
    assert len(store_triggers) == 4
    for trigger in store_triggers:
        delivery = topology.delivery_for(trigger)
        budget = sum(delivery.delay(n) for n in range(1, delivery.retry + 1))
        assert budget >= 3 * 3600, (trigger.name, budget)
        assert max(delivery.delay(n) for n in range(1, delivery.retry + 1)) <= 600, trigger.name
        assert delivery.timeout and delivery.timeout <= 30, trigger.name
        if trigger.subscriber.startswith("http://results"):
            assert delivery.dead_letter_sink == "http://status/deadletter"
        else:
            assert delivery.dead_letter_sink is None, "status would dead-letter to itself"


def test_every_reference_names_a_knative_service_defined_in_knative() -> None:
    services = _services()
    refs = []
    for trigger in _objects("eventing", "Trigger").values():
        refs.append(trigger["spec"]["subscriber"]["ref"])
    for broker in _objects("eventing", "Broker").values():
        refs.append(broker["spec"]["delivery"]["deadLetterSink"]["ref"])
    for trigger in _objects("eventing", "Trigger").values():
        if sink := trigger["spec"].get("delivery", {}).get("deadLetterSink"):
            refs.append(sink["ref"])
    for binding in _objects("eventing", "SinkBinding").values():
        refs.append(binding["spec"]["subject"])
    assert refs
    for ref in refs:
        assert ref["apiVersion"] == "serving.knative.dev/v1", ref
        assert ref["kind"] == "Service", ref
        assert ref["name"] in services, ref


def test_functions_that_send_events_get_k_sink_from_a_sinkbinding() -> None:
    brokers = set(_objects("eventing", "Broker"))
    bound = {}
    for binding in _objects("eventing", "SinkBinding").values():
        assert binding["spec"]["sink"]["ref"]["name"] in brokers
        bound[binding["spec"]["subject"]["name"]] = binding
    # analyze sends requested/started; results sends deleted. status sends nothing.
    assert set(bound) == {"analyze", "results"}


# --- func.yaml <-> knative/ <-> eventing/ -------------------------------------------------------
@pytest.mark.parametrize("name", FUNCTIONS)
def test_func_yaml_equals_the_knative_service(name: str) -> None:
    """`func deploy` rewrites these fields from func.yaml: they must say what knative/ says."""
    func, service = _func_yaml(name), _services()[name]
    deploy, options = func["deploy"], func["deploy"]["options"]
    annotations, pod, container = _annotations(service), _pod(service), _container(service)

    scale = options["scale"]
    assert int(annotations[AUTOSCALING + "min-scale"]) == scale["min"]
    assert int(annotations[AUTOSCALING + "max-scale"]) == scale["max"]
    assert annotations[AUTOSCALING + "metric"] == scale["metric"]
    assert float(annotations[AUTOSCALING + "target"]) == scale["target"]
    assert float(annotations[AUTOSCALING + "target-utilization-percentage"]) == scale["utilization"]

    resources = options["resources"]
    assert container["resources"]["requests"] == resources["requests"]
    limits = dict(resources["limits"])
    assert pod["containerConcurrency"] == limits.pop("concurrency")
    assert container["resources"]["limits"] == limits

    assert func["name"] == service["metadata"]["name"]
    assert deploy["namespace"] == func["namespace"] == service["metadata"]["namespace"]
    assert deploy["serviceAccountName"] == pod["serviceAccountName"]
    assert deploy["healthEndpoints"] == {
        "liveness": container["livenessProbe"]["httpGet"]["path"],
        "readiness": container["readinessProbe"]["httpGet"]["path"],
    }

    secrets, literals, config_maps = {}, {}, []
    for env in func["run"]["envs"]:
        whole = re.fullmatch(r"{{ configMap:([-\w]+) }}", env["value"])
        keyed = re.fullmatch(r"{{ secret:([-\w]+):([-.\w]+) }}", env["value"])
        if whole:
            config_maps.append(whole.group(1))
        elif keyed:
            secrets[env["name"]] = {"name": keyed.group(1), "key": keyed.group(2)}
        else:
            assert "{{" not in env["value"], f"func.yaml env {env}: an unknown reference"
            literals[env["name"]] = env["value"]
    referenced = [e for e in container["env"] if "valueFrom" in e]
    assert secrets == {e["name"]: e["valueFrom"]["secretKeyRef"] for e in referenced}
    assert literals == {e["name"]: e["value"] for e in container["env"] if "value" in e}
    assert config_maps == [e["configMapRef"]["name"] for e in container["envFrom"]]

    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
    assert {v["path"]: v["emptyDir"] for v in func["run"]["volumes"]} == {
        path: volume["emptyDir"] for path, volume in mounts.items()
    }


@pytest.mark.parametrize("name", FUNCTIONS)
def test_func_subscriptions_converge_with_the_eventing_triggers(name: str) -> None:
    """func deploy creates Trigger <name>-function-trigger-<i> per subscription: eventing/ defines
    the same names (so no event is delivered twice) and, on the contract's events, the same
    routes."""
    triggers = _objects("eventing", "Trigger")
    by_name = {t.name: t for t in _topology().triggers}
    subscriptions = _func_yaml(name)["deploy"].get("subscriptions", [])
    assert subscriptions, f"functions/{name}/func.yaml has no deploy.subscriptions"
    for i, subscription in enumerate(subscriptions):
        trigger_name = f"{name}-function-trigger-{i}"
        assert trigger_name in triggers, f"eventing/ lacks {trigger_name}"
        spec = triggers[trigger_name]["spec"]
        assert spec["broker"] == subscription["source"]
        assert spec["subscriber"]["ref"]["name"] == name
        func_filter = compile_attribute_filter(subscription.get("filters", {}))
        for event_type in events.EVENT_TYPES:
            attributes = _event(event_type)
            assert by_name[trigger_name].matches(attributes) == func_filter(attributes), (
                f"{trigger_name} and func.yaml subscription {i} disagree on {event_type}"
            )
    own = {n for n, t in triggers.items() if n.startswith(f"{name}-function-trigger-")}
    assert len(own) == len(subscriptions)


# --- the two pools ------------------------------------------------------------------------------
def test_analyze_scales_to_zero_on_concurrency() -> None:
    service = _services()["analyze"]
    annotations, pod = _annotations(service), _pod(service)
    assert annotations[AUTOSCALING + "class"] == "kpa.autoscaling.knative.dev"
    assert annotations[AUTOSCALING + "metric"] == "concurrency"
    assert annotations[AUTOSCALING + "min-scale"] == "0"
    assert int(annotations[AUTOSCALING + "max-scale"]) >= 1
    assert AUTOSCALING + "scale-down-delay" in annotations
    assert 1 <= float(annotations[AUTOSCALING + "target"]) <= pod["containerConcurrency"]
    assert pod["timeoutSeconds"] > 0
    assert not service["metadata"].get("annotations", {}), "autoscaling keys belong on the template"


def test_analyze_is_pinned_to_the_inference_pool() -> None:
    pod = _pod(_services()["analyze"])
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    expressions = [e for t in terms["nodeSelectorTerms"] for e in t["matchExpressions"]]
    assert {"key": POOL_KEY, "operator": "In", "values": [POOL_VALUE]} in expressions
    assert {
        "key": POOL_KEY,
        "operator": "Equal",
        "value": POOL_VALUE,
        "effect": "NoSchedule",
    } in pod["tolerations"]


def test_placement_fields_are_enabled_in_knative_serving() -> None:
    (features,) = (
        doc
        for doc in _objects("knative", "ConfigMap").values()
        if doc["metadata"]["name"] == "config-features"
    )
    assert features["metadata"]["namespace"] == "knative-serving"
    assert features["data"]["kubernetes.podspec-affinity"] == "enabled"
    assert features["data"]["kubernetes.podspec-tolerations"] == "enabled"
    # No kustomization that could move it (a `namespace:`) may include it.
    cluster = yaml.safe_load((ROOT / "knative/cluster/kustomization.yaml").read_text("utf-8"))
    assert "namespace" not in cluster
    for path in (ROOT / "knative").rglob("kustomization.yaml"):
        kustomization = yaml.safe_load(path.read_text("utf-8"))
        if "namespace" in kustomization:
            assert not any("cluster" in r for r in kustomization.get("resources", [])), path


@pytest.mark.parametrize("name", WEB_POOL)
def test_the_web_pool_is_not_pinned_and_never_cold_starts(name: str) -> None:
    service = _services()[name]
    pod = _pod(service)
    assert not {"affinity", "tolerations", "nodeSelector"} & set(pod)
    assert int(_annotations(service)[AUTOSCALING + "min-scale"]) >= 1


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_function_runs_locked_down_with_memory_tmp(name: str) -> None:
    service = _services()[name]
    container, pod = _container(service), _pod(service)
    security = container["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert security["seccompProfile"]["type"] == "RuntimeDefault"
    volumes = {v["name"]: v for v in pod["volumes"]}
    (tmp,) = (m for m in container["volumeMounts"] if m["mountPath"] == "/tmp")
    assert volumes[tmp["name"]]["emptyDir"]["medium"] == "Memory"
    assert volumes[tmp["name"]]["emptyDir"]["sizeLimit"]
    assert container["ports"] == [{"name": "http1", "containerPort": 8080}]
    assert container["resources"]["requests"] and container["resources"]["limits"]


def test_network_policies_keep_each_store_to_its_functions() -> None:
    policies = _objects("knative", "NetworkPolicy")
    stores = {  # what the store pods are labelled (knative/base/networkpolicies.yaml)
        "photos": {"app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": "redis-photos"},
        "jobs": {"app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": "redis-jobs"},
        "postgresql": {"app.kubernetes.io/name": "postgresql"},
    }

    def reached_by(function: str) -> set[str]:
        (policy,) = (
            p
            for p in policies.values()
            if p["spec"]["podSelector"].get("matchLabels", {}).get("serving.knative.dev/service")
            == function
            and "Egress" in p["spec"]["policyTypes"]
        )
        labels = [
            peer["podSelector"].get("matchLabels", {})
            for rule in policy["spec"]["egress"]
            for peer in rule["to"]
            if "namespaceSelector" not in peer
        ]
        return {name for name, selector in stores.items() if selector in labels}

    assert reached_by("analyze") == {"photos", "jobs"}
    assert reached_by("status") == {"jobs"}  # status never sees a photo
    assert reached_by("results") == {"postgresql"}

    def allowed_into(store: str) -> set[str]:
        (policy,) = (
            p
            for p in policies.values()
            if p["spec"]["podSelector"].get("matchLabels") == stores[store]
            and "Ingress" in p["spec"]["policyTypes"]
        )
        names: set[str] = set()
        for rule in policy["spec"]["ingress"]:
            for peer in rule["from"]:
                selector = peer["podSelector"]
                names.update(selector.get("matchLabels", {}).values())
                for expression in selector.get("matchExpressions", []):
                    assert expression["operator"] == "In"
                    names.update(expression["values"])
        return names

    assert allowed_into("photos") == {"analyze"}
    assert allowed_into("jobs") == {"analyze", "status"}
    assert allowed_into("postgresql") == {"results"}


def test_secrets_are_referenced_never_inlined() -> None:
    for path, doc in _documents("knative"):
        if doc["kind"] == "Secret":
            assert path.parent.name == "examples", f"{path}: real Secrets do not belong in git"
    for path in (ROOT / "knative").rglob("kustomization.yaml"):
        text = path.read_text("utf-8")
        assert "examples" not in text and "secretGenerator" not in text, path


def test_overlay_images_cover_every_service_image() -> None:
    overlay = yaml.safe_load(
        (ROOT / "knative/overlays/production/kustomization.yaml").read_text("utf-8")
    )
    pinned = {image["name"] for image in overlay["images"] if image.get("digest")}
    for service in _services().values():
        assert _container(service)["image"].split(":")[0] in pinned


# --- images ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", FUNCTIONS)
def test_dockerfile_installs_only_its_extra_and_runs_as_non_root(name: str) -> None:
    dockerfile = _dockerfile(name)
    syncs = re.findall(r"uv sync ([^\n]+)", dockerfile)
    assert syncs and all(f"--frozen --no-dev --extra {name} " in s + " " for s in syncs), syncs
    user = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)[-1]
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "runAsNonRoot can only verify a numeric, non-zero USER"
    assert int(uid) == _container(_services()[name])["securityContext"]["runAsUser"]
    assert f"FUNCTION_SOURCE=/app/functions/{name}/main.py" in dockerfile
    assert "EXPOSE 8080" in dockerfile


@pytest.mark.parametrize(
    ("function", "builds"), [("status", True), ("results", True), ("analyze", False), ("", False)]
)
def test_the_web_pool_dockerfile_builds_only_status_or_results(function: str, builds: bool) -> None:
    """Its first step refuses a missing or wrong FUNCTION build argument (run here with sh)."""
    text = WEB_POOL_DOCKERFILE.read_text("utf-8").replace("\\\n", "")
    guard = re.search(r'^RUN (case "\$FUNCTION" in .+ esac)$', text, re.MULTILINE)
    assert guard, "the web-pool Dockerfile no longer checks its FUNCTION argument first"
    run = subprocess.run(
        ["sh", "-c", guard.group(1)],
        env={"FUNCTION": function},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (run.returncode == 0) == builds, run.stderr


@pytest.mark.parametrize("name", FUNCTIONS)
def test_the_server_matches_the_service(name: str) -> None:
    """Worker x thread slots equal containerConcurrency (analyze: one, plus one queued); a
    request is never cut by the server before the Service's timeout would cut it."""
    server, settings = _server(name)
    pod = _pod(_services()[name])
    if server == "granian":
        assert name == "status", "granian serves status, whose polls need it"
        slots = settings["workers"] * settings["blocking_threads"]
        assert settings["workers_kill_timeout"] < pod["timeoutSeconds"]
        assert settings["log_access"] is False  # paths carry job ids
        held = Settings.from_env({}).long_poll_max_held
        assert held == settings["blocking_threads"] // 2, "long-polls hold half the threads"
    else:
        slots = settings["workers"] * settings["threads"]
        assert settings["timeout"] == pod["timeoutSeconds"]
        assert settings["control_socket_disable"] is True
        if name != "analyze":
            assert settings["worker_class"] == "gthread"
    if name == "analyze":
        assert slots == 1, "one MediaPipe graph per process, not thread-safe: 1 worker, 1 thread"
        assert pod["containerConcurrency"] == 2
    else:
        assert slots == pod["containerConcurrency"]


def test_the_analyze_pool_opts_out_of_onnxruntime_telemetry() -> None:
    """The library sets it too (tests/test_privacy_pipeline.py proves it); images say it anyway."""
    assert "ORT_DISABLE_TELEMETRY=1" in _dockerfile("analyze")
    env = {e["name"]: e.get("value") for e in _container(_services()["analyze"])["env"]}
    assert env["ORT_DISABLE_TELEMETRY"] == "1"


def _drawing_only() -> set[str]:
    """The packages the analyze Dockerfile leaves out (``ARG DRAWING_ONLY``)."""
    found = re.search(r'^ARG DRAWING_ONLY="([^"]+)"$', _dockerfile("analyze"), re.MULTILINE)
    assert found, "functions/analyze/Dockerfile no longer declares ARG DRAWING_ONLY"
    return set(found.group(1).split())


def _analyze_requirements() -> dict[str, set[str]]:
    """What ``uv sync --no-dev --extra analyze`` takes from uv.lock for the Linux images
    (Python 3.11 and 3.12): each package, with the packages that require it."""
    if not shutil.which("uv"):
        pytest.skip("NOT CHECKED: what the analyze image installs (uv is not on PATH)")
    from packaging.markers import Marker

    exported = subprocess.run(
        [
            *("uv", "export", "--frozen", "--no-dev", "--extra", "analyze"),
            *("--no-hashes", "--no-header", "--no-emit-project"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    required_by: dict[str, set[str]] = {}
    current: set[str] | None = None
    for line in exported.splitlines():
        comment = line.strip().removeprefix("#").strip()
        if line.startswith(" "):  # the `# via` lines under a requirement
            if current is not None and comment.removeprefix("via").strip():
                current.add(comment.removeprefix("via").split()[0])
            continue
        requirement, _, marker = line.partition(";")
        name = re.split(r"[=<>\[ ]", requirement.strip(), maxsplit=1)[0].lower()
        applies = any(
            not marker.strip()
            or Marker(marker.strip()).evaluate(
                {
                    "sys_platform": "linux",
                    "platform_system": "Linux",
                    "platform_machine": "x86_64",
                    "python_full_version": python,
                    "python_version": python.rsplit(".", 1)[0],
                }
            )
            for python in ("3.11.9", "3.12.7")
        )
        current = required_by.setdefault(name, set()) if applies else None
    return required_by


def _installed(required_by: dict[str, set[str]], left_out: set[str]) -> set[str]:
    """The packages reachable from colorseason when ``left_out`` are not installed."""
    installed: set[str] = set()
    while True:
        more = {
            name
            for name, parents in required_by.items()
            if name not in installed | left_out and parents & (installed | {"colorseason"})
        }
        if not more:
            return installed
        installed |= more


def test_the_analyze_image_has_no_jax_opencv_contrib_or_matplotlib() -> None:
    installed = _installed(_analyze_requirements(), _drawing_only())
    assert {"mediapipe", "opencv-python-headless", "onnxruntime", "redis"} <= installed
    banned = {"jax", "jaxlib", "opencv-contrib-python", "opencv-python", "matplotlib", "pillow"}
    assert not installed & banned
    assert "banned" in _dockerfile("analyze"), "the analyze Dockerfile asserts it at build time"


def test_the_analyze_image_leaves_out_exactly_what_only_matplotlib_needs() -> None:
    """Nothing the pipeline or the function needs is left out with matplotlib, and nothing only
    matplotlib needs is kept (a new dependency of matplotlib must join DRAWING_ONLY)."""
    required_by = _analyze_requirements()
    everything = _installed(required_by, set())
    assert "matplotlib" in everything, "mediapipe no longer needs matplotlib: drop DRAWING_ONLY"
    assert _drawing_only() == everything - _installed(required_by, {"matplotlib"})


# The child of the next test: the pipeline with the packages the analyze image lacks made
# unimportable, as they are there; the photo comes on stdin.
_WITHOUT_DRAWING = r"""
import importlib.abc, json, sys

absent = set(sys.argv[1:])

class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in absent:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Absent())
from colorseason.analysis import analyze
import mediapipe  # what the image's build check imports, after the pipeline

result = analyze(sys.stdin.buffer.read())
result.pop("timings_ms")
loaded = sorted(m for m in sys.modules if m.partition(".")[0] in absent)
print(json.dumps({"result": result, "loaded": loaded, "mediapipe": mediapipe.__version__}))
"""


def test_the_pipeline_runs_without_the_packages_the_analyze_image_lacks() -> None:
    """The Dockerfile's import check proves it at build time; this proves it in every test run:
    MediaPipe imports and Face Mesh finds the face with matplotlib & co. unimportable, and the
    diagnosis is the one the development environment (which has them) gives."""
    from importlib import metadata

    from colorseason.analysis import analyze
    from colorseason.testing import sample_jpeg

    modules = {
        module
        for module, distributions in metadata.packages_distributions().items()
        if {d.lower() for d in distributions} & _drawing_only()
    }
    assert {"matplotlib", "PIL", "fontTools"} <= modules, "the development environment changed"
    photo = sample_jpeg("astronaut")
    child = subprocess.run(
        [sys.executable, "-c", _WITHOUT_DRAWING, *sorted(modules)],
        input=photo,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr.decode(errors="replace")[-3000:]
    report = json.loads(child.stdout.decode().splitlines()[-1])
    assert report["loaded"] == [], "a left-out package was imported after all"
    expected = analyze(photo)
    expected.pop("timings_ms")
    assert report["result"] == expected


def test_dockerignore_lets_every_copied_path_in() -> None:
    """The build context is an allow-list: a COPY of an excluded path fails the build."""
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*", "the context should be an allow-list"

    def included(path: str) -> bool:
        verdict = True
        for rule in rules:
            negate = rule.startswith("!")
            pattern = rule.lstrip("!").rstrip("/")
            if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
                verdict = negate
        return verdict

    for name in FUNCTIONS:
        for line in re.findall(r"^COPY (?!--from)(.+)$", _dockerfile(name), re.MULTILINE):
            for pattern in line.split()[:-1]:
                sources = [str(p.relative_to(ROOT)) for p in ROOT.glob(pattern)]
                assert sources, f"the {name} Dockerfile copies {pattern}, which matches nothing"
                for source in sources:
                    assert included(source), (
                        f"the {name} Dockerfile copies {source}; .dockerignore drops it"
                    )
