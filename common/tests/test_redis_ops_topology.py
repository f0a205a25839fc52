"""The operator's commands (`./manage.py dlq`, `chat`) open Redis as the services do: through
Sentinel or on a Cluster when the env file says so."""

from __future__ import annotations

import pytest

from common.infrastructure.redis_connection import (
    RedisTopologyError,
    create_sync_redis,
    topology_of,
)
from common.infrastructure.redis_keys import Names
from ops import dlq
from tests.redis_topologies import SentinelSetup


def test_the_topology_is_read_from_an_env_file() -> None:
    assert topology_of({}) == {"sentinels": "", "sentinel_master": "mymaster", "cluster": False}
    found = topology_of(
        {"REDIS_SENTINELS": "10.0.0.1:26379", "REDIS_SENTINEL_MASTER": "main", "REDIS_CLUSTER": ""}
    )
    assert found == {"sentinels": "10.0.0.1:26379", "sentinel_master": "main", "cluster": False}
    assert topology_of({"REDIS_CLUSTER": "True"})["cluster"] is True


def test_sentinels_and_cluster_together_are_refused() -> None:
    with pytest.raises(RedisTopologyError):
        create_sync_redis("redis://x", sentinels="127.0.0.1:26379", cluster=True)


def test_dlq_lists_dead_letters_on_a_cluster(redis_cluster_url: str, key_prefix: str) -> None:
    names = Names(key_prefix)
    client = create_sync_redis(redis_cluster_url, **topology_of({"REDIS_CLUSTER": "true"}))
    try:
        client.xadd(names.dead("queue:to_secretary"), {"data": "{}", "error": "malformed"})
        rows = dlq.list_dead(client, names)
        assert [row["error"] for row in rows] == ["malformed"]
        assert dlq.purge(client, names) == 1
    finally:
        client.close()


def test_dlq_follows_the_master_through_a_failover(
    redis_sentinel: SentinelSetup, key_prefix: str
) -> None:
    names = Names(key_prefix)
    topology = topology_of(
        {
            "REDIS_SENTINELS": redis_sentinel.sentinels,
            "REDIS_SENTINEL_MASTER": redis_sentinel.master_name,
        }
    )
    client = create_sync_redis("redis://", **topology)
    client.xadd(names.dead("queue:to_telegram"), {"data": "{}", "error": "gone"})
    client.wait(1, 5000)  # on the replica before the master dies
    redis_sentinel.fail_master()
    after = create_sync_redis("redis://", **topology)
    assert [row["error"] for row in dlq.list_dead(after, names)] == ["gone"]
    client.close()
    after.close()
