"""The calendar from a chat: an IncomingMessage on `queue:to_secretary`, the real assistant
process with a scripted LLM calling the `calendar` tool (the seed's schema), the calendar
service and the Google stand-in, the answer on `queue:to_telegram`. The design notes'
scenario 1: not connected → the link → the owner confirms the account → the events."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import redis.asyncio as aioredis

from common.infrastructure.queue_messages import ChatType, IncomingMessage, OutgoingMessage
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import TelegramUser
from ops.processes import ServiceProcess, Stack
from ops.services import ROOT
from sandbox.google_api import GoogleStandIn
from sandbox.llm_server import LlmStandIn
from tests.calendar_stack import Browser, connect, sent_to
from tests.harness import secretary_config
from tests.users import make_user
from tests.waiting import until

SEED = ROOT / "rest_service" / "seed" / "default_config.json"
TOKYO = ZoneInfo("Asia/Tokyo")


def _seed_tool(name: str) -> dict[str, Any]:
    """The built-in tool as shipped, so the model sees the real schema."""
    tools = json.loads(Path(SEED).read_text(encoding="utf-8"))["tools"]
    return next(t for t in tools if t["name"] == name)


@pytest.fixture(scope="module")
def llm() -> Iterator[LlmStandIn]:
    with LlmStandIn() as server:
        yield server


@pytest.fixture(scope="module")
def assistant_process(
    shared_stack: Stack,
    rest_process: ServiceProcess,
    calendar_process: ServiceProcess,
    llm: LlmStandIn,
) -> Iterator[ServiceProcess]:
    suffix = uuid.uuid4().hex[:8]
    shared_stack.import_config(
        secretary_config(
            provider=f"gcal-sandbox-{suffix}",
            base_url=llm.base_url,
            api_key="sk-sandbox",
            model=f"gcal-{suffix}",
            secretary=f"gcal-secretary-{suffix}",
            tools=[_seed_tool("calendar")],
        )
    )
    env = {
        "OPENAI_API_KEY": "sk-default",
        "OPENAI_BASE_URL": llm.base_url,
        "LLM_RETRY_BASE_SECONDS": "0.01",
        "CONFIG_POLL_SECONDS": "1",
    }
    process = shared_stack.start("assistant", name="gcal-assistant", env=env)
    yield process
    process.stop()


@pytest.fixture
def chat(
    assistant_process: ServiceProcess, llm: LlmStandIn, redis: aioredis.Redis, shared_names: Names
) -> Chat:
    llm.reset()
    return Chat(redis, shared_names)


class Chat:
    """Sends what tg_bot would queue; reads what the assistant queued for Telegram."""

    def __init__(self, redis: aioredis.Redis, names: Names) -> None:
        self.redis, self.names = redis, names

    async def say(
        self, user: TelegramUser, text: str, *, group_chat: int | None = None
    ) -> OutgoingMessage:
        message = IncomingMessage(
            message_id=uuid.uuid4(),
            chat_id=group_chat or int(user.telegram_id),
            chat_type=ChatType.GROUP if group_chat else ChatType.PRIVATE,
            user_id=user.id,
            telegram_user_id=user.telegram_id,
            first_name=user.first_name,
            language_code="en",
            text=text,
        )
        await self.redis.xadd(self.names.to_secretary, {"data": message.to_json()})
        return await self.answer(message.chat_id, str(message.message_id))

    async def answer(self, chat_id: int, correlation_id: str, timeout: float = 30) -> Any:
        async def found() -> Any:
            sent = await sent_to(self.redis, self.names, chat_id)
            return next((s for s in sent if s.correlation_id == correlation_id), None)

        return await until(found, timeout, f"an answer in chat {chat_id}")


def _tomorrow() -> date:
    return datetime.now(TOKYO).date() + timedelta(days=1)


def _seed_tomorrow(google: GoogleStandIn, email: str) -> None:
    day = _tomorrow().isoformat()
    google.state.seed(
        email,
        [
            {
                "summary": "Berlin standup",
                "start": {"dateTime": f"{day}T09:00:00", "timeZone": "Europe/Berlin"},
                "end": {"dateTime": f"{day}T09:30:00", "timeZone": "Europe/Berlin"},
            },
            {
                "summary": "Dentist",
                "start": {"dateTime": f"{day}T11:00:00+09:00"},
                "end": {"dateTime": f"{day}T12:00:00+09:00"},
            },
        ],
    )


def _tool_results(llm: LlmStandIn) -> list[Any]:
    """What the model read back in this turn (the history before it holds older results)."""
    messages = llm.requests[-1].messages
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    return [json.loads(m["content"]) for m in messages[last_user:] if m["role"] == "tool"]


async def test_scenario_1_not_connected_then_the_link_then_the_events(
    chat: Chat,
    llm: LlmStandIn,
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
    rest: RestClient,
    redis: aioredis.Redis,
    shared_names: Names,
) -> None:
    user = await make_user(rest, timezone="Asia/Tokyo")
    tomorrow = _tomorrow().isoformat()
    ask = {"action": "list", "time_min": tomorrow, "time_max": tomorrow}
    llm.call("calendar", ask, contains="planned")

    first = await chat.say(user, "what do I have planned tomorrow?")

    [not_connected] = _tool_results(llm)
    assert not_connected["status"] == "not_connected"
    link = not_connected["connect_url"]
    assert link.startswith(google.url) and link in first.text
    page = await browser.open(await browser.consent_redirect(link))
    assert page.status_code == 200
    told = [m.text for m in await sent_to(redis, shared_names, user.telegram_id)]
    assert any(browser.email in text and "/calendar confirm" in text for text in told)
    confirmed = await api.post(f"/auth/confirm/{user.id}")  # tg_bot's /calendar confirm
    assert confirmed.json() == {"confirmed": True, "account": browser.email, "default": True}

    _seed_tomorrow(google, browser.email)
    llm.reset()
    llm.call("calendar", ask, contains="calendar tomorrow")
    answer = await chat.say(user, "what's on my calendar tomorrow?")

    [listed] = _tool_results(llm)
    assert listed["timezone"] == "Asia/Tokyo" and listed["count"] == 2
    dentist, standup = listed["events"]  # in start order, Tokyo time
    assert standup["summary"] == "Berlin standup"
    assert standup["start"] in (f"{tomorrow}T16:00:00+09:00", f"{tomorrow}T17:00:00+09:00")
    assert dentist["start"] == f"{tomorrow}T11:00:00+09:00"
    assert "Berlin standup" in answer.text and "Dentist" in answer.text


async def test_a_group_asking_for_a_members_calendar_gets_no_events(
    chat: Chat,
    llm: LlmStandIn,
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
    rest: RestClient,
) -> None:
    member = await make_user(rest, timezone="Asia/Tokyo")
    assert (await connect(api, browser, str(member.id))).status_code == 200
    _seed_tomorrow(google, browser.email)
    google.state.reset_activity()
    llm.call("calendar", {"action": "list"}, contains="calendar")

    answer = await chat.say(member, "@bot what's on Ann's calendar?", group_chat=-100123456)

    [result] = _tool_results(llm)
    assert result["status"] == "private_chat_required" and "events" not in result
    assert "Berlin standup" not in answer.text and "Dentist" not in answer.text
    assert google.url not in answer.text  # no connect link in a group either
    assert google.state.operations("events.list") == []


async def test_creating_an_event_from_a_chat_makes_it_in_the_users_zone(
    chat: Chat,
    llm: LlmStandIn,
    api: httpx.AsyncClient,
    browser: Browser,
    google: GoogleStandIn,
    rest: RestClient,
) -> None:
    user = await make_user(rest, timezone="Asia/Tokyo")
    assert (await connect(api, browser, str(user.id))).status_code == 200
    tomorrow = _tomorrow().isoformat()
    event = {"action": "create", "summary": "Dentist", "start": f"{tomorrow}T10:00"}
    llm.call("calendar", event, contains="dentist")

    answer = await chat.say(user, "put the dentist tomorrow at 10 on my calendar")

    [created] = _tool_results(llm)
    assert created["status"] == "created" and created["start"] == f"{tomorrow}T10:00:00+09:00"
    [stored] = google.state.calendar(browser.email).events.values()
    assert stored["start"] == {"dateTime": f"{tomorrow}T10:00:00+09:00", "timeZone": "Asia/Tokyo"}
    assert stored["end"]["dateTime"] == f"{tomorrow}T11:00:00+09:00"  # an hour by default
    assert "Dentist" in answer.text
