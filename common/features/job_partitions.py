"""The partitions of the cron job id space: the unit cron_service replicas share, and the
filter of rest_service's job listing that lets each replica load only its own.

A job's partition is the first 32 bits of the MD5 of its id (the canonical lowercase,
hyphenated UUID text) modulo `JOB_PARTITIONS`. The same function is written twice, here for
cron_service and in SQL (`PARTITION_SQL`) for rest_service's `WHERE`; a property test holds
the two equal. MD5 spreads any ids evenly (UUIDv1 ids share their last bits), and Postgres has
it built in. `JOB_PARTITIONS` is part of the contract between the two services: changing it
means both change together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

#: Enough that 3 replicas' shares differ by a few per cent; few enough that a replica's list of
#: them fits a query string (512 of them, with two replicas: 2 KB).
JOB_PARTITIONS = 1024

#: `partition_of` in SQL; `{id}` is the uuid column. Written as SQLAlchemy reflects Postgres's
#: text of the index `ix_cron_jobs_partition` on it, which the migrations test compares.
PARTITION_SQL = (
    "((('x'::text || substr(md5({id}::text), 1, 8)))::bit(32)::bigint"
    f" % {JOB_PARTITIONS}::bigint)"
)


def partition_of(job_id: str) -> int:
    """`job_id`: the job's id as `str(uuid)` writes it (as rest_service sends it)."""
    digest = hashlib.md5(job_id.encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:4], "big") % JOB_PARTITIONS


def format_partitions(partitions: Iterable[int]) -> str:
    """The listing's `partitions` parameter: the numbers, ascending, comma-separated."""
    return ",".join(str(p) for p in sorted(set(partitions)))


def parse_partitions(text: str) -> frozenset[int]:
    """The inverse of `format_partitions`; ValueError names what is wrong."""
    parts = text.split(",")
    if not all(p.isascii() and p.isdigit() for p in parts):
        raise ValueError("comma-separated partition numbers expected")
    numbers = frozenset(int(p) for p in parts)
    if max(numbers) >= JOB_PARTITIONS:
        raise ValueError(f"a partition is a number from 0 to {JOB_PARTITIONS - 1}")
    return numbers
