"""deploy/kubernetes, checked offline: every overlay (minimal, example, ha) renders with
`kubectl kustomize`, every built-in object passes the Kubernetes schemas strictly
(kubernetes-validate), the custom resources (KEDA, Prometheus operator) pass schemas of the
fields we use, checkov finds nothing but the checks `.checkov.yaml` skips with a reason, and the
manifests keep the promises docs/deploy.md makes (probes, resources, budgets, the prefixed KEDA
stream, the Argo CD waves, egress, placement, the connection budget)."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import SplitResult, unquote, urlsplit
from xml.etree import ElementTree

import jsonschema
import kubernetes_validate
import pytest
import yaml

from common.infrastructure.redis_connection import topology_of
from common.infrastructure.redis_keys import ASSISTANT_GROUP, Names
from ops.services import BY_NAME, NAMES, ROOT
from rest_service.app.settings import Settings as RestSettings
from tests.programs import require_program
from tg_bot.src.settings import Settings as TgBotSettings

pytestmark = pytest.mark.policy

KUBERNETES = ROOT / "deploy" / "kubernetes"
OVERLAY = KUBERNETES / "overlays" / "example"
#: The overlays an operator installs as they are (docs/deploy.md "The overlays").
OVERLAYS = ("minimal", "example", "ha")
CHECKOV_CONFIG = KUBERNETES / ".checkov.yaml"
#: The oldest Kubernetes the manifests are for (the kubectl in CI is 1.32).
KUBERNETES_VERSION = "1.32.0"
#: The generated ConfigMap every service reads (kustomize adds a hash to the name).
CONFIG_MAP = "smart-assistant-config-"
#: Custom resources: kubernetes-validate has no schema for them (SchemaNotFoundError).
CRD_KINDS = {"ScaledObject", "TriggerAuthentication", "ServiceMonitor", "PrometheusRule"}
#: The KEDA trigger for each Redis topology the services support (docs/deploy.md "Redis:
#: Sentinel or Cluster"), and the component that adds it after components/keda-assistant.
KEDA_TRIGGERS = {
    "single": "redis-streams",
    "sentinel": "redis-sentinel-streams",
    "cluster": "redis-cluster-streams",
}


def k8s_name(service: str) -> str:
    """A package name as a Kubernetes object name (DNS labels have no `_`)."""
    return service.replace("_", "-")


def kustomize(path: Path) -> list[dict[str, Any]]:
    kubectl = require_program("kubectl", "kubectl")
    result = subprocess.run(
        [kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


class Overlay(NamedTuple):
    name: str
    docs: list[dict[str, Any]]


@pytest.fixture(scope="module")
def renders() -> dict[str, list[dict[str, Any]]]:
    return {name: kustomize(KUBERNETES / "overlays" / name) for name in OVERLAYS}


@pytest.fixture(scope="module")
def rendered(renders: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return renders["example"]


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest, renders: dict[str, list[dict[str, Any]]]) -> Overlay:
    return Overlay(request.param, renders[request.param])


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def config_data(docs: list[dict[str, Any]]) -> dict[str, str]:
    """The services' settings (the other ConfigMap is the Grafana dashboard)."""
    (config,) = (c for name, c in of_kind(docs, "ConfigMap").items() if name.startswith(CONFIG_MAP))
    data: dict[str, str] = config["data"]
    return data


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = workload["spec"]["template"]["spec"]["containers"]
    return found


def secret_keys(container: dict[str, Any]) -> set[str]:
    return {
        e["valueFrom"]["secretKeyRef"]["key"]
        for e in container.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    }


NAMESPACE_KEY = "kubernetes.io/metadata.name"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")


