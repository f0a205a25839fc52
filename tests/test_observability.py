"""deploy/observability: every metric and label the Grafana dashboard and the Prometheus
alert rules use is one our services export; the rules are valid (promtool) and each alert's
expression fires on the data it is meant for and stays quiet otherwise (promtool's unit
tests); the dashboard has Grafana's basic shape."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]
from prometheus_client import REGISTRY

from ops.services import ROOT
from tests.programs import require_program

pytestmark = pytest.mark.policy

HERE = ROOT / "deploy" / "observability"
RULES = HERE / "prometheus-rules.yaml"
DASHBOARD = HERE / "grafana-dashboard.json"
PACKAGES = (
    "common",
    "assistant",
    "tg_bot",
    "cron_service",
    "rest_service",
    "google_calendar_service",
)
#: Labels Prometheus adds to every scraped series, and the bucket label of histograms.
SCRAPE_LABELS = {"job", "instance", "namespace", "pod", "service_name", "le"}
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right",
    "and", "or", "unless", "offset", "bool", "inf", "nan",
}  # fmt: skip
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("_count", "_sum", "_created"),
    "info": ("_info",),
}


@cache
def exported() -> dict[str, set[str]]:
    """Every sample name the services' modules register, with its label names."""
    for top in PACKAGES:
        package = importlib.import_module(top)
        for module in pkgutil.walk_packages(package.__path__, f"{top}."):
            if ".tests" not in module.name and not module.name.endswith("__main__"):
                importlib.import_module(module.name)
    found: dict[str, set[str]] = {}
    for collector, names in REGISTRY._collector_to_names.items():
        labels = set(getattr(collector, "_labelnames", ()))
        for family in collector.describe() if hasattr(collector, "describe") else ():
            for suffix in SUFFIXES.get(family.type, ("",)):
                found[family.name + suffix] = labels
        for name in names:
            found.setdefault(name, labels)
    return found


def rules() -> list[dict[str, Any]]:
    """Every rule: the alerts and the recording rules they read."""
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["spec"]["groups"] for rule in group["rules"]]


def alerts() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "alert" in rule]


def recorded() -> dict[str, set[str]]:
    """The series the recording rules make, with the labels they keep (their `by`)."""
    return {
        rule["record"]: {g.strip() for c in _GROUPING.findall(rule["expr"]) for g in c.split(",")}
        - {""}
        for rule in rules()
        if "record" in rule
    }


def known() -> dict[str, set[str]]:
    """What an expression may read: the services' metrics and the recorded series."""
    return exported() | recorded()


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels() -> list[dict[str, Any]]:
    return [p for p in dashboard()["panels"] if p["type"] != "row"]


def dashboard_exprs() -> list[str]:
    return [t["expr"] for p in panels() for t in p["targets"]]


def all_exprs() -> list[str]:
    return [r["expr"] for r in rules()] + dashboard_exprs()


# -- names and labels ---------------------------------------------------------------------

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_SELECTOR = re.compile(r"([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")


