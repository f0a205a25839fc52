"""Redis HA: every Lua script and MULTI of the services runs on a real three-master
Redis Cluster as on a standalone Redis. Each test drives a component's own script path on both
(`topology`), with the same assertions: no CROSSSLOT or "non local key" error, the same results.
A static audit keeps future scripts honest: keys passed as `keys=[...]`, none built in Lua."""

from __future__ import annotations

import ast
import dataclasses
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.crc import key_slot

from assistant.src.clients.llm_breaker import Admission, CircuitBreaker
from assistant.src.event_alerts import Address, EventAlerts
from assistant.src.orchestrator import AnswerOutbox
from common.features.calendar_client import CalendarClient, Event
from common.features.llm_stats import LlmCounts, LlmStats
from common.infrastructure.channels import Channel, channel_chat_number
from common.infrastructure.http_client import client_session
from common.infrastructure.queue_messages import (
    ChatType,
    DraftMessage,
    IncomingMessage,
    OutgoingMessage,
)
from common.infrastructure.redis_connection import create_redis
from common.infrastructure.redis_keys import TO_CHANNELS, TO_SECRETARY, TO_TELEGRAM, Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import RunOutcome, User
from cron_service.app.fires import Composed, Fire, FireLedger
from rest_service.app.admin.login_limit import LoginLimiter, LoginPolicy, LoginThrottled
from rest_service.app.admin.sessions import AdminSessions
from rest_service.app.live_config_cache import CALL_TIMEOUT_S, ConfigCache
from tests.waiting import until
from tg_bot.src.clients.telegram import TelegramClient
from tg_bot.src.domain.albums import AlbumStore
from tg_bot.src.domain.live_answers import take_live_message
from tg_bot.src.domain.rate_limiter import Limit, SendLimiter, SendLimits
from tg_bot.src.handlers.base import Outcome
from tg_bot.src.settings import Settings as TgSettings
from tg_bot.src.workers.drafts import DraftsWorker
from tg_bot.src.workers.receiver import UpdateQueue
from tg_bot.src.workers.typing import TypingIndicator

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ["assistant/src", "rest_service/app", "cron_service/app", "tg_bot/src",
            "google_calendar_service/src", "common"]  # fmt: skip
#: Nothing listens here: clients a component needs but these tests never call.
NOWHERE = "http://127.0.0.1:9"


@dataclass(frozen=True)
class Topology:
    kind: str
    url: str

    @property
    def cluster(self) -> bool:
        return self.kind == "cluster"


@pytest.fixture(params=["standalone", pytest.param("cluster", marks=pytest.mark.e2e)])
def topology(request: pytest.FixtureRequest, redis_url: str) -> Topology:
    if request.param == "cluster":
        return Topology("cluster", request.getfixturevalue("redis_cluster_url"))
    return Topology("standalone", redis_url)


@pytest.fixture
async def client(topology: Topology) -> AsyncIterator[aioredis.Redis]:
    redis = create_redis(topology.url, cluster=topology.cluster)
    try:
        yield redis
    finally:
        await redis.aclose()


def incoming(
    chat_id: int = 42, reply_stream: str = TO_TELEGRAM, **fields: object
) -> IncomingMessage:
    data = {"message_id": uuid.uuid4(), "chat_id": chat_id, "user_id": uuid.uuid4(), "text": "hi"}
    return IncomingMessage.model_validate({**data, "reply_stream": reply_stream, **fields})


def outgoing(chat_id: int = 42, text: str = "hi") -> OutgoingMessage:
    return OutgoingMessage(message_id=uuid.uuid4(), chat_id=chat_id, text=text)


# -- the assistant ------------------------------------------------------------------------------


