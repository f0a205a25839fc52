"""Prometheus exposition shared by every service's `/metrics`, and the metrics several
services record alike. Every name is in one namespace: `smart_assistant_…`."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest

NAMESPACE = "smart_assistant"

SERVICE_STARTS = Counter(
    "smart_assistant_service_starts_total", "Times this process started", ["service"]
)

#: Both FastAPI services, by route template (`/api/users/{user_id}`; `none` for a path no
#: route matched) and exact status code.
HTTP_REQUESTS = Counter(
    "smart_assistant_http_requests_total",
    "HTTP requests answered, by service, method, route and status",
    ["service", "method", "handler", "status"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "smart_assistant_http_request_duration_seconds",
    "Time to answer an HTTP request, by service, method and route",
    ["service", "method", "handler"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def zeroed(counter: Counter, *label_sets: str | tuple[str, ...]) -> Counter:
    """`counter` with a series at 0 for each of `label_sets` (a known, finite set: outcomes,
    reasons, streams). A labelled series appears only at its first `inc()`, so after a restart
    `increase()` would see the first failure as the series' start and miss it; a series there
    from the start makes it a step from 0."""
    for labels in label_sets:
        counter.labels(*((labels,) if isinstance(labels, str) else labels))
    return counter


def render_metrics() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
