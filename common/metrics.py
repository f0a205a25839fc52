"""Prometheus exposition shared by every service's `/metrics`."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, generate_latest

SERVICE_STARTS = Counter(
    "smart_assistant_service_starts_total", "Times this process started", ["service"]
)


def render_metrics() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