def pods(docs: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Each workload's pod labels, by the workload's name."""
    return {
        d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
        for d in docs
        if d["kind"] in WORKLOAD_KINDS
    }


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", expression  # the only one the policies use
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def selected(docs: list[dict[str, Any]], selector: dict[str, Any]) -> set[str]:
    """The workloads whose pods a (namespace-local) pod selector picks."""
    return {name for name, labels in pods(docs).items() if matches(selector, labels)}


# -- rendering and schemas ------------------------------------------------------------------


def test_the_overlay_renders_every_object(rendered: list[dict[str, Any]]) -> None:
    expected = {k8s_name(s) for s in NAMES}
    assert set(of_kind(rendered, "Deployment")) == expected
    assert set(of_kind(rendered, "Service")) == expected
    assert set(of_kind(rendered, "PodDisruptionBudget")) == expected
    assert set(of_kind(rendered, "Job")) == {"migrate"}
    assert len(of_kind(rendered, "Ingress")) == 1
    assert set(of_kind(rendered, "ScaledObject")) == {"assistant"}
    assert set(of_kind(rendered, "HorizontalPodAutoscaler")) == {"rest-service"}
    assert len(of_kind(rendered, "ServiceMonitor")) == 1
    assert len(of_kind(rendered, "PrometheusRule")) == 1  # deploy/observability's alerts
    assert of_kind(rendered, "NetworkPolicy")
    namespaced = [d for d in rendered if d["kind"] != "Namespace"]
    assert {d["metadata"].get("namespace") for d in namespaced} == {"smart-assistant"}


#: What each overlay adds to the six services, the Job and the Ingress.
EXTRAS: dict[str, dict[str, set[str]]] = {
    "minimal": {"StatefulSet": {"postgres", "redis"}, "Service": {"postgres", "redis"}},
    "example": {},
    "ha": {
        "Deployment": {"pgbouncer"},
        "Service": {"pgbouncer"},
        "PodDisruptionBudget": {"pgbouncer"},
    },
}


def test_every_overlay_renders_the_services_job_and_ingress(overlay: Overlay) -> None:
    services = {k8s_name(s) for s in NAMES}
    extras = EXTRAS[overlay.name]
    for kind in ("Deployment", "Service", "PodDisruptionBudget", "StatefulSet"):
        wanted = (services if kind != "StatefulSet" else set()) | extras.get(kind, set())
        assert set(of_kind(overlay.docs, kind)) == wanted, kind
    assert set(of_kind(overlay.docs, "Job")) == {"migrate"}
    assert len(of_kind(overlay.docs, "Ingress")) == 1
    namespaced = [d for d in overlay.docs if d["kind"] != "Namespace"]
    assert {d["metadata"].get("namespace") for d in namespaced} == {"smart-assistant"}
    for name, budget in of_kind(overlay.docs, "PodDisruptionBudget").items():
        assert budget["spec"]["maxUnavailable"] == 1, name


def test_the_minimal_overlay_needs_no_custom_resource(
    renders: dict[str, list[dict[str, Any]]],
) -> None:
    """It applies on a bare cluster: every kind is built in, one replica of each service."""
    minimal = renders["minimal"]
    assert not [d for d in minimal if d["kind"] in CRD_KINDS]
    for kind in ("Deployment", "StatefulSet"):
        for name, workload in of_kind(minimal, kind).items():
            assert workload["spec"]["replicas"] == 1, name


def test_built_in_objects_pass_the_kubernetes_schemas_strictly(overlay: Overlay) -> None:
    built_in = [d for d in overlay.docs if d["kind"] not in CRD_KINDS]
    for doc in built_in:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    # and strict means strict: a misspelt field is refused
    deployment = dict(of_kind(overlay.docs, "Deployment")["assistant"])
    deployment["spec"] = {**deployment["spec"], "replica": 2}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_custom_resources_have_no_built_in_schema(overlay: Overlay) -> None:
    """Why they get the schemas below: kubernetes-validate knows only built-in kinds."""
    for doc in (d for d in overlay.docs if d["kind"] in CRD_KINDS):
        with pytest.raises(kubernetes_validate.SchemaNotFoundError):
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def _strict(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


_STRING = {"type": "string"}
_META = {"type": "object", "required": ["name"], "properties": {"name": _STRING}}
_DURATION = {"type": "string", "pattern": r"^([0-9]+(ms|s|m|h|d|w|y))+$"}
_STRINGS = {"type": "object", "additionalProperties": _STRING}
#: The fields of KEDA 2.x and prometheus-operator CRDs these manifests use, as the CRDs'
#: OpenAPI schemas have them (trigger metadata values are strings in KEDA).
CRD_SCHEMAS: dict[str, dict[str, Any]] = {
    "ScaledObject": _strict(
        {
            "apiVersion": {"const": "keda.sh/v1alpha1"},
            "kind": {"const": "ScaledObject"},
            "metadata": _META,
            "spec": _strict(
                {
                    "scaleTargetRef": _strict({"name": _STRING}, ["name"]),
                    "minReplicaCount": {"type": "integer", "minimum": 0},
                    "maxReplicaCount": {"type": "integer", "minimum": 1},
                    "pollingInterval": {"type": "integer", "minimum": 1},
                    "cooldownPeriod": {"type": "integer", "minimum": 0},
                    "advanced": _strict(
                        {
                            "horizontalPodAutoscalerConfig": _strict(
                                {"behavior": {"type": "object"}}, ["behavior"]
                            )
                        },
                        ["horizontalPodAutoscalerConfig"],
                    ),
                    "triggers": {
                        "type": "array",
                        "minItems": 1,
                        "items": _strict(
                            {
                                "type": {"enum": list(KEDA_TRIGGERS.values())},
                                "metricType": {"enum": ["AverageValue", "Value"]},
                                "metadata": {
                                    "type": "object",
                                    "additionalProperties": _STRING,
                                    "required": ["stream", "consumerGroup"],
                                },
                                "authenticationRef": _strict({"name": _STRING}, ["name"]),
                            },
                            ["type", "metadata"],
                        ),
                    },
                },
                ["scaleTargetRef", "triggers"],
            ),
        },
        ["apiVersion", "kind", "metadata", "spec"],
    ),
    "TriggerAuthentication": _strict(
        {
            "apiVersion": {"const": "keda.sh/v1alpha1"},
            "kind": {"const": "TriggerAuthentication"},
            "metadata": _META,
            "spec": _strict(
                {
                    "secretTargetRef": {
                        "type": "array",
                        "items": _strict(
                            {"parameter": _STRING, "name": _STRING, "key": _STRING},
                            ["parameter", "name", "key"],
                        ),
                    }
                },
                ["secretTargetRef"],
            ),
        },
        ["apiVersion", "kind", "metadata", "spec"],
    ),
    "PrometheusRule": _strict(
        {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "kind": {"const": "PrometheusRule"},
            "metadata": _META,
            "spec": _strict(
                {
                    "groups": {
                        "type": "array",
                        "minItems": 1,
                        "items": _strict(
                            {
                                "name": _STRING,
                                "interval": _DURATION,
                                "rules": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {
                                        **_strict(
                                            {
                                                "alert": _STRING,
                                                "record": _STRING,
                                                "expr": {"type": ["string", "integer"]},
                                                "for": _DURATION,
                                                "labels": _STRINGS,
                                                "annotations": _STRINGS,
                                            },
                                            ["expr"],
                                        ),
                                        "oneOf": [
                                            {"required": ["alert"]},
                                            {"required": ["record"]},
                                        ],
                                    },
                                },
                            },
                            ["name", "rules"],
                        ),
                    }
                },
                ["groups"],
            ),
        },
        ["apiVersion", "kind", "metadata", "spec"],
    ),
    "ServiceMonitor": _strict(
        {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "kind": {"const": "ServiceMonitor"},
            "metadata": _META,
            "spec": _strict(
                {
                    "selector": _strict(
                        {"matchLabels": {"type": "object", "additionalProperties": _STRING}},
                        ["matchLabels"],
                    ),
                    "endpoints": {
                        "type": "array",
                        "minItems": 1,
                        "items": _strict(
                            {
                                "port": _STRING,
                                "path": _STRING,
                                "interval": {"type": "string", "pattern": r"^[0-9]+(ms|s|m)$"},
                                "scrapeTimeout": {
                                    "type": "string",
                                    "pattern": r"^[0-9]+(ms|s|m)$",
                                },
                            },
                            ["port", "path"],
                        ),
                    },
                },
                ["selector", "endpoints"],
            ),
        },
        ["apiVersion", "kind", "metadata", "spec"],
    ),
}


def test_custom_resources_pass_their_schemas(overlay: Overlay) -> None:
    custom = [d for d in overlay.docs if d["kind"] in CRD_KINDS]
    assert {d["kind"] for d in custom} == (set() if overlay.name == "minimal" else CRD_KINDS)
    for doc in custom:
        jsonschema.validate(doc, CRD_SCHEMAS[doc["kind"]])


def test_a_trigger_without_a_stream_is_refused(rendered: list[dict[str, Any]]) -> None:
    scaled = dict(of_kind(rendered, "ScaledObject")["assistant"])
    scaled["spec"] = {**scaled["spec"], "triggers": [{"type": "redis-streams", "metadata": {}}]}
    with pytest.raises(jsonschema.ValidationError):  # no stream: refused
        jsonschema.validate(scaled, CRD_SCHEMAS["ScaledObject"])


# -- checkov ----------------------------------------------------------------------------------


def test_every_skipped_checkov_check_says_why() -> None:
    lines = CHECKOV_CONFIG.read_text().splitlines()
    skipped = [line for line in lines if re.match(r"\s+- CKV", line)]
    assert skipped, "the config lists the skipped checks"
    for line in skipped:
        assert re.match(r"\s+- CKV2?_K8S_\d+\s+#\s*\S.{20,}", line), f"no reason: {line}"


def run_checkov(manifests: dict[str, list[dict[str, Any]]], tmp_path: Path) -> Counter[str]:
    """checkov on each of `manifests` (a file each) in one run (its start-up is most of its
    time), with the repository's config; the passed checks per file (a failed one fails the
    test)."""
    checkov = ROOT / ".venv" / "bin" / "checkov"
    files: list[str] = []
    for name, docs in manifests.items():
        (tmp_path / name).write_text(yaml.safe_dump_all(docs))
        files += ["-f", name]
    env = {
        **os.environ,
        "BC_SKIP_MAPPING": "TRUE",  # no download of the platform's check mapping
        "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
        "LOG_LEVEL": "WARNING",
    }
    result = subprocess.run(
        [str(checkov), "--config-file", str(CHECKOV_CONFIG), "-o", "junitxml", *files],
        capture_output=True,
        text=True,
        env=env,
        timeout=110,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    cases = ElementTree.fromstring(result.stdout).iter("testcase")
    passed: Counter[str] = Counter()
    for case in cases:
        assert len(case) == 0, ElementTree.tostring(case, encoding="unicode")  # failed/skipped
        passed[case.attrib["file"].lstrip("/")] += 1
    return passed


def test_checkov_finds_nothing_unexplained_in_the_overlays_or_the_redis_component(
    renders: dict[str, list[dict[str, Any]]], with_redis: list[dict[str, Any]], tmp_path: Path
) -> None:
    redis = [d for d in with_redis if d["metadata"]["name"] in ("redis", "redis-clients")]
    files = {f"{name}.yaml": docs for name, docs in renders.items()}
    passed = run_checkov({**files, "redis.yaml": redis}, tmp_path)
    assert all(passed[name] > 100 for name in files), passed
    assert passed["redis.yaml"] > 40


# -- what the manifests promise --------------------------------------------------------------


@pytest.mark.parametrize("service", NAMES)
def test_every_deployment_probes_livez_and_readyz_with_limits(
    rendered: list[dict[str, Any]], service: str
) -> None:
    deployment = of_kind(rendered, "Deployment")[k8s_name(service)]
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    (container,) = containers(deployment)
    assert container["ports"] == [{"name": "http", "containerPort": BY_NAME[service].default_port}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["startupProbe"]["httpGet"]["path"] == "/livez"
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["timeoutSeconds"] >= 3  # over the services' 2 s check timeout
    for bound in ("requests", "limits"):
        assert set(container["resources"][bound]) == {"cpu", "memory"}
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert container["image"].startswith(f"registry.example.com/smart-assistant/{service}:")


@pytest.mark.parametrize("service", NAMES)
def test_every_deployment_has_a_budget_and_a_scraped_service(
    rendered: list[dict[str, Any]], service: str
) -> None:
    name = k8s_name(service)
    pod_labels = of_kind(rendered, "Deployment")[name]["spec"]["template"]["metadata"]["labels"]
    budget = of_kind(rendered, "PodDisruptionBudget")[name]["spec"]
    assert budget["selector"]["matchLabels"].items() <= pod_labels.items()
    assert budget.get("maxUnavailable") == 1 or budget.get("minAvailable")
    svc = of_kind(rendered, "Service")[name]
    assert svc["spec"]["selector"].items() <= pod_labels.items()
    (monitor,) = of_kind(rendered, "ServiceMonitor").values()
    assert monitor["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["port"] in {p["name"] for p in svc["spec"]["ports"]}


def test_workers_get_no_admin_secrets(rendered: list[dict[str, Any]]) -> None:
    """Least secrets, as in docker-compose.yml: the admin token and the master key stay with
    rest_service; each worker gets its own scoped token only."""
    deployments = of_kind(rendered, "Deployment")
    admin_only = {"ADMIN_API_TOKEN", "ADMIN_PASSWORD", "LLM_MODEL_DECRYPT_KEY", "SERVICE_API_TOKEN"}
    for service in NAMES:
        (container,) = containers(deployments[k8s_name(service)])
        keys = secret_keys(container)
        if service != "rest_service":
            assert not keys & admin_only, service
        if service in ("assistant", "cron_service", "tg_bot", "channels"):
            scoped = {k for k in keys if k.startswith("SERVICE_TOKEN_")}
            assert scoped == {f"SERVICE_TOKEN_{service.upper()}"}, service


def test_every_secret_key_is_in_the_example_file_without_a_value(
    rendered: list[dict[str, Any]],
) -> None:
    example = (OVERLAY / "secrets.env.example").read_text().splitlines()
    entries = dict(line.split("=", 1) for line in example if line and not line.startswith("#"))
    used: set[str] = set()
    for workload in [*of_kind(rendered, "Deployment").values(), *of_kind(rendered, "Job").values()]:
        for container in containers(workload):
            used |= secret_keys(container)
    (auth,) = of_kind(rendered, "TriggerAuthentication").values()
    used |= {ref["key"] for ref in auth["spec"]["secretTargetRef"]}
    assert used <= set(entries)
    secrets = [k for k in entries if re.search(r"TOKEN|PASSWORD|SECRET|KEY", k)]
    assert secrets and all(entries[k] == "" for k in secrets)


def test_the_migrate_job_runs_what_compose_runs(rendered: list[dict[str, Any]]) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    job = of_kind(rendered, "Job")["migrate"]
    (container,) = containers(job)
    assert container["command"] == compose["services"]["migrate"]["command"]
    assert container["image"].startswith("registry.example.com/smart-assistant/rest_service:")
    assert {"ASYNC_DATABASE_URL", "LLM_MODEL_DECRYPT_KEY"} <= secret_keys(container)


def ingress_routes(docs: list[dict[str, Any]]) -> dict[str, str]:
    (ingress,) = of_kind(docs, "Ingress").values()
    (rule,) = ingress["spec"]["rules"]
    return {p["path"]: p["backend"]["service"]["name"] for p in rule["http"]["paths"]}


def test_the_ingress_routes_oauth_callback_webhook_and_channels(
    rendered: list[dict[str, Any]],
) -> None:
    """The example keeps the admin off the public Ingress (the admin-ingress component puts it
    there), and rest_service takes nothing from the ingress controller."""
    (ingress,) = of_kind(rendered, "Ingress").values()
    (rule,) = ingress["spec"]["rules"]
    routes = ingress_routes(rendered)
    config = config_data(rendered)
    webhook_path = config["TELEGRAM_WEBHOOK_PATH"]
    assert routes == {
        "/auth/callback": "google-calendar-service",
        webhook_path: "tg-bot",
        "/whatsapp": "channels",
        "/slack": "channels",
        "/chat": "channels",
        "/v1": "channels",
        "/api/v1": "channels",
    }
    assert config["GOOGLE_REDIRECT_URI"] == f"https://{rule['host']}/auth/callback"
    assert config["TELEGRAM_WEBHOOK_URL"] == f"https://{rule['host']}{webhook_path}"
    assert ingress["spec"]["tls"][0]["hosts"] == [rule["host"]]
    assert "rest-service" not in reached_from_ingress_controller(rendered)


def reached_from_ingress_controller(docs: list[dict[str, Any]]) -> set[str]:
    names: set[str] = set()
    for policy in of_kind(docs, "NetworkPolicy").values():
        sources = [s for rule in policy["spec"].get("ingress", []) for s in rule["from"]]
        if any(
            s.get("namespaceSelector", {}).get("matchLabels", {}).get(NAMESPACE_KEY)
            == "ingress-nginx"
            for s in sources
        ):
            names |= selected(docs, policy["spec"]["podSelector"])
    return names


def test_the_admin_is_on_the_ingress_only_with_its_component(
    renders: dict[str, list[dict[str, Any]]],
) -> None:
    for name, docs in renders.items():
        with_admin = name == "minimal"  # a trial: the only overlay that includes it
        assert (ingress_routes(docs).get("/admin") == "rest-service") is with_admin, name
        assert ("rest-service" in reached_from_ingress_controller(docs)) is with_admin, name
        # the webhook path is still where the overlay's replacement put it
        assert ingress_routes(docs)[config_data(docs)["TELEGRAM_WEBHOOK_PATH"]] == "tg-bot"


def test_the_webhook_path_in_base_is_tg_bots_default() -> None:
    (base_ingress,) = (d for d in kustomize(KUBERNETES / "base") if d["kind"] == "Ingress")
    paths = {p["path"] for p in base_ingress["spec"]["rules"][0]["http"]["paths"]}
    assert TgBotSettings.model_fields["telegram_webhook_path"].default in paths


def secret_data(docs: list[dict[str, Any]]) -> dict[str, str]:
    """The generated Secret's values, decoded."""
    (secret,) = of_kind(docs, "Secret").values()
    return {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}


