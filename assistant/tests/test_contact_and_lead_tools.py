"""The `contact` and `lead` tools against the real rest_service: a contact is the sender's
own, saved only with consent, per business, never in a group; a phone that does not parse
tells the model to ask again; interest makes one lead per conversation with the contact
attached. And one turn through the assistant where the model saves a contact and notes
interest, and the lead appears."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.src.settings import Settings
from assistant.src.tools.base import Actor, ToolCallOrigin, ToolError, ToolServices
from assistant.src.tools.contact_tool import ASK_AGAIN, GROUP_REFUSAL, NO_CONSENT, ContactTool
from assistant.src.tools.lead_tool import LeadTool
from assistant.tests.support import Deployment, Platform, tool_spec
from assistant.tests.test_tools_end_to_end import tool_results
from common.infrastructure.http_client import client_session
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from sandbox.llm_server import Step, ToolCallStep
from tests.tiers import examples

SEED = Path(__file__).resolve().parents[2] / "rest_service" / "seed" / "default_config.json"
CONSENT = "I agree that Shop keeps my name and phone to call me back."


def seed_tool(tool_type: str) -> dict[str, Any]:
    tools = json.loads(SEED.read_text(encoding="utf-8"))["tools"]
    return next(t for t in tools if t["tool_type"] == tool_type)


@pytest.fixture
async def admin(platform: Platform) -> AsyncIterator[RestClient]:
    async with RestClient(platform.rest_url, platform.secrets["ADMIN_API_TOKEN"]) as client:
        yield client


@pytest.fixture
async def tools(
    rest: RestClient, redis: aioredis.Redis, names: Names, redis_url: str
) -> AsyncIterator[tuple[ContactTool, LeadTool]]:
    settings = Settings(environment="test", redis_url=redis_url)
    async with client_session() as http:
        services = ToolServices(settings, redis, names, rest, http)
        contact = ContactTool(
            tool_spec("contact", input_schema=seed_tool("contact")["input_schema"]), services
        )
        lead = LeadTool(tool_spec("lead", input_schema=seed_tool("lead")["input_schema"]), services)
        yield contact, lead


async def customer(rest: RestClient, admin: RestClient) -> tuple[Actor, uuid.UUID]:
    user, _made = await rest.get_or_create_user(uuid.uuid4().int % 10**12, first_name="Anna")
    body = {"name": f"shop-{uuid.uuid4().hex[:8]}", "instructions": "Sell."}
    shop = uuid.UUID((await admin.post_json("/api/assistants/", body))["id"])
    return Actor(str(user.id), str(user.id), 1, "Europe/Moscow"), shop


def origin(actor: Actor, assistant_id: uuid.UUID) -> ToolCallOrigin:
    return ToolCallOrigin(actor, str(uuid.uuid4()), assistant_id, "0", 0)


async def test_save_show_and_delete_the_senders_own_contact(
    tools: tuple[ContactTool, LeadTool], rest: RestClient, admin: RestClient
) -> None:
    contact, _lead = tools
    anna, shop = await customer(rest, admin)
    call = origin(anna, shop)
    assert await contact.run({"action": "show"}, call) == {"contact": None}
    saved = await contact.run(
        {"action": "save", "name": "Anna", "phone": "8 912 345-67-89", "consent": CONSENT}, call
    )
    assert saved["contact"]["phone"] == "+79123456789"
    assert saved["contact"]["consent"] == CONSENT
    shown = (await contact.run({"action": "show"}, call))["contact"]
    assert (shown["name"], shown["phone"]) == ("Anna", "+79123456789")
    _boris, rival = await customer(rest, admin)
    assert await contact.run({"action": "show"}, origin(anna, rival)) == {"contact": None}
    assert await contact.run({"action": "delete"}, call) == {"deleted": True}
    assert await contact.run({"action": "delete"}, call) == {"deleted": False}
    assert contact.stores_or_removes({"action": "save"}) and not contact.stores_or_removes(
        {"action": "show"}
    )


async def test_a_phone_or_email_refused_asks_the_customer_again(
    tools: tuple[ContactTool, LeadTool], rest: RestClient, admin: RestClient
) -> None:
    contact, _lead = tools
    anna, shop = await customer(rest, admin)
    with pytest.raises(ToolError) as phone:
        await contact.run(
            {"action": "save", "phone": "12-34", "consent": CONSENT}, origin(anna, shop)
        )
    assert str(phone.value) == ASK_AGAIN["phone"]
    with pytest.raises(ToolError) as email:
        await contact.run(
            {"action": "save", "email": "anna@", "consent": CONSENT}, origin(anna, shop)
        )
    assert str(email.value) == ASK_AGAIN["email"]
    with pytest.raises(ToolError, match="not saved"):
        await contact.run(
            {"action": "save", "name": "A" * 300, "consent": CONSENT}, origin(anna, shop)
        )


@pytest.mark.parametrize(
    ("arguments", "told"),
    [
        ({"action": "save", "phone": "+79123456789"}, NO_CONSENT),
        ({"action": "save", "consent": "yes"}, "needs the customer's name"),
        ({"action": "forget"}, "unknown action"),
    ],
)
async def test_what_cannot_be_saved_is_said_before_rest_service_is_asked(
    services: ToolServices, arguments: dict[str, Any], told: str
) -> None:
    tool = ContactTool(tool_spec("contact"), services)
    actor = Actor(str(uuid.uuid4()), "c", 1, "Europe/Berlin")
    with pytest.raises(ToolError, match=told):
        await tool.run(arguments, origin(actor, uuid.uuid4()))


async def test_groups_and_unknown_senders_are_refused(services: ToolServices) -> None:
    contact, lead = (
        ContactTool(tool_spec("contact"), services),
        LeadTool(tool_spec("lead"), services),
    )
    group = Actor(str(uuid.uuid4()), "chat:-1", -1, "UTC", is_group=True)
    with pytest.raises(ToolError, match="private"):
        await contact.run({"action": "show"}, origin(group, uuid.uuid4()))
    assert GROUP_REFUSAL
    stranger = Actor(str(uuid.uuid4()), "c", 1, "UTC", registered=False)
    for tool, arguments in ((contact, {"action": "show"}), (lead, {"items": ["x"]})):
        with pytest.raises(ToolError, match="not registered"):
            await tool.run(arguments, origin(stranger, uuid.uuid4()))
    actor = Actor(str(uuid.uuid4()), "c", 1, "UTC")
    with pytest.raises(ToolError, match="unknown action"):
        await lead.run({"action": "buy"}, origin(actor, uuid.uuid4()))
    with pytest.raises(ToolError, match="needs 'items'"):
        await lead.run({"action": "note_interest", "items": [" "]}, origin(actor, uuid.uuid4()))


async def test_interest_makes_one_lead_with_the_contact(
    tools: tuple[ContactTool, LeadTool], rest: RestClient, admin: RestClient
) -> None:
    contact, lead = tools
    anna, shop = await customer(rest, admin)
    item = await admin.post_json(
        "/api/catalogue/",
        {"name": "Haircut", "price": "10.00", "currency": "EUR", "assistant_id": str(shop)},
    )
    first = await lead.run(
        {"action": "note_interest", "items": [item["id"]], "note": "Saturday"}, origin(anna, shop)
    )
    assert first == {"lead": "recorded", "items": ["Haircut"], "contact_saved": False}
    assert lead.stores_or_removes({"action": "note_interest"})
    await contact.run(
        {"action": "save", "phone": "+44 20 7946 0958", "consent": CONSENT}, origin(anna, shop)
    )
    again = await lead.run({"items": ["colouring"]}, origin(anna, shop))
    assert again == {"lead": "updated", "items": ["Haircut", "colouring"], "contact_saved": True}
    (stored,) = await admin.get_json("/api/leads/", user_id=anna.user_id)
    assert stored["channel"] == "telegram" and stored["notes"] == "Saturday"
    assert stored["conversation_key"] == anna.conversation_key
    with pytest.raises(ToolError, match="not recorded"):
        await lead.run({"items": ["x"]}, origin(anna, uuid.uuid4()))


async def test_a_lead_names_the_deep_link_its_customer_came_through(
    tools: tuple[ContactTool, LeadTool], admin: RestClient, rest: RestClient, redis, names
) -> None:
    """tg_bot keeps `/start <payload>` per bot and user; the lead takes it."""
    _contact, lead = tools
    anna, shop = await customer(rest, admin)
    await redis.set(names.start_payload(None, anna.user_id), "promo-winter")
    await lead.run({"items": ["Haircut"]}, origin(anna, shop))
    (stored,) = await admin.get_json("/api/leads/", user_id=anna.user_id)
    assert stored["start_payload"] == "promo-winter"


@settings(
    max_examples=examples(20),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    arguments=st.fixed_dictionaries(
        {"action": st.sampled_from(["save", "show", "delete"])},
        optional={
            "name": st.text(max_size=40),
            "phone": st.text(max_size=30)
            | st.sampled_from(["+7 (912) 345-67-89", "00 44 20 7946 0958"]),
            "email": st.text(max_size=30) | st.emails(),
            "consent": st.text(max_size=40),
        },
    )
)
async def test_any_arguments_give_a_contact_or_a_plain_error(
    tools: tuple[ContactTool, LeadTool],
    rest: RestClient,
    admin: RestClient,
    arguments: dict[str, Any],
) -> None:
    contact, _lead = tools
    anna, shop = await customer(rest, admin)
    try:
        result = await contact.run(arguments, origin(anna, shop))
    except ToolError as exc:
        assert str(exc)
        return
    assert set(result) <= {"contact", "deleted", "note"}


async def test_the_model_saves_a_contact_notes_interest_and_the_lead_appears(
    deployment: Deployment,
) -> None:
    await deployment.assistant()
    secretary = await deployment.assistant_id(deployment.config.secretary)
    word = uuid.uuid4().hex[:8]
    made = []
    for tool_type in ("contact", "lead"):
        spec = {**seed_tool(tool_type), "name": f"{tool_type}_{word}"}
        made.append(await deployment.admin.post_json("/api/tools/", spec))
        await deployment.admin.post_json(f"/api/assistants/{secretary}/tools/{made[-1]['id']}")
    try:
        ann = await deployment.user("Ann")
        save = {"action": "save", "name": "Ann", "phone": "8 912 345 67 89", "consent": CONSENT}
        interest = {"action": "note_interest", "items": ["Haircut"], "note": "Saturday morning"}
        deployment.llm.script(
            Step(
                tool_calls=[
                    ToolCallStep(f"contact_{word}", save),
                    ToolCallStep(f"lead_{word}", interest),
                ]
            )
        )

        await deployment.ask(ann, "yes, I agree, call me back about a haircut: 8 912 345 67 89")

        saved, noted = tool_results(deployment.llm.requests[1])
        assert saved["contact"]["phone"] == "+79123456789"
        # the two calls may run at once: whichever is second links the lead and the contact
        assert noted["lead"] == "recorded" and noted["items"] == ["Haircut"]
        (lead,) = await deployment.admin.get_json("/api/leads/", user_id=str(ann.id))
        assert lead["assistant_id"] == str(secretary) and lead["status"] == "new"
        assert lead["conversation_key"] == str(ann.id) and lead["notes"] == "Saturday morning"
        contact = await deployment.admin.get_json(f"/api/contacts/{lead['contact_id']}")
        assert contact["consent_text"] == CONSENT and contact["source"] == "telegram"
    finally:
        for tool in made:
            await deployment.admin.delete(f"/api/tools/{tool['id']}", cascade=True)


async def test_the_model_asks_for_the_number_and_the_answer_carries_the_phone_keyboard(
    deployment: Deployment,
) -> None:
    await deployment.assistant()
    secretary = await deployment.assistant_id(deployment.config.secretary)
    spec = {**seed_tool("contact"), "name": f"contact_{uuid.uuid4().hex[:8]}"}
    tool = await deployment.admin.post_json("/api/tools/", spec)
    await deployment.admin.post_json(f"/api/assistants/{secretary}/tools/{tool['id']}")
    try:
        ann = await deployment.user("Ann", language="ru")
        deployment.llm.call(spec["name"], {"action": "request_phone"})

        answer = await deployment.ask(ann, "перезвоните мне")

        (asked,) = tool_results(deployment.llm.requests[1])
        assert "Share my phone number" in asked["note"]
        assert answer.request_phone == "📱 Поделиться номером телефона"
        plain = await deployment.ask(ann, "спасибо")  # a later answer asks for nothing
        assert plain.request_phone is None
    finally:
        await deployment.admin.delete(f"/api/tools/{tool['id']}", cascade=True)
