"""Fault drills on the whole pipeline: Telegram stand-in → tg_bot → assistant → LLM stand-in
→ tg_bot → Telegram stand-in, every service a real process, all traffic on loopback.

Each drill sends a steady stream of messages from 20 chats, breaks one thing (SIGKILL a
worker, restart Redis, stop Postgres, LLM 500s, Telegram 429 storms), and then counts what
Telegram received: every message answered exactly once, each chat in order. The one repeat
allowed: SIGKILL tg_bot right after Telegram accepted an answer and before tg_bot recorded
it, and the restarted process sends that answer again (the Bot API has no idempotency key;
the other choice would be to lose it). Drills that stop Redis or Postgres run servers of
their own (tests/private_servers.py), never the shared ones. Timeouts are shortened through
settings (tests/drill_support.py FAST). `pytest -s tests/test_drills.py` prints each drill's
counts on one line.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import CronJobStatus
from ops.infra import DatabaseServer, migrate
from ops.processes import Stack
from sandbox.llm_server import LlmStandIn, Step
from sandbox.telegram_api import TelegramStandIn
from tests.drill_support import (
    APOLOGY,
    FALLBACK,
    PRIMARY,
    Pipeline,
    Traffic,
    echo,
    pipeline_env,
    report,
    seed,
)
from tests.private_servers import PrivatePostgres, PrivateRedis
from tests.waiting import until

MakePipeline = Callable[..., Awaitable[Pipeline]]


@pytest.fixture(scope="module")
def llm() -> Iterator[LlmStandIn]:
    with LlmStandIn() as server:
        yield server


@pytest.fixture(scope="module")
def drill_database(
    postgres_server: DatabaseServer, llm: LlmStandIn, secrets: dict[str, str]
) -> Iterator[str]:
    """A database of the drills' own (on the shared server), migrated and seeded with a
    secretary whose models live on the LLM stand-in."""
    url = postgres_server.create()
    try:
        migrate(url)
        seed(_seed_env(url, llm, secrets))
        yield url
    finally:
        postgres_server.drop(url)


def _seed_env(url: str, llm: LlmStandIn, secrets: dict[str, str]) -> dict[str, str]:
    return {
        "ENVIRONMENT": "test",
        "ASYNC_DATABASE_URL": url,
        "OPENAI_BASE_URL": llm.base_url,
        "OPENAI_API_KEY": "sk-drill",
        "DEFAULT_MODEL": PRIMARY,
        "FALLBACK_MODEL": FALLBACK,
        **secrets,
    }


@pytest.fixture
async def telegram(secrets: dict[str, str]) -> AsyncIterator[TelegramStandIn]:
    async with TelegramStandIn(secrets["TELEGRAM_TOKEN"]).running() as api:
        yield api


@pytest.fixture
async def make_pipeline(
    telegram: TelegramStandIn,
    llm: LlmStandIn,
    drill_database: str,
    redis_url: str,
    key_prefix: str,
    secrets: dict[str, str],
    tmp_path: Path,
) -> AsyncIterator[MakePipeline]:
    """`await make_pipeline("rest_service", "assistant", "tg_bot", redis_url=...)`: the
    services started (on the shared servers unless told otherwise) and stopped at the end."""
    llm.reset()
    llm.default_delay = 0.0
    stacks: list[Stack] = []

    async def make(
        *services: str, env_overrides: dict[str, str] | None = None, **servers: str
    ) -> Pipeline:
        env = pipeline_env(
            database_url=servers.get("database_url", drill_database),
            redis_url=servers.get("redis_url", redis_url),
            key_prefix=key_prefix,
            secrets=secrets,
            telegram=telegram,
            llm=llm,
        ) | (env_overrides or {})
        workdir = tmp_path / f"stack{len(stacks)}"
        workdir.mkdir()
        stacks.append(Stack(env, workdir))
        pipeline = Pipeline(stacks[-1], telegram, llm)
        await pipeline.start(*services)
        return pipeline

    yield make
    # All at once: the drill is over, so no service needs another to finish its stop.
    processes = [process for stack in stacks for process in stack.processes.values()]
    await asyncio.gather(*(asyncio.to_thread(process.stop) for process in processes))


WORKERS = ("rest_service", "assistant", "tg_bot")


@pytest.mark.timeout(110)
@pytest.mark.parametrize("victim", ["assistant", "tg_bot"])
async def test_sigkill_a_worker_under_a_steady_stream_loses_nothing_and_keeps_chats_in_order(
    make_pipeline: MakePipeline, victim: str
) -> None:
    """Every message answered, once, in order per chat. The one exception, for tg_bot: an
    answer Telegram accepted just before the kill, not yet recorded, is sent again."""
    pipeline = await make_pipeline(*WORKERS)
    pipeline.llm.default_delay = 0.3  # answers take up to 0.3 s: the kill lands mid-turn
    traffic = Traffic(pipeline.telegram, chats=20)
    stream = asyncio.create_task(traffic.stream(SENT, per_second=20))
    kill_at = random.randint(40, 160)  # answers so far: the kill lands anywhere in the stream
    await until(lambda: traffic.answers() >= kill_at, timeout=60, message=f"{kill_at} answers")
    await pipeline.kill(victim)
    killed_after = traffic.total
    # As many as are still to come, when fewer are (a slow run answers behind the stream).
    waiting = min(PILED_UP, SENT - killed_after)
    await until(
        lambda: _piled_up(pipeline, victim, waiting), timeout=30, message="messages piled up"
    )
    restarting = time.monotonic()
    await pipeline.restart(victim)
    await stream
    await traffic.wait_answered(timeout=60, quiet=pipeline.quiet)

    counts = traffic.counts()
    resent = traffic.resent_after_crash(restarting) if victim == "tg_bot" else 0
    report(
        counts,
        f"SIGKILL {victim}",
        killed_at_answer=kill_at,
        killed_after=killed_after,
        resent_in_flight=resent,
    )
    assert counts.sent == SENT
    assert (counts.lost, counts.out_of_order, counts.unexpected) == (0, 0, 0)
    assert counts.duplicated == resent, "only a send in flight at the kill may repeat"


#: Messages the steady stream sends; at most PILED_UP of them wait for a killed worker
#: before it is restarted.
SENT = 200
PILED_UP = 20


async def _piled_up(pipeline: Pipeline, victim: str, waiting: int) -> bool:
    """`waiting` messages wait for `victim`: Telegram holds them unconfirmed while tg_bot is
    down; the stream to the assistant holds them while the assistant is."""
    if victim == "tg_bot":
        return len(pipeline.telegram.updates) >= waiting
    return await pipeline.waiting(pipeline.names.to_secretary) >= waiting


@pytest.mark.timeout(110)
async def test_sigkill_cron_service_fires_each_reminder_due_meanwhile_once_after_restart(
    make_pipeline: MakePipeline, secrets: dict[str, str]
) -> None:
    pipeline = await make_pipeline(*WORKERS, "cron_service")
    traffic = Traffic(pipeline.telegram, chats=20)
    rest_url = pipeline.stack.url("rest_service")
    async with RestClient(rest_url, secrets["SERVICE_API_TOKEN"]) as rest:
        first_due = datetime.now(UTC) + timedelta(seconds=1.5)
        due = {f"r{k:02d}": first_due + k * timedelta(seconds=0.6) for k in range(20)}
        for k, (name, run_at) in enumerate(due.items()):
            await _reminder(rest, traffic.chat_ids[k], name, run_at)
    stream = asyncio.create_task(traffic.stream(160, per_second=20))
    fired_first = random.randint(1, 4)
    await until(lambda: _fired(traffic, due) >= fired_first, timeout=30, message="first fires")
    await pipeline.kill("cron_service")
    killed = datetime.now(UTC)
    async with RestClient(rest_url, secrets["SERVICE_API_TOKEN"]) as rest:

        async def due_while_down() -> bool:  # rest_service holds them due and not yet fired
            found = await rest.list_cron_jobs(status=CronJobStatus.active, due_before=_now())
            return len([j for j in found if j.name in due and due[j.name] > killed]) >= 3

        await until(due_while_down, timeout=30, message="reminders due while it is down")
        restarted = datetime.now(UTC)
        await pipeline.restart("cron_service")
        await until(lambda: _fired(traffic, due) == len(due), timeout=30, message="all fired")
        # A reminder made now fires after whatever cron_service still owed (a second fire
        # of one due before it, too); then nothing is left in flight.
        later = datetime.now(UTC) + timedelta(seconds=1)
        await _reminder(rest, traffic.chat_ids[0], "later", later)
    await until(lambda: _fires(traffic, "later"), timeout=30, message="a later reminder fired")
    await stream
    await traffic.wait_answered(timeout=60, quiet=pipeline.quiet)

    fires = {name: _fires(traffic, name) for name in due}
    meanwhile = [name for name, at in due.items() if killed < at < restarted]
    counts = traffic.counts()
    report(
        counts,
        "SIGKILL cron_service",
        reminders=len(due),
        due_before=sum(1 for at in due.values() if at <= killed),
        due_while_down=len(meanwhile),
        reminders_fired_once=sum(1 for f in fires.values() if len(f) == 1),
    )
    assert meanwhile, "the kill must span some due times"
    assert {name: len(f) for name, f in fires.items()} == {name: 1 for name in due}
    assert all(fires[name][0] >= restarted for name in meanwhile)
    assert (counts.lost, counts.duplicated, counts.out_of_order, counts.unexpected) == (0, 0, 0, 0)


async def _reminder(rest: RestClient, telegram_id: int, name: str, run_at: datetime) -> None:
    user, _made = await rest.get_or_create_user(telegram_id, first_name="Drill")
    await rest.create_cron_job(
        name=name, chat_id=telegram_id, user_id=user.id, text=f"reminder {name}", run_at=run_at
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _fired(traffic: Traffic, due: dict[str, datetime]) -> int:
    """How many of the reminders `due` Telegram has received."""
    return sum(1 for name in due if _fires(traffic, name))


def _fires(traffic: Traffic, name: str) -> list[datetime]:
    """When Telegram received the reminder (on time or "(late)")."""
    return [
        datetime.fromtimestamp(m.wall, UTC)
        for m in traffic.telegram.sent
        if m.text.startswith("⏰") and f"reminder {name}" in m.text
    ]


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """Requested before `make_pipeline`, so it outlives the services."""
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.timeout(110)
async def test_redis_restart_under_load_services_reconnect_by_themselves_and_lose_nothing(
    private_redis: PrivateRedis, make_pipeline: MakePipeline
) -> None:
    pipeline = await make_pipeline(*WORKERS, redis_url=private_redis.url)
    traffic = Traffic(pipeline.telegram, chats=20)
    # Messages keep coming while Redis is down; a slow run can answer so far behind the
    # sender that the first stream is all sent before the restart, so a tail of the traffic
    # is always sent after it, through the clients that had to reconnect.
    before = asyncio.create_task(traffic.stream(140, per_second=20))
    restart_at = random.randint(20, 60)  # answers so far
    await until(lambda: traffic.answers() >= restart_at, timeout=60, message="answers first")
    down_for = 4.0  # longer than the Redis client's own retries (about 3 s) absorb
    await asyncio.to_thread(private_redis.restart, down_for)
    restarted_after = traffic.total
    await before
    await traffic.stream(60, per_second=20)
    await traffic.wait_answered(timeout=60, quiet=pipeline.quiet)

    counts = traffic.counts()
    report(counts, f"Redis restart (down {down_for:g} s)", restarted_after=restarted_after)
    assert counts.sent == 200 and restarted_after <= 140
    assert (counts.lost, counts.duplicated, counts.out_of_order, counts.unexpected) == (0, 0, 0, 0)
    async with httpx.AsyncClient() as http:
        for name in WORKERS:
            health = (await http.get(f"{pipeline.stack.url(name)}/health")).json()
            assert pipeline.stack[name].running and health["status"] == "ok", health


@pytest.fixture
def private_postgres(llm: LlmStandIn, secrets: dict[str, str]) -> Iterator[PrivatePostgres]:
    """Migrated and seeded; requested before `make_pipeline`, so it outlives the services.
    Its folder is one the `pgserver` user can reach when tests run as root (tmp_path is not)."""
    folder = Path(tempfile.mkdtemp(prefix="drill-pg-"))
    folder.chmod(0o755)
    server = PrivatePostgres(folder / "pg")
    try:
        server.start()
        migrate(server.url)
        seed(_seed_env(server.url, llm, secrets))
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.timeout(110)
async def test_postgres_down_is_503_meanwhile_and_every_queued_message_answered_after(
    private_postgres: PrivatePostgres, make_pipeline: MakePipeline, secrets: dict[str, str]
) -> None:
    pipeline = await make_pipeline(*WORKERS, database_url=private_postgres.url)
    traffic = Traffic(pipeline.telegram, chats=20)
    traffic.greet_all()  # tg_bot knows every user before Postgres goes
    await traffic.wait_answered(timeout=30)
    stream = asyncio.create_task(traffic.stream(200, per_second=20))
    await until(lambda: traffic.answers() >= 20 + 20, timeout=30, message="answers first")
    await asyncio.to_thread(private_postgres.stop)
    down_at, down_after = time.monotonic(), traffic.total
    statuses = await _rest_statuses_while_down(pipeline, traffic, secrets)
    await asyncio.to_thread(private_postgres.start)
    up_after = traffic.total
    answered_while_down = _answered_between(traffic, down_at, time.monotonic())
    await stream
    await traffic.wait_answered(timeout=60, quiet=pipeline.quiet)

    counts = traffic.counts()
    report(
        counts,
        "Postgres down",
        sent_while_down=up_after - down_after,
        answered_while_down=answered_while_down,
        rest_503s=statuses.count(503),
    )
    assert statuses and set(statuses[2:]) == {503}, statuses
    assert '"rest_service_unavailable"' in pipeline.stack["assistant"].logs(), "no retry"
    assert (counts.lost, counts.duplicated, counts.out_of_order, counts.unexpected) == (0, 0, 0, 0)


#: While Postgres is down: messages sent, and rest_service's 503s in a row.
SENT_WHILE_DOWN, REFUSALS_WHILE_DOWN = 40, 5


async def _rest_statuses_while_down(
    pipeline: Pipeline, traffic: Traffic, secrets: dict[str, str]
) -> list[int]:
    """What rest_service answers, asked again and again, until the outage has shown: its
    503s, the assistant retrying (its log), SENT_WHILE_DOWN messages waiting meanwhile."""
    headers = {"Authorization": f"Bearer {secrets['SERVICE_API_TOKEN']}"}
    statuses: list[int] = []
    sent_before = traffic.total
    url = pipeline.stack.url("rest_service")
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=5) as client:

        async def shown() -> bool:
            statuses.append((await client.get("/api/users/", params={"limit": 1})).status_code)
            return (
                statuses[-REFUSALS_WHILE_DOWN:] == [503] * REFUSALS_WHILE_DOWN
                and traffic.total - sent_before >= SENT_WHILE_DOWN
                and '"rest_service_unavailable"' in pipeline.stack["assistant"].logs()
            )

        await until(shown, timeout=60, message="the outage shown", interval=0.25)
    return statuses


def _answered_between(traffic: Traffic, start: float, end: float) -> int:
    return sum(
        1 for m in traffic.telegram.sent if m.chat_id in traffic.texts and start <= m.at <= end
    )


@pytest.mark.timeout(110)
async def test_llm_500s_are_retried_then_the_fallback_answers_and_only_total_failure_apologises(
    make_pipeline: MakePipeline, llm: LlmStandIn
) -> None:
    # Each message's own retries and fallback, so the circuit breaker is off here: it would
    # skip the failing primary for every chat (assistant/tests/test_resilience.py tests it).
    pipeline = await make_pipeline(*WORKERS, env_overrides={"LLM_BREAKER_FAILURES": "0"})
    traffic = Traffic(pipeline.telegram, chats=20)
    retried = [f"c{i:02d} m001" for i in range(10)]  # the primary fails twice, then answers
    fell_back = [f"c{i:02d} m002" for i in range(10)]  # the primary keeps failing
    apologised = [f"c{i:02d} m003" for i in range(5)]  # both models keep failing
    for text in retried:
        llm.fail(500, model=PRIMARY, contains=text, times=2)
    for text in fell_back + apologised:
        llm.fail(500, model=PRIMARY, contains=text, times=None)
    for text in apologised:
        llm.fail(500, model=FALLBACK, contains=text, times=None)
    stormed = [f"c{i:02d} m{n:03d}" for n in (4, 5) for i in range(20)]

    def reply(text: str) -> str:
        return APOLOGY if text in apologised else echo(text)

    await traffic.stream(80, per_second=20)
    await traffic.wait_answered(timeout=60, reply=reply)
    storm = Step(error_status=500, model=PRIMARY, times=None)  # then the primary is down
    llm.script(storm)
    await traffic.stream(40, per_second=20)
    await traffic.wait_answered(timeout=60, reply=reply)
    storm.times = 0  # and recovers
    await traffic.stream(40, per_second=20)
    await traffic.wait_answered(timeout=60, reply=reply, quiet=pipeline.quiet)

    counts = traffic.counts(reply)
    report(
        counts,
        "LLM 500s",
        retried=len(retried),
        fell_back=len(fell_back) + len(stormed),
        apologies=len(apologised),
    )
    assert (counts.lost, counts.duplicated, counts.out_of_order, counts.unexpected) == (0, 0, 0, 0)
    for text in retried:
        assert _statuses(llm, text) == [(PRIMARY, 500), (PRIMARY, 500), (PRIMARY, 200)]
    for text in fell_back + stormed:
        assert _statuses(llm, text) == [(PRIMARY, 500)] * 3 + [(FALLBACK, 200)]
    for text in apologised:
        assert _statuses(llm, text) == [(PRIMARY, 500)] * 3 + [(FALLBACK, 500)] * 3
    last = traffic.texts[traffic.chat_ids[-1]][-1]
    assert _statuses(llm, last) == [(PRIMARY, 200)], "the primary answers again after the storm"


def _statuses(llm: LlmStandIn, text: str) -> list[tuple[str, int]]:
    return [
        (r.model, r.status)
        for r in llm.requests
        if (r.last("user") or {}).get("content") == text and r.last("tool") is None
    ]


@pytest.mark.timeout(110)
async def test_telegram_429_storms_are_waited_out_and_nothing_is_lost_or_doubled(
    make_pipeline: MakePipeline,
) -> None:
    pipeline = await make_pipeline(*WORKERS)
    telegram = pipeline.telegram
    traffic = Traffic(telegram, chats=20)
    telegram.fail("sendMessage", status=429, retry_after=1, times=15)  # every chat at first
    stream = asyncio.create_task(traffic.stream(200, per_second=20))

    def storm_over() -> bool:  # the first storm spent, and answers flowing again
        rejected = [r for r in telegram.rejected if r.status == 429]
        return len(rejected) >= 15 and traffic.answers() >= 40

    await until(storm_over, timeout=60, message="the first storm over")
    for chat in traffic.chat_ids[:5]:  # later, storms on a few chats
        telegram.fail("sendMessage", status=429, retry_after=2, times=3, chat_id=chat)
    await stream
    await traffic.wait_answered(timeout=60, quiet=pipeline.quiet)

    counts = traffic.counts()
    storms = [r for r in telegram.rejected if r.status == 429 and r.method == "sendMessage"]
    early = _calls_before_retry_after(telegram, storms)
    report(counts, "Telegram 429 storms", rejected_429=len(storms), retried_too_early=early)
    assert len(storms) == 15 + 5 * 3
    assert early == 0
    assert (counts.lost, counts.duplicated, counts.out_of_order, counts.unexpected) == (0, 0, 0, 0)


def _calls_before_retry_after(telegram: TelegramStandIn, storms: list) -> int:
    """sendMessage calls to a chat sooner after its 429 than the retry_after it was given."""
    early = 0
    for rejection in storms:
        retry_after = float(rejection.description.rsplit(" ", 1)[1])
        later = [m.at for m in telegram.sent if m.chat_id == rejection.chat_id]
        later += [r.at for r in storms if r.chat_id == rejection.chat_id]
        following = min((t for t in later if t > rejection.at), default=None)
        if following is not None and following - rejection.at < retry_after - 0.05:
            early += 1
    return early