def metric_names(expr: str) -> set[str]:
    """The metric names in `expr`: identifiers that are not functions, keywords, label
    names in a selector or a grouping, nor durations."""
    text = _GROUPING.sub(" ", expr)
    text = re.sub(r"\{[^}]*\}", " ", _STRINGS.sub('""', text))
    text = re.sub(r"\[[^\]]*\]", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w$.])([a-zA-Z_:][\w:]*)(\s*\()?", text):
        word, call = match.group(1), match.group(2)
        if not call and word.lower() not in PROMQL_WORDS:
            names.add(word)
    return names


def used_labels(expr: str) -> dict[str, set[str]]:
    """The label names each metric of `expr` is selected on, and those it is grouped by."""
    found: dict[str, set[str]] = {}
    for name, matchers in _SELECTOR.findall(expr):
        found.setdefault(name, set()).update(re.findall(r"(\w+)\s*[=!]~?", matchers))
    grouped = {g.strip() for clause in _GROUPING.findall(expr) for g in clause.split(",")}
    for name in metric_names(expr):
        found.setdefault(name, set()).update(grouped - {""})
    return found


def test_the_name_finder_finds_names_and_only_names() -> None:
    expr = 'sum by (le, stream) (rate(a_b_bucket{stream=~"x|y", le!="1"}[5m])) / c > bool 2'
    assert metric_names(expr) == {"a_b_bucket", "c"}
    assert used_labels(expr)["a_b_bucket"] == {"stream", "le"}


@pytest.mark.parametrize("expr", all_exprs())
def test_every_metric_used_is_exported_under_our_namespace(expr: str) -> None:
    names = metric_names(expr)
    assert names, expr
    for name in names:
        assert name.startswith(("smart_assistant_", "smart_assistant:")), (name, expr)
        assert name in known(), f"{name} is neither exported nor recorded ({expr})"


@pytest.mark.parametrize("expr", all_exprs())
def test_every_label_used_is_one_the_metric_has(expr: str) -> None:
    for name, labels in used_labels(expr).items():
        # a label grouped by on an outer aggregation may belong to another metric of the expr
        others = set().union(*(known()[n] for n in metric_names(expr)))
        unknown = labels - known()[name] - SCRAPE_LABELS - others
        assert not unknown, f"{name} has no label {sorted(unknown)} ({expr})"


def test_the_issue_s_alerts_are_there() -> None:
    alerts = {rule["alert"] for rule in rules() if "alert" in rule}
    wanted = {
        "SmartAssistantAnswerSLOFastBurn",
        "SmartAssistantAnswerSLOSlowBurn",
        "SmartAssistantQueueBackingUp",
        "SmartAssistantDeadLetters",
        "SmartAssistantLLMFailures",
        "SmartAssistantRemindersLate",
        "SmartAssistantHTTP5xx",
    }
    assert wanted <= alerts


# -- the PrometheusRule and promtool ---------------------------------------------------------


def test_the_rules_are_a_prometheus_rule_resource() -> None:
    document = yaml.safe_load(RULES.read_text())
    assert document["apiVersion"] == "monitoring.coreos.com/v1"
    assert document["kind"] == "PrometheusRule"
    assert document["metadata"]["name"]
    seen = set()
    for group in document["spec"]["groups"]:
        assert group["name"] and group["rules"]
        for rule in group["rules"]:
            if "record" in rule:
                assert set(rule) <= {"record", "expr", "labels"}, rule
                assert rule["record"].startswith("smart_assistant:"), rule
                assert rule["record"] not in seen and expr_balanced(rule["expr"])
                seen.add(rule["record"])
                continue
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
            assert rule["alert"] not in seen
            seen.add(rule["alert"])
            assert rule["labels"]["severity"] in {"warning", "critical"}
            assert rule["annotations"]["summary"] and rule["annotations"]["description"]
            assert expr_balanced(rule["expr"]), rule["expr"]


def expr_balanced(expr: str) -> bool:
    depth: list[str] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    for char in _STRINGS.sub('""', expr):
        if char in "([{":
            depth.append(char)
        elif char in pairs and (not depth or depth.pop() != pairs[char]):
            return False
    return not depth


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_program("promtool", "prometheus")


def run_promtool(promtool: str, *args: str) -> str:
    done = subprocess.run([promtool, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_promtool_accepts_the_rules(promtool: str, tmp_path: Path) -> None:
    spec = yaml.safe_load(RULES.read_text())["spec"]
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(spec))
    out = run_promtool(promtool, "check", "rules", str(tmp_path / "rules.yml"))
    assert f"SUCCESS: {len(rules())} rules found" in out


def test_promtool_accepts_every_dashboard_query(promtool: str, tmp_path: Path) -> None:
    """Each panel query, with Grafana's `$__rate_interval` filled in, as a recording rule."""
    records = [
        {"record": f"dashboard:query_{n}", "expr": expr.replace("$__rate_interval", "5m")}
        for n, expr in enumerate(dashboard_exprs())
    ]
    (tmp_path / "queries.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": records}]})
    )
    run_promtool(promtool, "check", "rules", str(tmp_path / "queries.yml"))


