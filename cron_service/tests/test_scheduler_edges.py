"""The scheduler's edges, in-process against real rest_service, Postgres and Redis: a job the
store holds with a schedule that cannot run, Redis gone when a bucket fires, rest_service gone
when a replica takes over (its partitions owed until it is back), partitions given up and
taken back, a flood of named jobs, and a job changed while a full load was on its way back.
What reaches the outbox is the evidence; a hop the test can cut or hold stands between the
scheduler and the server it needs."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import psycopg2
import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from structlog.testing import capture_logs

from common.features.job_partitions import JOB_PARTITIONS
from common.infrastructure.postgres_url import sync_url
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import CronJobStatus, User
from cron_service.app.fires import FireLedger, FireRules
from cron_service.app.recorder import Recorder
from cron_service.app.replicas import Ring
from cron_service.app.scheduler import ReminderScheduler
from cron_service.tests.conftest import Outbox
from cron_service.tests.test_replicas import insert_reminders
from ops.processes import Stack
from tests.reminders import whole_second
from tests.tcp_proxy import TcpProxy
from tests.users import make_user
from tests.waiting import until

RULES = FireRules(late_after=timedelta(seconds=60), grace=timedelta(hours=6))
#: Two replicas, "a" (the one under test) and "b".
SHARED = Ring.of("a", ["a", "b"])
ALONE = Ring.of("a")
#: How soon a failed fire is tried again here (5 s in production).
RETRY_AFTER = timedelta(seconds=0.5)


def _overdue() -> datetime:
    return whole_second(datetime.now(UTC)) - timedelta(seconds=30)


def _b_owned(count: int) -> set[str]:
    """Job ids replica "b" owns while both replicas live."""
    ids: set[str] = set()
    while len(ids) < count:
        job_id = str(uuid.uuid4())
        if not SHARED.owns(job_id):
            ids.add(job_id)
    return ids


def insert_job(database: str, user: User, job_id: str, **columns: Any) -> str:
    """One active job straight into Postgres, as rest_service's API would never take it."""
    row = {
        "id": job_id,
        "name": "odd",
        "type": "reminder",
        "user_id": str(user.id),
        "chat_id": user.telegram_id,
        "text": "odd",
        "run_at": None,
        "cron_expression": None,
        "timezone": "UTC",
        "status": "active",
    } | columns
    names = ", ".join(row)
    values = ", ".join(["%s"] * len(row))
    conn = psycopg2.connect(sync_url(database).replace("+psycopg2", ""))
    with conn, conn.cursor() as cur:
        cur.execute(
            f"INSERT INTO cron_jobs ({names}, created_at, updated_at)"
            f" VALUES ({values}, now(), now())",
            list(row.values()),
        )
    conn.close()
    return job_id


def scheduler_of(rest: RestClient, redis: aioredis.Redis, names: Names) -> ReminderScheduler:
    ledger = FireLedger(redis, names, timedelta(days=1))
    recorder = Recorder(rest, ledger, 1)
    return ReminderScheduler(rest, ledger, recorder, RULES, retry_after=RETRY_AFTER)


@contextlib.asynccontextmanager
async def proxied_rest(stack: Stack) -> AsyncIterator[TcpProxy]:
    """A hop to rest_service the test can cut."""
    url = urlsplit(stack.url("rest_service"))
    proxy = TcpProxy(url.hostname or "127.0.0.1", url.port or 80)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


def _events(logs: list[MutableMapping[str, Any]], event: str) -> list[MutableMapping[str, Any]]:
    return [entry for entry in logs if entry["event"] == event]


async def test_a_job_stored_with_a_schedule_that_cannot_run_is_left_and_the_others_fire(
    stack: Stack, rest: RestClient, redis: aioredis.Redis, names: Names, outbox: Outbox
) -> None:
    """rest_service validates what it takes, but a row written around it (an old version, a
    hand-made fix) may hold a cron expression or a zone that does not parse. Such a job is
    logged and left, at a sync and at a takeover alike; every other job still fires."""
    database = stack.env["ASYNC_DATABASE_URL"]
    user = await make_user(rest)
    [good] = insert_reminders(database, user, 1, _overdue())
    mine, theirs = str(uuid.uuid4()), next(iter(_b_owned(1)))
    while not SHARED.owns(mine):
        mine = str(uuid.uuid4())
    insert_job(database, user, mine, cron_expression="every day at nine")
    insert_job(database, user, theirs, cron_expression="0 9 * * *", timezone="Mars/Olympus")
    scheduler = scheduler_of(rest, redis, names)
    try:
        with capture_logs() as logs:
            await scheduler.rebalance(SHARED)
            await scheduler.resync()
            assert scheduler.known_count == 1 + SHARED.owns(good), "only a's partitions"
            taken, given = await scheduler.rebalance(ALONE)  # b is gone: its jobs come here
            assert (taken, given) == (int(not SHARED.owns(good)), 0), "the broken one is left"
            assert scheduler.job_count == 1
            assert scheduler.known_count == 3
        unschedulable = _events(logs, "job_unschedulable")
        assert {entry["job_id"] for entry in unschedulable} == {mine, theirs}
        assert all(entry["reason"] for entry in unschedulable), "the log says what is wrong"
        scheduler.start()
        await outbox.wait_for(1)
    finally:
        scheduler.shutdown()
    assert [str(sent.message.correlation_id) for sent in await outbox.all()] == [good]


