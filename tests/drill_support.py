"""What the fault drills share: the whole pipeline (Telegram stand-in → tg_bot → assistant →
LLM stand-in → tg_bot → Telegram stand-in, every service a real process), a steady stream of
messages from many chats, and the exact count of what came back.

The LLM stand-in's default rule echoes the user ("You said: c07 m012"), so every answer names
the message it answers: an answer missing is a lost message, one seen twice a duplicate, and
each chat's answers must arrive in the order its messages were sent.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from assistant.src.assistants import phrases
from common.infrastructure.redis_keys import Names
from ops.processes import ServiceProcess, Stack
from ops.services import ROOT
from sandbox import telegram_updates as build
from sandbox.llm_server import LlmStandIn
from sandbox.telegram_api import TelegramStandIn
from tests.waiting import NotInTime, until

PRIMARY = "drill-primary"
FALLBACK = "drill-fallback"
#: What the assistant says when no model answers.
APOLOGY = phrases.CATALOGUE.text("en", "apology")

#: Timeouts shortened so a drill recovers in seconds: claims after 2 s idle, chat locks of a
#: dead process gone after 5 s, quick LLM and rest_service retries, a 2 s poller lease.
FAST = {
    "LOG_LEVEL": "INFO",
    "LOG_FORMAT": "json",
    "SHUTDOWN_GRACE_SECONDS": "2",
    "QUEUE_CLAIM_IDLE_MS": "2000",
    "QUEUE_CLAIM_INTERVAL_SECONDS": "0.5",
    "QUEUE_LOCK_TTL_MS": "5000",
    # assistant
    "DEFAULT_MODEL": PRIMARY,
    "FALLBACK_MODEL": FALLBACK,
    "OPENAI_API_KEY": "sk-drill",
    "LLM_RETRY_BASE_SECONDS": "0.01",
    "LLM_RETRY_MAX_SECONDS": "0.2",
    "LLM_TIMEOUT_SECONDS": "10",
    "REST_RETRY_SECONDS": "0.5",
    "CONFIG_POLL_SECONDS": "1",
    "LONG_TERM_MEMORY_ENABLED": "false",
    # tg_bot
    "POLL_TIMEOUT_SECONDS": "1",
    "POLL_BACKOFF_INITIAL_SECONDS": "0.05",
    "POLL_BACKOFF_MAX_SECONDS": "0.5",
    "POLLER_LEASE_SECONDS": "2",
    "SEND_LIMIT_OVERALL_PER_SECOND": "10000",
    "SEND_LIMIT_CHAT_PER_SECOND": "10000",
    "SEND_LIMIT_GROUP_PER_MINUTE": "100000",
    "SEND_RETRY_BACKOFF_SECONDS": "0.05",
    "SEND_OUTAGE_RETRY_SECONDS": "0.3",
    "TELEGRAM_REQUEST_TIMEOUT_SECONDS": "3",
    "TYPING_INTERVAL_SECONDS": "1",
    "USER_CACHE_SECONDS": "120",
    # cron_service
    "CRON_RESYNC_INTERVAL": "60",
    "REMINDER_LATE_AFTER": "2",
    "CRON_RECOVERY_INTERVAL": "1",
    "CRON_RECOVERY_MIN_AGE": "2",
    "CRON_UPDATE_DEBOUNCE": "0.05",
}


def seed(env: dict[str, str]) -> None:
    """The default configuration (a secretary, the primary and fallback models on the LLM
    stand-in) imported into `ASYNC_DATABASE_URL`."""
    subprocess.run(
        [sys.executable, "-m", "rest_service.seed"],
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        cwd=ROOT,
        check=True,
        capture_output=True,
    )


@dataclass
class Pipeline:
    """The stand-ins and the services of one drill. The Telegram stand-in serves from the
    test's event loop, so every blocking step (start, kill, restart) runs in a thread."""

    stack: Stack
    telegram: TelegramStandIn
    llm: LlmStandIn

    async def start(self, *services: str) -> None:
        for service in services:
            await asyncio.to_thread(self.stack.start, service)

    async def kill(self, name: str) -> None:
        await asyncio.to_thread(self.stack[name].kill)

    async def restart(self, name: str) -> ServiceProcess:
        return await asyncio.to_thread(self.stack.restart, name)

    @property
    def names(self) -> Names:
        return Names(self.stack.env["REDIS_KEY_PREFIX"])

    async def waiting(self, stream: str) -> int:
        """Entries in the (prefixed) queue `stream` not yet handled: a handled entry is acked
        and deleted, one in flight or left pending by a dead consumer is still there."""
        redis = aioredis.Redis.from_url(self.stack.env["REDIS_URL"])
        try:
            return int(await redis.xlen(stream))
        finally:
            await redis.aclose()

    async def quiet(self) -> bool:
        """Nothing left in flight that could still reach a chat: Telegram holds no update
        unconfirmed (tg_bot confirms a batch only once it queued it, its replies included),
        and both queues are empty (an entry a crash left pending is still there until it has
        been claimed and handled again), so no answer, nor a duplicate of one, is on its way."""
        if self.telegram.updates:
            return False
        try:
            for stream in (self.names.to_secretary, self.names.to_telegram):
                if await self.waiting(stream):
                    return False
        except (RedisError, OSError):
            return False
        return True