REFRESHED = "smart_assistant_queue_metrics_refreshed_timestamp_seconds"
LATE = "smart_assistant_cron_fire_lateness_seconds_bucket"
HTTP = "smart_assistant_http_requests_total"
SLO = "smart_assistant_answer_without_model_seconds"


def series(name: str, values: str, **labels: str) -> dict[str, str]:
    inner = ", ".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


#: For each alert: input series (one sample a minute), when to evaluate, and the label sets
#: its expression returns then. Each has series that must stay quiet, and the trouble starts
#: after minute 3 (the expression is quiet then).
CASES: list[tuple[str, list[dict[str, str]], str, list[dict[str, str]]]] = [
    (
        "SmartAssistantQueueBackingUp",
        [
            series("smart_assistant_queue_depth", "0+20x30", stream="queue:to_secretary"),
            series("smart_assistant_queue_depth", "500-20x30", stream="queue:to_telegram"),
            series("smart_assistant_queue_depth", "900x30", stream="queue:drafts"),
        ],
        "20m",
        [{"stream": "queue:to_secretary"}],
    ),
    (
        "SmartAssistantQueuePendingStuck",
        [
            series("smart_assistant_queue_pending", "3x5 80x25", stream="queue:to_telegram"),
            series("smart_assistant_queue_pending", "3x30", stream="queue:to_secretary"),
        ],
        "20m",
        [{"stream": "queue:to_telegram"}],
    ),
    (
        "SmartAssistantDeadLetters",
        [
            series("smart_assistant_queue_dead_letters", "0x10 2x20", stream="queue:to_secretary"),
            series("smart_assistant_queue_dead_letters", "7x30", stream="tg_bot:updates"),
        ],
        "15m",
        [{"stream": "queue:to_secretary"}],
    ),
    (
        "SmartAssistantQueueMetricsStale",
        [
            series(
                REFRESHED, "60x30", job="assistant"
            ),
            series(
                REFRESHED,
                "0+60x30",
                job="tg_bot",
            ),
            series(REFRESHED, "0x30", job="cron"),
        ],
        "10m",
        [{"job": "assistant"}],
    ),
    (
        "SmartAssistantLLMFailures",
        [
            series("smart_assistant_llm_requests_total", "0x5 0+6x25", model="a", outcome="error"),
            series("smart_assistant_llm_requests_total", "0+6x30", model="a", outcome="ok"),
            series("smart_assistant_llm_requests_total", "0+1x30", model="b", outcome="error"),
            series("smart_assistant_llm_requests_total", "0+60x30", model="b", outcome="ok"),
        ],
        "20m",
        [{"model": "a"}],
    ),
    (
        "SmartAssistantLLMBreakerOpen",
        [
            series("smart_assistant_llm_breaker_open", "0x5 1x25", model="a"),
            series("smart_assistant_llm_breaker_open", "0x30", model="b"),
        ],
        "10m",
        [{"model": "a"}],
    ),
    (
        "SmartAssistantTurnFailures",
        [
            series("smart_assistant_assistant_turn_failures_total", "0+1x30", reason="llm"),
            series("smart_assistant_assistant_turn_failures_total", "0x30", reason="dead_letter"),
        ],
        "20m",
        [{"reason": "llm"}],
    ),
    (
        "SmartAssistantRemindersLate",
        [
            series(LATE, "0x30", le="1"),
            series(LATE, "0+10x30", le="60"),
            series(LATE, "0+10x5 50+20x25", le="300"),
            series(LATE, "0+10x5 50+20x25", le="+Inf"),
        ],
        "20m",
        [{}],
    ),
    (
        "SmartAssistantRemindersMissed",
        [
            series("smart_assistant_cron_misses_total", "0x10 3x20", type="reminder"),
            series("smart_assistant_cron_misses_total", "0x30", type="briefing"),
        ],
        "15m",
        [{"type": "reminder"}],
    ),
    (
        "SmartAssistantCronSyncStale",
        [
            series("smart_assistant_cron_last_sync_timestamp_seconds", "60x30", instance="a"),
            series("smart_assistant_cron_last_sync_timestamp_seconds", "0+60x30", instance="b"),
        ],
        "20m",
        [{"instance": "a"}],
    ),
    (
        "SmartAssistantHTTP5xx",
        [
            series(HTTP, "0x5 0+5x25", service="rest_service", status="500"),
            series(HTTP, "0+5x30", service="rest_service", status="200"),
            series(HTTP, "0+100x30", service="google_calendar_service", status="200"),
            series(HTTP, "0+1x30", service="google_calendar_service", status="503"),
        ],
        "20m",
        [{"service": "rest_service"}],
    ),
    (
        "SmartAssistantAnswerSLOFastBurn",
        [
            series(f"{SLO}_count", "0+100x100", channel="telegram"),
            series(f"{SLO}_bucket", "0+100x30 3050+50x69", channel="telegram", le="10.0"),
            series(f"{SLO}_count", "0+100x100", channel="web"),
            series(f"{SLO}_bucket", "0+100x100", channel="web", le="10.0"),
        ],
        "80m",
        [{}],
    ),
    (
        "SmartAssistantAnswerSLOSlowBurn",
        [
            series(f"{SLO}_count", "0+100x400", channel="telegram"),
            series(f"{SLO}_bucket", "0+100x60 6090+90x339", channel="telegram", le="10.0"),
        ],
        "330m",
        [{}],
    ),
    (
        "SmartAssistantServiceMetricsAbsent",
        [
            *(series("smart_assistant_service_starts_total", "1x30", service=name)
              for name in ("assistant", "tg_bot", "cron_service", "rest_service",
                           "google_calendar_service")),
            series("smart_assistant_service_starts_total", "1x3 _x27", service="channels"),
        ],
        "20m",
        [{"service": "channels"}],
    ),
]  # fmt: skip


