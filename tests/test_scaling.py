"""Scaling out: more assistant processes in the same consumer group answer a batch of chats
faster, each message once and each chat in order.

The model answers after 100 ms and each process handles one chat at a time
(`ASSISTANT_CONCURRENCY=1`), so the work is mostly waiting, not CPU: three processes should
finish a batch close to three times faster than one. Durations are taken from Redis' own stream
entry ids, from the first message published to the last answer queued.

Three processes start (healthy, config loaded) before any clock runs; "one process" is the
same deployment with two of them paused (SIGSTOP). Rounds of one and of three alternate
(ROUNDS of each), so a machine that other work slows down mid-test slows both sides alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest
import redis.asyncio as aioredis

from assistant.tests.support import Platform
from common.infrastructure.queue_messages import IncomingMessage, OutgoingKind, OutgoingMessage
from common.infrastructure.redis_keys import ASSISTANT_GROUP, TO_TELEGRAM, Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import TelegramUser
from ops.processes import ServiceProcess, Stack
from sandbox.llm_server import LlmStandIn, Step
from sandbox.open_meteo import OpenMeteoStandIn
from tests.streams import Entry, stream_entries, xrange_entries
from tests.waiting import NotInTime, until

MODEL_DELAY_S = 0.1
ROUNDS = 1
CHATS_PER_ROUND = 15  # a multiple of 3: each of three processes gets the same share
MESSAGES_PER_CHAT = 2
ANSWER = "Noted."

#: One chat at a time per process; queue settings as in production, logs at INFO.
ASSISTANT_ENV = {
    "ASSISTANT_CONCURRENCY": "1",
    "LOG_LEVEL": "INFO",
    "QUEUE_CLAIM_IDLE_MS": "30000",
    "QUEUE_CLAIM_INTERVAL_SECONDS": "5",
}


@dataclass
class Batch:
    """What one run published and what came back, in `queue:to_telegram` order."""

    sent: list[IncomingMessage]
    answers: list[OutgoingMessage]
    seconds: float
    #: CPU seconds rest_service and the assistants used for the batch, per message
    cpu_ms_per_message: float = 0.0


@pytest.fixture
def llm() -> Iterator[LlmStandIn]:
    server = LlmStandIn(record=False).start_in_thread()
    server.script(Step(text=ANSWER, delay=MODEL_DELAY_S, times=None))
    try:
        yield server
    finally:
        server.stop_thread()


@pytest.fixture
def platform(
    stack: Stack, llm: LlmStandIn, key_prefix: str, secrets: dict[str, str]
) -> Iterator[Platform]:
    """rest_service with a secretary on the slow stand-in model; no assistant yet."""
    open_meteo = OpenMeteoStandIn().start_in_thread()
    try:
        stack.start("rest_service", env={"LOG_LEVEL": "INFO"})
        platform = Platform(stack, llm, open_meteo, Names(key_prefix), secrets)
        platform.import_config()
        yield platform
    finally:
        stack.stop_all(together=True)  # the batches are over
        open_meteo.stop_thread()


@pytest.fixture
async def rest(platform: Platform) -> AsyncIterator[RestClient]:
    async with RestClient(platform.rest_url, platform.secrets["SERVICE_API_TOKEN"]) as client:
        yield client


def incoming(user: TelegramUser, text: str) -> IncomingMessage:
    return IncomingMessage(
        message_id=uuid.uuid4(),
        chat_id=int(user.telegram_id),
        user_id=user.id,
        telegram_user_id=user.telegram_id,
        first_name=user.first_name,
        language_code="en",
        text=text,
        reply_stream=TO_TELEGRAM,
    )


async def new_users(rest: RestClient, count: int) -> list[TelegramUser]:
    async def one(i: int) -> TelegramUser:
        telegram_id = uuid.uuid4().int % 10**12
        user, _made = await rest.get_or_create_user(telegram_id, first_name=f"TelegramUser{i}")
        return user

    return list(await asyncio.gather(*(one(i) for i in range(count))))


def entry_ms(entry_id: bytes | str) -> int:
    """The Redis server time (ms) at which a stream entry was added."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(text.split("-")[0])