def pipeline_env(
    *,
    database_url: str,
    redis_url: str,
    key_prefix: str,
    secrets: dict[str, str],
    telegram: TelegramStandIn,
    llm: LlmStandIn,
) -> dict[str, str]:
    return {
        **FAST,
        "ENVIRONMENT": "test",
        "ASYNC_DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": key_prefix,
        **secrets,
        "TELEGRAM_TOKEN": telegram.token,
        "TELEGRAM_API_BASE": telegram.url,
        "OPENAI_BASE_URL": llm.base_url,
    }


def echo(text: str) -> str:
    return f"You said: {text}"


@dataclass
class Counts:
    """What a drill measured: messages sent, answered (at least once), answered more than
    once, never answered, chats whose answers came out of order, answers nobody expected."""

    sent: int
    answered: int
    duplicated: int
    lost: int
    out_of_order: int
    unexpected: int

    def line(self, drill: str, **extra: object) -> str:
        more = "".join(f" {k}={v}" for k, v in extra.items())
        return (
            f"[drill] {drill}: sent={self.sent} answered={self.answered} "
            f"duplicated={self.duplicated} lost={self.lost} out_of_order={self.out_of_order} "
            f"unexpected={self.unexpected}{more}"
        )


@dataclass
class Traffic:
    """Messages from `chats` private chats, round robin, each text unique ("c07 m012")."""

    telegram: TelegramStandIn
    chats: int = 20
    users: list[dict] = field(default_factory=list)
    texts: dict[int, list[str]] = field(default_factory=dict)
    total: int = 0

    def __post_init__(self) -> None:
        base = random.randint(10**9, 2 * 10**9)
        self.users = [build.user(base + i, f"Drill{i}") for i in range(self.chats)]
        self.texts = {u["id"]: [] for u in self.users}

    @property
    def chat_ids(self) -> list[int]:
        return [u["id"] for u in self.users]

    def send_one(self) -> str:
        index = self.total % self.chats
        user = self.users[index]
        text = f"c{index:02d} m{len(self.texts[user['id']]):03d}"
        self.telegram.inject(build.private_text(user, text))
        self.texts[user["id"]].append(text)
        self.total += 1
        return text

    async def stream(self, count: int, per_second: float) -> None:
        """`count` messages at a steady rate."""
        started = time.monotonic()
        for i in range(count):
            await asyncio.sleep(max(0.0, started + i / per_second - time.monotonic()))
            self.send_one()

    def answers(self) -> int:
        """Messages Telegram has received in the drill's chats so far."""
        return sum(1 for m in self.telegram.sent if m.chat_id in self.texts)

    def greet_all(self) -> None:
        """One message per chat, so tg_bot and rest_service know every user."""
        for _ in range(self.chats):
            self.send_one()

    def expected(self, chat_id: int, reply: Callable[[str], str] = echo) -> list[str]:
        return [reply(text) for text in self.texts[chat_id]]

    def all_answered(self, reply: Callable[[str], str] = echo) -> bool:
        return all(
            set(self.expected(chat, reply)) <= set(m.text for m in self.telegram.sent_to(chat))
            for chat in self.chat_ids
        )

    async def wait_answered(
        self,
        timeout: float,
        reply: Callable[[str], str] = echo,
        quiet: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        """Until every message has its answer (or `timeout`: the counts tell what is missing);
        given `quiet` (`Pipeline.quiet`), then until nothing is left in flight, so any
        duplicate has shown up by then."""
        try:
            await until(lambda: self.all_answered(reply), timeout)
        except NotInTime:
            return
        if quiet is not None:
            await until(quiet, timeout, "nothing left in flight that could still be sent")

    def counts(self, reply: Callable[[str], str] = echo, ignore: str = "⏰") -> Counts:
        """Exact counts against the Telegram stand-in; messages starting with `ignore`
        (reminders) are counted elsewhere."""
        answered = duplicated = lost = out_of_order = unexpected = 0
        for chat in self.chat_ids:
            expected = self.expected(chat, reply)
            got = [m.text for m in self.telegram.sent_to(chat) if not m.text.startswith(ignore)]
            seen = Counter(got)
            answered += sum(1 for text in set(expected) if seen[text])
            lost += sum(1 for text in expected if not seen[text])
            duplicated += sum(seen[text] - 1 for text in set(expected) if seen[text] > 1)
            unexpected += sum(n for text, n in seen.items() if text not in set(expected))
            firsts = list(dict.fromkeys(t for t in got if t in set(expected)))
            if firsts != [t for t in expected if seen[t]]:
                out_of_order += 1
        return Counts(self.total, answered, duplicated, lost, out_of_order, unexpected)

    def resent_after_crash(self, restarted: float) -> int:
        """Answers Telegram got twice because tg_bot died between Telegram accepting them
        and recording that it had: the first copy is the chat's last answer before the
        restart, the second came from the restarted process. Telegram has no idempotency
        key, so this one send per chat is the price of losing nothing. The first copy may
        be stamped after the kill: a request already on its way is still read and accepted
        (a loaded machine holds it back), and nothing else sends while tg_bot is down."""
        resent = 0
        for chat in self.chat_ids:
            sent = self.telegram.sent_to(chat)
            before = [m for m in sent if m.at < restarted]
            for text, n in Counter(m.text for m in sent).items():
                copies = [m.at for m in sent if m.text == text]
                if n == 2 and before and before[-1].text == text and copies[1] >= restarted:
                    resent += 1
        return resent


def report(counts: Counts, drill: str, **extra: object) -> None:
    """The drill's one-line summary (visible with `pytest -s`)."""
    print(counts.line(drill, **extra), flush=True)