def test_every_alert_has_a_case() -> None:
    assert {case[0] for case in CASES} == {r["alert"] for r in alerts()}


def test_each_alert_fires_on_its_data_and_only_there(promtool: str, tmp_path: Path) -> None:
    """promtool evaluates each alert's expression (`for` aside) over the series of its case:
    the label sets it returns are the expected ones, and quiet before the trouble starts.
    The recording rules are loaded, so an alert on a recorded series sees it."""
    exprs = {r["alert"]: r["expr"] for r in alerts()}
    tests = []
    for alert, inputs, at, firing in CASES:
        returned = _kept_labels(exprs[alert])
        tests.append(
            {
                "interval": "1m",
                "input_series": inputs,
                "promql_expr_test": [
                    {"expr": f"count by ({returned}) ({exprs[alert]})", "eval_time": at,
                     "exp_samples": [{"labels": _labels(sample), "value": 1} for sample in firing]},
                    {"expr": f"count by ({returned}) ({exprs[alert]})", "eval_time": "3m",
                     "exp_samples": []},
                ],
            }
        )  # fmt: skip
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules_without_annotations()))
    (tmp_path / "tests.yml").write_text(
        yaml.safe_dump({"rule_files": ["rules.yml"], "tests": tests})
    )
    run_promtool(promtool, "test", "rules", str(tmp_path / "tests.yml"))


def _kept_labels(expr: str) -> str:
    """The labels an alert keeps: its `by`, or those of a bare selector that the cases set."""
    grouped = _GROUPING.findall(expr)
    if grouped:
        return str(grouped[0])
    if "absent(" in expr:
        return "service"
    return ", ".join(sorted({"job", "instance"}))


def _labels(sample: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sample.items()) + "}"


UNIT_TESTS = HERE / "tests"
RUNBOOK = ROOT / "docs" / "runbook.md"


def unit_tests() -> list[dict[str, Any]]:
    return [
        test
        for path in sorted(UNIT_TESTS.glob("*.yaml"))
        for test in yaml.safe_load(path.read_text())["tests"]
    ]