async def test_llm_breaker_opens_probes_and_closes(client: aioredis.Redis, names: Names) -> None:
    breaker = CircuitBreaker(client, names, failures=2, window_s=60, cooldown_s=0.2, probe_ttl_s=5)
    assert await breaker.admit("m") is Admission.CLEAN  # no failure counted yet
    assert await breaker.failed("m", Admission.CLEAN) is False
    assert await breaker.admit("m") is Admission.CLOSED  # one failure counted
    assert await breaker.failed("m", Admission.CLOSED) is True  # opened
    assert await breaker.admit("m") is Admission.OPEN

    async def probing() -> bool:  # the cool-down ran out: the next call probes
        return await breaker.admit("m") is Admission.PROBE

    await until(probing, message="a probe after the cool-down")
    assert await breaker.admit("m") is Admission.OPEN  # one probe at a time
    await breaker.succeeded("m", Admission.PROBE, failed_first=False)
    assert await breaker.admit("m") is Admission.CLEAN


async def test_llm_counts_add_up_and_read_back(client: aioredis.Redis, names: Names) -> None:
    stats = LlmStats(client, names)
    # today's: a day's counts expire three days after it, so a fixed date fails once that old
    midnight = datetime.combine(datetime.now(UTC).date(), time(), UTC)
    await stats.add(LlmCounts(requests=2, failed=1), midnight - timedelta(minutes=1))
    await stats.add(LlmCounts(requests=1, fallbacks=1), midnight)
    both_days = await stats.read(midnight - timedelta(hours=1), midnight + timedelta(hours=1))
    assert both_days == LlmCounts(requests=3, failed=1, fallbacks=1)


async def test_an_event_alert_is_sent_once(client: aioredis.Redis, names: Names) -> None:
    now = datetime.now(UTC)
    user = User.model_validate({"id": uuid.uuid4(), "telegram_id": 7, "username": None,
                                "first_name": "Ann", "language": "en", "timezone": "UTC",
                                "preferred_model": None, "blocked": False,
                                "event_alert_minutes": 10, "created_at": now,
                                "updated_at": now})  # fmt: skip
    start = now + timedelta(minutes=5)
    event = Event.model_validate({"id": "ev1", "summary": "Dentist", "start": start.isoformat(),
                                  "end": start.isoformat(), "last_day": start.date().isoformat(),
                                  "all_day": False, "multi_day": False, "kind": "timed",
                                  "event_type": "default", "status": "confirmed",
                                  "recurring": False})  # fmt: skip
    async with client_session() as http, RestClient(NOWHERE, "t") as rest:
        calendar = CalendarClient(http, NOWHERE, "t", 1.0)
        alerts = EventAlerts(rest, calendar, client, names, timedelta(minutes=1))
        telegram = Address(Channel.TELEGRAM, 7, None)
        assert [await alerts._send(user, telegram, event, start, now) for _ in range(2)] == [1, 0]
        assert await client.xlen(names.to_telegram) == 1
        # a person without Telegram: claimed in the slot of the channels' stream
        web = Address(Channel.WEB, channel_chat_number(Channel.WEB, "v1"), "v1")
        other = user.model_copy(update={"id": uuid.uuid4(), "telegram_id": None})
        assert [await alerts._send(other, web, event, start, now) for _ in range(2)] == [1, 0]
        assert await client.xlen(names.stream(TO_CHANNELS)) == 1


async def test_an_answer_is_queued_once_on_its_reply_stream(
    client: aioredis.Redis, names: Names
) -> None:
    outbox = AnswerOutbox(client, names)
    for stream in (TO_TELEGRAM, "queue:replies:cli"):
        message = incoming(reply_stream=stream)
        assert not await outbox.answered(message)
        assert [await outbox.put(message, outgoing()) for _ in range(2)] == [True, False]
        assert await outbox.answered(message)
        assert await client.xlen(names.stream(stream)) == 1
    answered_earlier = incoming()
    await outbox.put(answered_earlier, outgoing())
    # with the turn's other first read (the config version), keys in three slots
    await client.set(names.config_version, "7")
    assert await outbox.answered_and_get(answered_earlier, names.config_version) == (True, b"7")
    assert await outbox.answered_and_get(incoming(), names.config_version) == (False, b"7")