def host_port(url: SplitResult) -> str:
    return f"{url.hostname}:{url.port or 6379}"


def topology(config: dict[str, str]) -> str:
    """The Redis topology the services' settings pick, read as `manage.py` reads an env file."""
    picked = topology_of(config)
    if picked["cluster"]:
        return "cluster"
    return "sentinel" if picked["sentinels"] else "single"


def redis_disagreements(docs: list[dict[str, Any]]) -> list[str]:
    """Where the KEDA trigger (and the ConfigMap's parts of REDIS_URL it reads) would reach
    another Redis, database or user than the services' settings do; empty when they agree."""
    config, secrets = config_data(docs), secret_data(docs)
    url = urlsplit(secrets["REDIS_URL"])
    database = url.path.strip("/") or "0"
    kind = topology(config)
    problems = [
        f"{key}={config.get(key)!r}, REDIS_URL says {wanted!r}"
        for key, wanted in (
            ("REDIS_ADDRESS", host_port(url)),
            ("REDIS_DATABASE", database),
            ("REDIS_USERNAME", unquote(url.username or "")),
        )
        if config.get(key) != wanted and not (key == "REDIS_ADDRESS" and kind == "sentinel")
    ]
    if url.password is not None and unquote(url.password) != secrets.get("REDIS_PASSWORD"):
        problems.append("REDIS_URL's password is not REDIS_PASSWORD")
    for scaled in of_kind(docs, "ScaledObject").values():
        (trigger,) = scaled["spec"]["triggers"]
        meta = trigger["metadata"]
        if trigger["type"] != KEDA_TRIGGERS[kind]:
            problems.append(f"the services use {kind} Redis, the trigger {trigger['type']}")
        addresses = {"single": "REDIS_ADDRESS", "sentinel": "REDIS_SENTINELS"}
        env = {
            "addressFromEnv" if kind == "single" else "addressesFromEnv": addresses.get(
                kind, "REDIS_ADDRESS"
            ),
            "usernameFromEnv": "REDIS_USERNAME",
            **({"sentinelMasterFromEnv": "REDIS_SENTINEL_MASTER"} if kind == "sentinel" else {}),
        }
        problems += [
            f"{field}: {meta.get(field)!r}, not {name}"
            for field, name in env.items()
            if meta.get(field) != name or name not in config
        ]
        if meta.get("databaseIndex", "0") != database:
            problems.append(f"databaseIndex {meta.get('databaseIndex')!r}, REDIS_URL's {database}")
        if meta["enableTLS"] != str(url.scheme == "rediss").lower():
            problems.append(f"enableTLS {meta['enableTLS']} with a {url.scheme}:// REDIS_URL")
        (auth,) = of_kind(docs, "TriggerAuthentication").values()
        refs = {r["parameter"]: r["key"] for r in auth["spec"]["secretTargetRef"]}
        if refs.get("password") != "REDIS_PASSWORD":
            problems.append(f"the password comes from {refs.get('password')}")
    return problems


