"""Replicas share the due work: each plans and fires only its share of the jobs (rendezvous
hashing over the live replicas in `cron:replicas`), each fire goes out once, and a killed
replica's share is taken over by the others within its heartbeat's TTL. Three real
cron_service processes on real Redis, Postgres and rest_service."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import psycopg2
import pytest
import redis.asyncio as aioredis
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY
from psycopg2.extras import execute_values
from pydantic import ValidationError

from common.features.job_partitions import JOB_PARTITIONS, partition_of
from common.infrastructure.postgres_url import sync_url
from common.infrastructure.redis_connection import create_redis
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import CronJob, User
from cron_service.app.fires import FireLedger, FireRules, compose
from cron_service.app.jobs import plan
from cron_service.app.recorder import SWEEP_LIMIT, Recorder
from cron_service.app.replicas import Membership, Ring, _weight
from cron_service.app.scheduler import ReminderScheduler
from cron_service.app.settings import Settings
from cron_service.tests.conftest import (
    Outbox,
    later_fire,
    later_reminder,
    listening,
    runs_of,
    start_cron,
)
from ops.processes import ServiceProcess, Stack
from tests.reminders import MakeReminder, whole_second
from tests.tcp_proxy import TcpProxy
from tests.tiers import examples
from tests.users import make_user
from tests.waiting import until

HEARTBEAT_S = 0.5
TTL_S = 3.0
REPLICA_ENV = {
    "CRON_REPLICA_HEARTBEAT": str(HEARTBEAT_S),
    "CRON_REPLICA_TTL": str(TTL_S),
    # three recorders of 16 keep the one rest_service of these tests too busy to answer them
    "CRON_RECORD_CONCURRENCY": "4",
}


# --- the ring, without processes ---------------------------------------------------------------


def test_every_replica_agrees_on_one_owner_and_shares_are_even() -> None:
    members = ["a", "b", "c"]
    rings = [Ring.of(me, members) for me in members]
    jobs = [f"job-{n}" for n in range(3000)]
    for job in jobs:
        assert sum(ring.owns(job) for ring in rings) == 1
    shares = Counter(rings[0].owner(job) for job in jobs)
    assert all(800 < shares[m] < 1200 for m in members), shares


def test_a_replica_leaving_moves_only_its_own_share() -> None:
    before = Ring.of("a", ["a", "b", "c"])
    after = Ring.of("a", ["a", "b"])
    for job in (f"job-{n}" for n in range(2000)):
        if before.owner(job) != "c":
            assert after.owner(job) == before.owner(job)


def test_the_owner_is_the_member_of_the_highest_weight_for_the_jobs_partition() -> None:
    """`owner` compares digests as bytes; that orders them as their integer weights do, so
    every replica, of any version, picks the same owner."""
    ring = Ring.of("a", ["a", "b", "c", "d"])
    for job in (f"job-{n}" for n in range(2000)):
        key = str(partition_of(job))
        assert ring.owner(job) == max(ring.members, key=lambda m: _weight(m, key))


def test_alone_or_unseen_a_replica_owns_everything() -> None:
    assert Ring.of("a").owns("any job")
    assert Ring.of("a").partitions == frozenset(range(JOB_PARTITIONS))
    assert Ring.of("a", ["b"]).members == ("a", "b"), "always among the live it sees"


@settings(max_examples=examples(60), deadline=None)
@given(
    members=st.sets(st.text(min_size=1, max_size=12), min_size=1, max_size=5),
    jobs=st.lists(st.uuids().map(str), max_size=40),
)
def test_the_replicas_shares_hold_every_partition_and_every_job_exactly_once(
    members: set[str], jobs: list[str]
) -> None:
    """What each replica loads (its partitions) and what it plans (the jobs it owns): over
    any set of live replicas, each partition and each job is exactly one replica's."""
    rings = [Ring.of(me, list(members)) for me in members]
    partitions = Counter(p for ring in rings for p in ring.partitions)
    assert partitions == dict.fromkeys(range(JOB_PARTITIONS), 1)
    for job in jobs:
        assert [ring.me for ring in rings if ring.owns(job)] == [rings[0].owner(job)]