# -- rest_service -------------------------------------------------------------------------------


async def test_admin_logins_are_limited_and_sessions_revoked(
    client: aioredis.Redis, names: Names
) -> None:
    policy = LoginPolicy(free_per_account=2, free_per_address=10, base_delay_ms=60_000,
                         max_delay_ms=60_000, window_s=60)  # fmt: skip
    limiter = LoginLimiter(client, names, policy)
    await limiter.reserve("ann", "10.0.0.1")
    await limiter.succeeded("ann", "10.0.0.1")  # the account starts afresh
    await limiter.reserve("ann", "10.0.0.1")
    await limiter.reserve("ann", "10.0.0.1")  # the last free failure: locks the next one
    with pytest.raises(LoginThrottled):
        await limiter.reserve("ann", "10.0.0.2")
    sessions = AdminSessions(client, names, 60)
    tokens = [await sessions.open("ann") for _ in range(2)]
    assert [(await sessions.find(t)) is not None for t in tokens] == [True, True]
    assert await sessions.revoke_all("ann") == 2
    assert [await sessions.find(t) for t in tokens] == [None, None]


async def test_the_config_cache_keeps_the_newest_snapshot(topology: Topology, names: Names) -> None:
    # The cache's own client: fail fast (`create_cache_redis`).
    redis = create_redis(topology.url, cluster=topology.cluster, timeout_s=CALL_TIMEOUT_S)
    try:
        await ConfigCache(redis, names).put(3, b"three")
        await ConfigCache(redis, names).put(2, b"two")  # a slower writer's older snapshot
        fresh = ConfigCache(redis, names)
        assert fresh.redis_up and await fresh.get(3) == b"three"
        assert await fresh.get(2) is None
    finally:
        await redis.aclose()


# -- cron_service -------------------------------------------------------------------------------


def fire(job_type: str, outcome: RunOutcome) -> Fire:
    now = datetime.now(UTC).replace(microsecond=0)
    return Fire(job_id=uuid.uuid4().hex, job_type=job_type, scheduled_for=now,
                published_at=now, outcome=outcome, message_id=str(uuid.uuid4()), user_id=None,
                chat_id=42, one_off=True, sent_text=None)  # fmt: skip


async def test_fires_are_claimed_published_and_recorded_once(
    client: aioredis.Redis, names: Names
) -> None:
    ledger = FireLedger(client, names, timedelta(days=1))
    reminder = fire("reminder", RunOutcome.on_time)
    briefing = fire("assistant_prompt", RunOutcome.on_time)
    batch: list[Composed] = [
        (TO_TELEGRAM, outgoing(), reminder),
        (TO_SECRETARY, incoming(), briefing),
    ]
    assert await ledger.claim_and_publish_many(batch) == [True, True]
    assert await ledger.claim_and_publish_many(batch) == [False, False]
    # The briefing recomposed as missed after a crash: its notice goes nowhere.
    missed = dataclasses.replace(briefing, outcome=RunOutcome.missed)
    assert await ledger.claim_and_publish(TO_TELEGRAM, outgoing(), missed) is False
    assert (await client.xlen(names.to_telegram), await client.xlen(names.to_secretary)) == (1, 1)
    assert sorted(f.key for f in await ledger.unrecorded()) == sorted([reminder.key, briefing.key])
    for each in (reminder, briefing):
        assert await ledger.take_recording(each, timedelta(seconds=30))
        assert not await ledger.take_recording(each, timedelta(seconds=30))
        await ledger.mark_recorded(each)
    assert await ledger.count_unrecorded() == 0


# -- tg_bot -------------------------------------------------------------------------------------


@pytest.fixture
async def telegram_nowhere() -> AsyncIterator[TelegramClient]:
    async with TelegramClient(NOWHERE, "1:x", retries=0) as telegram:
        yield telegram


def tg_settings() -> TgSettings:
    return TgSettings(environment="test", telegram_token="1:x")