def test_the_keda_trigger_counts_what_a_replica_could_take(rendered: list[dict[str, Any]]) -> None:
    """The group's lag (entries no replica has read), not its pending entries, which hold a
    chat's messages parked behind its lock (docs/deploy.md "Scaling each service")."""
    scaled = of_kind(rendered, "ScaledObject")["assistant"]
    assert scaled["spec"]["scaleTargetRef"]["name"] in of_kind(rendered, "Deployment")
    (trigger,) = scaled["spec"]["triggers"]
    prefix = config_data(rendered)["REDIS_KEY_PREFIX"]
    assert prefix, "the example shows a prefix"
    assert trigger["type"] == "redis-streams"
    assert trigger["metadata"]["stream"] == Names(prefix).to_secretary
    assert trigger["metadata"]["consumerGroup"] == ASSISTANT_GROUP
    assert int(trigger["metadata"]["lagCount"]) > 0
    assert "pendingEntriesCount" not in trigger["metadata"]
    assert trigger["metricType"] == "Value"
    behavior = scaled["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "assistant"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "assistant"},
            "maxReplicas": scaled["spec"]["maxReplicaCount"],
            "behavior": behavior,
        },
    }
    kubernetes_validate.validate(hpa, KUBERNETES_VERSION, strict=True)  # what KEDA passes on
    assistant = of_kind(rendered, "Deployment")["assistant"]
    assert "replicas" not in assistant["spec"], "KEDA owns the assistant's replica count"
    (auth,) = of_kind(rendered, "TriggerAuthentication").values()
    secret_names = set(of_kind(rendered, "Secret"))
    assert {ref["name"] for ref in auth["spec"]["secretTargetRef"]} <= secret_names


def test_the_trigger_and_the_services_reach_the_same_redis(overlay: Overlay) -> None:
    """Each overlay's REDIS_URL (the services') and the ConfigMap's parts of it (KEDA's)."""
    assert redis_disagreements(overlay.docs) == []


