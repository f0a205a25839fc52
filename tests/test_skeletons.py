"""Every service starts with `python -m`, answers /health and /metrics, stops on SIGTERM."""

from __future__ import annotations

import signal

import httpx
import pytest

from ops.processes import ServiceProcess, Stack
from ops.services import NAMES

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def with_rest_service(module_rest_service: Stack) -> Stack:
    """rest_service, once for the workers' tests: they load their config and users from it."""
    return module_rest_service


def assert_answers_and_stops_on_sigterm(process: ServiceProcess, service: str) -> None:
    health = httpx.get(f"{process.url}/health").json()
    assert health["status"] == "ok"
    assert health["service"] == service
    metrics = httpx.get(f"{process.url}/metrics")
    assert metrics.status_code == 200
    assert "smart_assistant_service_starts_total" in metrics.text
    # Stopped by the signal, not by the SIGKILL that follows a long wait (whose exit code is
    # -SIGKILL and whose log has no clean stop); how fast is the benchmarks' business.
    code = process.stop(signal.SIGTERM, timeout=30)
    # uvicorn re-raises the signal once it has shut down cleanly; the workers exit 0.
    assert code in (0, -signal.SIGTERM)
    assert "service_stopped" in process.logs()


def test_rest_service_starts_answers_health_and_stops_on_sigterm(stack: Stack) -> None:
    assert_answers_and_stops_on_sigterm(stack.start("rest_service"), "rest_service")


@pytest.mark.parametrize("service", [name for name in NAMES if name != "rest_service"])
def test_service_starts_answers_health_and_stops_on_sigterm(
    with_rest_service: Stack, service: str
) -> None:
    assert_answers_and_stops_on_sigterm(with_rest_service.start(service), service)