async def test_updates_are_committed_once_with_their_replies(
    client: aioredis.Redis, names: Names, telegram_nowhere: TelegramClient
) -> None:
    typing = TypingIndicator(telegram_nowhere, client, names)
    queue = UpdateQueue(client, names, typing, tg_settings())
    asked = incoming(chat_id=5)
    outcomes = [Outcome(10, "queued", incoming=asked),
                Outcome(11, "command", replies=[outgoing(chat_id=6)])]  # fmt: skip
    polled = queue.by_offset(1, 12, 10)
    assert [await queue._queue(outcomes, polled, []) for _ in range(2)] == [1, 0]
    assert await client.get(names.telegram_bot_offset(1)) == b"12"
    assert await client.zscore(names.telegram_typing(5), str(asked.message_id)) is not None
    hooked = [Outcome(20, "queued", incoming=incoming(chat_id=5), replies=[outgoing(chat_id=5)])]
    webhook = queue.by_update_id(1, 20)
    assert [await queue._queue(hooked, webhook, []) for _ in range(2)] == [1, 0]
    assert await queue.seen(1, 20)
    assert (await client.xlen(names.to_secretary), await client.xlen(names.to_telegram)) == (2, 2)


async def test_albums_gather_and_flush_once(client: aioredis.Redis, names: Names) -> None:
    store = AlbumStore(client, names, wait_seconds=0.05, typing_ttl_seconds=30)
    parts = [incoming(chat_id=5, telegram_message_id=n, text=f"p{n}") for n in (1, 2)]
    assert [await store.add(part, "g1") for part in parts] == [True, True]
    assert await store.gathering(5, "g1")
    [flushed] = await until(store.flush_due, message="the album's wait over")
    assert flushed.parts == 2 and await store.flush_due() == []
    assert await client.xlen(names.to_secretary) == 1
    assert await client.zscore(names.telegram_typing(5), str(flushed.message.message_id))
    assert not await store.add(parts[0], "g1")  # a redelivered part of a flushed album


async def test_sends_are_limited_per_chat_and_overall(client: aioredis.Redis, names: Names) -> None:
    limits = SendLimits(Limit.per_minute(3), Limit.per_minute(1), Limit.per_minute(10))
    limiter = SendLimiter(client, names, limits)
    assert await limiter.try_acquire(-100) == 0
    assert await limiter.try_acquire(-100) > 0  # the chat's one a minute
    assert await limiter.try_acquire(7) == 0
    assert await limiter.try_acquire(8) == 0
    assert await limiter.try_acquire(9) > 0  # three a minute overall


async def test_drafts_stop_at_the_final(
    client: aioredis.Redis, names: Names, telegram_nowhere: TelegramClient
) -> None:
    limits = SendLimits(Limit.per_second(30), Limit.per_second(30), Limit.per_minute(20))
    settings = tg_settings().model_copy(update={"stream_draft_interval_seconds": 0})
    limiter = SendLimiter(client, names, limits)
    worker = DraftsWorker(telegram_nowhere, limiter, client, names, settings)
    answer = uuid.uuid4()

    def draft(seq: int) -> DraftMessage:
        return DraftMessage(message_id=answer, chat_id=5, chat_type=ChatType.PRIVATE, seq=seq)

    assert [await worker._admit(draft(n)) for n in (1, 1, 2)] == [0, -1, 0]
    assert await take_live_message(client, names, str(answer)) is None  # no group message
    assert await worker._admit(draft(3)) == -1  # the final is on its way


async def test_typing_marks_expire(
    client: aioredis.Redis, names: Names, telegram_nowhere: TelegramClient
) -> None:
    typing = TypingIndicator(telegram_nowhere, client, names, max_s=30)
    assert not await typing._pending(5)
    await client.zadd(names.telegram_typing(5), {"q": datetime.now(UTC).timestamp()})
    assert await typing._pending(5)


# -- the rule, statically -----------------------------------------------------------------------


def _sources() -> list[Path]:
    return [path for folder in SERVICES for path in sorted((ROOT / folder).rglob("*.py"))]


