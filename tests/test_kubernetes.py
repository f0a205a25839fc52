"""deploy/kubernetes, checked offline: the example overlay renders with `kubectl kustomize`,
every built-in object passes the Kubernetes schemas strictly (kubernetes-validate), the
custom resources (KEDA, Prometheus operator) pass schemas of the fields we use, checkov finds
nothing but the checks `.checkov.yaml` skips with a reason, and the manifests keep the
promises docs/deploy.md makes (probes, resources, budgets, the prefixed KEDA stream)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import jsonschema
import kubernetes_validate
import pytest
import yaml

from common.infrastructure.redis_keys import ASSISTANT_GROUP, Names
from ops.services import BY_NAME, NAMES, ROOT
from tests.programs import require_program
from tg_bot.src.settings import Settings as TgBotSettings

pytestmark = pytest.mark.policy

KUBERNETES = ROOT / "deploy" / "kubernetes"
OVERLAY = KUBERNETES / "overlays" / "example"
CHECKOV_CONFIG = KUBERNETES / ".checkov.yaml"
#: The oldest Kubernetes the manifests are for (the kubectl in CI is 1.32).
KUBERNETES_VERSION = "1.32.0"
#: The generated ConfigMap every service reads (kustomize adds a hash to the name).
CONFIG_MAP = "smart-assistant-config-"
#: Custom resources: kubernetes-validate has no schema for them (SchemaNotFoundError).
CRD_KINDS = {"ScaledObject", "TriggerAuthentication", "ServiceMonitor", "PrometheusRule"}


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


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return kustomize(OVERLAY)


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


# -- rendering and schemas ------------------------------------------------------------------


def test_the_overlay_renders_every_object(rendered: list[dict[str, Any]]) -> None:
    expected = {k8s_name(s) for s in NAMES}
    assert set(of_kind(rendered, "Deployment")) == expected
    assert set(of_kind(rendered, "Service")) == expected
    assert set(of_kind(rendered, "PodDisruptionBudget")) == expected
    assert set(of_kind(rendered, "Job")) == {"migrate"}
    assert len(of_kind(rendered, "Ingress")) == 1
    assert set(of_kind(rendered, "ScaledObject")) == {"assistant"}
    assert len(of_kind(rendered, "ServiceMonitor")) == 1
    assert len(of_kind(rendered, "PrometheusRule")) == 1  # deploy/observability's alerts
    assert of_kind(rendered, "NetworkPolicy")
    namespaced = [d for d in rendered if d["kind"] != "Namespace"]
    assert {d["metadata"].get("namespace") for d in namespaced} == {"smart-assistant"}


def test_built_in_objects_pass_the_kubernetes_schemas_strictly(
    rendered: list[dict[str, Any]],
) -> None:
    built_in = [d for d in rendered if d["kind"] not in CRD_KINDS]
    for doc in built_in:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    # and strict means strict: a misspelt field is refused
    deployment = dict(of_kind(rendered, "Deployment")["assistant"])
    deployment["spec"] = {**deployment["spec"], "replica": 2}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_custom_resources_have_no_built_in_schema(rendered: list[dict[str, Any]]) -> None:
    """Why they get the schemas below: kubernetes-validate knows only built-in kinds."""
    for doc in (d for d in rendered if d["kind"] in CRD_KINDS):
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
                    "triggers": {
                        "type": "array",
                        "minItems": 1,
                        "items": _strict(
                            {
                                "type": {"enum": ["redis-streams"]},
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


def test_custom_resources_pass_their_schemas(rendered: list[dict[str, Any]]) -> None:
    custom = [d for d in rendered if d["kind"] in CRD_KINDS]
    assert {d["kind"] for d in custom} == CRD_KINDS
    for doc in custom:
        jsonschema.validate(doc, CRD_SCHEMAS[doc["kind"]])
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


def test_checkov_finds_nothing_unexplained_in_the_overlay_or_the_redis_component(
    rendered: list[dict[str, Any]], with_redis: list[dict[str, Any]], tmp_path: Path
) -> None:
    redis = [d for d in with_redis if d["metadata"]["name"] in ("redis", "redis-clients")]
    passed = run_checkov({"rendered.yaml": rendered, "redis.yaml": redis}, tmp_path)
    assert passed["rendered.yaml"] > 100 and passed["redis.yaml"] > 40


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


def test_the_ingress_routes_admin_oauth_callback_and_webhook(
    rendered: list[dict[str, Any]],
) -> None:
    (ingress,) = of_kind(rendered, "Ingress").values()
    (rule,) = ingress["spec"]["rules"]
    routes = {p["path"]: p["backend"]["service"]["name"] for p in rule["http"]["paths"]}
    config = config_data(rendered)
    webhook_path = config["TELEGRAM_WEBHOOK_PATH"]
    assert routes == {
        "/admin": "rest-service",
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


def test_the_webhook_path_in_base_is_tg_bots_default() -> None:
    (base_ingress,) = (d for d in kustomize(KUBERNETES / "base") if d["kind"] == "Ingress")
    paths = {p["path"] for p in base_ingress["spec"]["rules"][0]["http"]["paths"]}
    assert TgBotSettings.model_fields["telegram_webhook_path"].default in paths


def test_the_keda_trigger_reads_the_prefixed_stream(rendered: list[dict[str, Any]]) -> None:
    scaled = of_kind(rendered, "ScaledObject")["assistant"]
    assert scaled["spec"]["scaleTargetRef"]["name"] in of_kind(rendered, "Deployment")
    (trigger,) = scaled["spec"]["triggers"]
    prefix = config_data(rendered)["REDIS_KEY_PREFIX"]
    assert prefix, "the example shows a prefix"
    assert trigger["type"] == "redis-streams"
    assert trigger["metadata"]["stream"] == Names(prefix).to_secretary
    assert trigger["metadata"]["consumerGroup"] == ASSISTANT_GROUP
    assert int(trigger["metadata"]["pendingEntriesCount"]) > 0
    assistant = of_kind(rendered, "Deployment")["assistant"]
    assert "replicas" not in assistant["spec"], "KEDA owns the assistant's replica count"
    (auth,) = of_kind(rendered, "TriggerAuthentication").values()
    secret_names = set(of_kind(rendered, "Secret"))
    assert {ref["name"] for ref in auth["spec"]["secretTargetRef"]} <= secret_names


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
    """The "Scaling each service" table: a fixed count, or KEDA's min to max."""
    rows = re.findall(
        r"^\| (\w+) \| (?:KEDA, (\d+) to (\d+)|(\d+)) \|",
        doc_section("Scaling each service"),
        re.MULTILINE,
    )
    assert {row[0] for row in rows} == set(NAMES)
    deployments = of_kind(rendered, "Deployment")
    scaled = of_kind(rendered, "ScaledObject")
    for service, low, high, fixed in rows:
        name = k8s_name(service)
        if fixed:
            assert deployments[name]["spec"]["replicas"] == int(fixed), service
        else:
            spec = scaled[name]["spec"]
            assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (int(low), int(high))


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
    (pending,) = claimed(r'`pendingEntriesCount: "(\d+)"`', text)
    (cooldown,) = claimed(r"`cooldownPeriod` \((\d+) min\)", text)
    spec = of_kind(rendered, "ScaledObject")["assistant"]["spec"]
    assert spec["triggers"][0]["metadata"]["pendingEntriesCount"] == pending
    assert spec["cooldownPeriod"] == int(cooldown) * 60


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
