"""/api/handoffs: a conversation handed to the operators (decision 0052). One open handoff per
conversation; the operator chat is the bot's (OPERATOR_CHAT_ID for the default bot), and a bot
with none has no one to hand to; the announcement (summary, last messages, the hand-back
button) goes to the operator chat and the assistant's marker is set; an operator's reply
reaches the customer's own stream, a hand back tells them and lifts the marker; the sweep,
with its clock moved past the bot's minutes, expires a handoff no one answered, tells the
customer, records a lead and lets the bot resume; `handoff.requested` reaches a subscriber."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from common.features.buttons import ButtonAction, decode
from common.infrastructure.queue_messages import OutgoingMessage
from common.infrastructure.redis_keys import TO_TELEGRAM, Names
from rest_service.app.handoff_sweep import start_sweep, stop_sweep, sweep, sweep_loop
from rest_service.app.settings import Settings
from rest_service.app.state import AppState
from rest_service.app.webhook_delivery import DeliveryWorker
from rest_service.tests.conftest import Api, assert_error, unreachable
from rest_service.tests.test_bots import make_bot
from rest_service.tests.test_webhooks import Receiver, http, receiver, settled, subscribe
from tests.streams import stream_entries
from tests.tiers import examples
from tests.waiting import until

PATH = "/api/handoffs/"
OPERATORS = -1001234567890
CUSTOMER_STREAM = "queue:to_telegram"


@pytest.fixture
def settings_env(settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("OPERATOR_CHAT_ID", str(OPERATORS))
    monkeypatch.setenv("OPERATOR_WAIT_MINUTES", "10")
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true")
    monkeypatch.setenv("WEBHOOK_DELIVERY_ENABLED", "false")
    return settings_env


@pytest.fixture
def state(app: FastAPI) -> AppState:
    return app.state.app_state  # type: ignore[no-any-return]


def body_for(user: dict[str, Any], assistant: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "user_id": user["id"],
        "assistant_id": assistant["id"],
        "conversation_key": user["id"],
        "chat_id": 555,
        "language": "en",
        "summary": "Anna wants to return a sofa and asks for a person.",
        **fields,
    }


async def handed(api: Api, **fields: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A handoff of a new customer's conversation with a new business: (handoff, user)."""
    user, shop = await api.user(first_name="Anna"), await api.assistant()
    made = await api.ok("POST", PATH, api.service, json=body_for(user, shop, **fields))
    return made, user


async def queued(redis: aioredis.Redis, names: Names, stream: str) -> list[OutgoingMessage]:
    entries = await stream_entries(redis, names.stream(stream))
    return [OutgoingMessage.model_validate_json(fields[b"data"]) for _id, fields in entries]


