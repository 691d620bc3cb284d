"""The Kubernetes manifests (deploy/k8s) and the services' Dockerfiles.

Each overlay is rendered with `kubectl kustomize`; every object is validated against its
schema (Kubernetes' kinds with `kubernetes-validate`, strict; Strimzi's and KEDA's against the
CRD schemas vendored in tests/deploy/schemas, with unknown fields refused), and the render is
checked for what Helix needs: locked-down containers, probes on the services' real health
endpoints, GPUs only where a model runs, a KafkaTopic per topic, lag-based autoscaling per
consumer, network policies that allow the design's flows and nothing by default.
"""

from __future__ import annotations

import fnmatch
import functools
import ipaddress
import json
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from pydantic import SecretStr

from helix.events import Topic
from helix.settings import HelixSettings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SCHEMAS = Path(__file__).parent / "schemas"
OVERLAYS = ("local", "gpu")
SERVICES = ("gateway", "review", "writer", "visual", "localize")
# The oldest Kubernetes the manifests support (gRPC probes, PodDisruptionBudget
# unhealthyPodEvictionPolicy) and the newest kubernetes-validate ships schemas for.
KUBERNETES_VERSIONS = ("1.31", kubernetes_validate.utils.major_minor(kubernetes_validate.utils.latest_version()))
NAMESPACE = "helix"
GPU = "nvidia.com/gpu"

# Kafka subscriptions of each service (consumer group, topics): DESIGN.md's topic table and the
# wiring in each app (gateway: projection.py; review: app.py; generators: GeneratorService.listen).
# Per service: each topic it consumes and the consumer group it reads it in (a generator's
# requests in `<service>-requests`, the request consumer; review decisions in `<service>`).
CONSUMERS: dict[str, dict[Topic, str]] = {
    "gateway": dict.fromkeys((Topic.JOBS_STATUS, Topic.ASSETS_GENERATED, Topic.REVIEW_DECISIONS), "gateway"),
    "review": {Topic.ASSETS_GENERATED: "review"},
    "writer": {Topic.WRITER_REQUESTS: "writer-requests", Topic.REVIEW_DECISIONS: "writer"},
    "visual": {Topic.VISUAL_REQUESTS: "visual-requests", Topic.REVIEW_DECISIONS: "visual"},
    "localize": {Topic.LOCALIZE_REQUESTS: "localize-requests", Topic.REVIEW_DECISIONS: "localize"},
}
# Consumers that run a fixed number of replicas: the gateway's live feed is per replica while
# its replicas share one consumer group (services/gateway/README.md).
FIXED_REPLICAS = {"gateway": 1}
# Services that must always run (the gateway calls review for every console action).
ALWAYS_ON = {"gateway", "review"}
# Settings each service's process reads besides its settings class.
EXTRA_ENV = {"HELIX_HOME", "HF_HOME", "HF_TOKEN", "XDG_CACHE_HOME"}


# --- rendering and schemas -----------------------------------------------------------------


def kubectl() -> str:
    found = shutil.which("kubectl") or ("/usr/bin/kubectl" if Path("/usr/bin/kubectl").exists() else None)
    if found is None:
        pytest.skip("kubectl is not installed: the kustomize overlays cannot be rendered")
    return found


