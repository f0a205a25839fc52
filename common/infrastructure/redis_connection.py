"""One way to open Redis for every service: retries on connection errors, health checks;
a single server, a master found through Sentinel, or a Redis Cluster.

- Sentinel (`REDIS_SENTINELS=host:port,...`, `REDIS_SENTINEL_MASTER`): the sentinels are
  asked for the master's address on every new connection, so after a failover the
  reconnecting client (its retry) lands on the promoted replica. REDIS_URL then gives only the
  database, username, password and TLS (`rediss://`); its host is not used.
- Cluster (`REDIS_CLUSTER=true`): REDIS_URL names any node; redis-py's cluster client finds
  the rest and routes each command by its key's slot. Every script and transaction of ours
  keeps its keys in one slot (the hash tags of common/infrastructure/redis_keys.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import redis
import redis.asyncio as aioredis
import redis.cluster
import redis.connection
import redis.sentinel
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import SSLConnection, parse_url
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

if TYPE_CHECKING:  # settings check REDIS_SENTINELS with `check_topology` below
    from common.infrastructure.settings import ServiceSettings


#: A process's connections to a single Redis; more concurrent commands wait for a free one.
#: (redis-py 8's plain pool refuses the 101st with "Too many connections", which failed
#: chat drives under load.)
POOL_CONNECTIONS = 100
#: The Sentinel and Cluster clients have no waiting pool: their cap is lifted, as before
#: redis-py 8, so a burst opens connections instead of failing.
_NO_CAP = 2**31


class RedisTopologyError(ValueError):
    """REDIS_SENTINELS or REDIS_CLUSTER cannot be used as given."""


def parse_sentinels(sentinels: str) -> list[tuple[str, int]]:
    """`host:port,host:port` (IPv6 as `[::1]:26379`) as (host, port) pairs."""
    pairs: list[tuple[str, int]] = []
    for item in (part.strip() for part in sentinels.split(",")):
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise RedisTopologyError(f"REDIS_SENTINELS: {item!r} is not host:port")
        pairs.append((host.strip("[]"), int(port)))
    if not pairs:
        raise RedisTopologyError("REDIS_SENTINELS names no sentinel")
    return pairs


def check_topology(sentinels: str, cluster: bool) -> None:
    """Raises RedisTopologyError (one line) when the settings name no usable topology."""
    if sentinels and cluster:
        raise RedisTopologyError("REDIS_SENTINELS and REDIS_CLUSTER exclude each other")
    if sentinels:
        parse_sentinels(sentinels)


#: A worker's client retries a lost connection this many times, waiting 0.1 s, 0.2 s, ... up
#: to the cap between tries: about 3 s of a restart or failover ridden out per command.
RETRIES = 5
RETRY_CAP_S = 2.0


def _options(
    timeout_s: float | None, retries: int = RETRIES, retry_cap_s: float = RETRY_CAP_S
) -> dict[str, Any]:
    """Connection options. `timeout_s` None: a worker's client, which waits as long as a
    command takes and retries a lost connection with backoff (`retries` tries, waits capped
    at `retry_cap_s`); a number: fail fast (a cache that must not hold a request), one retry."""
    if timeout_s is not None:
        return {
            "socket_connect_timeout": timeout_s,
            "socket_timeout": timeout_s,
            "retry": Retry(NoBackoff(), 1),
            "health_check_interval": 15,
        }
    return {
        # redis-py 8 defaults to a 5 s socket timeout, which sends every command through
        # asyncio.wait_for; on Python 3.11 that can swallow a task's cancellation (a
        # cancelled worker task then keeps running). No timeout, as before redis-py 8;
        # keepalive and the health check find dead connections.
        "socket_timeout": None,
        "health_check_interval": 15,
        "socket_connect_timeout": 5,
        "socket_keepalive": True,
        "retry": Retry(ExponentialBackoff(cap=retry_cap_s, base=0.05), retries=retries),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
    }


def create_redis(
    url: str,
    *,
    sentinels: str = "",
    sentinel_master: str = "mymaster",
    cluster: bool = False,
    timeout_s: float | None = None,
    retries: int = RETRIES,
    retry_cap_s: float = RETRY_CAP_S,
) -> aioredis.Redis:
    """A pooled client that reconnects by itself after a Redis restart or failover.

    The cluster client is typed as `Redis`: it answers every command, script and same-slot
    transaction this suite sends (its tests run them on a real cluster)."""
    options = _options(timeout_s, retries, retry_cap_s)
    check_topology(sentinels, cluster)
    if cluster:
        return cast(aioredis.Redis, RedisCluster.from_url(url, max_connections=_NO_CAP, **options))
    if sentinels:
        return _sentinel_master(url, parse_sentinels(sentinels), sentinel_master, options)
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=POOL_CONNECTIONS, timeout=timeout_s, **options
    )
    return aioredis.Redis.from_pool(pool)


class SentinelMasterRedis(aioredis.Redis):
    """The master's client; closing it also closes its connections to the sentinels, which
    redis-py leaves to the `Sentinel` object."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        manager = getattr(self.connection_pool, "sentinel_manager", None)
        if isinstance(manager, Sentinel):
            await manager.aclose()


