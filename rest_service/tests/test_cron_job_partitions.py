"""The job listing by partitions of the id space (`partitions=`), the share a cron_service
replica loads: Postgres computes a job's partition as cron_service does, the listings of
disjoint sets of partitions hold every job once, and a malformed set is a 422."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import psycopg2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.features.job_partitions import (
    JOB_PARTITIONS,
    PARTITION_SQL,
    format_partitions,
    parse_partitions,
    partition_of,
)
from common.infrastructure.postgres_url import sync_url
from common.infrastructure.rest_client import RestClient
from rest_service.tests.conftest import Api, assert_error
from tests.tiers import examples


@pytest.fixture(scope="module")
def cursor(database_url: str) -> Iterator[psycopg2.extensions.cursor]:
    conn = psycopg2.connect(sync_url(database_url).replace("+psycopg2", ""))
    try:
        with conn.cursor() as cur:
            yield cur
    finally:
        conn.close()


@settings(
    max_examples=examples(200),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ids=st.lists(st.uuids(), min_size=1, max_size=50))
def test_postgres_computes_every_ids_partition_as_python_does(
    cursor: psycopg2.extensions.cursor, ids: list[uuid.UUID]
) -> None:
    """Any UUID (not only version 4: `st.uuids` draws every version and variant)."""
    partition = PARTITION_SQL.format(id="id").replace("%", "%%")  # psycopg2's placeholders
    cursor.execute(
        f"SELECT id::text, {partition} FROM unnest(%s::uuid[]) AS t(id)", ([str(i) for i in ids],)
    )
    assert dict(cursor.fetchall()) == {str(i): partition_of(str(i)) for i in ids}


@settings(max_examples=examples(50), deadline=None)
@given(st.sets(st.integers(0, JOB_PARTITIONS - 1), min_size=1))
def test_a_set_of_partitions_reads_back_as_written(partitions: set[int]) -> None:
    assert parse_partitions(format_partitions(partitions)) == partitions


async def test_disjoint_partitions_list_every_job_once(api: Api) -> None:
    """Three replicas' shares (here: partition modulo 3) over jobs active and paused: each
    job of a share is in its listing, every active job in exactly one, paged as usual."""
    jobs = [await api.job(name=f"job {n}") for n in range(30)]
    paused = await api.job(status="paused")
    shares = [{p for p in range(JOB_PARTITIONS) if p % 3 == r} for r in range(3)]
    listed: list[str] = []
    for share in shares:
        params = {"status": "active", "partitions": format_partitions(share), "limit": 7}
        rows: list[dict[str, str]] = []
        while page := await api.ok(
            "GET", "/api/cron-jobs/", api.service, params={**params, "offset": len(rows)}
        ):
            rows += page
        assert all(partition_of(row["id"]) in share for row in rows)
        listed += [row["id"] for row in rows]
    assert sorted(listed) == sorted(job["id"] for job in jobs)
    assert paused["id"] not in listed


async def test_the_total_counts_the_partitions_jobs(api: Api, client: httpx.AsyncClient) -> None:
    jobs = [await api.job() for _ in range(6)]
    one = partition_of(jobs[0]["id"])
    response = await client.get(
        "/api/cron-jobs/", params={"partitions": str(one), "limit": 1}, headers=api.service
    )
    expected = sum(partition_of(job["id"]) == one for job in jobs)
    assert response.headers["X-Total-Count"] == str(expected)


@pytest.mark.parametrize(
    "partitions",
    ["", "-1", str(JOB_PARTITIONS), "1,,2", "1;2", " 1", "one", "1,2,", "١"],
)
async def test_a_malformed_set_of_partitions_is_a_422_naming_it(
    api: Api, client: httpx.AsyncClient, partitions: str
) -> None:
    response = await client.get(
        "/api/cron-jobs/", params={"partitions": partitions}, headers=api.service
    )
    assert [f["field"] for f in assert_error(response, 422)["fields"]] == ["partitions"]


async def test_the_client_lists_a_share_and_none_for_no_partitions(
    api: Api, rest: RestClient
) -> None:
    """`RestClient.iter_cron_jobs(partitions=...)` as cron_service calls it; an empty share is
    no jobs, without a request that would be a 422."""
    jobs = [await api.job() for _ in range(4)]
    share = {partition_of(jobs[0]["id"]), partition_of(jobs[1]["id"])}
    listed = [str(job.id) async for job in rest.iter_cron_jobs(partitions=share)]
    assert sorted(listed) == sorted(j["id"] for j in jobs if partition_of(j["id"]) in share)
    assert await rest.list_cron_jobs(partitions=[]) == []