class TestRequest:
    async def test_the_operator_chat_gets_the_summary_last_messages_and_the_button(
        self, api: Api, redis: aioredis.Redis, names: Names
    ) -> None:
        user, shop = await api.user(first_name="Anna"), await api.assistant()
        thread = await api.thread(user["id"], shop["id"])
        await api.say(thread["thread_id"], "my sofa arrived broken")
        await api.say(thread["thread_id"], "Sorry to hear that! *Which* order?", role="assistant")
        response = await api.http.post(PATH, headers=api.service, json=body_for(user, shop))
        assert response.status_code == 201, response.text
        made = response.json()
        assert made["status"] == "waiting" and made["operator_chat_id"] == OPERATORS
        assert made["answered_at"] is None and made["chat_id"] == 555
        waited = _time(made["expires_at"]) - _time(made["requested_at"])
        assert waited == timedelta(minutes=10)

        marker = json.loads(await redis.get(names.handoff_open(user["id"])) or b"null")
        assert marker == {"id": made["id"], "operator_chat_id": OPERATORS, "bot_id": None}
        (announced,) = await queued(redis, names, TO_TELEGRAM)
        assert announced.chat_id == OPERATORS and str(announced.handoff_id) == made["id"]
        assert "*Anna* asks for a person" in announced.text
        assert "Anna wants to return a sofa" in announced.text
        assert "my sofa arrived broken" in announced.text
        assert "\\*Which\\* order" in announced.text  # the history is text, not markup
        ((button,),) = announced.buttons
        assert button.text == "↩️ Hand back to the bot"
        data = decode(button.data)
        assert data is not None and (data.action, data.target) == (
            ButtonAction.HAND_BACK,
            made["id"],
        )

    async def test_a_second_open_handoff_of_the_conversation_is_409(
        self, api: Api, redis: aioredis.Redis, names: Names
    ) -> None:
        made, user = await handed(api)
        shop = {"id": made["assistant_id"]}
        again = await api.http.post(PATH, headers=api.service, json=body_for(user, shop))
        assert_error(again, 409, "conflict")
        # announced again (an earlier request may have failed after its commit), once
        announced = await queued(redis, names, TO_TELEGRAM)
        assert {m.message_id for m in announced} == {announced[0].message_id}
        listed = await api.ok("GET", PATH, api.admin, params={"conversation_key": user["id"]})
        assert [h["id"] for h in listed] == [made["id"]]

    async def test_a_bots_own_operator_chat_and_minutes(
        self, api: Api, redis: aioredis.Redis, names: Names
    ) -> None:
        bot = await make_bot(api, operator_chat_id=-100777, operator_wait_minutes=3)
        assert (bot["operator_chat_id"], bot["operator_wait_minutes"]) == (-100777, 3)
        user = await api.user()
        key = f"bot:{bot['id']}:{user['id']}"
        body = body_for(user, {"id": bot["assistant_id"]}, bot_id=bot["id"], conversation_key=key)
        made = await api.ok("POST", PATH, api.service, json=body)
        assert made["operator_chat_id"] == -100777 and made["bot_id"] == bot["id"]
        assert _time(made["expires_at"]) - _time(made["requested_at"]) == timedelta(minutes=3)
        (announced,) = await queued(redis, names, TO_TELEGRAM)
        assert str(announced.bot_id) == bot["id"]  # the customer's own bot writes there

    async def test_a_bot_without_an_operator_chat_has_no_one_to_hand_to(self, api: Api) -> None:
        bot = await make_bot(api)
        assert bot["operator_chat_id"] is None and bot["operator_wait_minutes"] == 10
        user = await api.user()
        body = body_for(user, {"id": bot["assistant_id"]}, bot_id=bot["id"])
        refused = await api.http.post(PATH, headers=api.service, json=body)
        assert assert_error(refused, 422)["fields"][0]["field"] == "bot_id"
        cleared = await api.ok(
            "PUT", f"/api/bots/{bot['id']}", api.admin, json={"operator_chat_id": -5}
        )
        assert cleared["operator_chat_id"] == -5
        zero = await api.http.put(
            f"/api/bots/{bot['id']}", headers=api.admin, json={"operator_chat_id": 0}
        )
        assert assert_error(zero, 422)["fields"][0]["field"] == "operator_chat_id"

    async def test_many_handoffs_on_one_connection_each_find_the_partial_index(
        self, api: Api
    ) -> None:
        """Postgres plans a prepared statement generically from its sixth run: the partial
        index's condition must not be bound values then."""
        shop = await api.assistant()
        for _ in range(8):
            user = await api.user()
            made = await api.http.post(PATH, headers=api.service, json=body_for(user, shop))
            assert made.status_code == 201, made.text
            again = await api.http.post(PATH, headers=api.service, json=body_for(user, shop))
            assert_error(again, 409, "conflict")

    async def test_unknown_rows_are_422_naming_the_field(self, api: Api) -> None:
        user, shop = await api.user(), await api.assistant()
        for field in ("user_id", "assistant_id", "bot_id"):
            body = body_for(user, shop, **{field: str(uuid.uuid4())})
            refused = await api.http.post(PATH, headers=api.service, json=body)
            assert assert_error(refused, 422)["fields"][0]["field"] == field


