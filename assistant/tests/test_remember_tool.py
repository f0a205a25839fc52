"""The `remember` tool against the real rest_service (add, propose, list, delete by id and by
words, duplicates, the cap, the group refusal, a declined proposal not made again), and
profile facts in the system prompt: in every private turn of their owner, in no group turn."""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.src.assistants.prompt import FACTS_HEADER, facts_section
from assistant.src.settings import Settings
from assistant.src.tools.base import Actor, ToolCallOrigin, ToolError, ToolServices
from assistant.src.tools.remember_tool import DECLINED_NOTE, RememberTool
from assistant.tests.support import Deployment, tool_spec
from common.features.confirmations import Confirmations, HeldCall, decline_fact, fact_declined
from common.infrastructure.http_client import client_session
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import PROFILE_FACT_MAX_CHARS, PROFILE_FACTS_MAX, TelegramUser
from tests.streams import raw
from tests.tiers import examples
from tests.users import make_user


@pytest.fixture
async def tool(
    rest: RestClient, redis: aioredis.Redis, names: Names, redis_url: str
) -> AsyncIterator[RememberTool]:
    settings = Settings(environment="test", redis_url=redis_url)
    async with client_session() as http:
        yield RememberTool(tool_spec("remember"), ToolServices(settings, redis, names, rest, http))


def call(user: TelegramUser, *, group: bool = False) -> ToolCallOrigin:
    actor = Actor(
        user_id=str(user.id),
        conversation_key=f"chat:-100{user.telegram_id}" if group else str(user.id),
        chat_id=-100 if group else int(user.telegram_id),
        timezone="Europe/Berlin",
        is_group=group,
    )
    return ToolCallOrigin(actor, str(uuid.uuid4()), uuid.UUID(int=1), "0", 0)


async def texts(rest: RestClient, user: TelegramUser) -> list[str]:
    return [f.text for f in await rest.list_facts(user.id)]


async def test_add_list_and_delete_by_id(
    tool: RememberTool, rest: RestClient, user: TelegramUser
) -> None:
    added = await tool.run({"action": "add", "fact": "My wife is  Anna"}, call(user))
    assert added["stored"] is True and added["fact"] == "My wife is Anna"
    await tool.run({"action": "add", "fact": "Я не ем мясо"}, call(user))
    listed = await tool.run({"action": "list"}, call(user))
    assert [f["fact"] for f in listed["facts"]] == ["My wife is Anna", "Я не ем мясо"]
    gone = await tool.run({"action": "delete", "fact_id": added["fact_id"]}, call(user))
    assert gone["deleted"] is True
    assert await texts(rest, user) == ["Я не ем мясо"]
    with pytest.raises(ToolError, match="no such fact"):
        await tool.run({"action": "delete", "fact_id": added["fact_id"]}, call(user))
    with pytest.raises(ToolError, match="not an id"):
        await tool.run({"action": "delete", "fact_id": "the first one"}, call(user))


async def test_a_duplicate_is_not_stored_twice(
    tool: RememberTool, rest: RestClient, user: TelegramUser
) -> None:
    first = await tool.run({"action": "add", "fact": "I live in Berlin"}, call(user))
    again = await tool.run({"action": "add", "fact": "i live in berlin "}, call(user))
    assert (first["stored"], again["stored"]) == (True, False)
    assert again["fact_id"] == first["fact_id"] and again["note"] == "already known"
    assert await texts(rest, user) == ["I live in Berlin"]


async def test_delete_by_the_facts_words(
    tool: RememberTool, rest: RestClient, user: TelegramUser
) -> None:
    for fact in ("I don't eat meat", "My son is Tim", "My daughter is Mia"):
        await tool.run({"action": "add", "fact": fact}, call(user))
    gone = await tool.run({"action": "delete", "fact": "that I don't eat meat"}, call(user))
    assert gone["fact"] == "I don't eat meat"
    with pytest.raises(ToolError, match="several facts match") as several:
        await tool.run({"action": "delete", "fact": "my"}, call(user))
    assert "Tim" in str(several.value) and "Mia" in str(several.value)
    with pytest.raises(ToolError, match="no stored fact matches"):
        await tool.run({"action": "delete", "fact": "cats"}, call(user))
    assert await texts(rest, user) == ["My son is Tim", "My daughter is Mia"]


async def test_the_cap_and_the_length_are_clear_errors(
    tool: RememberTool, rest: RestClient, user: TelegramUser
) -> None:
    with pytest.raises(ToolError, match=f"at most {PROFILE_FACT_MAX_CHARS}"):
        await tool.run({"action": "add", "fact": "x" * (PROFILE_FACT_MAX_CHARS + 1)}, call(user))
    with pytest.raises(ToolError, match="needs 'fact'"):
        await tool.run({"action": "add", "fact": "  "}, call(user))
    for n in range(PROFILE_FACTS_MAX):
        await rest.add_fact(user.id, f"fact {n}")
    with pytest.raises(ToolError, match=f"{PROFILE_FACTS_MAX} facts, the most kept"):
        await tool.run({"action": "add", "fact": "one more"}, call(user))
    assert len(await rest.list_facts(user.id)) == PROFILE_FACTS_MAX


