"""The dashboard's "today" is the day in ADMIN_TIMEZONE, for the messages and active users
from Postgres and for the LLM figures every assistant replica records in Redis: failures,
fallbacks and completions no model answered, made here through the real gateway against
the LLM stand-in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI

from assistant.src.clients.llm import LlmGateway, LlmUnavailable, ModelRoute
from assistant.src.settings import Settings as AssistantSettings
from common.features.llm_stats import LlmCounts, LlmStats
from common.infrastructure.redis_keys import Names
from common.infrastructure.wire import MessageRole
from rest_service.app.admin.dashboard import end_of_day, start_of_day
from rest_service.app.models.thread import ChatMessage
from rest_service.app.state import STATE
from rest_service.tests.test_admin import login
from sandbox.llm_server import LlmStandIn

#: UTC+14 all year: its date differs from UTC's for 14 hours of every day, and its midnight
#: is never UTC's, so a day counted from 00:00 UTC is wrong at any hour.
ZONE = ZoneInfo("Pacific/Kiritimati")
HELLO = [{"role": "user", "content": "hello"}]


@pytest.fixture
def far_zone(settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """ADMIN_TIMEZONE for the app (first in the test's fixtures: before the app starts)."""
    monkeypatch.setenv("ADMIN_TIMEZONE", ZONE.key)


def figure(panel: str, element_id: str) -> int:
    found = re.search(rf'id="{element_id}"[^>]*>\s*(\d+)\s*<', panel)
    assert found, f"#{element_id} not on the panel"
    return int(found.group(1))


def test_a_day_starts_at_midnight_in_the_zone_and_may_be_23_or_25_hours() -> None:
    now = datetime(2026, 11, 23, 21, 30, tzinfo=UTC)  # 2026-11-24 11:30 in Kiritimati
    assert start_of_day(now, ZONE) == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert start_of_day(now, ZoneInfo("UTC")) == datetime(2026, 11, 23, tzinfo=UTC)
    berlin = ZoneInfo("Europe/Berlin")
    autumn = start_of_day(datetime(2026, 10, 25, 12, tzinfo=UTC), berlin)
    assert end_of_day(autumn, berlin) - autumn == timedelta(hours=25)
    spring = start_of_day(datetime(2026, 3, 29, 12, tzinfo=UTC), berlin)
    assert end_of_day(spring, berlin) - spring == timedelta(hours=23)


async def test_today_is_the_admins_day_for_messages_and_llm_figures(
    far_zone: None, app: FastAPI, client: httpx.AsyncClient, secrets: dict[str, str]
) -> None:
    state = STATE.of_app(app)
    names = Names(state.settings.redis_key_prefix)
    midnight = start_of_day(datetime.now(UTC), ZONE)
    # A message a minute before the admin's midnight is yesterday's; one a minute after is
    # today's. 00:00 UTC is 10 or 14 hours away from it, so a UTC day counts 0 or 2.
    async with state.sessions() as session:
        for moment, who in ((midnight - timedelta(minutes=1), "a"), (midnight, "b")):
            session.add(
                ChatMessage(
                    role=MessageRole.user,
                    content="hello",
                    thread_id=f"thread-{who}",
                    conversation_key=f"chat-{who}",
                    created_at=moment + timedelta(seconds=30),
                )
            )
        await session.commit()

    stats = LlmStats(state.redis, names)
    await stats.add(LlmCounts(requests=100, failed=100), midnight - timedelta(minutes=1))
    with LlmStandIn() as llm:
        settings = AssistantSettings(
            environment="test",
            redis_url=state.settings.redis_url,
            openai_base_url=llm.base_url,
            llm_retry_base_seconds=0.01,
            llm_max_attempts=2,
            llm_timeout_seconds=5.0,
        )
        gateway = LlmGateway(settings, _no_key, None, stats)
        routes = [ModelRoute(m, llm.base_url) for m in ("primary", "fallback")]
        try:
            # The primary fails twice, the fallback answers: 2 failed of 3, one fallback.
            llm.fail(500, model="primary", times=None)
            llm.reply("from the fallback", model="fallback")
            assert (await gateway.complete(routes, HELLO)).model == "fallback"
            # Then both fail twice: 4 more failed requests, and no model answered.
            llm.fail(503, model="fallback", times=None)
            with pytest.raises(LlmUnavailable):
                await gateway.complete(routes, HELLO)
        finally:
            await gateway.aclose()  # waits for the background counts

    await login(client, secrets["ADMIN_API_TOKEN"])
    panel = (await client.get("/admin/dashboard/panel")).text
    assert figure(panel, "dashboard-messages") == 1
    assert figure(panel, "dashboard-active-users") == 1
    assert figure(panel, "dashboard-llm-failed") == 6
    assert figure(panel, "dashboard-llm-requests") == 7
    assert figure(panel, "dashboard-llm-fallbacks") == 1
    assert figure(panel, "dashboard-llm-unavailable") == 1
    shown = midnight.astimezone(ZONE).strftime("%Y-%m-%d %H:%M:%S %Z")
    assert f'id="dashboard-day-start">{shown}<' in panel and shown.endswith(" 00:00:00 +14")


async def _no_key(_provider_id: str) -> str | None:
    return None