async def test_fires_that_cannot_reach_redis_go_out_once_it_is_back(
    stack: Stack,
    rest: RestClient,
    redis_url: str,
    names: Names,
    outbox: Outbox,
) -> None:
    """A bucket that fires while Redis is unreachable is not lost: its fires are planned again
    a few seconds on, and go out (once) when Redis answers again."""
    user = await make_user(rest)
    jobs = insert_reminders(stack.env["ASYNC_DATABASE_URL"], user, 2, _overdue())
    url = urlsplit(redis_url)
    proxy = TcpProxy(url.hostname or "127.0.0.1", url.port or 6379)
    client = aioredis.Redis(
        host="127.0.0.1", port=proxy.port, db=int(url.path[1:] or 0), retry=Retry(NoBackoff(), 0)
    )  # the scheduler's retry under test, not the client's backoff
    scheduler = scheduler_of(rest, client, names)
    try:
        await scheduler.resync()
        assert scheduler.planned_count == 2
        with capture_logs() as logs:
            scheduler.start()  # overdue: the bucket fires at once, into a refused connection
            await until(lambda: _events(logs, "fires_failed"), 20, "the failed fire")
        assert _events(logs, "fires_failed")[0]["count"] == 2
        assert scheduler.planned_count == 2, "planned again, not dropped"
        assert await outbox.all() == []

        await proxy.start()
        await outbox.wait_for(2, timeout=30)
    finally:
        scheduler.shutdown()
        await client.aclose()
        await proxy.stop()
    sent = sorted(str(s.message.correlation_id) for s in await outbox.all())
    assert sent == sorted(jobs)
    assert scheduler.planned_count == 0


async def test_a_takeover_while_rest_service_is_down_loads_the_partitions_once_it_is_back(
    stack: Stack,
    rest: RestClient,
    redis: aioredis.Redis,
    names: Names,
    outbox: Outbox,
    secrets: dict[str, str],
) -> None:
    """The other replica died and rest_service is unreachable: this replica never held the
    jobs of the partitions it takes over, so they are owed (logged), given back with the
    partitions if the other returns, and loaded by the next full sync that reaches
    rest_service; then they fire, once."""
    user = await make_user(rest)
    jobs = insert_reminders(stack.env["ASYNC_DATABASE_URL"], user, 40, _overdue())
    theirs = {job for job in jobs if not SHARED.owns(job)}
    assert theirs
    async with proxied_rest(stack) as proxy:
        url = f"http://127.0.0.1:{proxy.port}"
        async with RestClient(url, secrets["SERVICE_API_TOKEN"], retries=0) as down:
            scheduler = scheduler_of(down, redis, names)
            try:
                await scheduler.rebalance(SHARED)
                await scheduler.resync()
                assert scheduler.job_count == scheduler.known_count == len(jobs) - len(theirs)
                await proxy.stop()

                with capture_logs() as logs:
                    assert await scheduler.rebalance(ALONE) == (0, 0), "nothing to take yet"
                    assert scheduler.owed
                    assert await scheduler.rebalance(SHARED) == (0, 0)
                    assert not scheduler.owed, "given back, owed no more"
                    await scheduler.rebalance(ALONE)
                failed = _events(logs, "takeover_reload_failed")
                b_partitions = JOB_PARTITIONS - len(SHARED.partitions)
                assert [entry["partitions"] for entry in failed] == [b_partitions] * 2
                assert all(entry["error"] for entry in failed)

                await proxy.start()
                await scheduler.resync()
                assert not scheduler.owed
                assert scheduler.job_count == len(jobs)
                scheduler.start()
                await outbox.wait_for(len(jobs), timeout=30)
            finally:
                scheduler.shutdown()
    sent = sorted(str(s.message.correlation_id) for s in await outbox.all())
    assert sent == sorted(jobs), "every job fired once"