def keda_variant(
    tmp_path: Path, component: str, config: dict[str, str], url: str
) -> list[dict[str, Any]]:
    """The example overlay with `component` (if any) after keda-assistant, `config` in
    config.env and `url` as REDIS_URL."""
    shutil.copytree(KUBERNETES.parent, tmp_path / "deploy")
    overlay = tmp_path / "deploy" / "kubernetes" / "overlays" / "example"
    if component:
        kustomization = overlay / "kustomization.yaml"
        keda = "  - ../../components/keda-assistant\n"
        text = kustomization.read_text()
        assert keda in text
        kustomization.write_text(text.replace(keda, keda + f"  - ../../components/{component}\n"))
    env = overlay / "config.env"
    lines = [line for line in env.read_text().splitlines() if line.split("=")[0] not in config]
    env.write_text("\n".join(lines + [f"{k}={v}" for k, v in config.items()]) + "\n")
    secrets = overlay / "secrets.env.example"
    secrets.write_text(re.sub(r"(?m)^REDIS_URL=.*$", f"REDIS_URL={url}", secrets.read_text()))
    return kustomize(overlay)


#: Each trigger variant: its component (none: components/keda-assistant alone), the overlay's
#: settings, its REDIS_URL.
VARIANTS = {
    "single": (
        "",
        {"REDIS_DATABASE": "3", "REDIS_USERNAME": "assistant"},
        "redis://assistant@redis-master.redis.svc.cluster.local:6379/3",
    ),
    "sentinel": (
        "keda-assistant-sentinel",
        {
            "REDIS_SENTINELS": "sentinel-0.redis:26379,sentinel-1.redis:26379",
            "REDIS_SENTINEL_MASTER": "primary",
            "REDIS_DATABASE": "2",
        },
        "redis://ignored/2",
    ),
    "cluster": (
        "keda-assistant-cluster",
        {"REDIS_ADDRESS": "redis-cluster-0.redis:6379"},
        "redis://redis-cluster-0.redis:6379/0",
    ),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_each_trigger_variant_renders_validates_and_matches_the_services(
    tmp_path: Path, variant: str
) -> None:
    component, config, url = VARIANTS[variant]
    docs = keda_variant(tmp_path, component, config, url)
    for doc in docs:
        if doc["kind"] in CRD_KINDS:
            jsonschema.validate(doc, CRD_SCHEMAS[doc["kind"]])
        else:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    config_map = config_data(docs)
    assert topology(config_map) == variant  # the services pick this topology
    (trigger,) = of_kind(docs, "ScaledObject")["assistant"]["spec"]["triggers"]
    assert trigger["type"] == KEDA_TRIGGERS[variant]
    assert redis_disagreements(docs) == []
    meta, parts = trigger["metadata"], urlsplit(url)
    assert meta.get("databaseIndex", "0") == parts.path.strip("/")
    assert config_map[meta["usernameFromEnv"]] == (parts.username or "")
    if variant == "sentinel":
        assert config_map[meta["addressesFromEnv"]] == config["REDIS_SENTINELS"]
        assert config_map[meta["sentinelMasterFromEnv"]] == "primary"
    # KEDA resolves each *FromEnv in the assistant's container, whose envFrom is the ConfigMap.
    (container,) = containers(of_kind(docs, "Deployment")["assistant"])
    (config_map_name,) = (n for n in of_kind(docs, "ConfigMap") if n.startswith(CONFIG_MAP))
    assert {"configMapRef": {"name": config_map_name}} in container["envFrom"]


#: The example overlay's Redis (its config.env REDIS_ADDRESS).
EXAMPLE_REDIS = "redis-master.redis.svc.cluster.local:6379"


@pytest.mark.parametrize(
    ("config", "url", "found"),
    [
        ({}, f"redis://{EXAMPLE_REDIS}/4", "REDIS_DATABASE"),
        ({}, "redis://other-host:6379/0", "REDIS_ADDRESS"),
        ({}, f"redis://someone@{EXAMPLE_REDIS}/0", "REDIS_USERNAME"),
        ({}, f"redis://:secret@{EXAMPLE_REDIS}/0", "REDIS_PASSWORD"),
        ({}, f"rediss://{EXAMPLE_REDIS}/0", "enableTLS"),
        ({"REDIS_SENTINELS": "s:26379"}, "redis://x/0", "redis-streams"),
    ],
)
def test_a_trigger_that_disagrees_with_the_services_is_found(
    tmp_path: Path, config: dict[str, str], url: str, found: str
) -> None:
    problems = redis_disagreements(keda_variant(tmp_path, "", config, url))
    assert any(found in problem for problem in problems), problems


@pytest.mark.parametrize("prefix", ["", "team-a:", "x{y}:"])
def test_the_stream_follows_whatever_prefix_the_config_sets(tmp_path: Path, prefix: str) -> None:
    shutil.copytree(KUBERNETES.parent, tmp_path / "deploy")  # the base includes ../observability
    copy = tmp_path / "deploy" / "kubernetes"
    config = copy / "overlays" / "example" / "config.env"
    text = re.sub(r"(?m)^REDIS_KEY_PREFIX=.*$", f"REDIS_KEY_PREFIX={prefix}", config.read_text())
    config.write_text(text)
    docs = kustomize(copy / "overlays" / "example")
    (trigger,) = of_kind(docs, "ScaledObject")["assistant"]["spec"]["triggers"]
    assert trigger["metadata"]["stream"] == Names(prefix).to_secretary


def test_the_first_apply_step_holds_what_the_migrate_job_needs(
    rendered: list[dict[str, Any]],
) -> None:
    """docs/deploy.md applies `component in (config,migrate)` before the rest: the Job must
    find its namespace, ConfigMap and Secret in that step."""
    step = [
        d
        for d in rendered
        if d["metadata"].get("labels", {}).get("app.kubernetes.io/component")
        in ("config", "migrate")
    ]
    kinds = {(d["kind"], d["metadata"]["name"]) for d in step}
    (job,) = (d for d in step if d["kind"] == "Job")
    (container,) = containers(job)
    needed = {("ConfigMap", e["configMapRef"]["name"]) for e in container["envFrom"]}
    needed |= {
        ("Secret", e["valueFrom"]["secretKeyRef"]["name"])
        for e in container["env"]
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    assert needed | {("Namespace", job["metadata"]["namespace"])} <= kinds
    assert {kind for kind, _ in kinds} == {"Namespace", "ConfigMap", "Secret", "Job"}


# -- what docs/deploy.md says about the render ---------------------------------------------

DEPLOY_DOC = ROOT / "docs" / "deploy.md"
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}


def doc_section(heading: str) -> str:
    text = DEPLOY_DOC.read_text()
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_the_object_counts_docs_deploy_gives_are_the_renders(
    rendered: list[dict[str, Any]],
) -> None:
    """Every `` `Kind` × N `` row of the objects table, and "the N custom resources"."""
    section = doc_section("Kubernetes")
    stated = {
        kind: int(count)
        for kind, count in re.findall(r"^\| `(\w+)` × (\d+)", section, re.MULTILINE)
    }
    assert {"Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"} <= set(stated)
    counted = {kind: len(of_kind(rendered, kind)) for kind in stated}
    assert counted == stated
    (word,) = re.findall(r"the (\w+) custom resources", section)
    assert _NUMBER_WORDS[word] == len([d for d in rendered if d["kind"] in CRD_KINDS])


def test_the_replicas_docs_deploy_gives_are_the_manifests(
    rendered: list[dict[str, Any]],
) -> None:
    """The "Scaling each service" table: a fixed count, KEDA's or an HPA's min to max."""
    rows = re.findall(
        r"^\| (\w+) \| (?:(KEDA|HPA), (\d+) to (\d+)|(\d+)) \|",
        doc_section("Scaling each service"),
        re.MULTILINE,
    )
    assert {row[0] for row in rows} == set(NAMES)
    deployments = of_kind(rendered, "Deployment")
    for service, scaler, low, high, fixed in rows:
        name = k8s_name(service)
        if fixed:
            assert deployments[name]["spec"]["replicas"] == int(fixed), service
        else:
            assert replica_range(rendered, name) == (int(low), int(high)), service
            assert name in (
                of_kind(rendered, "ScaledObject" if scaler == "KEDA" else "HorizontalPodAutoscaler")
            )


def replica_range(docs: list[dict[str, Any]], name: str) -> tuple[int, int]:
    """A Deployment's fewest and most replicas: its HPA's, its ScaledObject's, or its count."""
    if name in (hpas := of_kind(docs, "HorizontalPodAutoscaler")):
        spec = hpas[name]["spec"]
        return spec["minReplicas"], spec["maxReplicas"]
    if name in (scaled := of_kind(docs, "ScaledObject")):
        spec = scaled[name]["spec"]
        return spec["minReplicaCount"], spec["maxReplicaCount"]
    replicas: int = of_kind(docs, "Deployment")[name]["spec"]["replicas"]
    return replicas, replicas


def claimed(pattern: str, text: str) -> tuple[str, ...]:
    found = re.search(pattern, text)
    assert found is not None, f"docs/deploy.md no longer says {pattern!r}"
    return found.groups()


def test_the_rollout_and_scaling_settings_docs_deploy_names_are_the_manifests(
    rendered: list[dict[str, Any]],
) -> None:
    text = " ".join(DEPLOY_DOC.read_text().split())  # one line: claims wrap
    surge, unavailable = claimed(r"\(`maxSurge: (\d+)`, `maxUnavailable: (\d+)`\)", text)
    grace, assistant_grace = claimed(
        r"`terminationGracePeriodSeconds` \((\d+) s; the assistant (\d+) s", text
    )
    for name, deployment in of_kind(rendered, "Deployment").items():
        rolling = deployment["spec"]["strategy"]["rollingUpdate"]
        assert (rolling["maxSurge"], rolling["maxUnavailable"]) == (int(surge), int(unavailable))
        wanted = assistant_grace if name == "assistant" else grace
        pod = deployment["spec"]["template"]["spec"]
        assert pod["terminationGracePeriodSeconds"] == int(wanted), name
    assert "at most one pod of each service down" in text
    for budget in of_kind(rendered, "PodDisruptionBudget").values():
        assert budget["spec"]["maxUnavailable"] == 1
    (lag,) = claimed(r'`lagCount: "(\d+)"`', text)
    step, window = claimed(r"removes one pod per (\d+) minutes after (\d+) minutes", text)
    spec = of_kind(rendered, "ScaledObject")["assistant"]["spec"]
    assert spec["triggers"][0]["metadata"]["lagCount"] == lag
    down = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"]
    assert down["stabilizationWindowSeconds"] == int(window) * 60
    assert down["policies"] == [{"type": "Pods", "value": 1, "periodSeconds": int(step) * 60}]


# -- the optional in-cluster Redis (deploy/kubernetes/redis) --------------------------------


def k8s_bytes(quantity: str) -> int:
    units = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "K": 1000, "M": 10**6, "G": 10**9}
    found = re.fullmatch(r"(\d+)([A-Za-z]*)", quantity)
    assert found is not None, quantity
    return int(found.group(1)) * units.get(found.group(2), 1)


