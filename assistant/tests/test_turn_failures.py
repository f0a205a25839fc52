"""Every message gets an answer: long ones, ones with NUL or lone surrogates, and poison
entries on the queue (an apology, then the chat goes on). Real processes, as in
test_orchestrator."""

from __future__ import annotations

import json
import uuid

from assistant.src.assistants.phrases import CATALOGUE
from assistant.tests.support import Deployment
from common.infrastructure.queue_messages import OutgoingKind
from tests.streams import stream_entries
from tests.waiting import until

LONG = ("Please plan my week: " + "meetings, calls, reviews and a dentist visit. " * 100)[:4096]


async def test_a_4096_character_message_is_answered(deployment: Deployment) -> None:
    await deployment.assistant()
    anna = await deployment.user("Anna")
    deployment.llm.reply("Here is your week.")

    answer = await deployment.ask(anna, LONG)

    assert (answer.text, answer.kind) == ("Here is your week.", OutgoingKind.REPLY)
    assert deployment.llm.requests[-1].messages[-1]["content"] == LONG
    stored = await deployment.thread_messages(str(anna.id))
    assert stored[0].content == LONG


async def test_a_message_with_nul_and_a_lone_surrogate_is_answered(
    deployment: Deployment,
) -> None:
    await deployment.assistant()
    boris = await deployment.user("Boris")
    deployment.llm.reply("Got it.")
    message = await deployment.send(boris, "hello")
    # The same message as another producer might write it: NUL, and "\udc00" escaped in JSON.
    raw = message.model_dump(mode="json")
    raw.update(message_id=str(uuid.uuid4()), text="a\u0000b \\udc00 c")
    data = json.dumps(raw).replace("\\\\udc00", "\\udc00")
    await deployment.redis.xadd(deployment.names.to_secretary, {"data": data})

    async def both() -> bool:
        return len([a for a in await deployment.answers() if a.chat_id == message.chat_id]) == 2

    await until(both)
    answers = [a for a in await deployment.answers() if a.chat_id == message.chat_id]
    assert all(a.kind == OutgoingKind.REPLY for a in answers)
    asked = [r.messages[-1]["content"] for r in deployment.llm.requests]
    assert "a\ufffdb \ufffd c" in asked
    stored = await deployment.thread_messages(str(boris.id))
    assert "a\ufffdb \ufffd c" in [m.content for m in stored]


async def test_a_poison_entry_gets_an_apology_and_the_chat_goes_on(
    deployment: Deployment,
) -> None:
    await deployment.assistant()
    ivan = await deployment.user("Ivan", language="ru")
    poison = await deployment.send(ivan, "placeholder")  # answered normally; its twin is not
    await deployment.answer_to(poison)
    twin = poison.model_copy(update={"message_id": uuid.uuid4(), "text": "poison"})
    await deployment.redis.xadd(
        deployment.names.to_secretary, {"data": twin.to_json(), "junk": b"\xff\xfe"}
    )

    apology = await deployment.answer_to(twin)
    deployment.llm.reply("still here")
    after = await deployment.ask(ivan, "are you there?")

    assert apology.kind == OutgoingKind.ERROR
    assert apology.text == CATALOGUE.text("ru", "turn_failed")
    assert after.text == "still here"
    dead = await stream_entries(deployment.redis, deployment.names.dead("queue:to_secretary"))
    [entry] = [f for _id, f in dead if str(twin.message_id).encode() in f[b"data"]]
    assert entry[b"error"] == b"unreadable: not UTF-8 in junk"


async def test_a_payload_that_does_not_parse_but_names_its_chat_gets_an_apology(
    deployment: Deployment,
) -> None:
    await deployment.assistant()
    dora = await deployment.user("Dora")
    broken = {"chat_id": dora.telegram_id, "reply_stream": deployment.replies, "text": 5}
    await deployment.redis.xadd(deployment.names.to_secretary, {"data": json.dumps(broken)})

    async def apology():
        found = [a for a in await deployment.answers() if a.chat_id == dora.telegram_id]
        return found[0] if found else None

    answer = await until(apology)
    assert answer.kind == OutgoingKind.ERROR and answer.text == CATALOGUE.text("en", "turn_failed")