def _sentinel_master(
    url: str, sentinels: list[tuple[str, int]], master: str, options: dict[str, Any]
) -> aioredis.Redis:
    """A client of `master` as the sentinels name it now (asked again on each connect)."""
    from_url: dict[str, Any] = dict(parse_url(url))
    from_url.pop("host", None)
    from_url.pop("port", None)
    if from_url.pop("connection_class", None) is SSLConnection:  # rediss://
        from_url["ssl"] = True
    sockets = {key: value for key, value in options.items() if key.startswith("socket_")}
    connection = {**options, **from_url}  # the URL's query wins, as with from_url
    manager = Sentinel(sentinels, sentinel_kwargs=sockets, **connection)  # type: ignore[no-untyped-call]  # unannotated upstream
    return cast(
        aioredis.Redis,
        manager.master_for(master, redis_class=SentinelMasterRedis, max_connections=_NO_CAP),
    )


def create_redis_for(
    settings: ServiceSettings, *, timeout_s: float | None = None
) -> aioredis.Redis:
    """The service's Redis as its settings say: REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER,
    REDIS_RETRIES and REDIS_RETRY_CAP_SECONDS."""
    return create_redis(
        settings.redis_url,
        sentinels=settings.redis_sentinels,
        sentinel_master=settings.redis_sentinel_master,
        cluster=settings.redis_cluster,
        timeout_s=timeout_s,
        retries=settings.redis_retries,
        retry_cap_s=settings.redis_retry_cap_seconds,
    )


def create_sync_redis(
    url: str,
    *,
    sentinels: str = "",
    sentinel_master: str = "mymaster",
    cluster: bool = False,
    timeout_s: float | None = None,
) -> redis.Redis:
    """The same topology, synchronously, for the operator's commands (`./manage.py dlq`) and
    the admin's dead-letter page; `timeout_s` also bounds each command."""
    check_topology(sentinels, cluster)
    options: dict[str, Any] = {
        "socket_connect_timeout": timeout_s or 5,
        "socket_timeout": timeout_s,
    }
    if cluster:
        return cast(redis.Redis, redis.cluster.RedisCluster.from_url(url, **options))
    if not sentinels:
        return redis.Redis.from_url(url, **options)
    from_url: dict[str, Any] = dict(redis.connection.parse_url(url))  # type: ignore[no-untyped-call]
    from_url.pop("host", None)
    from_url.pop("port", None)
    if from_url.pop("connection_class", None) is redis.connection.SSLConnection:
        from_url["ssl"] = True
    manager = redis.sentinel.Sentinel(  # type: ignore[no-untyped-call]  # unannotated upstream
        parse_sentinels(sentinels), sentinel_kwargs=options, **options, **from_url
    )
    return cast(redis.Redis, manager.master_for(sentinel_master))  # type: ignore[no-untyped-call]


_TRUE = {"1", "true", "yes", "on"}


def topology_of(environment: dict[str, str]) -> dict[str, Any]:
    """REDIS_SENTINELS, REDIS_SENTINEL_MASTER and REDIS_CLUSTER of an env file or the
    environment, as `create_redis` / `create_sync_redis` keywords."""
    return {
        "sentinels": environment.get("REDIS_SENTINELS", ""),
        "sentinel_master": environment.get("REDIS_SENTINEL_MASTER") or "mymaster",
        "cluster": environment.get("REDIS_CLUSTER", "").strip().lower()
        in {"1", "true", "yes", "on"},
    }


async def redis_health(redis: aioredis.Redis) -> dict[str, object]:
    await redis.ping()
    return {}
