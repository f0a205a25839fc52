"""Profile facts and /usage end to end: every service a real process, Telegram and the model
the stand-ins (scripted to call `remember`). A fact told in chat is stored, shown by /memory
with a Delete button, in the next prompt of that user's private chat; its button deletes it
once, and the prompt after that no longer has it; in English and Russian. /usage counts the
month's messages, tokens and tool calls. With an embedding model, a line said long ago that
shares no word with the question comes back by meaning, and /forget deletes its vectors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from common.infrastructure.wire import PROFILE_FACT_MAX_CHARS, MessageIn, MessageRole
from sandbox import telegram_updates as build
from tests.system import Person, System
from tests.test_buttons import answer_to, buttons_of, edited, labelled, rest_client, tap
from tests.test_scenarios import add_model
from tests.waiting import until

HEADER = "What the user told you about themselves"

CASES = {
    "en": {
        "fact": "My wife is Anna",
        "tell": "please remember that my wife is Anna",
        "next": "what should I buy for dinner?",
        "after": "and for lunch?",
        "delete": "Delete",
        "deleted": "Deleted.",
        "empty": "I don't remember anything about you yet",
    },
    "ru": {
        "fact": "Мою жену зовут Анна",
        "tell": "запомни, что мою жену зовут Анна",
        "next": "что купить на ужин?",
        "after": "а на обед?",
        "delete": "Удалить",
        "deleted": "Удалено.",
        "empty": "Я пока ничего о вас не помню",
    },
}


@pytest.fixture
def system(whole_system: System) -> Iterator[System]:
    whole_system.llm.reset()
    yield whole_system
    whole_system.llm.reset()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("language", ["en", "ru"])
async def test_a_fact_is_remembered_listed_deleted_by_button_and_gone_from_the_prompt(
    system: System, language: str
) -> None:
    case = CASES[language]
    ann = Person.new("Ann", language=language)
    group = build.group_chat(-1_000_000_000_000 - ann.id % 10**9)
    system.llm.call("remember", {"action": "add", "fact": case["fact"]}, contains=case["tell"])
    await system.say(ann, case["tell"])
    [stored] = system.tool_results(case["tell"])
    assert stored["stored"] is True and stored["fact"] == case["fact"]

    await system.say(ann, case["next"])
    assert f"- {case['fact']}" in system.request_about(case["next"]).system_text
    await system.mention(ann, group, case["next"] + " (group)")
    in_group = system.request_about(case["next"] + " (group)").system_text
    assert case["fact"] not in in_group and HEADER not in in_group

    listing = await system.say(ann, "/memory")
    assert f"1. {case['fact']}" in listing.text
    [delete] = buttons_of(listing)
    assert case["delete"] in delete["text"]
    first = tap(system, ann, listing, delete)
    second = tap(system, ann, listing, delete)  # a double tap
    assert await answer_to(system, first) == case["deleted"]
    assert await answer_to(system, second) != case["deleted"]
    shown = await edited(system, ann.id, listing.message_id, case["empty"])
    assert buttons_of(shown) == []

    await system.say(ann, case["after"])
    after = system.request_about(case["after"]).system_text
    assert case["fact"] not in after and HEADER not in after


@pytest.mark.timeout(120)
async def test_forget_that_i_in_russian_removes_that_fact_only(system: System) -> None:
    olga = Person.new("Ольга", language="ru")
    for fact in ("Я не ем мясо", "Мой сын Тим"):
        system.llm.call("remember", {"action": "add", "fact": fact}, contains=fact.lower())
        await system.say(olga, f"запомни: {fact.lower()}")
    forget = {"action": "delete", "fact": "не ем мясо"}
    system.llm.call("remember", forget, contains="забудь, что я не ем мясо")
    await system.say(olga, "забудь, что я не ем мясо")
    [gone] = system.tool_results("забудь, что я не ем мясо")
    assert gone["deleted"] is True and gone["fact"] == "Я не ем мясо"

    await system.say(olga, "что на ужин?")
    prompt = system.request_about("что на ужин?").system_text
    assert "- Мой сын Тим" in prompt and "мясо" not in prompt
    listing = await system.say(olga, "/memory")
    assert "1. Мой сын Тим" in listing.text and "мясо" not in listing.text
    assert [b["text"] for b in buttons_of(listing)] == ["🗑 Удалить 1"]


@pytest.mark.timeout(120)
async def test_usage_counts_this_months_messages_tokens_and_tool_calls(system: System) -> None:
    flo = Person.new("Flo")
    system.llm.call("remember", {"action": "add", "fact": "I am vegan"}, contains="vegan")
    await system.say(flo, "remember I am vegan")
    await system.say(flo, "hello there")
    await system.say(flo, "how are you?")
    [(tokens,)] = system.query(
        "SELECT COALESCE(SUM(COALESCE(m.tokens_in, 0) + COALESCE(m.tokens_out, 0)), 0) "
        "FROM chat_messages m JOIN users u ON m.conversation_key = u.id::text "
        "WHERE u.telegram_id = %s AND m.role = 'assistant'",
        flo.id,
    )
    assert tokens > 0
    usage = await system.say(flo, "/usage")
    month = usage.text.split("Today")[0]
    assert "This month" in month
    assert "Messages to me: 3" in month
    assert f"AI tokens: {tokens:,}".replace(",", " ") in month
    assert "Tool calls: 1" in month
    assert "Pictures drawn: 0" in month


@pytest.mark.timeout(120)
async def test_memory_shows_every_fact_in_full_across_messages_within_telegrams_limit(
    system: System,
) -> None:
    """Fifty facts of the longest kept length: /memory shows each whole (what is stored is
    what the user reads), over several messages of at most 4096 characters, the Delete
    buttons under the last."""
    gus = Person.new("Gus")
    await system.say(gus, "/start")
    filler = " and I keep notes (like 1.5 * 2 = 3) in a_b style" * 10
    facts = [f"Fact {n:02d}: I like {n} things{filler}"[:PROFILE_FACT_MAX_CHARS] for n in range(50)]
    facts = [fact.strip() for fact in facts]
    async with rest_client(system) as rest:
        user = await rest.get_user_by_telegram(gus.id)
        for fact in facts:
            await rest.add_fact(user.id, fact)
    before = len(system.sent_to(gus.id))

    chat = build.private_chat(gus.telegram)
    system.telegram.inject(build.message(chat, gus.telegram, text="/memory"))
    last = await until(lambda: [m for m in system.sent_to(gus.id)[before:] if m.reply_markup])
    parts = system.sent_to(gus.id)[before:]

    assert len(parts) > 1 and parts[-1] is last[0]
    assert all(len(p.text.encode("utf-16-le")) // 2 <= 4096 for p in parts)
    for n, fact in enumerate(facts, 1):
        assert sum(f"{n}. {fact}" in p.text for p in parts) == 1, fact
    assert len(buttons_of(parts[-1])) == 50


def vectors_of(system: System, person: Person) -> int:
    [(count,)] = system.query(
        "SELECT count(*) FROM message_embeddings e JOIN users u "
        "ON e.conversation_key = u.id::text WHERE u.telegram_id = %s",
        person.id,
    )
    return int(count)


@pytest.mark.timeout(120)
async def test_a_line_said_long_ago_comes_back_by_meaning_and_forget_deletes_its_vectors(
    system: System,
) -> None:
    vera = Person.new("Vera")
    said, question = "I don't eat meat, haven't for years", "what should we cook for dinner?"
    async with system.admin() as admin:
        model = await add_model(admin, "sandbox-embedder", capabilities=["embedding"])
    try:
        await system.assistant_has_latest_config()
        await system.say(vera, said)
        await until(lambda: vectors_of(system, vera) == 2, message="the turn's vectors stored")
        [(thread,)] = system.query(
            "SELECT t.thread_id FROM user_assistant_threads t JOIN users u "
            "ON t.user_id = u.id::text WHERE u.telegram_id = %s",
            vera.id,
        )
        chatter = [MessageIn(role=MessageRole.user, content=f"chatter {i}") for i in range(30)]
        async with rest_client(system) as rest:  # more than a window since
            await rest.append_messages(thread, chatter)

        await system.say(vera, question)
        assert said in system.request_about(question).system_text

        confirm = await system.say(vera, "/forget")
        await answer_to(system, tap(system, vera, confirm, labelled(confirm, "Yes")))
        assert vectors_of(system, vera) == 0
    finally:
        async with system.admin() as admin:
            await admin.put(f"/api/llm-models/{model}", json={"is_active": False})


def facts_of(system: System, person: Person) -> list[str]:
    rows = system.query(
        "SELECT f.text FROM profile_facts f JOIN users u ON f.user_id = u.id "
        "WHERE u.telegram_id = %s ORDER BY f.created_at, f.id",
        person.id,
    )
    return [text for (text,) in rows]


async def sent_containing(system: System, person: Person, text: str) -> list[str]:
    """The bot's messages to `person` holding `text`, once there is one."""
    found: list[str] = await until(
        lambda: [m.text for m in system.sent_to(person.id) if text in m.text]
    )
    return found


