"""cron_service's Prometheus metrics (served on /metrics by the worker's health server)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from common.infrastructure.metrics import zeroed
from common.infrastructure.wire import CronJobType, RunOutcome

#: Every job type, and every type with every outcome: their series start at 0.
_TYPES = tuple(t.value for t in CronJobType)
_TYPED_OUTCOMES = tuple((t, o.value) for t in _TYPES for o in RunOutcome)

FIRES = zeroed(
    Counter(
        "smart_assistant_cron_fires_total",
        "Job fires published, by job type and outcome",
        ["type", "outcome"],
    ),
    *_TYPED_OUTCOMES,
)
MISSES = zeroed(
    Counter(
        "smart_assistant_cron_misses_total",
        "Fires beyond REMINDER_MISFIRE_GRACE (the user was told)",
        ["type"],
    ),
    *_TYPES,
)
LATENESS = Histogram(
    "smart_assistant_cron_fire_lateness_seconds",
    "Publish time minus scheduled time of each fire",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600),
)
URGENT_REPEATS = Counter(
    "smart_assistant_cron_urgent_repeats_total",
    "Repeats of urgent reminders sent (Done not pressed yet)",
)
ALREADY_FIRED = Counter(
    "smart_assistant_cron_fires_already_claimed_total",
    "Fires skipped: another instance or a restart had them",
)
RECORDS = zeroed(
    Counter(
        "smart_assistant_cron_fire_records_total", "Fires recorded in rest_service", ["result"]
    ),
    "ok",
    "failed",
)
PENDING_RECORDS = Gauge(
    "smart_assistant_cron_fires_unrecorded", "Fires published and not yet recorded"
)
SYNCS = zeroed(
    Counter(
        "smart_assistant_cron_syncs_total", "Loads of the active jobs from rest_service", ["result"]
    ),
    "ok",
    "targeted",
    "failed",
)
SCHEDULED = Gauge(
    "smart_assistant_cron_scheduled_jobs", "Active jobs this replica plans (its share)"
)
KNOWN = Gauge(
    "smart_assistant_cron_known_jobs",
    "Active jobs this replica holds in memory (those of its partitions)",
)
PARTITIONS = Gauge("smart_assistant_cron_partitions", "Partitions of the job ids this replica owns")
REPLICAS = Gauge("smart_assistant_cron_replicas", "Live cron_service replicas this one sees")
LAST_SYNC = Gauge(
    "smart_assistant_cron_last_sync_timestamp_seconds", "When the last sync succeeded (Unix time)"
)