class TestReplyAndReturn:
    async def test_an_operators_reply_reaches_the_customer_and_the_wait_ends(
        self, api: Api, redis: aioredis.Redis, names: Names
    ) -> None:
        made, _user = await handed(api)
        reply = {"text": "Hi, I'm *Olga*: send a photo", "author": "Olga", "key": "tg:-100:7"}
        path = f"{PATH}{made['id']}/reply"
        answered = await api.ok("POST", path, api.service, json=reply)
        assert answered["status"] == "active" and answered["answered_at"] is not None
        await api.ok("POST", path, api.service, json=reply)  # a retry of the same reply
        to_customer = [m for m in await queued(redis, names, CUSTOMER_STREAM) if m.chat_id == 555]
        assert {m.message_id for m in to_customer} == {to_customer[0].message_id}
        assert to_customer[0].text == "Hi, I'm \\*Olga\\*: send a photo"  # as written
        shown = await api.ok("GET", f"{PATH}{made['id']}", api.admin)
        assert shown["answered_at"] == answered["answered_at"]

    async def test_a_whatsapp_customer_hears_the_operator_and_the_hand_back_in_whatsapp(
        self, api: Api, redis: aioredis.Redis, names: Names
    ) -> None:
        number = 1 << 61
        made, _user = await handed(
            api,
            chat_id=number,
            channel="whatsapp",
            channel_chat_id="4915112345678",
            reply_stream="queue:to_channels",
        )
        path = f"{PATH}{made['id']}"
        await api.ok("POST", f"{path}/reply", api.service, json={"text": "Olga here", "key": "k1"})
        await api.ok("POST", f"{path}/return", api.service, json={"by": "Olga"})
        told = [m for m in await queued(redis, names, "queue:to_channels") if m.chat_id == number]
        assert [m.text for m in told] == ["Olga here", "You're talking with the assistant again."]
        assert {(m.channel, m.channel_chat_id) for m in told} == {("whatsapp", "4915112345678")}
        assert made["channel_chat_id"] == "4915112345678"

    async def test_a_hand_back_tells_the_customer_and_lifts_the_marker(
        self, api: Api, redis: aioredis.Redis, names: Names
    ) -> None:
        made, user = await handed(api, language="ru")
        assert await redis.exists(names.handoff_open(user["id"]))
        path = f"{PATH}{made['id']}/return"
        back = await api.ok("POST", path, api.service, json={"by": "Olga"})
        assert back["status"] == "returned" and back["returned_by"] == "Olga"
        assert not await redis.exists(names.handoff_open(user["id"]))
        told = [m.text for m in await queued(redis, names, CUSTOMER_STREAM) if m.chat_id == 555]
        assert told == ["Вы снова общаетесь с ассистентом."]
        assert_error(await api.http.post(path, headers=api.service, json={}), 409, "conflict")
        late = await api.http.post(
            f"{PATH}{made['id']}/reply", headers=api.service, json={"text": "x"}
        )
        assert_error(late, 409, "conflict")
        # the conversation may be handed to people again
        again = await api.http.post(
            PATH, headers=api.service, json=body_for(user, {"id": made["assistant_id"]})
        )
        assert again.status_code == 201, again.text

    async def test_an_unknown_handoff_is_404(self, api: Api) -> None:
        for action in ("reply", "return"):
            path = f"{PATH}{uuid.uuid4()}/{action}"
            response = await api.http.post(path, headers=api.service, json={"text": "hi"})
            assert_error(response, 404, "not_found")


class TestExpiry:
    async def test_no_answer_in_time_tells_the_customer_records_a_lead_and_the_bot_resumes(
        self, api: Api, state: AppState, redis: aioredis.Redis, names: Names
    ) -> None:
        bot = await make_bot(api, operator_chat_id=-100555, operator_wait_minutes=5)
        user = await api.user(first_name="Anna")
        key = f"bot:{bot['id']}:{user['id']}"  # a bots row's key: longer than 64 characters
        body = body_for(user, {"id": bot["assistant_id"]}, bot_id=bot["id"], conversation_key=key)
        made = await api.ok("POST", PATH, api.service, json=body)
        answered, _other = await handed(api)
        await api.ok("POST", f"{PATH}{answered['id']}/reply", api.service, json={"text": "hi"})
        requested = _time(made["requested_at"])

        assert await sweep(state, requested + timedelta(minutes=4, seconds=59)) == 0
        assert await sweep(state, requested + timedelta(minutes=5, seconds=1)) == 1

        expired = await api.ok("GET", f"{PATH}{made['id']}", api.admin)
        assert expired["status"] == "expired"
        still = await api.ok("GET", f"{PATH}{answered['id']}", api.admin)
        assert still["status"] == "active"  # an operator answered: no wait runs out
        assert not await redis.exists(names.handoff_open(key))
        (lead,) = await api.ok("GET", "/api/leads/", api.admin, params={"user_id": user["id"]})
        assert lead["conversation_key"] == key and lead["bot"] == bot["id"]
        assert "no operator answered" in lead["notes"] and "return a sofa" in lead["notes"]
        sent = await queued(redis, names, TO_TELEGRAM)
        (told,) = [m for m in sent if m.chat_id == 555 and str(m.bot_id) == bot["id"]]
        assert "no one is free right now" in told.text
        assert [m for m in sent if m.chat_id == -100555 and "No one answered" in m.text]
        assert await sweep(state, requested + timedelta(hours=1)) == 0  # expired once

    @pytest.mark.commits  # each pass on a connection of its own, as in the service
    async def test_the_loop_passes_at_once_and_again_after_its_pause(
        self, api: Api, state: AppState
    ) -> None:
        made, _user = await handed(api)
        requested = _time(made["requested_at"])
        asked: list[datetime] = []

        def clock() -> datetime:
            """The loop asks it once a pass: before the third, the wait has run out."""
            asked.append(requested + timedelta(minutes=11 if len(asked) >= 2 else 0))
            return asked[-1]

        paused = dataclasses.replace(
            state, settings=state.settings.model_copy(update={"handoff_sweep_seconds": 0.01})
        )
        task = asyncio.create_task(sweep_loop(paused, clock))
        try:
            # the fourth pass began: the third (the first with the wait run out) is over
            await until(lambda: len(asked) >= 4, 10, "four passes, each after the pause")
        finally:
            await stop_sweep(task)
        assert task.cancelled()
        found = await api.ok("GET", f"{PATH}{made['id']}", api.admin)
        assert found["status"] == "expired"

    async def test_the_loop_outlives_a_database_outage(self, settings: Settings) -> None:
        """A sweep that died on the first outage would leave every later handoff waiting."""
        broken = AppState.create(unreachable(settings, handoff_sweep_seconds=0.01))
        try:
            with capture_logs() as logs:
                task = start_sweep(broken)
                assert task is not None

                def failed_twice() -> bool:
                    return [e["event"] for e in logs].count("handoff_sweep_failed") >= 2

                await until(failed_twice, 20, "two failed passes, the second after the first")
                assert not task.done()
                await stop_sweep(task)
        finally:
            await broken.close()

    async def test_a_replica_set_to_0_runs_no_sweep(self, settings: Settings) -> None:
        """HANDOFF_SWEEP_SECONDS=0: no task; another replica's sweep expires handoffs."""
        off = AppState.create(settings.model_copy(update={"handoff_sweep_seconds": 0}))
        try:
            assert start_sweep(off) is None
            await stop_sweep(None)
        finally:
            await off.close()
        with pytest.raises(ValueError, match="handoff_sweep_seconds"):
            Settings(_env_file=None, handoff_sweep_seconds=-1)  # type: ignore[call-arg]


