"""Workers' Redis clients for tests that cut Redis off: the production client, with the same
number of retries, but a backoff of milliseconds instead of the production 0.1 s to 1.6 s.

An outage test waits for the client to give up (a failed read logged, a wait said). With the
production backoff that is 3 s per command, twice that where two commands fail in turn: time
the tests spent waiting, not proving anything more.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff


def quick_retries(client: aioredis.Redis) -> aioredis.Redis:
    """`client` with its retry count kept and its backoff cut to at most 20 ms."""
    kept = client.get_retry()
    retries = kept.get_retries() if kept is not None else 5
    client.set_retry(Retry(ExponentialBackoff(cap=0.02, base=0.005), retries=retries))
    return client


#: The same for a service the test runs from its settings (REDIS_RETRIES,
#: REDIS_RETRY_CAP_SECONDS): one retry, a wait of at most 50 ms, so an outage shows at once.
QUICK_RETRY_SETTINGS: dict[str, Any] = {"redis_retries": 1, "redis_retry_cap_seconds": 0.05}
QUICK_RETRY_ENV = {name.upper(): str(value) for name, value in QUICK_RETRY_SETTINGS.items()}