@pytest.mark.parametrize("kind", ["standalone", pytest.param("cluster", marks=pytest.mark.e2e)])
async def test_heartbeats_show_the_live_replicas(
    kind: str, request: pytest.FixtureRequest, redis_url: str
) -> None:
    """On one Redis and on a Redis Cluster (the one key, in `KEYS`): a replica sees the
    others that beat, not one that left, nor one whose heartbeat ran out."""
    url = request.getfixturevalue("redis_cluster_url") if kind == "cluster" else redis_url
    client = create_redis(url, cluster=kind == "cluster")
    names = Names(f"test:{uuid.uuid4().hex[:8]}:")
    try:
        a, b = (Membership(client, names, n, timedelta(seconds=5)) for n in ("a", "b"))
        short = Membership(client, names, "c", timedelta(milliseconds=300))
        assert (await a.beat()).members == ("a",)
        await b.beat()
        await short.beat()
        assert (await a.beat()).members == ("a", "b", "c")
        await b.leave()

        async def alone() -> bool:  # c's 300 ms have run out
            return (await a.beat()).members == ("a",)

        await until(alone, 5, "c's membership expired")
    finally:
        await client.aclose()


def test_a_heartbeat_not_shorter_than_its_ttl_is_refused() -> None:
    with pytest.raises(ValidationError, match="CRON_REPLICA_TTL must be longer"):
        Settings.model_validate(
            {"environment": "test", "cron_replica_heartbeat": 5, "cron_replica_ttl": 5}
        )


# --- three processes -----------------------------------------------------------------------


async def start_replicas(stack: Stack, count: int = 3) -> list[ServiceProcess]:
    names = [f"cron_{n}" for n in range(count)]
    started = await asyncio.gather(
        *(asyncio.to_thread(start_cron, stack, name, **REPLICA_ENV) for name in names)
    )
    await until(lambda: all_see(started, count), 20, "every replica sees the others")
    return list(started)


async def health(cron: ServiceProcess) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=cron.url) as http:
        checks: dict[str, dict[str, object]] = (await http.get("/health")).json()["checks"]
    return checks["scheduler"]


async def all_see(replicas: list[ServiceProcess], count: int) -> bool:
    return all([(await health(r))["replicas"] == count for r in replicas])


async def metric(cron: ServiceProcess, prefix: str) -> float:
    """The sum of a metric's samples (all label sets)."""
    async with httpx.AsyncClient(base_url=cron.url) as http:
        text = (await http.get("/metrics")).text
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(prefix))


async def fires(cron: ServiceProcess) -> int:
    return int(await metric(cron, "smart_assistant_cron_fires_total{"))


def insert_reminders(database: str, user: User, count: int, due: datetime) -> list[str]:
    """`count` active one-off reminders due at `due`, straight into Postgres (over the API a
    user may have 50, and 150 POSTs would keep this busy machine from its due time)."""
    ids = [str(uuid.uuid4()) for _ in range(count)]
    rows = [
        (job_id, f"r{n}", "reminder", str(user.id), user.telegram_id, f"r{n}", due, "UTC",
         "active", due)
        for n, job_id in enumerate(ids)
    ]  # fmt: skip
    conn = psycopg2.connect(sync_url(database).replace("+psycopg2", ""))
    with conn, conn.cursor() as cur:
        execute_values(
            cur,
            "INSERT INTO cron_jobs (id, name, type, user_id, chat_id, text, run_at, timezone,"
            " status, next_run_at, created_at, updated_at) VALUES %s",
            rows,
            template="(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now(), now())",
        )
    conn.close()
    return ids


async def settled(
    stack: Stack, rest: RestClient, redis: aioredis.Redis, names: Names, count: int
) -> tuple[list[str], datetime, list[ServiceProcess], dict[str, ServiceProcess]]:
    """Three replicas that see each other, then `count` reminders due soon, planned by the
    replicas each in its share: the job ids, the due time, the replicas, the replicas by id."""
    replicas = await start_replicas(stack)
    user = await make_user(rest)
    due = whole_second(datetime.now(UTC) + timedelta(seconds=8))
    jobs = insert_reminders(stack.env["ASYNC_DATABASE_URL"], user, count, due)
    await redis.publish(names.cron_updated, "inserted")  # not one job's id: a full resync

    async def all_planned_once() -> bool:
        return sum([int(str((await health(r))["jobs"])) for r in replicas]) == count

    await until(all_planned_once, 20, "the replicas planned every job once")
    assert datetime.now(UTC) < due - timedelta(seconds=1), "the machine was too slow to plan"
    by_id = {str((await health(r))["replica"]): r for r in replicas}
    return jobs, due, replicas, by_id