class TestEvents:
    async def test_handoff_requested_reaches_a_subscriber(
        self, api: Api, state: AppState, receiver: Receiver, http: aiohttp.ClientSession
    ) -> None:
        await subscribe(api, receiver.url, ["handoff.requested"])
        made, _user = await handed(api)
        worker = DeliveryWorker(state, http, state.settings)
        (delivery,) = await settled(worker, state)
        assert delivery.event == "handoff.requested"
        (sent,) = [json.loads(body) for _headers, body in receiver.received]
        assert sent["id"] == made["id"]  # the event id is the handoff's
        assert sent["data"]["id"] == made["id"] and sent["data"]["customer"] == "Anna"
        assert sent["data"]["summary"].startswith("Anna wants")


@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.fixed_dictionaries(
        {},
        optional={
            "user_id": st.one_of(st.uuids().map(str), st.text(max_size=5), st.none()),
            "assistant_id": st.one_of(st.uuids().map(str), st.integers()),
            "bot_id": st.one_of(st.uuids().map(str), st.none(), st.text(max_size=3)),
            "conversation_key": st.one_of(st.text(max_size=140), st.integers()),
            "chat_id": st.one_of(st.integers(-(2**64), 2**64), st.text(max_size=3)),
            "summary": st.one_of(st.text(max_size=1100), st.none()),
            "language": st.one_of(st.text(max_size=20), st.none()),
        },
    )
)
async def test_any_body_is_a_201_or_an_error_naming_a_field(
    client: httpx.AsyncClient, service: dict[str, str], body: dict[str, Any]
) -> None:
    response = await client.post(PATH, headers=service, json=body)
    assert response.status_code in (201, 409, 422), response.text
    if response.status_code == 422:
        assert assert_error(response, 422)["fields"][0]["field"]


@settings(
    max_examples=examples(30),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.fixed_dictionaries(
        {},
        optional={
            "text": st.one_of(st.text(max_size=4100), st.integers(), st.none()),
            "author": st.one_of(st.text(max_size=120), st.none()),
            "key": st.one_of(st.text(max_size=110), st.none()),
        },
    )
)
async def test_any_reply_body_is_a_404_or_an_error_naming_a_field(
    client: httpx.AsyncClient, service: dict[str, str], body: dict[str, Any]
) -> None:
    """The body is read before the handoff is looked up: a malformed one is a 422."""
    response = await client.post(f"{PATH}{uuid.uuid4()}/reply", headers=service, json=body)
    assert response.status_code in (404, 422), response.text
    if response.status_code == 422:
        assert assert_error(response, 422)["fields"][0]["field"]


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


__all__ = ["http", "receiver"]  # fixtures of the webhook tests, used here