def _script_names(tree: ast.AST) -> set[str]:
    """Names (`x`, `self._x`) bound to `register_script(...)` in a module."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            if isinstance(func, ast.Attribute) and func.attr == "register_script":
                found |= {ast.unparse(target) for target in node.targets}
    return found


@pytest.mark.policy  # reads every source file: a rule of the code, not a behaviour
def test_every_script_call_passes_its_keys_as_keys() -> None:
    """A script's keys go in KEYS (`keys=[...]`), never in ARGV or positionally: Cluster
    routes a call by its declared keys, and refuses keys of another slot."""
    wrong = []
    for path in _sources():
        tree = ast.parse(path.read_text(), str(path))
        scripts = _script_names(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if isinstance(node.func, ast.Attribute) and node.func.attr in ("eval", "evalsha"):
                wrong.append(f"{where}: {name}(...): use register_script and keys=[...]")
            elif name in scripts and not any(k.arg == "keys" for k in node.keywords):
                wrong.append(f"{where}: {name}(...) without keys=")
    assert wrong == []


_CALL = re.compile(r"redis\.call\(\s*'(\w+)'\s*(?:,\s*([^,)]+))?")
#: A key argument is KEYS[...] or a Lua local bound to one (ipairs(KEYS), a function's param).
_KEY_ARGUMENT = re.compile(r"^(KEYS\[[^\]]+\]|[a-z_]+)$")
_KEYLESS = {"TIME"}
#: Their first argument is a subcommand, not a key (Cluster refuses their undeclared keys at
#: run time, which the queue's cluster tests exercise).
_SUBCOMMAND_FIRST = {"XINFO", "XREADGROUP", "XGROUP", "OBJECT"}


@pytest.mark.policy  # reads every source file: a rule of the code, not a behaviour
def test_no_script_builds_a_key_in_lua() -> None:
    """A key made inside Lua (`'prefix' .. ARGV[1]`) is undeclared: Cluster cannot route it."""
    wrong, seen = [], 0
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for command, argument in _CALL.findall(node.value):
                    seen += 1
                    if command.upper() in _KEYLESS | _SUBCOMMAND_FIRST:
                        continue
                    if not _KEY_ARGUMENT.match(argument.strip()):
                        wrong.append(f"{path.relative_to(ROOT)}: {command} {argument.strip()}")
    assert seen > 50 and wrong == []


def test_each_scripts_keys_share_a_slot() -> None:
    """The names themselves, without a server: one slot per script's key set."""
    names = Names("run:")
    groups = [
        [names.llm_breaker("gpt", part) for part in ("failures", "open", "tripped", "probe")],
        [names.event_alert("u:e"), names.to_telegram],
        [names.assistant_answered("m", "queue:replies:x"), names.stream("queue:replies:x")],
        [names.admin_login_failures("account:a"), names.admin_login_lock("address:b")],
        [names.config_snapshot, names.config_version],
        [
            names.fire_claim(TO_SECRETARY, "j", "t"),
            names.cron_unrecorded_of(TO_SECRETARY),
            names.cron_recording(TO_SECRETARY, "j:t"),
            names.to_secretary,
        ],
        [
            names.telegram_bot_offset(1),
            names.telegram_bot_offset_floor(1),
            names.to_secretary,
            names.telegram_webhook_seen(1, 2),
            names.telegram_typing(5),
            names.album(5, "g"),
            names.albums_due,
        ],
        [names.telegram_replied(1, 2), names.to_telegram],
        [names.telegram_send_limit("all"), names.telegram_send_limit("chat:5")],
        [names.live_answer("p"), names.telegram_sent_part("p")],
    ]
    assert [len({key_slot(key.encode()) for key in group}) for group in groups] == [1] * len(groups)
    # Contract names keep their names.
    assert (names.to_secretary, names.to_telegram) == (
        "run:queue:to_secretary",
        "run:queue:to_telegram",
    )