async def test_partitions_given_up_are_forgotten_and_loaded_again_when_taken_back(
    stack: Stack, rest: RestClient, redis: aioredis.Redis, names: Names
) -> None:
    """A replica holds only its partitions' jobs: a replica joining takes half of them out of
    this one's memory, and its leaving brings them back from rest_service, as they are now."""
    user = await make_user(rest)
    later = whole_second(datetime.now(UTC)) + timedelta(hours=1)
    jobs = insert_reminders(stack.env["ASYNC_DATABASE_URL"], user, 60, later)
    theirs = {job for job in jobs if not SHARED.owns(job)}
    scheduler = scheduler_of(rest, redis, names)
    await scheduler.resync()
    assert scheduler.known_count == scheduler.job_count == len(jobs)

    assert await scheduler.rebalance(SHARED) == (0, len(theirs))
    assert scheduler.known_count == scheduler.job_count == len(jobs) - len(theirs)
    gone = next(iter(theirs))
    await rest.delete_cron_job(gone)
    await scheduler.refresh({gone})  # b's: nothing to do here

    assert await scheduler.rebalance(ALONE) == (len(theirs) - 1, 0)
    assert scheduler.known_count == scheduler.job_count == len(jobs) - 1


async def test_a_flood_naming_many_of_its_own_jobs_reloads_everything_at_once(
    stack: Stack, rest: RestClient, redis: aioredis.Redis, names: Names
) -> None:
    """More of this replica's jobs named than it would fetch one request each: one full load
    instead, which also finds jobs whose announcement was lost."""
    user = await make_user(rest)
    database = stack.env["ASYNC_DATABASE_URL"]
    later = whole_second(datetime.now(UTC)) + timedelta(hours=1)
    insert_reminders(database, user, 1, later)
    scheduler = scheduler_of(rest, redis, names)
    await scheduler.resync()
    assert scheduler.job_count == 1
    insert_reminders(database, user, 2, later)  # announced in a message this replica lost

    await scheduler.refresh({str(uuid.uuid4()) for _ in range(2001)})
    assert scheduler.job_count == 3
    assert scheduler.known_count == 3


class _Tapped:
    """A stream reader that keeps the request lines it reads."""

    def __init__(self, reader: asyncio.StreamReader, lines: list[str]) -> None:
        self._reader = reader
        self._lines = lines

    async def read(self, n: int) -> bytes:
        data = await self._reader.read(n)
        text = data.decode(errors="replace")
        self._lines += [line for line in text.splitlines() if line.startswith("GET ")]
        return data


class HeldReplies:
    """A TCP hop to a server whose connections open when `freeze` is called keep their replies
    until `release`: a request already answered, its answer still on the way. `sent`: the
    request lines that went through it."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self.sent: list[str] = []
        self._open = asyncio.Event()
        self._open.set()
        self._live: set[asyncio.Event] = set()
        self.holding = asyncio.Event()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> HeldReplies:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        self.release()
        assert self._server is not None
        self._server.close()

    def freeze(self) -> None:
        """The connections open now hold their replies; new ones do not."""
        for frozen in self._live:
            frozen.set()

    def release(self) -> None:
        for frozen in self._live:
            frozen.clear()
        self._open.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        frozen = asyncio.Event()
        self._live.add(frozen)
        try:
            await asyncio.gather(
                self._pipe(cast(asyncio.StreamReader, _Tapped(reader, self.sent)), up_writer, None),
                self._pipe(up_reader, writer, frozen),
                return_exceptions=True,
            )
        finally:
            self._live.discard(frozen)

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        frozen: asyncio.Event | None,
    ) -> None:
        try:
            while data := await reader.read(65536):
                if frozen is not None and frozen.is_set():
                    self._open.clear()
                    self.holding.set()
                    await self._open.wait()
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()


@pytest.mark.parametrize("change", ["deleted", "paused"])
async def test_a_job_changed_while_a_full_load_is_on_its_way_is_not_brought_back(
    stack: Stack,
    rest: RestClient,
    redis: aioredis.Redis,
    names: Names,
    outbox: Outbox,
    secrets: dict[str, str],
    change: str,
) -> None:
    """A full load is answered, then one job is ended and another edited and both reloaded by
    name (`cron:updated`) before that answer arrives: the older answer neither brings the
    ended job back nor the edited one's old text."""
    user = await make_user(rest)
    due = _overdue()
    ended, edited = insert_reminders(stack.env["ASYNC_DATABASE_URL"], user, 2, due)
    url = urlsplit(stack.url("rest_service"))
    async with HeldReplies(url.hostname or "127.0.0.1", url.port or 80) as hop:
        address = f"http://127.0.0.1:{hop.port}"
        async with RestClient(address, secrets["SERVICE_API_TOKEN"]) as client:
            scheduler = scheduler_of(client, redis, names)
            try:
                await scheduler.resync()  # its connection stays open, idle
                hop.freeze()
                loading = asyncio.create_task(scheduler.resync())
                await asyncio.wait_for(hop.holding.wait(), 10)  # answered, held on the way

                if change == "deleted":
                    await rest.delete_cron_job(ended)
                else:
                    await rest.update_cron_job(ended, status=CronJobStatus.paused)
                await rest.update_cron_job(edited, text="edited meanwhile")
                await scheduler.refresh({ended, edited})  # on a new connection
                hop.release()
                await asyncio.wait_for(loading, 20)

                assert scheduler.known_count == 1
                assert scheduler.job_count == 1
                scheduler.start()  # both were due at the same instant: one bucket, one batch
                await outbox.wait_for(1)
            finally:
                scheduler.shutdown()
    [sent] = await outbox.all()
    assert str(sent.message.correlation_id) == edited
    assert "edited meanwhile" in sent.message.text