@pytest.mark.timeout(120)
async def test_a_stated_fact_is_proposed_kept_once_on_yes_listed_and_in_the_next_prompt(
    system: System,
) -> None:
    ivy = Person.new("Ivy")
    fact = "I am vegetarian"
    system.llm.call("remember", {"action": "propose", "fact": fact}, contains=fact)
    proposal = await system.say(ivy, fact)
    assert f"Shall I remember this about you? {fact}" in proposal.text
    assert facts_of(system, ivy) == []

    yes = labelled(proposal, "Yes")
    first, second = tap(system, ivy, proposal, yes), tap(system, ivy, proposal, yes)
    await answer_to(system, first)
    await answer_to(system, second)
    assert await sent_containing(system, ivy, f"Remembered: {fact}")
    assert facts_of(system, ivy) == [fact]

    listing = await system.say(ivy, "/memory")
    assert f"1. {fact}" in listing.text
    await system.say(ivy, "what should I have for lunch?")
    assert f"- {fact}" in system.request_about("what should I have for lunch?").system_text
    assert len(await sent_containing(system, ivy, "Remembered")) == 1  # the second Yes: nothing


@pytest.mark.timeout(120)
async def test_a_no_stores_nothing_and_the_fact_is_not_proposed_again(system: System) -> None:
    max_ = Person.new("Max")
    fact = "I work at Acme"
    propose = {"action": "propose", "fact": fact}
    system.llm.call("remember", propose, contains=fact)
    proposal = await system.say(max_, fact)
    assert "Shall I remember this about you?" in proposal.text

    no = tap(system, max_, proposal, labelled(proposal, "No"))
    assert await answer_to(system, no) == "Not done."
    assert facts_of(system, max_) == []

    again = f"{fact}, as I said"
    system.llm.call("remember", propose, contains=again)
    answer = await system.say(max_, again)
    [result] = system.tool_results(again)
    assert result["proposed"] is False and "said No" in result["note"]
    assert buttons_of(answer) == [] and facts_of(system, max_) == []