async def publish(redis: aioredis.Redis, names: Names, messages: list[IncomingMessage]) -> int:
    """All messages in one round trip; returns the first entry's time."""
    async with redis.pipeline(transaction=False) as pipe:
        for message in messages:
            pipe.xadd(names.to_secretary, {"data": message.to_json()})
        ids = await pipe.execute()
    return entry_ms(ids[0])


async def collect_answers(
    redis: aioredis.Redis, names: Names, after: str | bytes, count: int, timeout: float
) -> list[tuple[bytes, OutgoingMessage]]:
    """The next `count` entries of `queue:to_telegram` after entry `after`, waiting for them
    with blocking reads."""
    found: list[tuple[bytes, OutgoingMessage]] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while len(found) < count:
        left_ms = int((deadline - asyncio.get_running_loop().time()) * 1000)
        if left_ms <= 0:
            raise NotInTime(f"only {len(found)} of {count} answers in {timeout}s")
        answer = await redis.xread({names.to_telegram: after}, block=min(left_ms, 1000))
        read = cast(list[tuple[bytes, list[Entry]]], answer)  # a plain client answers bytes
        for _stream, entries in read:
            for entry_id, fields in entries:
                found.append((entry_id, OutgoingMessage.model_validate_json(fields[b"data"])))
                after = entry_id
    return found


async def queue_drained(redis: aioredis.Redis, names: Names, timeout: float = 10.0) -> None:
    """Every entry of `queue:to_secretary` acked (and so deleted): no answer can follow."""

    async def drained() -> bool:
        pending = await redis.xpending(names.to_secretary, ASSISTANT_GROUP)
        return pending["pending"] == 0 and await redis.xlen(names.to_secretary) == 0

    await until(drained, timeout, "to_secretary drained")


async def last_answer_id(redis: aioredis.Redis, names: Names) -> str:
    last = xrange_entries(await redis.xrevrange(names.to_telegram, count=1))
    return last[0][0].decode() if last else "0-0"


async def run_batch(
    platform: Platform, rest: RestClient, redis: aioredis.Redis, chats: int
) -> Batch:
    """`chats` new users, each sending MESSAGES_PER_CHAT messages; the second message of a
    chat follows its first at once, so processes race for the same chat."""
    names = platform.names
    users = await new_users(rest, chats)
    sent = [incoming(u, f"{u.first_name} #{n}") for u in users for n in range(MESSAGES_PER_CHAT)]
    after = await last_answer_id(redis, names)
    cpu_before = cpu_seconds(platform)
    started_ms = await publish(redis, names, sent)
    received = await collect_answers(redis, names, after, len(sent), timeout=60)
    await queue_drained(redis, names)
    late = await stream_entries(redis, names.to_telegram, f"({received[-1][0].decode()}")
    answers = [answer for _id, answer in received]
    answers += [OutgoingMessage.model_validate_json(f[b"data"]) for _id, f in late]
    seconds = (entry_ms(received[-1][0]) - started_ms) / 1000
    cpu_ms = (cpu_seconds(platform) - cpu_before) * 1000 / len(sent)
    return Batch(sent, answers, seconds, cpu_ms)


def cpu_seconds(platform: Platform) -> float:
    """CPU time rest_service and the assistant processes have used so far (Linux /proc;
    0 elsewhere)."""
    total = 0.0
    for process in [platform.stack["rest_service"], *platform.assistants()]:
        stat = Path(f"/proc/{process.proc.pid if process.proc else 0}/stat")
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def warm_up(platform: Platform, rest: RestClient, redis: aioredis.Redis) -> None:
    """A first message per process before the clock starts (connections, caches)."""
    await run_batch(platform, rest, redis, chats=len(platform.assistants()))