async def test_a_reminder_moved_while_its_fire_failed_fires_at_its_new_time_only(
    stack: Stack, rest: RestClient, redis_url: str, names: Names, outbox: Outbox
) -> None:
    """The user moves a reminder to later while its fire is on the way to a Redis that then
    fails: the retry a few seconds on must not take the old time back (it fired at the time
    the user had moved it from, and the new time was never planned)."""
    database = stack.env["ASYNC_DATABASE_URL"]
    user = await make_user(rest)
    [moved] = insert_reminders(database, user, 1, _overdue())
    url = urlsplit(redis_url)
    link = TcpProxy(url.hostname or "127.0.0.1", url.port or 6379)
    await link.start()
    client = aioredis.Redis(
        host="127.0.0.1", port=link.port, db=int(url.path[1:] or 0), retry=Retry(NoBackoff(), 0)
    )
    scheduler = scheduler_of(rest, client, names)
    try:
        await scheduler.resync()
        link.hold()
        with capture_logs() as logs:
            scheduler.start()  # overdue: its claim goes out at once, and is held on the way
            await asyncio.wait_for(link.waiting.wait(), 10)
            new_time = whole_second(datetime.now(UTC)) + timedelta(hours=1)
            await rest.update_cron_job(moved, run_at=new_time)
            await scheduler.refresh({moved})  # `cron:updated` named it
            await link.stop()
            await until(lambda: _events(logs, "fires_failed"), 20, "the failed fire")
        await link.start()
        # Due after the retry would have been: evidence that it was not.
        retried_by = datetime.now(UTC) + RETRY_AFTER
        [later] = insert_reminders(database, user, 1, whole_second(retried_by))
        await scheduler.refresh({later})
        await until(lambda: outbox.for_job(later), 30, "the later reminder fired")
    finally:
        scheduler.shutdown()
        await client.aclose()
        await link.stop()
    assert await outbox.for_job(moved) == [], "fired at the time it was moved from"
    assert scheduler.planned_count == 1, "planned at its new time"


async def test_a_job_of_another_replica_deleted_while_a_full_load_is_on_its_way_stays_deleted(
    stack: Stack,
    rest: RestClient,
    redis: aioredis.Redis,
    names: Names,
    outbox: Outbox,
    secrets: dict[str, str],
) -> None:
    """Another replica's job is deleted, and `cron:updated` says so, while this replica's full
    load is on its way back. When this replica takes the job over, it must ask rest_service
    again, not fire the reminder the user deleted (its load no longer holds other replicas'
    jobs at all)."""
    database = stack.env["ASYNC_DATABASE_URL"]
    user = await make_user(rest)
    due = _overdue()
    mine = str(uuid.uuid4())
    while not SHARED.owns(mine):
        mine = str(uuid.uuid4())
    insert_job(database, user, mine, run_at=due, text="mine")
    deleted = insert_job(database, user, next(iter(_b_owned(1))), run_at=due, text="deleted")
    url = urlsplit(stack.url("rest_service"))
    async with HeldReplies(url.hostname or "127.0.0.1", url.port or 80) as hop:
        address = f"http://127.0.0.1:{hop.port}"
        async with RestClient(address, secrets["SERVICE_API_TOKEN"]) as client:
            scheduler = scheduler_of(client, redis, names)
            try:
                await scheduler.rebalance(SHARED)
                await scheduler.resync()  # its connection stays open, idle
                hop.freeze()
                loading = asyncio.create_task(scheduler.resync())
                await asyncio.wait_for(hop.holding.wait(), 10)  # answered, held on the way

                await rest.delete_cron_job(deleted)
                await scheduler.refresh({deleted})  # b's: left to b
                hop.release()
                await asyncio.wait_for(loading, 20)

                taken, _ = await scheduler.rebalance(ALONE)  # b is gone
                assert taken == 0, "the deleted job was taken over"
                scheduler.start()  # both were due at the same instant: one bucket, one batch
                await outbox.wait_for(1)
            finally:
                scheduler.shutdown()
    assert [str(sent.message.correlation_id) for sent in await outbox.all()] == [mine]


