"""cron_service against real Redis, Postgres and rest_service (`tests/harness.py`'s pieces).

Jobs are created due a few seconds ahead; where a test needs another day (a DST change, a
Monday), or a restart past a due time, cron_service starts with CRON_TEST_CLOCK_START instead
of the test waiting for that time. What it sends is read straight from the
`queue:to_telegram` stream (no tg_bot runs here), with the time each entry was added.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis as syncredis
import redis.asyncio as aioredis

from common.infrastructure.queue_messages import OutgoingMessage
from common.infrastructure.redis_keys import TO_TELEGRAM, Names
from common.infrastructure.rest_client import Id, RestClient
from common.infrastructure.wire import CronJob, CronJobRun
from ops.processes import ServiceProcess, Stack
from tests.harness import REST_LOOPS_OFF, MigratedDatabases, forget_cron_jobs
from tests.reminders import whole_second
from tests.streams import stream_entries
from tests.users import make_user
from tests.waiting import NotInTime, until

#: Settings every cron_service of these tests gets; a test adds or overrides.
CRON_ENV = {
    "CRON_RESYNC_INTERVAL": "60",
    "REMINDER_LATE_AFTER": "2",
    "CRON_RECOVERY_INTERVAL": "1",
    "CRON_RECOVERY_MIN_AGE": "2",
    "CRON_UPDATE_DEBOUNCE": "0.05",
}


def start_cron(stack: Stack, name: str = "cron_service", **settings: str) -> ServiceProcess:
    return stack.start("cron_service", name=name, env={**CRON_ENV, **settings})


@dataclass(frozen=True)
class Sent:
    """One entry of `queue:to_telegram`, and when it was added."""

    message: OutgoingMessage
    added_at: datetime


class Outbox:
    """What cron_service put on `queue:to_telegram`."""

    def __init__(self, redis: aioredis.Redis, names: Names) -> None:
        self._redis = redis
        self._key = names.stream(TO_TELEGRAM)

    async def all(self) -> list[Sent]:
        entries = await stream_entries(self._redis, self._key)
        return [_sent(entry_id, fields) for entry_id, fields in entries]

    async def wait_for(self, count: int, timeout: float = 15.0) -> list[Sent]:
        """At least `count` messages, once there."""

        async def enough() -> list[Sent]:
            found = await self.all()
            return found if len(found) >= count else []

        return await until(enough, timeout, f"{count} messages on the outbox")

    async def for_job(self, job_id: str) -> list[Sent]:
        return [sent for sent in await self.all() if sent.message.correlation_id == job_id]

    async def to_chat(self, chat_id: int) -> list[Sent]:
        return [sent for sent in await self.all() if sent.message.chat_id == chat_id]


async def listening(redis: aioredis.Redis, names: Names) -> None:
    """Until a cron_service subscribed to `cron:updated` (what is published before is lost)."""

    async def subscribed() -> bool:
        [(_channel, count)] = await redis.pubsub_numsub(names.cron_updated)
        return bool(count)

    await until(subscribed, 20, "cron_service listening on cron:updated")


async def later_reminder(
    rest: RestClient, due_in: float = 2.0, run_at: datetime | None = None
) -> str:
    """Another user's reminder due `due_in` seconds on (past the recovery's
    CRON_RECOVERY_MIN_AGE), or at `run_at` (on a cron_service clock moved with
    CRON_TEST_CLOCK_START); its id."""
    other = await make_user(rest)
    run_at = run_at or whole_second(datetime.now(UTC) + timedelta(seconds=due_in))
    job = await rest.create_cron_job(
        name="later", chat_id=other.telegram_id, user_id=other.id, text="later", run_at=run_at
    )
    return str(job.id)


async def later_fire(
    rest: RestClient, outbox: Outbox, due_in: float = 2.0, run_at: datetime | None = None
) -> str:
    """Evidence that the moment for a second fire has passed: a `later_reminder` made now has
    fired, and a fire still owed before it would have gone first. The later one's id."""
    job_id = await later_reminder(rest, due_in, run_at)
    await until(lambda: outbox.for_job(job_id), 30, "a later reminder fired")
    return job_id