def assert_each_answered_once_in_order(batch: Batch) -> None:
    wanted = [str(m.message_id) for m in batch.sent]
    got = [str(a.correlation_id) for a in batch.answers]
    assert sorted(got) == sorted(wanted), "a message unanswered or answered twice"
    assert {a.kind for a in batch.answers} == {OutgoingKind.REPLY}
    assert {a.text for a in batch.answers} == {ANSWER}
    per_chat: dict[int, list[str]] = defaultdict(list)
    for answer in batch.answers:
        per_chat[answer.chat_id].append(answer.correlation_id or "")
    for chat, got_ids in per_chat.items():
        sent_ids = [str(m.message_id) for m in batch.sent if m.chat_id == chat]
        assert got_ids == sent_ids, f"chat {chat} answered out of order"


def turns(process: ServiceProcess) -> list[float]:
    """turn_ms of every message the process handled."""
    out = []
    for line in process.logs().splitlines():
        if '"message_handled"' in line:
            out.append(float(json.loads(line)["turn_ms"]))
    return out


def handled(platform: Platform) -> dict[str, int]:
    return {p.name: len(turns(p)) for p in platform.assistants()}


async def start_assistants(platform: Platform, *names: str) -> list[ServiceProcess]:
    return [
        await asyncio.to_thread(platform.start_assistant, name, **ASSISTANT_ENV) for name in names
    ]


@contextlib.contextmanager
def paused(processes: list[ServiceProcess]) -> Iterator[None]:
    """SIGSTOP while the queue is empty: a stopped process reads nothing, so the others get
    the whole batch; SIGCONT on the way out."""
    signal_all(processes, signal.SIGSTOP)
    try:
        yield
    finally:
        signal_all(processes, signal.SIGCONT)


def signal_all(processes: list[ServiceProcess], sig: signal.Signals) -> None:
    for process in processes:
        assert process.proc is not None
        os.kill(process.proc.pid, sig)


def combined(batches: list[Batch]) -> Batch:
    cpu = sum(b.cpu_ms_per_message * len(b.sent) for b in batches)
    sent = [m for b in batches for m in b.sent]
    answers = [a for b in batches for a in b.answers]
    return Batch(sent, answers, sum(b.seconds for b in batches), cpu / len(sent))


async def test_three_assistants_share_a_batch_and_answer_it_once_in_order(
    platform: Platform, rest: RestClient, redis: aioredis.Redis
) -> None:
    first, *others = await start_assistants(platform, "assistant-1", "assistant-2", "assistant-3")
    await warm_up(platform, rest, redis)
    alone_rounds, together_rounds = [], []
    shares: dict[str, int] = defaultdict(int)  # messages each process handled in threes
    for _ in range(ROUNDS):
        with paused(others):
            alone_rounds.append(await run_batch(platform, rest, redis, CHATS_PER_ROUND))
        before = handled(platform)
        together_rounds.append(await run_batch(platform, rest, redis, CHATS_PER_ROUND))
        for name, count in handled(platform).items():
            shares[name] += count - before[name]
    alone, together = combined(alone_rounds), combined(together_rounds)

    assert_each_answered_once_in_order(alone)
    assert_each_answered_once_in_order(together)
    every_turn = [ms for p in platform.assistants() for ms in turns(p)]
    ratio = alone.seconds / together.seconds
    print(
        f"\n{len(alone.sent)} messages in {ROUNDS} rounds, model {MODEL_DELAY_S * 1000:.0f} ms: "
        f"1 process {alone.seconds:.2f} s, 3 processes {together.seconds:.2f} s, "
        f"{ratio:.2f}x; mean turn {sum(every_turn) / len(every_turn):.0f} ms; CPU a message "
        f"{alone.cpu_ms_per_message:.0f} / {together.cpu_ms_per_message:.0f} ms; "
        f"shares of the three {dict(shares)}"
    )
    # The speed-up is printed above, not asserted: a figure of this busy machine's moment.
    assert all(shares[p.name] >= len(together.sent) // 6 for p in [first, *others]), shares