async def test_a_share_moved_while_a_full_load_is_on_its_way_is_what_the_replica_keeps(
    stack: Stack,
    rest: RestClient,
    redis: aioredis.Redis,
    names: Names,
    secrets: dict[str, str],
) -> None:
    """A full load of this replica's partitions is answered and held on its way; meanwhile
    the other replica leaves (its partitions are loaded at once, over another connection)
    or comes back (they are given back). When the held load lands, the replica keeps what
    the share is now: the partitions taken over are not lost for not being in the load,
    and those given back are not brought back by it."""
    user = await make_user(rest)
    later = whole_second(datetime.now(UTC)) + timedelta(hours=1)
    jobs = insert_reminders(stack.env["ASYNC_DATABASE_URL"], user, 60, later)
    mine = [job for job in jobs if SHARED.owns(job)]
    url = urlsplit(stack.url("rest_service"))
    async with HeldReplies(url.hostname or "127.0.0.1", url.port or 80) as hop:
        address = f"http://127.0.0.1:{hop.port}"
        async with RestClient(address, secrets["SERVICE_API_TOKEN"]) as client:
            scheduler = scheduler_of(client, redis, names)
            await scheduler.rebalance(SHARED)
            await scheduler.resync()  # its connection stays open, idle
            assert scheduler.known_count == len(mine)

            hop.freeze()
            loading = asyncio.create_task(scheduler.resync())  # a's partitions
            await asyncio.wait_for(hop.holding.wait(), 10)
            assert await scheduler.rebalance(ALONE) == (len(jobs) - len(mine), 0)
            hop.release()
            await asyncio.wait_for(loading, 20)
            assert scheduler.known_count == scheduler.job_count == len(jobs)

            hop.holding.clear()
            hop.freeze()
            loading = asyncio.create_task(scheduler.resync())  # every partition
            await asyncio.wait_for(hop.holding.wait(), 10)
            assert await scheduler.rebalance(SHARED) == (0, len(jobs) - len(mine))
            hop.release()
            await asyncio.wait_for(loading, 20)
            assert scheduler.known_count == scheduler.job_count == len(mine)


def _asked_partitions(request_line: str) -> set[int]:
    query = parse_qs(urlsplit(request_line.split()[1]).query)
    return {int(p) for p in query["partitions"][0].split(",")}


async def test_a_full_load_stops_asking_for_partitions_another_replica_took_meanwhile(
    stack: Stack, rest: RestClient, redis: aioredis.Redis, names: Names, secrets: dict[str, str]
) -> None:
    """Replicas started together see each other only after a heartbeat: the first one's
    first load, alone, asked for every job and its memory kept that peak. A full load goes a
    slice of the partitions at a time, each cut to the share as it is by then."""
    user = await make_user(rest)
    later = whole_second(datetime.now(UTC)) + timedelta(hours=1)
    jobs = insert_reminders(stack.env["ASYNC_DATABASE_URL"], user, 60, later)
    url = urlsplit(stack.url("rest_service"))
    async with (
        HeldReplies(url.hostname or "127.0.0.1", url.port or 80) as hop,
        RestClient(f"http://127.0.0.1:{hop.port}", secrets["SERVICE_API_TOKEN"]) as client,
    ):
        scheduler = scheduler_of(client, redis, names)
        await scheduler.resync()  # alone; its connection stays open, idle
        assert scheduler.known_count == len(jobs)
        hop.sent.clear()
        hop.freeze()
        loading = asyncio.create_task(scheduler.resync())
        await asyncio.wait_for(hop.holding.wait(), 10)  # the first slice, as if alone
        await scheduler.rebalance(SHARED)  # "b" appeared
        hop.release()
        await asyncio.wait_for(loading, 20)
    first, *rest_of_load = [_asked_partitions(line) for line in hop.sent]
    assert not first <= SHARED.partitions, "asked for as if alone"
    assert rest_of_load and all(asked <= SHARED.partitions for asked in rest_of_load)
    assert scheduler.known_count == sum(SHARED.owns(job) for job in jobs)