async def test_three_replicas_split_the_due_reminders_and_fire_each_once(
    stack: Stack, rest: RestClient, redis: aioredis.Redis, names: Names, outbox: Outbox
) -> None:
    jobs, due, replicas, by_id = await settled(stack, rest, redis, names, 150)
    # Once it fired, a second fire of any of them would have gone first.
    later = await later_reminder(rest, run_at=due + timedelta(seconds=1))

    await outbox.wait_for(len(jobs), timeout=20)
    await until(lambda: outbox.for_job(later), 30, "the later reminder fired")
    sent = [s for s in await outbox.all() if s.message.correlation_id != later]
    assert sorted(str(s.message.correlation_id) for s in sent) == sorted(jobs)
    assert max(s.added_at - due for s in sent) < timedelta(seconds=2)

    ring = Ring.of(next(iter(by_id)), list(by_id))
    share = Counter(by_id[ring.owner(job)].name for job in [*jobs, later])
    fired = {r.name: await fires(r) for r in replicas}
    assert fired == dict(share), "each replica fired exactly its share"
    assert all(count > 0 for count in fired.values()), fired
    for r in replicas:
        assert await metric(r, "smart_assistant_cron_fires_already_claimed_total") == 0


async def test_a_killed_replicas_share_is_fired_by_the_others_once(
    stack: Stack,
    rest: RestClient,
    redis: aioredis.Redis,
    names: Names,
    outbox: Outbox,
) -> None:
    """The victim dies in the middle of its batch: half its share already claimed and published
    (done here with the service's own ledger), the other half not. Nothing is lost or doubled:
    the survivors take its share over, find the first half claimed, fire the second, and
    record all of it."""
    jobs, due, replicas, by_id = await settled(stack, rest, redis, names, 90)
    victim = replicas[2]
    ring = Ring.of(next(iter(by_id)), list(by_id))
    victims = [job for job in jobs if by_id[ring.owner(job)] is victim]
    assert victims, "the victim owns part of the jobs"
    ledger = FireLedger(redis, names, timedelta(days=1))
    rules = FireRules(late_after=timedelta(seconds=60), grace=timedelta(hours=6))
    done_before = victims[: len(victims) // 2]
    for job_id in done_before:
        job = plan(await rest.get_cron_job(job_id), "UTC")
        assert await ledger.claim_and_publish(*compose(job, due, due, rules))
    victim.kill()
    assert datetime.now(UTC) < due, "the machine was too slow to kill before the due time"

    await outbox.wait_for(len(jobs), timeout=30)
    later = await later_fire(rest, outbox)
    sent = [s for s in await outbox.all() if s.message.correlation_id != later]
    assert sorted(str(s.message.correlation_id) for s in sent) == sorted(jobs)
    fired = [await fires(r) for r in replicas[:2]]
    assert sum(fired) == len(jobs) - len(done_before) + 1, "the survivors fired the rest"
    taken_over = set(victims[len(victims) // 2 :])
    late = [s.added_at - due for s in sent if s.message.correlation_id in taken_over]
    assert max(late) < timedelta(seconds=TTL_S + 2 * HEARTBEAT_S + 2), "lateness is bounded"

    async def ledger_empty() -> bool:
        return await ledger.unrecorded() == []

    await until(ledger_empty, 120, "every fire is recorded")
    for job_id in victims:
        assert len(await runs_of(rest, job_id)) == 1, "recorded once, by a survivor"


@pytest.mark.parametrize("rest_down", [False, True], ids=["takeover", "rest_service_down"])
async def test_two_replicas_load_only_their_partitions_and_the_survivor_takes_the_others(
    stack: Stack,
    rest: RestClient,
    redis: aioredis.Redis,
    names: Names,
    outbox: Outbox,
    rest_down: bool,
) -> None:
    """Each of two replicas loads only the jobs of its partitions (`known_jobs`), not every
    job. One stops before they are due: the survivor loads its partitions and fires its jobs,
    each once. With rest_service unreachable from the survivor at that moment, the takeover
    is owed (logged) and the survivor's next full sync loads them once it answers again."""
    url = urlsplit(stack.url("rest_service"))
    proxy = TcpProxy(url.hostname or "127.0.0.1", url.port or 80)
    await proxy.start()
    hop = {"REST_SERVICE_URL": f"http://127.0.0.1:{proxy.port}"}
    # A stop finishes recording for at most this long, well within the stop's 10 s before a
    # SIGKILL (which would lose a measured run's coverage data).
    quick = {**REPLICA_ENV, "SHUTDOWN_GRACE_SECONDS": "2"}
    try:
        survivor, leaving = await asyncio.gather(
            asyncio.to_thread(start_cron, stack, "cron_0", **quick, **hop),
            asyncio.to_thread(start_cron, stack, "cron_1", **quick),
        )
        await until(lambda: all_see([survivor, leaving], 2), 20, "the replicas see each other")
        user = await make_user(rest)
        due = whole_second(datetime.now(UTC) + timedelta(seconds=15))
        jobs = insert_reminders(stack.env["ASYNC_DATABASE_URL"], user, 120, due)
        await redis.publish(names.cron_updated, "inserted")  # not one job's id: a full resync
        ids = {r.name: str((await health(r))["replica"]) for r in (survivor, leaving)}
        ring = Ring.of(ids[survivor.name], list(ids.values()))
        share = {name: sum(ring.owner(job) == ids[name] for job in jobs) for name in ids}
        assert all(share.values()), share

        async def each_holds_its_share() -> bool:
            held = {r.name: (await health(r))["known_jobs"] for r in (survivor, leaving)}
            return held == share

        await until(each_holds_its_share, 20, "each replica loaded its share, and only that")
        partitions = [
            await metric(r, "smart_assistant_cron_partitions ") for r in (survivor, leaving)
        ]
        assert sum(partitions) == JOB_PARTITIONS and all(partitions), partitions

        if rest_down:
            await proxy.stop()
        leaving.stop()
        assert datetime.now(UTC) < due, "the machine was too slow to stop before the due time"
        if rest_down:

            async def owed() -> bool:
                return "takeover_reload_failed" in survivor.logs()

            await until(owed, 20, "the takeover failed with rest_service down")
            assert (await health(survivor))["known_jobs"] == share[survivor.name]
            await proxy.start()

        async def holds_all() -> bool:
            return (await health(survivor))["known_jobs"] == len(jobs)

        await until(holds_all, 30, "the survivor loaded the partitions it took over")
        await outbox.wait_for(len(jobs), timeout=30)
        later = await later_fire(rest, outbox)
    finally:
        await proxy.stop()
    sent = [s for s in await outbox.all() if s.message.correlation_id != later]
    assert sorted(str(s.message.correlation_id) for s in sent) == sorted(jobs), "each once"
    assert await fires(survivor) == len(jobs) + 1, "the survivor fired them all"


async def test_a_fire_recorded_by_one_replica_is_not_recorded_again_by_another(
    stack: Stack,
    rest: RestClient,
    redis: aioredis.Redis,
    names: Names,
    make_reminder: MakeReminder,
) -> None:
    """Another replica's sweep queued the fire while the first was recording it (two real
    recorders in this process): once it is recorded, the second leaves it, instead of loading
    rest_service with the same three writes again."""
    job = await make_reminder("stretch", due_in=600)
    ledger = FireLedger(redis, names, timedelta(days=1))
    rules = FireRules(late_after=timedelta(seconds=60), grace=timedelta(hours=6))
    stream, message, fire = compose(plan(job, "UTC"), job.run_at, job.run_at, rules)
    assert await ledger.claim_and_publish(stream, message, fire)

    def recorded() -> float:
        return (
            REGISTRY.get_sample_value("smart_assistant_cron_fire_records_total", {"result": "ok"})
            or 0.0
        )

    before = recorded()
    first, second = Recorder(rest, ledger, 1), Recorder(rest, ledger, 1)
    tasks = [asyncio.create_task(r.run()) for r in (first, second)]
    try:
        first.submit(fire)

        async def ledger_empty() -> bool:
            return await ledger.unrecorded() == []

        await until(ledger_empty, 20, "the first recorder recorded the fire")
        second.submit(fire)
        await second.drain(10)
        assert recorded() - before == 1
        assert len(await runs_of(rest, job.id)) == 1
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_sweep_queues_a_bounded_page_and_nothing_while_a_burst_goes_out(
    rest: RestClient, redis: aioredis.Redis, names: Names
) -> None:
    """With 100 000 fires unrecorded after a burst, every replica's sweep read and queued all
    of them every interval, taking the CPU the burst needed: a sweep waits for the burst,
    queues at most SWEEP_LIMIT, and none while this recorder still has that many queued."""
    # A ledger of its own: other tests' fires stay unrecorded under the backend's prefix.
    ledger = FireLedger(redis, Names(f"{names.prefix}{uuid.uuid4().hex[:6]}:"), timedelta(days=1))
    rules = FireRules(late_after=timedelta(seconds=60), grace=timedelta(hours=6))
    due = whole_second(datetime.now(UTC)) - timedelta(minutes=5)
    count = SWEEP_LIMIT + 200
    for start in range(0, count, 250):
        jobs = [_one_off(due) for _ in range(start, min(count, start + 250))]
        fires = [compose(plan(job, "UTC"), due, due, rules) for job in jobs]
        assert all(await ledger.claim_and_publish_many(fires))
    recorder = Recorder(rest, ledger, 1)  # not running: what it queues stays queued

    with recorder.held():
        assert await recorder.sweep(timedelta(0)) == 0, "no sweep while fires go out"
    assert await recorder.sweep(timedelta(0)) == SWEEP_LIMIT
    assert await recorder.sweep(timedelta(0)) == 0, "enough queued already"
    assert len(await ledger.unrecorded()) == count, "nothing was lost by not queueing it"


def _one_off(run_at: datetime) -> CronJob:
    at = run_at - timedelta(hours=1)
    return CronJob.model_validate(
        {
            "id": str(uuid.uuid4()),
            "name": "reminder",
            "type": "reminder",
            "user_id": str(uuid.uuid4()),
            "chat_id": 4242,
            "text": "call Anna",
            "prompt": None,
            "run_at": run_at.isoformat(),
            "cron_expression": None,
            "timezone": "UTC",
            "timezone_assumed": False,
            "status": "active",
            "last_run_at": None,
            "next_run_at": run_at.isoformat(),
            "idempotency_key": None,
            "created_at": at.isoformat(),
            "updated_at": at.isoformat(),
        }
    )


# --- a burst and the syncs that meet it ----------------------------------------------------


class SlowLink:
    """A TCP hop to Redis whose requests wait while it is held: a round trip that takes as
    long as a test needs (a burst's claims in flight), without touching the service's code."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._open = asyncio.Event()
        self._open.set()
        self.waiting = asyncio.Event()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> SlowLink:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        self.release()
        assert self._server is not None
        self._server.close()

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        await asyncio.gather(
            self._pipe(reader, up_writer, held=True),
            self._pipe(up_reader, writer, held=False),
            return_exceptions=True,
        )

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, held: bool
    ) -> None:
        try:
            while data := await reader.read(65536):
                if held and not self._open.is_set():
                    self.waiting.set()
                    await self._open.wait()
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()


async def test_a_sync_during_a_burst_does_not_plan_its_fires_again(
    stack: Stack, rest: RestClient, redis_url: str, names: Names, outbox: Outbox
) -> None:
    """A bucket's fires are out of the plan while their claims are on the way to Redis; a
    full sync then (the replicas' recordings flood `cron:updated`) found them active and not
    planned, planned them again, and 46 890 of 100 000 went out a second time, refused by
    their claims. Fires being sent stay marked until claimed."""
    user = await make_user(rest)
    due = whole_second(datetime.now(UTC)) - timedelta(seconds=30)
    count = 600  # three batches of claims
    jobs = insert_reminders(stack.env["ASYNC_DATABASE_URL"], user, count, due)
    url = urlsplit(redis_url)
    async with SlowLink(url.hostname or "127.0.0.1", url.port or 6379) as link:
        client = aioredis.Redis(host="127.0.0.1", port=link.port, db=int(url.path[1:] or 0))
        ledger = FireLedger(client, names, timedelta(days=1))
        rules = FireRules(late_after=timedelta(seconds=60), grace=timedelta(hours=6))
        scheduler = ReminderScheduler(rest, ledger, Recorder(rest, ledger, 1), rules)
        claimed_before = _sample("smart_assistant_cron_fires_already_claimed_total")
        try:
            await scheduler.resync()
            assert scheduler.planned_count == count
            link.hold()
            scheduler.start()  # the bucket is overdue: it fires at once, and waits on Redis
            await asyncio.wait_for(link.waiting.wait(), 10)

            await scheduler.resync()
            assert scheduler.planned_count == 0, "the sync planned fires being sent again"

            link.release()
            await outbox.wait_for(count, timeout=20)
            later = await later_reminder(rest)
            await scheduler.resync()
            await until(lambda: outbox.for_job(later), 30, "a later reminder fired")
        finally:
            scheduler.shutdown()
            await client.aclose()
    sent = [s for s in await outbox.all() if s.message.correlation_id != later]
    assert sorted(str(s.message.correlation_id) for s in sent) == sorted(jobs)
    claimed = _sample("smart_assistant_cron_fires_already_claimed_total") - claimed_before
    assert claimed == 0, "no fire was composed and sent twice"


def _sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def test_a_replica_starts_with_one_full_sync(
    stack: Stack, redis: aioredis.Redis, names: Names
) -> None:
    """Subscribing to `cron:updated` asked for a full resync, so a replica that subscribed
    around its first sync loaded every job twice (100 000 of them at start-up); subscribed
    before the first sync, nothing can have been missed."""
    cron = start_cron(stack, **REPLICA_ENV)
    full = 'smart_assistant_cron_syncs_total{result="ok"}'
    targeted = 'smart_assistant_cron_syncs_total{result="targeted"}'

    async def synced() -> bool:
        return (await health(cron))["last_sync_at"] is not None

    await until(synced, 20, "the first sync")
    # A job named after it: a second full sync still asked for would come first, or take
    # this one in (the sync loop takes one request at a time).
    await listening(redis, names)
    message = {"job_id": str(uuid.uuid4()), "change": "updated"}
    await redis.publish(names.cron_updated, json.dumps(message))

    async def another_sync() -> bool:
        return await metric(cron, full) + await metric(cron, targeted) >= 2

    await until(another_sync, 20, "the named job reloaded")
    assert await metric(cron, full) == 1.0
    assert await metric(cron, targeted) == 1.0


async def test_a_flood_of_cron_updated_reloads_the_named_jobs_not_everything(
    stack: Stack, rest: RestClient, redis: aioredis.Redis, names: Names
) -> None:
    """Every recording makes rest_service announce its job; over 50 in one debounce window
    made every replica reload all 100 000 jobs in the middle of its burst. A flood reloads
    only the replica's own share of the named jobs."""
    cron = start_cron(stack, **REPLICA_ENV)

    async def synced() -> bool:
        return (await health(cron))["last_sync_at"] is not None

    await until(synced, 20, "the first sync")
    full_before = await metric(cron, 'smart_assistant_cron_syncs_total{result="ok"}')
    for _ in range(300):
        message = {"job_id": str(uuid.uuid4()), "change": "updated"}
        await redis.publish(names.cron_updated, json.dumps(message))

    async def reloaded() -> bool:
        return await metric(cron, 'smart_assistant_cron_syncs_total{result="targeted"}') > 0

    await until(reloaded, 20, "a reload of the named jobs")
    # A job made after the flood is announced after it: once it is planned, the whole flood
    # has been taken in.
    await later_reminder(rest, due_in=3600)

    async def planned() -> bool:
        return (await health(cron))["jobs"] == 1

    await until(planned, 20, "the job made after the flood planned")
    full = await metric(cron, 'smart_assistant_cron_syncs_total{result="ok"}')
    assert full == full_before, "no full resync for a flood of named jobs"


async def test_a_takeover_after_a_flood_loads_the_stale_jobs_once(
    stack: Stack, rest: RestClient, redis: aioredis.Redis, names: Names, outbox: Outbox
) -> None:
    """A flood of `cron:updated` for another replica's jobs is that replica's to reload; when
    this replica takes them over it loads them all in one go (their partitions' listing, not
    2 000 requests), and fires what they say now."""
    user = await make_user(rest)
    due = whole_second(datetime.now(UTC)) - timedelta(seconds=30)
    count = 4400
    jobs = insert_reminders(stack.env["ASYNC_DATABASE_URL"], user, count, due)
    ledger = FireLedger(redis, names, timedelta(days=1))
    rules = FireRules(late_after=timedelta(seconds=60), grace=timedelta(hours=6))
    scheduler = ReminderScheduler(rest, ledger, Recorder(rest, ledger, 1), rules)
    try:
        await scheduler.rebalance(Ring.of("a", ["a", "b"]))
        await scheduler.resync()
        others = {job for job in jobs if not scheduler.ring.owns(job)}
        assert len(others) > 2000
        conn = psycopg2.connect(sync_url(stack.env["ASYNC_DATABASE_URL"]).replace("+psycopg2", ""))
        with conn, conn.cursor() as cur:
            cur.execute("UPDATE cron_jobs SET text = 'now ' || text")
        conn.close()
        await scheduler.refresh(others)  # b's: left to b

        taken, _ = await scheduler.rebalance(Ring.of("a"))  # b is gone
        assert taken == len(others)
        scheduler.start()
        await outbox.wait_for(count, timeout=60)
    finally:
        scheduler.shutdown()
    sent = {str(s.message.correlation_id): s.message.text for s in await outbox.all()}
    assert sorted(sent) == sorted(jobs)
    assert all(sent[job].startswith("⏰ now ") for job in others), "the stale jobs were loaded"