async def test_in_a_group_it_refuses_everything(
    tool: RememberTool, rest: RestClient, user: TelegramUser
) -> None:
    await rest.add_fact(user.id, "My wife is Anna")
    for arguments in (
        {"action": "add", "fact": "I am vegan"},
        {"action": "list"},
        {"action": "delete", "fact": "Anna"},
    ):
        with pytest.raises(ToolError, match="private"):
            await tool.run(arguments, call(user, group=True))
    assert await texts(rest, user) == ["My wife is Anna"]


async def test_it_acts_for_the_envelopes_user_only(
    tool: RememberTool, rest: RestClient, user: TelegramUser
) -> None:
    other = await make_user(rest)
    theirs, _ = await rest.add_fact(other.id, "My wife is Anna")
    with pytest.raises(ToolError, match="no such fact"):
        await tool.run({"action": "delete", "fact_id": str(theirs.id)}, call(user))
    assert (await tool.run({"action": "list"}, call(user)))["facts"] == []
    assert await texts(rest, other) == ["My wife is Anna"]


def test_the_profile_section_keeps_within_its_size() -> None:
    facts = [f"fact number {n}" for n in range(1000)]
    section = facts_section(facts, max_chars=200)
    assert section[0] == FACTS_HEADER and section[1] == "- fact number 0"
    assert len("\n".join(section)) <= 200
    assert facts_section([]) == []


@settings(max_examples=80, deadline=None)
@given(
    facts=st.lists(st.text(min_size=1, max_size=PROFILE_FACT_MAX_CHARS), max_size=60),
    max_chars=st.integers(0, 5000),
)
def test_the_profile_section_never_exceeds_its_size_and_keeps_the_oldest(
    facts: list[str], max_chars: int
) -> None:
    section = facts_section(facts, max_chars)
    assert len("\n".join(section)) <= max_chars
    shown = [line.removeprefix("- ") for line in section[1:]]
    assert shown == facts[: len(shown)]


async def test_facts_are_in_private_prompts_and_in_no_group_prompt(
    deployment: Deployment,
) -> None:
    await deployment.assistant()
    ann = await deployment.user("Ann", timezone="Europe/Berlin")
    bob = await deployment.user("Bob", timezone="Europe/Berlin")
    await deployment.rest.add_fact(ann.id, "My wife is Anna")
    await deployment.rest.add_fact(bob.id, "Bob's secret: allergic to cats")

    await deployment.ask(ann, "hello")
    await deployment.ask(ann, "hello again")
    await deployment.ask(ann, "hi all", chat_id=-100777, group=True)
    await deployment.ask(bob, "hi from bob", chat_id=-100777, group=True)

    private_one, private_two, group_ann, group_bob = deployment.llm.requests
    for request in (private_one, private_two):
        assert "- My wife is Anna" in request.system_text
        assert "allergic" not in request.system_text
    for request in (group_ann, group_bob):
        assert FACTS_HEADER not in request.system_text
        assert "Anna" not in request.system_text and "allergic" not in request.system_text


@pytest.mark.parametrize(
    ("arguments", "told"),
    [
        ({"action": "recall"}, "unknown action: use add, propose, list or delete"),
        ({"action": "delete"}, "action 'delete' needs 'fact_id' (from action 'list') or 'fact'"),
        ({"action": "delete", "fact_id": "the-cat-one"}, "fact_id 'the-cat-one' is not an id"),
        ({"action": "add", "fact": "   "}, "action 'add' needs 'fact'"),
    ],
)
async def test_what_cannot_be_acted_on_is_said_before_rest_service_is_asked(
    services: ToolServices, arguments: dict, told: str
) -> None:
    """`services` has no rest_service behind it: these refusals need none."""
    tool = RememberTool(tool_spec("remember"), services)
    context = ToolCallOrigin(Actor(str(uuid.uuid4()), "c", 1, "UTC"), "m1", uuid.uuid4(), "0", 0)
    with pytest.raises(ToolError, match=re.escape(told)):
        await tool.run(arguments, context)
    stranger = dataclasses.replace(
        context, actor=dataclasses.replace(context.actor, registered=False)
    )
    with pytest.raises(ToolError, match="not registered yet"):
        await tool.run(arguments, stranger)


async def test_a_fact_rest_service_refuses_is_an_error_saying_why(
    tool: RememberTool, rest: RestClient, user: TelegramUser
) -> None:
    """A NUL the model wrote (JSON "\\u0000") cannot be stored: the model reads rest_service's
    reason, and nothing is kept."""
    with pytest.raises(ToolError, match="the fact was refused: "):
        await tool.run({"action": "add", "fact": "My PIN is\x00 1234"}, call(user))
    assert await texts(rest, user) == []


