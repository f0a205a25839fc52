"""tg_bot started while its Redis does not answer: it neither polls (the poller lease lives
in Redis, two pollers would take each other's updates) nor sets a webhook (the secret every
replica shares lives there); it says why in its log, keeps asking, and still stops cleanly.
Once Redis answers, it receives and answers as usual."""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ops.infra import free_port, port_answers
from sandbox import telegram_updates as build
from tests.redis_topologies import redis_binaries
from tests.waiting import until, until_sync
from tg_bot.tests.conftest import RunBot

pytestmark = pytest.mark.e2e  # starts a Redis server in a test's body

#: Nothing listens there (the discard port).
NO_REDIS = "redis://127.0.0.1:9/0"
#: Each task of a stopping bot waits this long for a Redis that never answers, then ends.
GRACE = "0.2"


def logged(capsys: pytest.CaptureFixture[str], seen: list[dict[str, Any]]) -> list[str]:
    """The events the bot has logged so far (JSON lines on stderr), gathered into `seen`."""
    err = capsys.readouterr().err
    seen.extend(json.loads(line) for line in err.splitlines() if line[:1] == "{")
    return [line["event"] for line in seen]


async def test_with_redis_down_the_bot_does_not_poll_and_says_why(
    run_bot: RunBot, telegram, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[dict[str, Any]] = []
    async with run_bot(REDIS_URL=NO_REDIS, LOG_FORMAT="json", SHUTDOWN_GRACE_SECONDS=GRACE):

        async def tried_twice() -> bool:
            return logged(capsys, seen).count("poller_lease_unavailable") >= 2

        await until(tried_twice, 20, "the poller lease asked for twice")
    logged(capsys, seen)
    assert telegram.polls == [] and "getUpdates" not in telegram.calls
    assert "service_stopped" in [line["event"] for line in seen]


async def test_with_redis_down_no_webhook_is_set_without_the_shared_secret(
    run_bot: RunBot, telegram, webhook_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[dict[str, Any]] = []
    async with run_bot(
        REDIS_URL=NO_REDIS,
        LOG_FORMAT="json",
        TELEGRAM_WEBHOOK_URL=webhook_url,
        SHUTDOWN_GRACE_SECONDS=GRACE,
    ):

        async def tried() -> bool:
            return "webhook_secret_unavailable" in logged(capsys, seen)

        await until(tried, 20, "the webhook secret asked for")
    logged(capsys, seen)
    assert telegram.calls.get("setWebhook") is None and not telegram.webhook.active
    assert "service_stopped" in [line["event"] for line in seen]


class LateRedis:
    """A Redis server on a port chosen now, started later (`start`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root)]
        args += ["--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(
            [redis_binaries()[0], *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        until_sync(lambda: port_answers("127.0.0.1", self.port), 20, "the late Redis answering")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def late_redis(tmp_path: Path) -> Iterator[LateRedis]:
    server = LateRedis(tmp_path)
    try:
        yield server
    finally:
        server.stop()


async def test_once_redis_answers_the_bot_receives_and_answers(
    run_bot: RunBot, telegram, late_redis: LateRedis, capsys: pytest.CaptureFixture[str]
) -> None:
    """Redis late at start (a restart of both, a slow node) delays the answers; it must not
    end them for the life of the process."""
    seen: list[dict[str, Any]] = []
    stranger = build.user(random.randint(10**8, 10**9), "Anna")
    async with run_bot(REDIS_URL=late_redis.url, LOG_FORMAT="json", ALLOWED_TELEGRAM_IDS="5"):

        async def tried() -> bool:
            return "poller_lease_unavailable" in logged(capsys, seen)

        await until(tried, 20, "the poller lease asked for")
        late_redis.start()
        telegram.inject(build.private_text(stranger, "hello?"))
        [refusal] = await telegram.wait_sent(1, stranger["id"], timeout=30)
    logged(capsys, seen)
    assert str(stranger["id"]) in refusal.text
    errors = [line for line in seen if line["level"] in ("error", "critical")]
    assert errors == []  # no part of the bot gave up (the live answers' reader neither)
