"""tg_bot's Prometheus metrics (served on /metrics by the common health server)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from common.infrastructure.metrics import zeroed

UPDATES = Counter(
    "smart_assistant_tg_updates_total", "Telegram updates handled, by outcome", ["outcome"]
)
PARTS_SENT = Counter("smart_assistant_tg_sent_parts_total", "Message parts Telegram accepted")
SEND_ERRORS = zeroed(
    Counter("smart_assistant_tg_send_errors_total", "Failed sendMessage calls, by kind", ["kind"]),
    "forbidden",
    "parse",
    "retry_after",
    "unavailable",
)
POLL_ERRORS = Counter(
    "smart_assistant_tg_poll_errors_total", "Failed getUpdates calls, by kind", ["kind"]
)
ANSWER_SECONDS = Histogram(
    "smart_assistant_tg_answer_send_seconds",
    "Time to deliver one answer (all its parts), limits included",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