async def test_the_facts_exact_words_win_over_a_longer_fact_containing_them(
    tool: RememberTool, rest: RestClient, user: TelegramUser
) -> None:
    for fact in ("My son is Tim", "My son is Timothy's friend"):
        await tool.run({"action": "add", "fact": fact}, call(user))
    gone = await tool.run({"action": "delete", "fact": "my son is  TIM"}, call(user))
    assert gone["fact"] == "My son is Tim"
    assert await texts(rest, user) == ["My son is Timothy's friend"]


# -- propose: a fact the user only stated waits for their Yes ----------------------------------


async def asked(tool: RememberTool, origin: ToolCallOrigin) -> list[HeldCall]:
    """The questions noted for the answer to `origin`'s message."""
    services = tool.services
    confirmations = Confirmations(services.redis, services.names)
    tokens = await services.redis.lrange(
        services.names.confirmations_asked(origin.message_id), 0, -1
    )
    found = [await confirmations.peek(raw(t).decode()) for t in tokens]
    return [f for f in found if isinstance(f, HeldCall)]


async def test_propose_asks_and_stores_nothing_until_the_yes(
    tool: RememberTool, rest: RestClient, user: TelegramUser
) -> None:
    origin = call(user)
    result = await tool.run({"action": "propose", "fact": " I am  vegetarian "}, origin)
    assert result["proposed"] is True and result["fact"] == "I am vegetarian"
    assert "do not say it was stored" in result["message"]
    [held] = await asked(tool, origin)
    assert held.fact == "I am vegetarian" and held.tool == "remember"
    assert held.arguments == {"action": "add", "fact": "I am vegetarian"}
    assert (held.user_id, held.chat_id) == (str(user.id), int(user.telegram_id))
    assert await texts(rest, user) == []


async def test_a_known_fact_is_not_proposed(
    tool: RememberTool, rest: RestClient, user: TelegramUser
) -> None:
    stored, _ = await rest.add_fact(user.id, "My daughter is Masha")
    origin = call(user)
    result = await tool.run({"action": "propose", "fact": "my daughter is masha"}, origin)
    assert result == {
        "fact_id": str(stored.id), "fact": "My daughter is Masha", "proposed": False,
        "note": "already known",
    }  # fmt: skip
    assert await asked(tool, origin) == []


async def test_a_declined_fact_is_not_proposed_again_to_that_user(
    tool: RememberTool, rest: RestClient, user: TelegramUser
) -> None:
    first = call(user)
    await tool.run({"action": "propose", "fact": "I work at Acme"}, first)
    [held] = await asked(tool, first)
    await decline_fact(tool.services.redis, tool.services.names, held)

    again = call(user)
    result = await tool.run({"action": "propose", "fact": "i work at  ACME"}, again)
    assert result["proposed"] is False and result["note"] == DECLINED_NOTE
    assert await asked(tool, again) == []
    # Someone else's No is not this user's.
    other = await make_user(rest)
    theirs = await tool.run({"action": "propose", "fact": "I work at Acme"}, call(other))
    assert theirs["proposed"] is True


async def test_a_no_to_another_held_call_declines_no_fact(
    tool: RememberTool, user: TelegramUser
) -> None:
    services = tool.services
    arguments = {"action": "delete", "fact": "x"}
    other = HeldCall(str(user.id), 1, "a", "remember", arguments, "m", "0", "remember delete")
    await decline_fact(services.redis, services.names, other)
    await decline_fact(services.redis, services.names, None)
    assert not await fact_declined(services.redis, services.names, str(user.id), "x")


async def test_propose_in_a_group_refuses(
    tool: RememberTool, rest: RestClient, user: TelegramUser
) -> None:
    origin = call(user, group=True)
    with pytest.raises(ToolError, match="private"):
        await tool.run({"action": "propose", "fact": "I am vegan"}, origin)
    assert await asked(tool, origin) == [] and await texts(rest, user) == []


@settings(
    max_examples=examples(30),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(fact=st.one_of(st.text(max_size=PROFILE_FACT_MAX_CHARS + 20), st.none(), st.integers()))
async def test_any_fact_argument_is_proposed_as_one_line_within_the_limit_or_refused(
    tool: RememberTool, rest: RestClient, user: TelegramUser, fact: object
) -> None:
    origin = call(user)
    try:
        result = await tool.run({"action": "propose", "fact": fact}, origin)
    except ToolError as exc:
        assert "needs 'fact'" in str(exc) or f"at most {PROFILE_FACT_MAX_CHARS}" in str(exc)
        assert await asked(tool, origin) == []
        return
    text = result["fact"]
    assert 0 < len(text) <= PROFILE_FACT_MAX_CHARS and text == " ".join(text.split())
    assert [h.fact for h in await asked(tool, origin)] == ([text] if result["proposed"] else [])
    assert await texts(rest, user) == []
