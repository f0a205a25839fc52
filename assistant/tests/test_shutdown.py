"""Rolling restarts: the assistant's shutdown grace fits a turn, and the orchestrators that
stop it (Kubernetes, compose) wait for that grace plus a margin before they kill it."""

from __future__ import annotations

import re

import yaml

from assistant.src.settings import Settings
from ops.services import ROOT

#: Time after the grace to hand back what is left and close the clients.
MARGIN_SECONDS = 10
#: The length of a normal turn (a model call, a tool round, the answer).
NORMAL_TURN_SECONDS = 25


def _grace() -> float:
    default = Settings.model_fields["shutdown_grace_seconds"].default
    assert isinstance(default, float)
    return default


def test_the_default_grace_lets_a_normal_turn_finish() -> None:
    assert _grace() >= NORMAL_TURN_SECONDS


def test_the_assistant_deployment_waits_for_the_grace_and_a_margin() -> None:
    docs = yaml.safe_load_all((ROOT / "deploy/kubernetes/base/assistant.yaml").read_text())
    (deployment,) = (d for d in docs if d and d["kind"] == "Deployment")
    period = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert period >= _grace() + MARGIN_SECONDS


def test_compose_waits_for_the_assistants_grace_and_a_margin() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    period = compose["services"]["assistant"]["stop_grace_period"]
    match = re.fullmatch(r"(\d+)s", period)
    assert match, period
    assert int(match.group(1)) >= _grace() + MARGIN_SECONDS