@functools.cache
def _render(path: str) -> tuple[dict[str, Any], ...]:
    done = subprocess.run([kubectl(), "kustomize", path], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"kubectl kustomize {path} failed:\n{done.stderr}"
    return tuple(d for d in yaml.safe_load_all(done.stdout) if d)


def render(overlay: str) -> list[dict[str, Any]]:
    return list(_render(str(K8S / "overlays" / overlay)))


def of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def named(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in of_kind(objects, kind) if o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def _strict(node: Any) -> Any:
    """A CRD's structural schema as JSON Schema that refuses unknown fields, as the API
    server's strict field validation does (it would otherwise prune them silently)."""
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _strict(v) for k, v in node.items()}
    if node.pop("x-kubernetes-int-or-string", False):
        node.pop("type", None)
        node.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if node.pop("nullable", False) and isinstance(node.get("type"), str):
        node["type"] = [node["type"], "null"]
    preserve = node.get("x-kubernetes-preserve-unknown-fields", False)
    if "properties" in node and "additionalProperties" not in node and not preserve:
        node["additionalProperties"] = False
    return node


@functools.cache
def crd_validator(api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
    group, _, version = api_version.partition("/")
    path = SCHEMAS / f"{group}_{version}_{kind}.json"
    if not path.is_file():
        return None
    schema = _strict(json.loads(path.read_text()))
    schema["properties"]["metadata"] = {"type": "object"}  # ObjectMeta is the API server's to check
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def validation_errors(obj: dict[str, Any]) -> list[str]:
    where = f"{obj['kind']} {obj['metadata'].get('name')}"
    if (validator := crd_validator(obj["apiVersion"], obj["kind"])) is not None:
        return [f"{where}: {'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]
    errors = []
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(f"{where}: unknown kind {obj['apiVersion']}/{obj['kind']} (no Kubernetes schema, no vendored CRD schema)")
            break
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{where} (Kubernetes {version}): {'/'.join(map(str, exc.absolute_path))}: {exc.message}")
    return errors


# --- helpers over the render -----------------------------------------------------------------


def workloads(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return workload["spec"]["template"]["spec"]


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"].get("labels", {})


def containers(workload: dict[str, Any]) -> Iterator[dict[str, Any]]:
    spec = pod_spec(workload)
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def service_deployment(objects: list[dict[str, Any]], service: str) -> dict[str, Any]:
    return named(objects, "Deployment", service)


def container_of(objects: list[dict[str, Any]], service: str) -> dict[str, Any]:
    (container,) = [c for c in service_deployment(objects, service)["spec"]["template"]["spec"]["containers"] if c["name"] == service]
    return container


def configmap(objects: list[dict[str, Any]], prefix: str) -> dict[str, str]:
    """A generated ConfigMap's data, found by its name before kustomize's hash suffix."""
    found = [o for o in of_kind(objects, "ConfigMap") if re.fullmatch(rf"{prefix}(-[a-z0-9]{{10}})?", o["metadata"]["name"])]
    assert len(found) == 1, f"expected one ConfigMap {prefix}, found {len(found)}"
    return found[0].get("data", {})


def environment(objects: list[dict[str, Any]], container: dict[str, Any]) -> dict[str, Any]:
    """The container's environment: ConfigMap values, literal values, and the env entries
    that come from elsewhere (valueFrom) as themselves."""
    env: dict[str, Any] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            (cm,) = [o for o in of_kind(objects, "ConfigMap") if o["metadata"]["name"] == source["configMapRef"]["name"]]
            env.update({source.get("prefix", "") + k: v for k, v in cm.get("data", {}).items()})
        else:
            env[f"<secretRef {source['secretRef']['name']}>"] = source
    for entry in container.get("env", []):
        env[entry["name"]] = entry.get("value", entry)
    return env


def matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Kubernetes label selector semantics (matchLabels + matchExpressions); {} matches all."""
    if selector is None:
        return False
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def quantity(value: str | int | float) -> float:
    units = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    match = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(value))
    assert match and match[2] in {"", *units}, f"not a quantity: {value!r}"
    return float(match[1]) * units.get(match[2], 1)


@functools.cache
def model_services() -> frozenset[str]:
    """Services that run models (they depend on torch through helix[models] or helix[diffusion]):
    the GPU services."""
    found = set()
    for service in SERVICES:
        deps = tomllib.loads((ROOT / "services" / service / "pyproject.toml").read_text())["project"]["dependencies"]
        if any(re.match(r"helix\[[^\]]*\b(models|diffusion)\b", dep) for dep in deps):
            found.add(service)
    return frozenset(found)


def topic_name(kafka_topic: dict[str, Any]) -> str:
    return kafka_topic["spec"].get("topicName") or kafka_topic["metadata"]["name"]


def partitions(objects: list[dict[str, Any]]) -> dict[str, int]:
    return {topic_name(t): t["spec"]["partitions"] for t in of_kind(objects, "KafkaTopic")}


def settings_classes() -> dict[str, type[HelixSettings]]:
    from helix_gateway.settings import GatewaySettings
    from helix_localize.settings import LocalizeSettings
    from helix_review.settings import ReviewSettings
    from helix_visual.settings import VisualSettings
    from helix_writer.settings import WriterSettings

    return {"gateway": GatewaySettings, "review": ReviewSettings, "writer": WriterSettings, "visual": VisualSettings,
            "localize": LocalizeSettings}


def grpc_port(service: str, env: dict[str, Any]) -> int | None:
    address = env.get(f"HELIX_{service.upper()}_GRPC_ADDRESS")
    return int(address.rsplit(":", 1)[1]) if isinstance(address, str) else None


# --- schemas --------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_object_matches_its_schema(overlay: str) -> None:
    objects = render(overlay)
    assert objects, f"{overlay} renders nothing"
    errors = [error for obj in objects for error in validation_errors(obj)]
    assert not errors, "\n".join(errors)


def test_schema_check_refuses_unknown_fields_and_kinds() -> None:
    """The validation above is worth something: a misspelt field, a wrong type or an unknown
    kind fails it, for Kubernetes' kinds and for the CRDs alike."""
    objects = render("local")
    deployment = json.loads(json.dumps(of_kind(objects, "Deployment")[0]))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["grcp"] = {"port": 1}
    assert validation_errors(deployment)
    topic = json.loads(json.dumps(of_kind(objects, "KafkaTopic")[0]))
    topic["spec"]["partition"] = 3
    assert validation_errors(topic)
    scaled = json.loads(json.dumps(of_kind(objects, "ScaledObject")[0]))
    scaled["spec"]["triggers"][0]["metadata"]["lagThreshold"] = 5  # trigger metadata values are strings
    assert validation_errors(scaled)
    assert validation_errors({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})


def test_base_ships_no_secret_values() -> None:
    base = list(_render(str(K8S / "base")))
    assert not of_kind(base, "Secret"), "the base must not carry secrets: overlays generate or reference them"
    assert not of_kind(render("gpu"), "Secret"), "the production overlay takes its secrets from the cluster"


# --- containers -----------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_runs_locked_down(overlay: str) -> None:
    problems = []
    for workload in workloads(render(overlay)):
        pod = pod_spec(workload).get("securityContext", {})
        for c in containers(workload):
            sc = {**pod, **c.get("securityContext", {})}
            where = f"{workload['kind']} {workload['metadata']['name']}/{c['name']}"
            if sc.get("runAsNonRoot") is not True or sc.get("runAsUser", 0) == 0:
                problems.append(f"{where}: not non-root")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: root filesystem writable")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: privilege escalation allowed")
            if "ALL" not in sc.get("capabilities", {}).get("drop", []):
                problems.append(f"{where}: capabilities not dropped")
            if sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
                problems.append(f"{where}: no RuntimeDefault seccomp profile")
            if sc.get("privileged"):
                problems.append(f"{where}: privileged")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_helix_services_run_as_10001_with_writable_scratch_space(overlay: str) -> None:
    objects = render(overlay)
    for service in SERVICES:
        spec = service_deployment(objects, service)["spec"]["template"]["spec"]
        container = container_of(objects, service)
        sc = {**spec.get("securityContext", {}), **container.get("securityContext", {})}
        assert sc["runAsUser"] == 10001, service
        assert spec.get("automountServiceAccountToken") is False, f"{service} needs no Kubernetes API token"
        # The Kafka cluster is named helix: service links would put HELIX_KAFKA_BOOTSTRAP_*
        # variables into an environment the settings read with the HELIX_ prefix.
        assert spec.get("enableServiceLinks") is False, service
        empty_dirs = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
        writable = [m["mountPath"] for m in container.get("volumeMounts", []) if m["name"] in empty_dirs and not m.get("readOnly")]
        assert "/tmp" in writable, f"{service}: /tmp must be an emptyDir (read-only root filesystem)"
        env = environment(objects, container)
        wanted = {"HELIX_HOME", "XDG_CACHE_HOME"} | ({"HF_HOME"} if service in model_services() else set())
        for name in wanted:
            assert isinstance(env.get(name), str), f"{service}: {name} is not set"
            assert any(PurePosixPath(env[name]).is_relative_to(path) for path in writable), \
                f"{service}: {name}={env[name]} is not on a writable volume"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_workload_has_probes_and_resources(overlay: str) -> None:
    problems = []
    for workload in workloads(render(overlay)):
        for c in pod_spec(workload)["containers"]:
            where = f"{workload['metadata']['name']}/{c['name']}"
            for probe in ("readinessProbe", "livenessProbe"):
                if probe not in c:
                    problems.append(f"{where}: no {probe}")
            resources = c.get("resources", {})
            for part in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in resources.get(part, {}):
                        problems.append(f"{where}: no {part}.{resource}")
            for resource, request in resources.get("requests", {}).items():
                limit = resources.get("limits", {}).get(resource)
                if limit is not None and quantity(limit) < quantity(request):
                    problems.append(f"{where}: {resource} limit {limit} below request {request}")
    assert not problems, "\n".join(problems)


def _serves_grpc_health(service: str) -> bool:
    """Whether the service's gRPC server registers the standard health service: it builds its
    server with helix.grpc (create_server / GeneratorService.start_serving), which does."""
    shared = (ROOT / "shared" / "src" / "helix" / "grpc.py").read_text()
    kit = (ROOT / "shared" / "src" / "helix" / "generation" / "service.py").read_text()
    if "add_HealthServicer_to_server" not in shared or "start_server(" not in kit:
        return False
    source = "\n".join(p.read_text() for p in (ROOT / "services" / service / "src").rglob("*.py"))
    return bool(re.search(r"\bcreate_server\(|\bstart_serving\(", source))


def _http_routes(service: str) -> set[str]:
    """The GET routes a service's FastAPI routers declare (read, not imported: it is quicker)."""
    routers = ROOT / "services" / service / "src" / f"helix_{service}" / "routers"
    source = "\n".join(p.read_text() for p in routers.glob("*.py")) if routers.is_dir() else ""
    return set(re.findall(r"""@router\.get\(\s*["']([^"']+)["']""", source))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_hit_the_services_real_health_endpoints(overlay: str) -> None:
    objects = render(overlay)
    for service in SERVICES:
        container = container_of(objects, service)
        env = environment(objects, container)
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
            probe = container.get(kind)
            if probe is None:
                continue
            if "grpc" in probe:
                assert _serves_grpc_health(service), f"{service}: gRPC probe, but no grpc.health.v1 service in its code"
                assert probe["grpc"]["port"] == grpc_port(service, env), f"{service} {kind}: not the port its gRPC server binds"
                assert env[f"HELIX_{service.upper()}_GRPC_ADDRESS"].startswith(("0.0.0.0:", "[::]:")), \
                    f"{service}: the gRPC server must listen beyond loopback for the kubelet to reach it"
            elif "httpGet" in probe:
                port = probe["httpGet"]["port"]
                assert ports.get(port, port) == int(env["HELIX_HTTP_PORT"]), f"{service} {kind}: not its HTTP port"
                assert probe["httpGet"]["path"] in _http_routes(service), f"{service} {kind}: no route {probe['httpGet']['path']}"
            else:
                pytest.fail(f"{service} {kind}: neither gRPC nor HTTP")
    # Readiness is more than liveness where the service offers it.
    gateway = container_of(objects, "gateway")
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/healthz"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_service_settings_are_real_and_valid(overlay: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every HELIX_* variable a service gets is one of its settings (no typo goes unnoticed),
    and the values parse; secrets come from Secrets, never literals."""
    objects = render(overlay)
    secret_fields = {f"HELIX_{name.upper()}" for name, field in HelixSettings.model_fields.items()
                     if SecretStr in (field.annotation, *getattr(field.annotation, "__args__", ()))}
    assert "HELIX_S3_SECRET_KEY" in secret_fields
    for service, cls in settings_classes().items():
        known = {f"HELIX_{name.upper()}" for name in cls.model_fields} | EXTRA_ENV
        env = environment(objects, container_of(objects, service))
        unknown = {k for k in env if k.startswith(("HELIX_", "HF_", "XDG_")) and k not in known}
        assert not unknown, f"{service}: not settings of {cls.__name__}: {sorted(unknown)}"
        for name in secret_fields | {"HELIX_DATABASE_URL"}:
            if name in env:
                assert isinstance(env[name], dict) and "secretKeyRef" in env[name]["valueFrom"], f"{service}: {name} must come from a Secret"
        for name in list(cls.model_fields):
            monkeypatch.delenv(f"HELIX_{name.upper()}", raising=False)
        for name, value in env.items():
            if name.startswith("HELIX_"):
                monkeypatch.setenv(name, value if isinstance(value, str) else "from-a-secret")
        settings = cls(_env_file=None)  # type: ignore[call-arg]
        assert settings.service_name == service
        assert settings.metrics_port == 9100, f"{service}: metrics port"


# --- GPUs -----------------------------------------------------------------------------------


def _gpu_scheduling(spec: dict[str, Any]) -> tuple[bool, bool]:
    tolerates = any(t.get("key") == GPU and t.get("effect", "NoSchedule") == "NoSchedule"
                    and (t.get("operator") == "Exists" or t.get("value") is not None) for t in spec.get("tolerations", []))
    terms = spec.get("affinity", {}).get("nodeAffinity", {}).get("requiredDuringSchedulingIgnoredDuringExecution", {})
    keys = set(spec.get("nodeSelector", {})) | {e["key"] for t in terms.get("nodeSelectorTerms", []) for e in t.get("matchExpressions", [])}
    selects = any(k.startswith("nvidia.com/gpu") for k in keys)
    return tolerates, selects


def test_gpu_services_are_the_ones_that_run_models() -> None:
    assert model_services(), "no service runs a model? (helix[models] / helix[diffusion] dependency)"
    assert model_services() < set(SERVICES), "every service runs a model?"


def test_gpu_overlay_puts_model_services_on_gpus_and_nothing_else() -> None:
    objects = render("gpu")
    for service in SERVICES:
        spec = service_deployment(objects, service)["spec"]["template"]["spec"]
        resources = container_of(objects, service).get("resources", {})
        tolerates, selects = _gpu_scheduling(spec)
        if service in model_services():
            assert int(resources.get("limits", {}).get(GPU, 0)) >= 1, f"{service}: no GPU in limits"
            if GPU in resources.get("requests", {}):
                assert resources["requests"][GPU] == resources["limits"][GPU], f"{service}: GPU request != limit"
            assert tolerates, f"{service}: does not tolerate the {GPU}:NoSchedule taint"
            assert selects, f"{service}: not pinned to GPU nodes"
        else:
            assert GPU not in {*resources.get("limits", {}), *resources.get("requests", {})}, f"{service} asks for a GPU"
            assert not tolerates and not selects, f"{service} (CPU only) is scheduled onto GPU nodes"
    for workload in workloads(objects):  # no other pod takes a GPU either
        if workload["metadata"]["name"] not in model_services():
            for c in containers(workload):
                assert GPU not in c.get("resources", {}).get("limits", {}), workload["metadata"]["name"]


def test_local_overlay_needs_no_gpu() -> None:
    objects = render("local")
    for workload in workloads(objects):
        spec = pod_spec(workload)
        assert _gpu_scheduling(spec) == (False, False), workload["metadata"]["name"]
        for c in containers(workload):
            assert GPU not in {*c.get("resources", {}).get("limits", {}), *c.get("resources", {}).get("requests", {})}
    for service in model_services():
        env = environment(objects, container_of(objects, service))
        assert env.get(f"HELIX_{service.upper()}_DEVICE") == "cpu", f"{service} should run on the CPU locally"


# --- Kafka ----------------------------------------------------------------------------------


def _brokers(objects: list[dict[str, Any]], cluster: str) -> int:
    return sum(p["spec"]["replicas"] for p in of_kind(objects, "KafkaNodePool")
               if p["metadata"]["labels"].get("strimzi.io/cluster") == cluster and "broker" in p["spec"]["roles"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kafka_runs_in_kraft_mode_with_a_node_pool(overlay: str) -> None:
    objects = render(overlay)
    (kafka,) = of_kind(objects, "Kafka")
    assert kafka["apiVersion"] == "kafka.strimzi.io/v1"
    name = kafka["metadata"]["name"]
    annotations = kafka["metadata"].get("annotations", {})
    assert annotations.get("strimzi.io/kraft") == "enabled" and annotations.get("strimzi.io/node-pools") == "enabled"
    assert "zookeeper" not in kafka["spec"]
    pools = [p for p in of_kind(objects, "KafkaNodePool") if p["metadata"]["labels"].get("strimzi.io/cluster") == name]
    roles = {r for p in pools for r in p["spec"]["roles"]}
    assert roles == {"controller", "broker"}, roles
    brokers = _brokers(objects, name)
    config = kafka["spec"]["kafka"]["config"]
    assert config.get("auto.create.topics.enable") is False, "topics are KafkaTopics, never auto-created"
    for key in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor", "default.replication.factor"):
        assert 1 <= config[key] <= brokers, f"{key}={config[key]} with {brokers} brokers"
    assert config["min.insync.replicas"] <= config["default.replication.factor"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_helix_topic_has_a_kafka_topic(overlay: str) -> None:
    objects = render(overlay)
    (kafka,) = of_kind(objects, "Kafka")
    topics = of_kind(objects, "KafkaTopic")
    assert {topic_name(t) for t in topics} == {t.value for t in Topic}, "one KafkaTopic per helix.events.Topic, no others"
    brokers = _brokers(objects, kafka["metadata"]["name"])
    config = configmap(objects, "helix-config")
    for t in topics:
        name = topic_name(t)
        assert t["metadata"]["labels"].get("strimzi.io/cluster") == kafka["metadata"]["name"], name
        assert t["spec"]["partitions"] >= 1, name
        assert 1 <= t["spec"]["replicas"] <= brokers, f"{name}: {t['spec']['replicas']} replicas, {brokers} brokers"
        retention = int(t["spec"]["config"]["retention.ms"])
        assert 3_600_000 <= retention <= 90 * 86_400_000, f"{name}: retention {retention} ms"
        assert 1 <= int(t["spec"]["config"]["min.insync.replicas"]) <= t["spec"]["replicas"], name
        if t["spec"]["replicas"] > 1:  # one broker down must not stop producers (acks=all)
            assert int(t["spec"]["config"]["min.insync.replicas"]) < t["spec"]["replicas"], name
    # A service that creates a topic before the topic operator does (helix.bus.ensure_topics)
    # must not create more partitions than its KafkaTopic (they cannot be removed) or other replicas.
    assert int(config["HELIX_TOPIC_PARTITIONS"]) <= min(partitions(objects).values())
    assert {int(config["HELIX_TOPIC_REPLICATION"])} == {t["spec"]["replicas"] for t in topics}
    dlq = [t for t in topics if topic_name(t) == Topic.DLQ.value][0]
    requests = [t for t in topics if topic_name(t) == Topic.WRITER_REQUESTS.value][0]
    assert int(dlq["spec"]["config"]["retention.ms"]) >= int(requests["spec"]["config"]["retention.ms"]), \
        "dead letters wait for an operator at least as long as requests are kept"


def _listener(objects: list[dict[str, Any]], bootstrap: str) -> dict[str, Any]:
    (kafka,) = of_kind(objects, "Kafka")
    host, port = bootstrap.rsplit(":", 1)
    assert host.split(".")[0] == f"{kafka['metadata']['name']}-kafka-bootstrap", f"{bootstrap} is not Strimzi's bootstrap service"
    found = [lst for lst in kafka["spec"]["kafka"]["listeners"] if lst["port"] == int(port)]
    assert found, f"no Kafka listener on port {port}"
    return found[0]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_speak_the_listeners_protocol(overlay: str) -> None:
    objects = render(overlay)
    users = {u["metadata"]["name"]: u for u in of_kind(objects, "KafkaUser")}
    for service in SERVICES:
        container = container_of(objects, service)
        env = environment(objects, container)
        listener = _listener(objects, env["HELIX_KAFKA_BOOTSTRAP"])
        auth = listener.get("authentication", {}).get("type")
        expected = {(False, None): "PLAINTEXT", (True, None): "SSL", (True, "scram-sha-512"): "SASL_SSL",
                    (False, "scram-sha-512"): "SASL_PLAINTEXT"}[(listener["tls"], auth)]
        assert env["HELIX_KAFKA_SECURITY_PROTOCOL"] == expected, service
        if listener["tls"]:
            ca = PurePosixPath(env["HELIX_KAFKA_SSL_CA_LOCATION"])
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            volumes = {v["name"]: v for v in pod_spec(service_deployment(objects, service))["volumes"]}
            volume = volumes[mounts[str(ca.parent)]]
            assert volume["secret"]["secretName"] == "helix-cluster-ca-cert", f"{service}: the CA is Strimzi's cluster CA"
        if auth == "scram-sha-512":
            assert env["HELIX_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512", service
            user = env["HELIX_KAFKA_SASL_USERNAME"]
            assert users[user]["spec"]["authentication"]["type"] == "scram-sha-512", f"{service}: no SCRAM KafkaUser {user}"
            assert env["HELIX_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": user, "key": "password"}, service


# --- autoscaling ----------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_kafka_consumer_scales_on_its_lag(overlay: str) -> None:
    objects = render(overlay)
    scaled = {s["spec"]["scaleTargetRef"]["name"]: s for s in of_kind(objects, "ScaledObject")}
    sizes = partitions(objects)
    bootstrap = configmap(objects, "helix-config")["HELIX_KAFKA_BOOTSTRAP"]
    auths = {a["metadata"]["name"] for a in of_kind(objects, "TriggerAuthentication")}
    deployments = {d["metadata"]["name"] for d in of_kind(objects, "Deployment")}
    assert set(scaled) <= deployments, "a ScaledObject scales a Deployment that does not exist"
    for service, groups in CONSUMERS.items():
        topics = set(groups)
        deployment = service_deployment(objects, service)
        if service in FIXED_REPLICAS:
            assert service not in scaled
            assert deployment["spec"]["replicas"] == FIXED_REPLICAS[service]
            assert "helix.dev/autoscaling" in deployment["metadata"].get("annotations", {}), "say why it is not autoscaled"
            continue
        assert service in scaled, f"{service} consumes Kafka but has no ScaledObject"
        assert "replicas" not in deployment["spec"], f"{service}: KEDA owns the replica count (kubectl apply would reset it)"
        spec = scaled[service]["spec"]
        kafka_triggers = [t for t in spec["triggers"] if t["type"] == "kafka"]
        assert {t["metadata"]["topic"] for t in kafka_triggers} == {t.value for t in topics}, f"{service}: a subscription without a trigger"
        listener = _listener(objects, bootstrap)
        for trigger in kafka_triggers:
            meta = trigger["metadata"]
            assert meta["consumerGroup"] == groups[Topic(meta["topic"])], service
            assert meta["bootstrapServers"] == bootstrap, f"{service}: KEDA reads another Kafka than the service"
            assert int(meta["lagThreshold"]) >= 1 and int(meta.get("activationLagThreshold", 0)) >= 0
            assert meta.get("offsetResetPolicy") == "earliest", "Helix consumers start at the earliest offset"
            assert meta.get("tls", "disable") == ("enable" if listener["tls"] else "disable"), service
            if listener.get("authentication", {}).get("type") == "scram-sha-512":
                assert meta.get("sasl") == "scram_sha512", service
                assert trigger.get("authenticationRef", {}).get("name") in auths, f"{service}: no TriggerAuthentication"
        assert 0 <= spec.get("minReplicaCount", 0) <= spec["maxReplicaCount"]
        assert spec["maxReplicaCount"] <= min(sizes[t.value] for t in topics), \
            f"{service}: more replicas than partitions of the topics it reads"
        if service in ALWAYS_ON:
            assert spec.get("minReplicaCount", 0) >= 1, f"{service} must always run"


def test_gpu_services_scale_to_zero_in_production() -> None:
    objects = render("gpu")
    scaled = {s["spec"]["scaleTargetRef"]["name"]: s["spec"] for s in of_kind(objects, "ScaledObject")}
    for service in model_services():
        assert scaled[service]["minReplicaCount"] == 0, f"{service} holds a GPU while idle"
        assert any(t["metadata"].get("activationLagThreshold") == "0" for t in scaled[service]["triggers"] if t["type"] == "kafka")
    assert scaled["review"]["minReplicaCount"] >= 2, "review stays available through a pod's loss"


def test_keda_authentication_reads_what_the_services_use() -> None:
    objects = render("gpu")
    for auth in of_kind(objects, "TriggerAuthentication"):
        for entry in auth["spec"].get("env", []):
            for scaled in of_kind(objects, "ScaledObject"):
                if any(t.get("authenticationRef", {}).get("name") == auth["metadata"]["name"] for t in scaled["spec"]["triggers"]):
                    target = scaled["spec"]["scaleTargetRef"]["name"]
                    env = environment(objects, container_of(objects, target))
                    assert entry["name"] in env, f"{target} has no {entry['name']} for KEDA's {entry['parameter']}"


# --- availability ---------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_always_on_services_have_disruption_budgets(overlay: str) -> None:
    objects = render(overlay)
    budgets = of_kind(objects, "PodDisruptionBudget")
    for service in ALWAYS_ON:
        labels = pod_labels(service_deployment(objects, service))
        assert any(matches(b["spec"]["selector"], labels) for b in budgets), f"{service}: no PodDisruptionBudget"
    for budget in budgets:
        assert any(matches(budget["spec"]["selector"], pod_labels(w)) for w in workloads(objects)), \
            f"PodDisruptionBudget {budget['metadata']['name']} selects no pods"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_select_pods_and_ports_that_exist(overlay: str) -> None:
    objects = render(overlay)
    for svc in of_kind(objects, "Service"):
        backing = [w for w in workloads(objects) if matches({"matchLabels": svc["spec"]["selector"]}, pod_labels(w))]
        assert backing, f"Service {svc['metadata']['name']} selects no pods"
        ports = {p.get("name") for w in backing for c in pod_spec(w)["containers"] for p in c.get("ports", [])}
        numbers = {p["containerPort"] for w in backing for c in pod_spec(w)["containers"] for p in c.get("ports", [])}
        for port in svc["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            assert target in ports or target in numbers, f"Service {svc['metadata']['name']}: no container port {target}"
    # Every address a service dials inside the cluster is a Service.
    services = {s["metadata"]["name"]: {p["port"] for p in s["spec"]["ports"]} for s in of_kind(objects, "Service")}
    for dialer, variable in (("gateway", "HELIX_REVIEW_GRPC_ADDRESS"), ("localize", "HELIX_LOCALIZE_WRITER_ADDRESS"),
                             ("localize", "HELIX_LOCALIZE_CASTING_ADDRESS")):
        address = environment(objects, container_of(objects, dialer))[variable]
        host, port = address.rsplit(":", 1)
        assert int(port) in services[host], f"{dialer} dials {address}, no such Service port"


# --- secrets --------------------------------------------------------------------------------


def _referenced_secrets(objects: list[dict[str, Any]]) -> set[str]:
    names = set()
    for workload in workloads(objects):
        spec = pod_spec(workload)
        for v in spec.get("volumes", []):
            if "secret" in v and not v["secret"].get("optional"):
                names.add(v["secret"]["secretName"])
        for c in containers(workload):
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref and not ref.get("optional"):
                    names.add(ref["name"])
            for source in c.get("envFrom", []):
                if "secretRef" in source and not source["secretRef"].get("optional"):
                    names.add(source["secretRef"]["name"])
    for auth in of_kind(objects, "TriggerAuthentication"):
        names |= {ref["name"] for ref in auth["spec"].get("secretTargetRef", [])}
    return names


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_secret_is_rendered_made_by_strimzi_or_documented(overlay: str) -> None:
    objects = render(overlay)
    (kafka,) = of_kind(objects, "Kafka")
    provided = {s["metadata"]["name"] for s in of_kind(objects, "Secret")}
    provided |= {f"{kafka['metadata']['name']}-cluster-ca-cert"} | {u["metadata"]["name"] for u in of_kind(objects, "KafkaUser")}
    readme = (K8S / "README.md").read_text()
    missing = _referenced_secrets(objects) - provided
    undocumented = sorted(name for name in missing if f"`{name}`" not in readme)
    assert not undocumented, f"{overlay}: Secrets neither rendered nor documented in deploy/k8s/README.md: {undocumented}"
    if overlay == "local":  # a local cluster needs only the signing chain made by hand
        assert missing == {"helix-c2pa"}, missing


# --- network policies -----------------------------------------------------------------------


def _rule_allows(rule: dict[str, Any], key: str, port: int, protocol: str, peer: dict[str, Any]) -> bool:
    ports = rule.get("ports")
    if ports and not any(p.get("protocol", "TCP") == protocol and (p.get("port") is None or p.get("port") == port
                                                                      or p.get("port") == peer.get("port_name"))
                         for p in ports):
        return False
    peers = rule.get(key)
    if not peers:
        return True
    for p in peers:
        if "ipBlock" in p:
            if peer.get("ip") is None:
                continue
            block = p["ipBlock"]
            ip = ipaddress.ip_address(peer["ip"])
            if ip in ipaddress.ip_network(block["cidr"]) and not any(ip in ipaddress.ip_network(e) for e in block.get("except", [])):
                return True
            continue
        if peer.get("ip") is not None:
            continue
        ns_selector = p.get("namespaceSelector")
        if ns_selector is None:
            ns_ok = peer["namespace"] == NAMESPACE
        else:
            ns_ok = matches(ns_selector, peer["namespace_labels"])
        pod_ok = matches(p.get("podSelector", {}), peer["labels"]) if "podSelector" in p else True
        if ns_ok and pod_ok:
            return True
    return False


def _allowed(policies: list[dict[str, Any]], direction: str, pod: dict[str, str], port: int, peer: dict[str, Any],
             protocol: str = "TCP") -> bool:
    """Whether traffic of `direction` (Ingress/Egress) for a pod in the Helix namespace with
    labels `pod` to/from `peer` on `port` is allowed, by NetworkPolicy semantics."""
    selecting = [p for p in policies if matches(p["spec"]["podSelector"], pod) and direction in p["spec"].get("policyTypes", ["Ingress"])]
    if not selecting:
        return True  # not isolated in this direction
    key, rules = ("from", "ingress") if direction == "Ingress" else ("to", "egress")
    return any(_rule_allows(rule, key, port, protocol, peer) for p in selecting for rule in p["spec"].get(rules, []))


def _peer(labels: dict[str, str] | None = None, namespace: str = NAMESPACE, namespace_labels: dict[str, str] | None = None,
          ip: str | None = None) -> dict[str, Any]:
    ns_labels = {"kubernetes.io/metadata.name": namespace, **(namespace_labels or {})}
    return {"labels": labels or {}, "namespace": namespace, "namespace_labels": ns_labels, "ip": ip}


def _flow(objects: list[dict[str, Any]], source: dict[str, str], target: dict[str, str], port: int) -> bool:
    """A pod-to-pod flow inside the namespace: the source may send, the target may receive."""
    policies = of_kind(objects, "NetworkPolicy")
    return _allowed(policies, "Egress", source, port, _peer(target)) and _allowed(policies, "Ingress", target, port, _peer(source))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_deny_by_default_and_allow_the_designed_flows(overlay: str) -> None:
    objects = render(overlay)
    policies = of_kind(objects, "NetworkPolicy")
    assert any(p["spec"]["podSelector"] == {} and "Ingress" in p["spec"]["policyTypes"] and not p["spec"].get("ingress")
               for p in policies), "no default-deny ingress policy"
    pods = {s: pod_labels(service_deployment(objects, s)) for s in SERVICES}
    ports = {s: grpc_port(s, environment(objects, container_of(objects, s))) for s in SERVICES}
    http = int(environment(objects, container_of(objects, "gateway"))["HELIX_HTTP_PORT"])
    stranger = _peer({"app": "stranger"})
    outside = _peer(ip="203.0.113.7")
    # The gateway is the front door; review's gRPC is the gateway's, and localize's for the voice casting.
    assert _allowed(policies, "Ingress", pods["gateway"], http, outside)
    assert _flow(objects, pods["gateway"], pods["review"], ports["review"])
    assert not _allowed(policies, "Ingress", pods["review"], ports["review"], stranger)
    assert not _allowed(policies, "Ingress", pods["review"], ports["review"], _peer(pods["writer"]))
    assert not _allowed(policies, "Ingress", pods["review"], ports["review"], _peer(pods["visual"]))
    # The streams people call directly (bearer tokens) are reachable; localize's health-only port is not.
    for service in ("writer", "visual"):
        assert _allowed(policies, "Ingress", pods[service], ports[service], outside), service
    assert not _allowed(policies, "Ingress", pods["localize"], ports["localize"], stranger)
    # Dubbing asks the writer for shorter lines and reads the voice casting from review: those two, and no more.
    assert _flow(objects, pods["localize"], pods["writer"], ports["writer"])
    assert _flow(objects, pods["localize"], pods["review"], ports["review"])
    assert not _allowed(policies, "Egress", pods["localize"], ports["visual"], _peer(pods["visual"]))
    # Nothing else gets in: e.g. another pod to a service's metrics port or any other port.
    for service in SERVICES:
        assert not _allowed(policies, "Ingress", pods[service], 9100, stranger), service
        assert not _allowed(policies, "Ingress", pods[service], 12345, outside), service
        # Prometheus from a namespace labelled for scraping.
        assert _allowed(policies, "Ingress", pods[service], 9100, _peer({"app": "prometheus"}, "monitoring", {"helix.dev/scrape": "true"}))
        # DNS and the Kafka brokers.
        dns = _peer({"k8s-app": "kube-dns"}, "kube-system")
        assert _allowed(policies, "Egress", pods[service], 53, dns, "UDP"), f"{service}: no DNS"
        (kafka,) = of_kind(objects, "Kafka")
        broker = {"strimzi.io/cluster": kafka["metadata"]["name"], "strimzi.io/kind": "Kafka", "strimzi.io/broker-role": "true",
                  "strimzi.io/name": f"{kafka['metadata']['name']}-kafka"}
        port = int(environment(objects, container_of(objects, service))["HELIX_KAFKA_BOOTSTRAP"].rsplit(":", 1)[1])
        assert _allowed(policies, "Egress", pods[service], port, _peer(broker)), f"{service}: cannot reach Kafka"
        assert not _allowed(policies, "Egress", pods[service], 22, outside), f"{service}: egress is open"
    if overlay == "local":
        minio = pod_labels(named(objects, "Deployment", "minio"))
        postgres = pod_labels(named(objects, "StatefulSet", "postgres"))
        for service in SERVICES:
            assert _flow(objects, pods[service], minio, 9000), service
            assert _flow(objects, pods[service], postgres, 5432), service
        assert not _allowed(policies, "Ingress", postgres, 5432, stranger)
        assert not _allowed(policies, "Ingress", minio, 9000, stranger)
    else:  # S3, the model hub and the database live outside the cluster
        for service in SERVICES:
            assert _allowed(policies, "Egress", pods[service], 443, outside), service
            assert _allowed(policies, "Egress", pods[service], 5432, outside), service
            assert not _allowed(policies, "Egress", pods[service], 443, _peer(ip="169.254.169.254")), "cloud metadata service"


# --- Dockerfiles ----------------------------------------------------------------------------


# One Dockerfile per image shape, parameterised by the service (`--build-arg SERVICE=…`).
SHAPES = {"gateway": "cpu", "review": "cpu", "writer": "cuda", "visual": "cuda", "localize": "cuda"}


def dockerfile(service: str) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The Dockerfile a service is built with, as built for it (`SERVICE` set): its global ARG
    defaults and its stages: base image (ARGs resolved), name, and instructions (continuation
    lines joined, comments dropped, `${SERVICE}` resolved)."""
    text = (ROOT / "deploy" / "docker" / f"{SHAPES[service]}.Dockerfile").read_text().replace("${SERVICE}", service)
    lines = [line for line in re.sub(r"\\\n", " ", text).splitlines() if line.strip() and not line.lstrip().startswith("#")]
    args: dict[str, str] = {}
    stages: list[dict[str, Any]] = []
    for line in lines:
        op, _, rest = line.strip().partition(" ")
        op = op.upper()
        if op == "ARG" and not stages:
            name, _, default = rest.strip().partition("=")
            args[name] = default
        elif op == "FROM":
            parts = rest.split()
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m[1], m[0]), parts[0])
            alias = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append({"image": image, "name": alias, "ops": []})
        elif stages:
            stages[-1]["ops"].append((op, rest.strip()))
    return args, stages


@pytest.mark.parametrize("service", SERVICES)
def test_dockerfile_builds_in_stages_and_runs_as_non_root(service: str) -> None:
    _, stages = dockerfile(service)
    assert len(stages) >= 2, f"{service}: not a multi-stage build"
    runtime = stages[-1]
    users = [rest for op, rest in runtime["ops"] if op == "USER"]
    assert users, f"{service}: the runtime stage has no USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, f"{service}: runs as root"
    assert user == "10001" or "--uid 10001 " in " ".join(rest for op, rest in runtime["ops"] if op == "RUN"), service
    builders = {s["name"] for s in stages[:-1]}
    copies = [rest for op, rest in runtime["ops"] if op == "COPY"]
    assert any(re.search(r"--from=(\S+)", c) and re.search(r"--from=(\S+)", c)[1] in builders and "venv" in c for c in copies), \
        f"{service}: the runtime stage does not copy the builder's venv"
    syncs = [rest for s in stages[:-1] for op, rest in s["ops"] if op == "RUN" and "uv sync" in rest]
    assert syncs and all(("--frozen" in s or "--locked" in s) and f"--package helix-{service}" in s and "--no-dev" in s for s in syncs), \
        f"{service}: install from uv.lock, this service only, no dev dependencies"
    assert any("--no-editable" in s for s in syncs), f"{service}: the runtime venv must not point into the build context"
    entry = [rest for op, rest in runtime["ops"] if op in {"ENTRYPOINT", "CMD"}]
    command = json.loads(entry[-1]) if entry[-1].startswith("[") else shlex.split(entry[-1])
    env = " ".join(rest for op, rest in runtime["ops"] if op == "ENV")
    assert f"HELIX_SERVICE_MODULE=helix_{service}" in env and 'exec python -m "$HELIX_SERVICE_MODULE"' in " ".join(command), command
    assert (ROOT / "services" / service / "src" / f"helix_{service}" / "__main__.py").is_file()


def test_one_dockerfile_per_image_shape() -> None:
    assert sorted(p.name for p in (ROOT / "deploy" / "docker").glob("*Dockerfile")) == ["cpu.Dockerfile", "cuda.Dockerfile"]
    assert not list((ROOT / "services").glob("*/Dockerfile")), "services build from the shape Dockerfiles in deploy/docker"
    assert set(SHAPES) == set(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_only_gpu_services_use_a_cuda_base(service: str) -> None:
    _, stages = dockerfile(service)
    cuda = [s["image"] for s in stages if s["image"].startswith(("nvidia/cuda:", "nvcr.io/nvidia/cuda:"))]
    if service in model_services():
        assert stages[-1]["image"] in cuda, f"{service}: runs a model but its runtime is not a CUDA image"
    else:
        assert not cuda, f"{service}: CPU-only, but built on {cuda}"
        assert re.fullmatch(r"python:3\.11-slim(-\w+)?", stages[-1]["image"]), stages[-1]["image"]


@pytest.mark.parametrize("service", SERVICES)
def test_dockerfile_copies_the_whole_workspace_definition(service: str) -> None:
    """uv reads the workspace (every member's pyproject.toml) even to install one member; the
    build context (.dockerignore) lets through all the Dockerfile copies."""
    _, stages = dockerfile(service)
    copied = [rest.split()[:-1] for s in stages for op, rest in s["ops"] if op == "COPY" and "--from" not in rest]
    sources = [src for c in copied for src in c if not src.startswith("--")]
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    members = [m for pattern in root["tool"]["uv"]["workspace"]["members"] for m in sorted(ROOT.glob(pattern)) if (m / "pyproject.toml").is_file()]
    for member in members:
        assert str((member / "pyproject.toml").relative_to(ROOT)) in sources, f"{service}: {member.name}/pyproject.toml not copied"
    assert "uv.lock" in sources
    includes = [line[1:].rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines() if line.startswith("!")]
    for src in sources:
        path = src.rstrip("/").split("/")
        assert (ROOT.joinpath(*path)).exists(), f"{service}: COPY {src}: no such path"
        # Let through if an include pattern names the path, a folder above it or a path below it.
        assert any(all(fnmatch.fnmatch(a, b) for a, b in zip(path, pattern.split("/"), strict=False)) for pattern in includes), \
            f"{service}: COPY {src} is excluded by .dockerignore"