@pytest.mark.timeout(120)
async def test_memory_edit_changes_a_fact_in_place_and_clear_asks_first(system: System) -> None:
    una = Person.new("Una")
    await system.say(una, "/start")
    async with rest_client(system) as rest:
        user = await rest.get_user_by_telegram(una.id)
        for fact in ("My son is Tim", "I live in Rome"):
            await rest.add_fact(user.id, fact)

    edited_list = await system.say(una, "/memory edit 2 I live in Berlin")
    assert "Changed 2: I live in Berlin" in edited_list.text
    assert facts_of(system, una) == ["My son is Tim", "I live in Berlin"]
    assert "no fact number 7" in (await system.say(una, "/memory edit 7 x")).text
    assert "/memory edit" in (await system.say(una, "/memory edit two")).text
    assert "/memory edit" in (await system.say(una, "/memory tidy up")).text
    assert "as another fact" in (await system.say(una, "/memory edit 1 i live in berlin")).text
    too_long = await system.say(una, f"/memory edit 1 {'x' * (PROFILE_FACT_MAX_CHARS + 1)}")
    assert f"at most {PROFILE_FACT_MAX_CHARS} characters" in too_long.text

    ask = await system.say(una, "/memory clear")
    assert "Delete all 2 facts" in ask.text
    kept = tap(system, una, ask, labelled(ask, "No, keep them"))
    assert await answer_to(system, kept) == "Nothing deleted."
    assert len(facts_of(system, una)) == 2

    ask = await system.say(una, "/memory clear")
    yes = labelled(ask, "Yes, delete them all")
    first = tap(system, una, ask, yes)
    assert await answer_to(system, first) == "Deleted."
    assert facts_of(system, una) == []
    assert "I remember no facts about you now" in (await sent_containing(system, una, "now."))[0]
    again = tap(system, una, ask, yes)
    assert await answer_to(system, again) != "Deleted."  # a second tap deletes nothing more
    assert "I don't remember anything" in (await system.say(una, "/memory clear")).text

    async with rest_client(system) as rest:
        await rest.add_fact(user.id, "I have a cat")
    await system.say(una, "/memory clear")
    typed = await system.say(una, "/memory clear yes")
    assert "I remember no facts about you now" in typed.text and facts_of(system, una) == []
