"""Which cron_service replica loads and plans which job: live replicas by Redis heartbeats, the
partitions of the job ids (`common.features.job_partitions`) spread over them by rendezvous
hashing.

Every CRON_REPLICA_HEARTBEAT each replica writes its id into the sorted set `cron:replicas`,
scored by when its heartbeat runs out (Redis server time plus CRON_REPLICA_TTL, so the
replicas' clocks need not agree), drops the entries that ran out, and reads the rest. A
partition belongs to the live replica with the highest hash of (replica, partition), and a job
to its partition's owner: replicas that see the same members agree without talking, a replica
joining or leaving moves only its own share, and a replica asks rest_service for its own
partitions' jobs only.
While views differ (for at most a heartbeat) a job may have two owners, and the fire claim in
Redis keeps its fire once, or none, and it fires a heartbeat later, marked late if it is.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

import redis.asyncio as aioredis

from common.features.job_partitions import JOB_PARTITIONS, partition_of
from common.infrastructure.redis_keys import Names

# Renews one replica's heartbeat and returns the live replicas. KEYS: the replicas' sorted
# set. ARGV: the replica's id, its TTL (ms). One key, so one Cluster slot.
_BEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], 10 * tonumber(ARGV[2]))
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""


def new_replica_id() -> str:
    """Unique per process start: a restarted replica is a new member, its old entry runs out."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _weight(replica: str, key: str) -> int:
    digest = hashlib.blake2b(f"{replica}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@dataclass(frozen=True)
class Ring:
    """The live replicas as one replica sees them (always including itself)."""

    me: str
    members: tuple[str, ...]

    @classmethod
    def of(cls, me: str, live: list[str] | tuple[str, ...] = ()) -> Ring:
        return cls(me, tuple(sorted(set(live) | {me})))

    @cached_property
    def _owners(self) -> tuple[str, ...]:
        """Each partition's member: the one of the highest `_weight` (the first of equals);
        the digests compared as bytes order as the big-endian integers do."""
        prefixes = [(m, f"{m}\0".encode()) for m in self.members]
        owners = []
        for partition in range(JOB_PARTITIONS):
            key = str(partition).encode()
            best, best_digest = "", b""
            for member, prefix in prefixes:
                digest = hashlib.blake2b(prefix + key, digest_size=8).digest()
                if digest > best_digest or not best:
                    best, best_digest = member, digest
            owners.append(best)
        return tuple(owners)

    @cached_property
    def partitions(self) -> frozenset[int]:
        """The partitions of the job ids this replica owns."""
        if len(self.members) == 1:
            return frozenset(range(JOB_PARTITIONS))
        return frozenset(p for p, owner in enumerate(self._owners) if owner == self.me)

    def owner(self, job_id: str) -> str:
        return self._owners[partition_of(job_id)]

    def owns(self, job_id: str) -> bool:
        return len(self.members) == 1 or partition_of(job_id) in self.partitions


class Membership:
    """This replica's heartbeat in `cron:replicas`."""

    def __init__(
        self, redis: aioredis.Redis, names: Names, replica_id: str, ttl: timedelta
    ) -> None:
        self._redis = redis
        self._key = names.cron_replicas
        self.replica_id = replica_id
        self._ttl_ms = max(1, int(ttl.total_seconds() * 1000))
        self._beat = redis.register_script(_BEAT)

    async def beat(self) -> Ring:
        """Renews the heartbeat; the live replicas, this one among them."""
        live = await self._beat(keys=[self._key], args=[self.replica_id, self._ttl_ms])
        return Ring.of(self.replica_id, [m.decode() if isinstance(m, bytes) else m for m in live])

    async def leave(self) -> None:
        """At a clean stop: the others take this replica's share at their next heartbeat."""
        await self._redis.zrem(self._key, self.replica_id)
