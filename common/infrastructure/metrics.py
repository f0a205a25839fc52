"""Prometheus exposition shared by every service's `/metrics`, and the metrics several
services record alike. Every name is in one namespace: `smart_assistant_…`."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.metrics import MetricWrapperBase

from common.infrastructure.channels import Channel

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


Metric = TypeVar("Metric", bound=MetricWrapperBase)


def zeroed(counter: Metric, *label_sets: str | tuple[str, ...]) -> Metric:
    """`counter` (or a histogram) with a series at 0 for each of `label_sets` (a known,
    finite set: outcomes, reasons, streams, channels). A labelled series appears only at its
    first `inc()`, so after a restart `increase()` would see the first failure as the series'
    start and miss it; a series there from the start makes it a step from 0."""
    for labels in label_sets:
        counter.labels(*((labels,) if isinstance(labels, str) else labels))
    return counter


#: The answer-time SLO's threshold (docs/deploy.md, "The answer-time SLO"): a bucket of both.
ANSWER_SLO_SECONDS = 10.0
ANSWER_BUCKETS = (0.25, 0.5, 1, 2, 3, 5, 7.5, ANSWER_SLO_SECONDS, 15, 20, 30, 60, 120, 300)

#: tg_bot and channels, for each answer they deliver to a message that carries the time it
#: reached us (`IncomingMessage.received_at`, copied onto its answer).
ANSWER_SECONDS = zeroed(
    Histogram(
        "smart_assistant_answer_seconds",
        "From a user's message reaching tg_bot or channels to its answer delivered, by channel",
        ["channel"],
        buckets=ANSWER_BUCKETS,
    ),
    *Channel,
)
ANSWER_WITHOUT_MODEL_SECONDS = zeroed(
    Histogram(
        "smart_assistant_answer_without_model_seconds",
        "smart_assistant_answer_seconds less the time its turn waited on the model, by channel",
        ["channel"],
        buckets=ANSWER_BUCKETS,
    ),
    *Channel,
)


def answer_delivered(
    channel: str, received_at: datetime | None, model_seconds: float | None, now: datetime
) -> None:
    """Observe one delivered answer; one to a message without `received_at` (queued by an
    older producer, a notification) is not an answer to time."""
    if received_at is None:
        return
    took = max(0.0, (now - received_at).total_seconds())
    ANSWER_SECONDS.labels(channel).observe(took)
    ANSWER_WITHOUT_MODEL_SECONDS.labels(channel).observe(max(0.0, took - (model_seconds or 0.0)))


def render_metrics() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
