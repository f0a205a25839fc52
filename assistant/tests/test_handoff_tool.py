"""The `handoff` tool against the real rest_service, and one conversation through the assistant
(decision 0052): the model hands the customer to a person and says so; the operator chat gets
the announcement; while the conversation is with the operators the model is not asked and the
customer's words go to the operator chat; an operator's reply reaches the customer; once it is
handed back the model answers again. A bot with no operator chat makes the tool say no one is
available, and the model then says so: no silent pretending."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.src.settings import Settings
from assistant.src.tools.base import Actor, ToolCallOrigin, ToolError, ToolServices
from assistant.src.tools.handoff_tool import NO_ONE, PASSED_ON, HandoffTool
from assistant.tests.conftest import OPERATOR_CHAT_ID
from assistant.tests.support import Deployment, tool_spec
from assistant.tests.test_contact_and_lead_tools import seed_tool
from assistant.tests.test_tools_end_to_end import tool_results
from common.infrastructure.http_client import client_session
from common.infrastructure.queue_messages import IncomingMessage, OutgoingMessage
from common.infrastructure.redis_keys import TO_TELEGRAM, Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import HandoffReply
from sandbox.llm_server import Step, ToolCallStep
from tests.tiers import examples
from tests.waiting import until

REASONS = ["customer_asked", "cannot_help"]
PASSED = "I've passed this to a colleague; they'll reply here."


@pytest.fixture
async def admin(platform: Any) -> AsyncIterator[RestClient]:
    async with RestClient(platform.rest_url, platform.secrets["ADMIN_API_TOKEN"]) as client:
        yield client


@pytest.fixture
async def tool(
    rest: RestClient, redis: aioredis.Redis, names: Names, redis_url: str
) -> AsyncIterator[HandoffTool]:
    settings = Settings(environment="test", redis_url=redis_url)
    async with client_session() as http:
        services = ToolServices(settings, redis, names, rest, http)
        spec = tool_spec("handoff", input_schema=seed_tool("handoff")["input_schema"])
        yield HandoffTool(spec, services)


async def customer(
    rest: RestClient, admin: RestClient, *, operators: int | None
) -> tuple[Actor, uuid.UUID]:
    """A customer of a new shop's bot (with `operators` as its operator chat, or none)."""
    user, _made = await rest.get_or_create_user(uuid.uuid4().int % 10**12, first_name="Anna")
    body = {"name": f"shop-{uuid.uuid4().hex[:8]}", "instructions": "Sell."}
    shop = uuid.UUID((await admin.post_json("/api/assistants/", body))["id"])
    token = f"{uuid.uuid4().int % 10**9 + 1}:{uuid.uuid4().hex}"
    bot: dict[str, object] = {
        "name": f"bot-{uuid.uuid4().hex[:8]}",
        "assistant_id": str(shop),
        "token": token,
    }
    if operators is not None:
        bot["operator_chat_id"] = operators
    bot_id = uuid.UUID((await admin.post_json("/api/bots/", bot))["id"])
    key = f"bot:{bot_id}:{user.id}"
    return Actor(str(user.id), key, 42, "Europe/Moscow", language="en", bot_id=bot_id), shop


def origin(actor: Actor, assistant_id: uuid.UUID) -> ToolCallOrigin:
    return ToolCallOrigin(actor, str(uuid.uuid4()), assistant_id, "0", 0)


async def test_the_tool_hands_the_conversation_over_once(
    tool: HandoffTool, rest: RestClient, admin: RestClient
) -> None:
    anna, shop = await customer(rest, admin, operators=-100_321)
    arguments = {"reason": "customer_asked", "summary": "wants  a refund"}
    first = await tool.run(arguments, origin(anna, shop))
    assert first == {"handoff": "requested", "status": "waiting", "note": PASSED_ON}
    again = await tool.run(arguments, origin(anna, shop))
    assert again["handoff"] == "already_requested"
    (stored,) = await admin.get_json("/api/handoffs/", conversation_key=anna.conversation_key)
    assert stored["operator_chat_id"] == -100_321 and stored["summary"] == "wants a refund"
    assert stored["bot_id"] == str(anna.bot_id) and stored["chat_id"] == 42
    assert tool.stores_or_removes(arguments)


async def test_a_bot_without_operators_makes_the_tool_say_no_one_is_available(
    tool: HandoffTool, rest: RestClient, admin: RestClient
) -> None:
    anna, shop = await customer(rest, admin, operators=None)
    said = await tool.run({"reason": "cannot_help", "summary": "x"}, origin(anna, shop))
    assert said == {"handoff": "unavailable", "note": NO_ONE}
    assert await admin.get_json("/api/handoffs/", conversation_key=anna.conversation_key) == []
    stranger = Actor(str(uuid.uuid4()), "k", 1, "UTC", registered=False)
    with pytest.raises(ToolError, match="not registered"):
        await tool.run({"reason": "customer_asked", "summary": "x"}, origin(stranger, shop))