@pytest.fixture(scope="module")
def with_redis(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The example overlay with the Redis component added, as docs/deploy.md says."""
    copy = tmp_path_factory.mktemp("with-redis") / "deploy"
    shutil.copytree(KUBERNETES.parent, copy)
    overlay = copy / "kubernetes" / "overlays" / "example"
    kustomization = overlay / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text() + "\ncomponents:\n  - ../../redis\n")
    return kustomize(overlay)


def test_the_redis_component_never_evicts_and_has_room_above_maxmemory(
    with_redis: list[dict[str, Any]],
) -> None:
    redis = of_kind(with_redis, "StatefulSet")["redis"]
    for doc in (d for d in with_redis if d["metadata"]["name"] in ("redis", "redis-clients")):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    (container,) = containers(redis)
    script = container["command"][-1]
    options = dict(re.findall(r"--([a-z-]+) (\S+)", script))
    assert options["maxmemory-policy"] == "noeviction"
    maxmemory = int(options["maxmemory"].removesuffix("gb")) * 1024**3
    limit = k8s_bytes(container["resources"]["limits"]["memory"])
    assert maxmemory <= limit * 2 // 3  # an AOF rewrite's fork and buffers fit beside it
    assert options["appendonly"] == "yes" and "requirepass" in script
    assert secret_keys(container) == {"REDIS_PASSWORD"}
    (secret,) = {e["valueFrom"]["secretKeyRef"]["name"] for e in container["env"]}
    assert secret in of_kind(with_redis, "Secret")  # the generated (hashed) name


def test_only_the_services_and_keda_reach_the_redis_component(
    with_redis: list[dict[str, Any]],
) -> None:
    policy = of_kind(with_redis, "NetworkPolicy")["redis-clients"]["spec"]
    assert policy["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "redis"}
    (rule,) = policy["ingress"]
    assert rule["from"] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "smart-assistant"}}},
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keda"}}},
    ]
    # Applied in the first step with the settings and before the migrate Job, which needs it.
    for kind in ("Service", "StatefulSet"):
        labels = of_kind(with_redis, kind)["redis"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/component"] == "redis"
    steps = re.findall(r"-l 'app\.kubernetes\.io/component in \(([^)]*)\)'", DEPLOY_DOC.read_text())
    assert steps and all("redis" in step.split(",") for step in steps)


# -- the package: autoscaling, GitOps order, egress, placement, the connection budget -------


def test_every_autoscaler_owns_its_deployments_count_alone(overlay: Overlay) -> None:
    deployments = of_kind(overlay.docs, "Deployment")
    targets = [
        h["spec"]["scaleTargetRef"]
        for h in of_kind(overlay.docs, "HorizontalPodAutoscaler").values()
    ]
    assert all(t["kind"] == "Deployment" for t in targets)
    targets += [s["spec"]["scaleTargetRef"] for s in of_kind(overlay.docs, "ScaledObject").values()]
    names = [t["name"] for t in targets]
    assert len(names) == len(set(names)), "KEDA and an HPA never scale one Deployment"
    for name in names:
        assert "replicas" not in deployments[name]["spec"], name
        low, high = replica_range(overlay.docs, name)
        assert 1 <= low <= high
    for name in set(deployments) - set(names):
        assert deployments[name]["spec"]["replicas"] >= 1, name
    if overlay.name != "minimal":
        assert "rest-service" in of_kind(overlay.docs, "HorizontalPodAutoscaler")


def test_every_hpa_component_renders_and_validates(tmp_path: Path) -> None:
    """Each components/hpa-<name> alone: a CPU HPA for its Deployment, whose count it owns."""
    shutil.copytree(KUBERNETES.parent, tmp_path / "deploy")
    components = sorted((KUBERNETES / "components").glob("hpa-*"))
    overlay = tmp_path / "deploy" / "kubernetes" / "overlays" / "all-hpa"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": ["../../base"],
                "components": [f"../../components/{c.name}" for c in components],
            }
        )
    )
    docs = kustomize(overlay)
    hpas = of_kind(docs, "HorizontalPodAutoscaler")
    assert set(hpas) == {c.name.removeprefix("hpa-") for c in components}
    assert {"rest-service", "assistant"} <= set(hpas)
    for name, hpa in hpas.items():
        kubernetes_validate.validate(hpa, KUBERNETES_VERSION, strict=True)
        assert hpa["spec"]["scaleTargetRef"]["name"] == name
        ((metric),) = hpa["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"
        assert "replicas" not in of_kind(docs, "Deployment")[name]["spec"], name


def tg_bot_scaling_problems(docs: list[dict[str, Any]]) -> list[str]:
    """tg_bot scales on receiving only with a webhook: a long-polling tg_bot has one poller."""
    if "tg-bot" not in of_kind(docs, "HorizontalPodAutoscaler"):
        return []
    if config_data(docs).get("TELEGRAM_WEBHOOK_URL", "").startswith("https://"):
        return []
    return ["an HPA scales tg-bot but TELEGRAM_WEBHOOK_URL is unset: one replica polls"]


def test_tg_bot_is_autoscaled_only_behind_a_webhook(overlay: Overlay) -> None:
    assert tg_bot_scaling_problems(overlay.docs) == []


@pytest.mark.parametrize(("name", "problems"), [("minimal", 1), ("example", 0)])
def test_the_tg_bot_hpa_without_a_webhook_is_found(
    tmp_path: Path, name: str, problems: int
) -> None:
    """minimal polls (no TELEGRAM_WEBHOOK_URL); example has a webhook."""
    shutil.copytree(KUBERNETES.parent, tmp_path / "deploy")
    kustomization = tmp_path / "deploy" / "kubernetes" / "overlays" / name / "kustomization.yaml"
    document = yaml.safe_load(kustomization.read_text())
    document.setdefault("components", []).append("../../components/hpa-tg-bot")
    kustomization.write_text(yaml.safe_dump(document))
    assert len(tg_bot_scaling_problems(kustomize(kustomization.parent))) == problems


WAVE = "argocd.argoproj.io/sync-wave"
#: What the migrate Job needs running before it: the bundled databases (their pods carry
#: `app.kubernetes.io/component` = these).
DATABASES = ("redis", "postgres", "pgbouncer")


def wave(doc: dict[str, Any]) -> int:
    return int(doc["metadata"].get("annotations", {}).get(WAVE, "0"))


def test_argo_cd_applies_settings_then_the_migrate_job_then_the_services(
    overlay: Overlay,
) -> None:
    """Sync waves: the namespace, then the settings, secrets and bundled databases, then the
    Job (a hook, made again at every sync, with no TTL that would let a later apply run it
    again), then everything else."""
    docs = overlay.docs
    job = of_kind(docs, "Job")["migrate"]
    annotations = job["metadata"]["annotations"]
    assert annotations["argocd.argoproj.io/hook"] == "Sync"
    assert annotations["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation"
    assert "ttlSecondsAfterFinished" not in job["spec"]
    assert job["metadata"]["labels"]["app.kubernetes.io/component"] == "migrate"
    (container,) = containers(job)
    assert container["command"] == ["sh", "-c", "python manage.py upgrade && python manage.py seed"]
    inputs = {("ConfigMap", e["configMapRef"]["name"]) for e in container["envFrom"]}
    inputs |= {
        ("Secret", e["valueFrom"]["secretKeyRef"]["name"])
        for e in container["env"]
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    before = [
        d
        for d in docs
        if (d["kind"], d["metadata"]["name"]) in inputs
        or d["metadata"].get("labels", {}).get("app.kubernetes.io/component") in DATABASES
    ]
    assert {(d["kind"], d["metadata"]["name"]) for d in before} >= inputs
    (namespace,) = of_kind(docs, "Namespace").values()
    assert wave(namespace) < min(wave(d) for d in before)
    assert max(wave(d) for d in before) < wave(job)
    for doc in docs:
        if doc is not namespace and doc is not job and not any(doc is d for d in before):
            assert wave(doc) > wave(job), (doc["kind"], doc["metadata"]["name"])


def test_the_first_apply_step_starts_the_bundled_databases(overlay: Overlay) -> None:
    """Without Argo CD, docs/deploy.md applies the labelled step first: it holds the Job and
    every bundled database it needs."""
    (step,) = set(
        re.findall(r"-l '(app\.kubernetes\.io/component in \([^)]*\))'", DEPLOY_DOC.read_text())
    )
    components = set(step.split("(")[1].rstrip(")").split(","))
    assert {"config", "migrate", *DATABASES} <= components
    for kind in WORKLOAD_KINDS:
        for name, workload in of_kind(overlay.docs, kind).items():
            component = workload["metadata"]["labels"].get("app.kubernetes.io/component")
            assert (component in components) is (name in ("migrate", *DATABASES)), name


#: The services whose code calls hosts outside the cluster (docs/deploy.md "Network egress").
OUTSIDE_CALLERS = {"rest-service", "google-calendar-service", "assistant", "tg-bot", "channels"}
PRIVATE = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"}


def egress_rules(docs: list[dict[str, Any]], workload: str) -> list[dict[str, Any]]:
    labels = pods(docs)[workload]
    rules: list[dict[str, Any]] = []
    for policy in of_kind(docs, "NetworkPolicy").values():
        spec = policy["spec"]
        if "Egress" in spec["policyTypes"] and matches(spec["podSelector"], labels):
            rules += spec.get("egress", [])
    return rules


def reaches_port(rules: list[dict[str, Any]], port: int) -> bool:
    """A rule lets the port out to anywhere (Postgres and Redis are where the URLs say)."""
    return any("to" not in r and port in {p["port"] for p in r["ports"]} for r in rules)


def test_egress_is_only_what_each_workload_calls(overlay: Overlay) -> None:
    docs = overlay.docs
    deny = of_kind(docs, "NetworkPolicy")["default-deny-egress"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Egress"]}
    for name, labels in pods(docs).items():
        rules = egress_rules(docs, name)
        if labels.get("app.kubernetes.io/part-of") != "smart-assistant":
            # the bundled databases call nothing; PgBouncer calls Postgres
            assert bool(rules) is (name == "pgbouncer"), name
            continue
        dns = [r for r in rules if {53} == {p["port"] for p in r.get("ports", [])}]
        assert dns and all(p["protocol"] in ("UDP", "TCP") for r in dns for p in r["ports"])
        blocks = [t["ipBlock"] for r in rules for t in r.get("to", []) if "ipBlock" in t]
        if name in OUTSIDE_CALLERS:
            (v4,) = (b for b in blocks if b["cidr"] == "0.0.0.0/0")
            assert set(v4["except"]) >= PRIVATE, name
        else:
            assert not blocks, f"{name} calls nothing outside"
        assert reaches_port(rules, 6379), name
        assert reaches_port(rules, 5432) is (name in ("rest-service", "migrate")), name
        # no rule lets every port out to every address
        assert all("to" in r or r.get("ports") for r in rules), name


def test_the_ha_overlay_spreads_every_service_across_zones_and_nodes(
    renders: dict[str, list[dict[str, Any]]],
) -> None:
    ha = renders["ha"]
    budgets = of_kind(ha, "PodDisruptionBudget")
    for service in NAMES:
        name = k8s_name(service)
        pod = of_kind(ha, "Deployment")[name]["spec"]["template"]["spec"]
        spread = {c["topologyKey"]: c for c in pod["topologySpreadConstraints"]}
        assert set(spread) == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
        assert spread["kubernetes.io/hostname"]["whenUnsatisfiable"] == "DoNotSchedule"
        (anti,) = pod["affinity"]["podAntiAffinity"][
            "preferredDuringSchedulingIgnoredDuringExecution"
        ]
        term = anti["podAffinityTerm"]
        assert term["topologyKey"] == "kubernetes.io/hostname"
        for selector in [c["labelSelector"] for c in spread.values()] + [term["labelSelector"]]:
            assert selected(ha, selector) == {name}  # its own pods, no other service's
        low, _ = replica_range(ha, name)
        assert low >= (2 if service in ("google_calendar_service", "tg_bot") else 3), name
        assert budgets[name]["spec"]["maxUnavailable"] == 1
    assert config_data(ha)["DB_STATEMENT_CACHE_SIZE"] == "0"  # behind PgBouncer


# -- the connection budget (docs/deploy.md "Connection budget") ----------------------------

#: Postgres's own default, for an overlay whose Postgres is not in it.
POSTGRES_MAX_CONNECTIONS = 100
#: Postgres keeps these for superusers (superuser_reserved_connections' default).
SUPERUSER_RESERVED = 3
#: Kept for the migrate Job and an operator's `manage.py` (one connection at a time each).
OPERATIONS_RESERVED = 5


def env_value(container: dict[str, Any], key: str) -> str:
    (value,) = (e["value"] for e in container["env"] if e["name"] == key)
    return str(value)


def pods_at_most(docs: list[dict[str, Any]], name: str) -> int:
    """The most replicas, and one more while a rollout surges."""
    deployment = of_kind(docs, "Deployment")[name]
    surge: int = deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
    return replica_range(docs, name)[1] + surge


def postgres_allows(docs: list[dict[str, Any]]) -> int:
    if "postgres" in of_kind(docs, "StatefulSet"):
        (container,) = containers(of_kind(docs, "StatefulSet")["postgres"])
        (setting,) = (a for a in container["args"] if a.startswith("max_connections="))
        max_connections = int(setting.split("=")[1])
    else:
        max_connections = POSTGRES_MAX_CONNECTIONS
    return max_connections - SUPERUSER_RESERVED - OPERATIONS_RESERVED


def budget_rows(pattern: str) -> dict[str, tuple[int, ...]]:
    section = doc_section("Connection budget")
    return {
        row[0]: tuple(int(n) for n in row[1:]) for row in re.findall(pattern, section, re.MULTILINE)
    }


def test_rest_services_pools_fit_what_postgres_or_pgbouncer_allows(
    renders: dict[str, list[dict[str, Any]]],
) -> None:
    """rest_service is the one service with a Postgres pool (the others reach the data through
    it): its pods at most × (DB_POOL_SIZE + DB_MAX_OVERFLOW) fit the server they open,
    Postgres (max_connections less the reserved) or PgBouncer (its MAX_CLIENT_CONN less the
    same reserve); PgBouncer's own server connections fit Postgres. The numbers are the
    docs' table."""
    fields = RestSettings.model_fields
    rows = budget_rows(r"^\| (\w+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|")
    bouncer_rows = budget_rows(r"^\| (\w+), PgBouncer \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|")
    assert set(rows) == set(OVERLAYS) and set(bouncer_rows) == {"ha"}
    for name, docs in renders.items():
        config = config_data(docs)
        per_pod = int(config.get("DB_POOL_SIZE", fields["db_pool_size"].default)) + int(
            config.get("DB_MAX_OVERFLOW", fields["db_max_overflow"].default)
        )
        pods_ = pods_at_most(docs, "rest-service")
        if "pgbouncer" in of_kind(docs, "Deployment"):
            bouncer = of_kind(docs, "Deployment")["pgbouncer"]
            (container,) = containers(bouncer)
            allows = int(env_value(container, "MAX_CLIENT_CONN")) - OPERATIONS_RESERVED
            assert env_value(container, "POOL_MODE") == "transaction"
            servers = int(env_value(container, "MAX_DB_CONNECTIONS"))
            assert servers >= int(env_value(container, "DEFAULT_POOL_SIZE"))
            bouncers = pods_at_most(docs, "pgbouncer")
            wanted = (bouncers, servers, bouncers * servers, postgres_allows(docs))
            assert bouncer_rows[name] == wanted
            assert bouncers * servers <= postgres_allows(docs)
        else:
            allows = postgres_allows(docs)
        assert rows[name] == (pods_, per_pod, pods_ * per_pod, allows), name
        assert pods_ * per_pod <= allows, name