def _sent(entry_id: bytes, fields: dict[bytes, bytes]) -> Sent:
    millis = int(entry_id.decode().split("-")[0])
    return Sent(
        OutgoingMessage.model_validate_json(fields[b"data"]),
        datetime.fromtimestamp(millis / 1000, UTC),
    )


@pytest.fixture(scope="package")
def backend(
    migrated_databases: MigratedDatabases,
    redis_url: str,
    session_prefix: str,
    secrets: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    """One rest_service on a database of these tests' own: other services' tests leave jobs
    behind that a cron_service here would fire (and record)."""
    database = migrated_databases.create()
    env = {
        "ENVIRONMENT": "test",
        "ASYNC_DATABASE_URL": database,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": f"{session_prefix}cron-{uuid.uuid4().hex[:6]}:",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "DEBUG",
        **REST_LOOPS_OFF,  # it outlives a file (tests/shared_services.py)
        **secrets,
    }
    running = Stack(env, tmp_path_factory.mktemp("cron-backend"))
    try:
        running.start("rest_service")
        yield running
    finally:
        running.stop_all()
        migrated_databases.drop(database)


@pytest.fixture
def stack(backend: Stack, tmp_path: Path) -> Iterator[Stack]:
    """This test's processes next to the module's rest_service, on a clean slate: no jobs,
    nothing under the Redis prefix (the rest_service left running by an earlier test)."""
    rest_process = backend["rest_service"]
    if not rest_process.running:
        rest_process.start(backend.workdir)
    _forget_everything(backend)
    env = {**backend.env, "REST_SERVICE_URL": rest_process.url}
    running = Stack(env, tmp_path)
    running.processes["rest_service"] = rest_process
    try:
        yield running
    finally:
        for name, process in running.processes.items():
            if name != "rest_service":
                process.stop()


def _forget_everything(backend: Stack) -> None:
    forget_cron_jobs(backend.env["ASYNC_DATABASE_URL"])
    client = syncredis.Redis.from_url(backend.env["REDIS_URL"])
    for key in client.scan_iter(match=f"{backend.env['REDIS_KEY_PREFIX']}*", count=1000):
        client.delete(key)
    client.close()


@pytest.fixture
def names(backend: Stack) -> Names:
    return Names(backend.env["REDIS_KEY_PREFIX"])


@pytest.fixture
async def rest(backend: Stack, secrets: dict[str, str]) -> AsyncIterator[RestClient]:
    async with RestClient(backend.url("rest_service"), secrets["SERVICE_API_TOKEN"]) as client:
        yield client


@pytest.fixture
async def admin(backend: Stack, secrets: dict[str, str]) -> AsyncIterator[RestClient]:
    async with RestClient(backend.url("rest_service"), secrets["ADMIN_API_TOKEN"]) as client:
        yield client


@pytest.fixture
async def secretary(admin: RestClient) -> str:
    """The secretary, whose thread with the user a delivered reminder joins."""
    for assistant in await admin.get_json("/api/assistants/"):
        if assistant["is_secretary"]:
            return str(assistant["id"])
    body = {"name": "secretary", "is_secretary": True, "instructions": "A helpful secretary."}
    return str((await admin.post_json("/api/assistants/", body))["id"])


@pytest.fixture
def outbox(redis: aioredis.Redis, names: Names) -> Outbox:
    return Outbox(redis, names)


async def runs_of(
    rest: RestClient, job_id: Id, count: int = 1, timeout: float = 10.0
) -> list[CronJobRun]:
    """The job's recorded runs, once there are `count` (or the timeout passes)."""

    async def enough() -> list[CronJobRun]:
        runs = await rest.list_cron_job_runs(job_id)
        return runs if len(runs) >= count else []

    with contextlib.suppress(NotInTime):
        return await until(enough, timeout, f"{count} runs")
    return await rest.list_cron_job_runs(job_id)


async def job_when(
    rest: RestClient, job_id: Id, check: Callable[[CronJob], bool], timeout: float = 10.0
) -> CronJob:
    """The job once `check` holds for it (or as it is when the timeout passes)."""

    async def checked() -> CronJob | None:
        job = await rest.get_cron_job(job_id)
        return job if check(job) else None

    with contextlib.suppress(NotInTime):
        return await until(checked, timeout, "the job's state")
    return await rest.get_cron_job(job_id)