@settings(
    max_examples=examples(15),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    arguments=st.fixed_dictionaries(
        {},
        optional={
            "reason": st.one_of(
                st.sampled_from(["customer_asked", "cannot_help"]), st.text(max_size=10)
            ),
            "summary": st.one_of(st.text(max_size=1500), st.integers(), st.none()),
        },
    )
)
async def test_any_arguments_hand_over_or_give_a_plain_error(
    tool: HandoffTool, rest: RestClient, admin: RestClient, arguments: dict[str, Any]
) -> None:
    anna, shop = await customer(rest, admin, operators=-100_322)
    try:
        result = await tool.run(arguments, origin(anna, shop))
    except ToolError as exc:
        assert str(exc)
        return
    assert result["handoff"] in ("requested", "already_requested")


async def test_the_model_hands_over_and_stays_silent_until_it_is_handed_back(
    deployment: Deployment,
) -> None:
    await deployment.assistant()
    secretary = await deployment.assistant_id(deployment.config.secretary)
    spec = {**seed_tool("handoff"), "name": f"handoff_{uuid.uuid4().hex[:8]}"}
    made = await deployment.admin.post_json("/api/tools/", spec)
    await deployment.admin.post_json(f"/api/assistants/{secretary}/tools/{made['id']}")
    try:
        ann = await deployment.user("Ann")
        summary = {"reason": "customer_asked", "summary": "Ann wants a person about her order"}
        deployment.llm.script(
            Step(tool_calls=[ToolCallStep(spec["name"], summary)]), Step(text=PASSED)
        )

        answer = await deployment.ask(ann, "I want to talk to a human")

        assert answer.text == PASSED
        (handed,) = tool_results(deployment.llm.requests[1])
        assert handed["handoff"] == "requested"
        (handoff,) = await deployment.admin.get_json("/api/handoffs/", user_id=str(ann.id))
        assert handoff["operator_chat_id"] == OPERATOR_CHAT_ID
        announced = await operator_messages(deployment, handoff["id"], 1)
        assert "Ann wants a person about her order" in announced[0].text
        asked = len(deployment.llm.requests)

        while_away = IncomingMessage(
            message_id=uuid.uuid4(),
            chat_id=ann.telegram_id,
            user_id=ann.id,
            telegram_user_id=ann.telegram_id,
            first_name=ann.first_name,
            text="hello? my order is 1234",
            reply_stream=deployment.replies,
        )
        # tg_bot's "typing…" waits for it (and an earlier message) as it is queued
        typing = deployment.names.telegram_typing(ann.telegram_id)
        waits = {"earlier message": 1.0, str(while_away.message_id): 2.0}
        await deployment.redis.zadd(typing, waits)
        await deployment.redis.xadd(deployment.names.to_secretary, {"data": while_away.to_json()})
        forwarded = await operator_messages(deployment, handoff["id"], 2)
        assert forwarded[1].text == "💬 *Ann*: hello? my order is 1234"
        assert forwarded[1].chat_id == OPERATOR_CHAT_ID
        assert len(deployment.llm.requests) == asked  # the model was not asked
        assert not [
            a for a in await deployment.answers() if a.correlation_id == str(while_away.message_id)
        ]
        # no answer of the bot's will come: the customer's chat stops "typing…" for it
        waiting = await until(lambda: _waiting_without(deployment, typing, while_away), 20)
        assert waiting == [b"earlier message"]

        await deployment.rest.reply_to_handoff(
            handoff["id"], HandoffReply(text="Hi Ann, it's Olga")
        )
        olga = await until(lambda: customer_got(deployment, "Hi Ann, it's Olga"), 20, "the reply")
        assert olga.chat_id == ann.telegram_id

        await deployment.rest.return_handoff(handoff["id"], by="Olga")
        await until(lambda: customer_got(deployment, "talking with the assistant again"), 20)
        deployment.llm.reply("Happy to help again.", contains="thanks")
        back = await deployment.ask(ann, "thanks")
        assert back.text == "Happy to help again."
    finally:
        await deployment.admin.delete(f"/api/tools/{made['id']}", cascade=True)


async def operator_messages(
    deployment: Deployment, handoff_id: str, count: int
) -> list[OutgoingMessage]:
    """The first `count` messages queued for the operator chat about the handoff."""

    async def found() -> list[OutgoingMessage] | None:
        sent = await deployment.answers(TO_TELEGRAM)
        about = [m for m in sent if str(m.handoff_id) == handoff_id]
        return about[:count] if len(about) >= count else None

    return await until(found, 20, f"{count} operator chat messages")


async def customer_got(deployment: Deployment, words: str) -> OutgoingMessage | None:
    return next((a for a in await deployment.answers() if words in a.text), None)


async def _waiting_without(
    deployment: Deployment, typing: str, message: IncomingMessage
) -> list[bytes] | None:
    waiting = cast(list[bytes], await deployment.redis.zrange(typing, 0, -1))
    return waiting if str(message.message_id).encode() not in waiting else None