def rules_without_annotations() -> dict[str, Any]:
    """The rules' `spec` without annotations (promtool compares them in full; `check rules`
    parses them)."""
    spec: dict[str, Any] = yaml.safe_load(RULES.read_text())["spec"]
    for group in spec["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    return spec


def test_promtool_unit_tests_of_the_alerts_pass(promtool: str, tmp_path: Path) -> None:
    """`promtool test rules` over deploy/observability/tests/*.yaml, on the rules' `spec`
    without annotations."""
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules_without_annotations()))
    files = sorted(UNIT_TESTS.glob("*.yaml"))
    assert files
    for path in files:
        assert yaml.safe_load(path.read_text())["rule_files"] == ["rules.yml"], path
        (tmp_path / path.name).write_text(path.read_text())
    out = run_promtool(promtool, "test", "rules", *(str(tmp_path / p.name) for p in files))
    assert "FAILED" not in out


def test_every_alert_is_unit_tested_firing_and_quiet() -> None:
    firing: set[str] = set()
    quiet: set[str] = set()
    for test in unit_tests():
        for case in test["alert_rule_test"]:
            (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    names = {r["alert"] for r in alerts()}
    assert firing == names, names ^ firing
    assert quiet == names, names ^ quiet


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of `markdown`."""
    anchors = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*$", markdown, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def test_the_anchor_finder_spells_as_github_does() -> None:
    assert github_anchors("# Top\n## What `up` means, and why\n") == {
        "top", "what-up-means-and-why"
    }  # fmt: skip


def test_every_alert_has_a_runbook_section() -> None:
    """Each alert's `runbook_url` points at a section of docs/runbook.md that says what the
    alert means, how to confirm it and what to do."""
    text = RUNBOOK.read_text()
    anchors = github_anchors(text)
    sections = re.split(r"^## ", text, flags=re.MULTILINE)
    for rule in alerts():
        url = rule["annotations"]["runbook_url"]
        page, _, anchor = url.partition("#")
        assert page == "docs/runbook.md", url
        assert anchor == rule["alert"].lower() and anchor in anchors, url
        (section,) = [s for s in sections if s.startswith(rule["alert"] + "\n")]
        for part in ("**Means**", "**Confirm**", "**Do**"):
            assert part in section, (rule["alert"], part)


# -- the dashboard ----------------------------------------------------------------------------


def test_the_dashboard_has_grafana_s_shape() -> None:
    board = dashboard()
    assert board["title"] and board["uid"] and isinstance(board["schemaVersion"], int)
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        box = panel["gridPos"]
        assert all(isinstance(box[k], int) for k in ("h", "w", "x", "y"))
        assert box["x"] >= 0 and box["x"] + box["w"] <= 24
    for panel in panels():
        assert panel["type"] in {"timeseries", "stat", "gauge", "table", "bargauge"}
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs))
        assert all(t["expr"].strip() and expr_balanced(t["expr"]) for t in panel["targets"])


def test_the_dashboard_shows_what_the_alerts_watch() -> None:
    shown = set().union(*(metric_names(e) for e in dashboard_exprs()))
    watched = set().union(*(metric_names(r["expr"]) for r in rules())) - set(recorded())
    assert watched - shown <= {
        REFRESHED,
        "smart_assistant_cron_last_sync_timestamp_seconds",
        "smart_assistant_service_starts_total",
    }


def test_the_observability_kustomization_renders(tmp_path: Path) -> None:
    kubectl = require_program("kubectl", "kubectl")
    done = subprocess.run(
        [kubectl, "kustomize", str(HERE)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    objects = {d["kind"]: d for d in yaml.safe_load_all(done.stdout)}
    config_map = objects["ConfigMap"]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(config_map["data"]["grafana-dashboard.json"]) == dashboard()
    assert objects["PrometheusRule"]["spec"] == yaml.safe_load(RULES.read_text())["spec"]
