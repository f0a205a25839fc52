"""The orchestrator in this process against the platform's rest_service (no assistant
process, no model asked): a blocked user gets no answer, to a message or to a Yes; a Yes
from a sender rest_service does not know finds nothing to run; a held call that fails on
Yes says why; with no secretary configured the user is told so; and a config change is
seen by the very next message."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from assistant.src.assistants.factory import AssistantFactory
from assistant.src.assistants.llm_chat import MAX_STORED_CONTENT, AssistantDeps
from assistant.src.assistants.phrases import CATALOGUE
from assistant.src.clients.llm import LlmGateway
from assistant.src.live_config.watcher import ConfigWatcher
from assistant.src.orchestrator import Answer, Orchestrator, turn_record_key
from assistant.src.settings import Settings
from assistant.src.tools.base import Actor, ToolCallOrigin, ToolError, ToolServices
from assistant.src.tools.sub_assistant_tool import SubAssistantTool
from assistant.tests.support import Deployment, tool_spec
from common.features.confirmations import Confirmations, HeldCall
from common.infrastructure.http_client import client_session
from common.infrastructure.queue import DeadLetter
from common.infrastructure.queue_messages import (
    ChatType,
    IncomingMessage,
    OutgoingKind,
    OutgoingMessage,
)
from common.infrastructure.wire import TelegramUser


async def no_key(_provider_id: str) -> str | None:
    return None


@asynccontextmanager
async def orchestrator_on(
    deployment: Deployment, settings: Settings
) -> AsyncIterator[Orchestrator]:
    """An orchestrator on the deployment, closed as the assistant closes it: before its
    HTTP session, Redis and rest_service (the work it started after answers uses them)."""
    llm = LlmGateway(settings, no_key)
    rest, redis, names = deployment.rest, deployment.redis, deployment.names
    async with client_session() as http:
        services = ToolServices(settings, redis, names, rest, http)
        config = ConfigWatcher(rest, redis, names, poll_seconds=60.0)
        await config.refresh()
        orchestrator = Orchestrator(
            settings=settings,
            redis=redis,
            names=names,
            deps=AssistantDeps(settings, rest, llm),
            services=services,
            config=config,
        )
        try:
            yield orchestrator
        finally:
            await orchestrator.close()
    await llm.aclose()


@pytest.fixture
async def orchestrator(deployment: Deployment, settings: Settings) -> AsyncIterator[Orchestrator]:
    async with orchestrator_on(deployment, settings) as orchestrator:
        yield orchestrator


def message_from(
    deployment: Deployment, user: TelegramUser, text: str, confirmed: str | None = None
) -> IncomingMessage:
    return IncomingMessage(
        message_id=uuid.uuid4(),
        chat_id=int(user.telegram_id),
        chat_type=ChatType.PRIVATE,
        user_id=user.id,
        telegram_user_id=user.telegram_id,
        first_name=user.first_name,
        language_code=user.language,
        text=text,
        reply_stream=deployment.replies,
        confirmed=confirmed,
    )


async def replies(deployment: Deployment) -> list[OutgoingMessage]:
    return await deployment.answers()


def turn_failures(reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "smart_assistant_assistant_turn_failures_total", {"reason": reason}
    )
    assert value is not None  # at 0 from the start
    return value


async def held_time_call(
    deployment: Deployment, user: TelegramUser, assistant: str, **arguments
) -> str:
    """A time call of `assistant` held for `user`'s Yes: its token."""
    held = HeldCall(
        str(user.id),
        int(user.telegram_id),
        await deployment.assistant_id(assistant),
        "time",
        arguments,
        message_id=str(uuid.uuid4()),
        position="0",
        summary="the time",
    )
    return await Confirmations(deployment.redis, deployment.names).ask(held)


async def test_a_blocked_user_gets_no_answer_to_a_message_or_to_a_yes(
    deployment: Deployment, orchestrator: Orchestrator
) -> None:
    mallory = await deployment.user("Mallory")
    token = await held_time_call(deployment, mallory, deployment.config.secretary, action="now")
    await deployment.admin.put_json(f"/api/users/{mallory.id}", {"blocked": True})

    await orchestrator.handle(message_from(deployment, mallory, "hello?"))
    await orchestrator.handle(message_from(deployment, mallory, "Yes", confirmed=token))

    assert await replies(deployment) == []
    assert deployment.llm.requests == []
    # Nothing ran: the held call is still there, unspent.
    assert await Confirmations(deployment.redis, deployment.names).peek(token) is not None


async def test_a_yes_from_a_sender_rest_service_does_not_know_runs_nothing(
    deployment: Deployment, orchestrator: Orchestrator
) -> None:
    ghost = await deployment.user("Ghost")
    message = message_from(deployment, ghost, "Yes", confirmed=uuid.uuid4().hex)
    message = message.model_copy(update={"user_id": uuid.uuid4()})

    await orchestrator.handle(message)

    (answer,) = await replies(deployment)
    assert answer.text == CATALOGUE.text("en", "confirmed_gone")


async def test_a_held_call_that_fails_on_yes_says_why(
    deployment: Deployment, orchestrator: Orchestrator
) -> None:
    """Run exactly as the model made it: a zone no one has is the tool's own error, passed
    on to the user rather than a made-up success."""
    nina = await deployment.user("Nina")
    token = await held_time_call(
        deployment, nina, deployment.config.secretary, action="now", timezone="Mars/Olympus"
    )

    await orchestrator.handle(message_from(deployment, nina, "Yes", confirmed=token))

    (answer,) = await replies(deployment)
    assert answer.kind == OutgoingKind.REPLY
    assert "Mars/Olympus" in answer.text
    assert answer.text.startswith(CATALOGUE.text("en", "confirmed_failed", error="")[:12])
    assert deployment.llm.requests == []


async def test_with_no_secretary_configured_the_user_is_told_and_a_yes_still_runs(
    deployment: Deployment, orchestrator: Orchestrator
) -> None:
    oscar = await deployment.user("Oscar")
    before = turn_failures("not_configured")
    token = await held_time_call(deployment, oscar, deployment.config.helper, action="now")
    secretary = f"/api/assistants/{await deployment.assistant_id(deployment.config.secretary)}"
    await deployment.admin.put_json(secretary, {"is_active": False})
    try:
        # The very next message sees the change (the stored version is newer than ours).
        with capture_logs() as logs:
            await orchestrator.handle(message_from(deployment, oscar, "hello?"))
            await orchestrator.handle(message_from(deployment, oscar, "Yes", confirmed=token))
    finally:
        await deployment.admin.put_json(secretary, {"is_active": True})

    unconfigured, done = await replies(deployment)
    assert unconfigured.kind == OutgoingKind.ERROR
    assert unconfigured.text == CATALOGUE.text("en", "not_configured")
    assert "no_secretary_configured" in [e["event"] for e in logs]
    assert turn_failures("not_configured") == before + 1  # an apology: a failed turn
    # The helper's held call ran; there is no secretary's thread to note it in.
    assert done.kind == OutgoingKind.REPLY and "the time" in done.text
    assert deployment.llm.requests == []


async def test_with_redis_unreachable_a_message_runs_on_the_config_it_holds(
    deployment: Deployment,
) -> None:
    dead = aioredis.Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    watcher = ConfigWatcher(deployment.rest, dead, deployment.names, poll_seconds=60.0)
    try:
        held = await watcher.refresh()
        assert await watcher.current_snapshot() is held
    finally:
        await dead.aclose()


async def test_an_answer_published_twice_goes_out_once(
    deployment: Deployment, orchestrator: Orchestrator
) -> None:
    """A redelivered message racing its first delivery: the second answer is dropped."""
    pat = await deployment.user("Pat")
    message = message_from(deployment, pat, "hello?")
    first = Answer("first", OutgoingKind.REPLY, noted=False)
    second = Answer("second", OutgoingKind.REPLY, noted=False)

    with capture_logs() as logs:
        await orchestrator.publish(message, first)
        await orchestrator.publish(message, second)

    assert [a.text for a in await replies(deployment)] == ["first"]
    assert "answer_already_queued" in [e["event"] for e in logs]


async def test_a_message_whose_answer_was_stored_but_not_sent_gets_that_answer_unasked(
    deployment: Deployment, orchestrator: Orchestrator
) -> None:
    """The process died after storing the answer and before queueing it (its marks gone with
    it): the redelivery sends the stored answer, and the model is not asked again."""
    quinn = await deployment.user("Quinn")
    message = message_from(deployment, quinn, "what should I cook?")
    deployment.llm.reply("Try a mushroom risotto.")
    await orchestrator.handle(message)
    (first,) = await replies(deployment)
    asked = len(deployment.llm.requests)
    names = deployment.names
    await deployment.redis.delete(
        names.assistant_answered(str(message.message_id), message.reply_stream),
        turn_record_key(names, message),
        names.stream(message.reply_stream),
    )

    with capture_logs() as logs:
        await orchestrator.handle(message)

    (again,) = await replies(deployment)
    assert again.text == first.text == "Try a mushroom risotto."
    assert len(deployment.llm.requests) == asked
    assert "turn_replayed" in [e["event"] for e in logs]


async def test_an_answer_longer_than_rest_service_stores_is_stored_cut_and_still_sent(
    deployment: Deployment, orchestrator: Orchestrator
) -> None:
    """A runaway model answer: rest_service would refuse it whole (and the turn with it);
    it is kept cut to what it stores, and the user is answered."""
    rita = await deployment.user("Rita")
    deployment.llm.reply("la " * 40_000)
    await orchestrator.handle(message_from(deployment, rita, "sing me something"))

    (answer,) = await replies(deployment)
    assert answer.kind == OutgoingKind.REPLY and answer.text.startswith("la la")
    stored = await deployment.thread_messages(str(rita.id))
    said = [m.content or "" for m in stored if m.role == "assistant"]
    assert len(said[-1]) == MAX_STORED_CONTENT and said[-1].endswith("…")


async def test_a_sub_assistant_whose_models_are_down_is_a_tool_error_naming_it(
    deployment: Deployment, orchestrator: Orchestrator
) -> None:
    """The secretary's model reads that the helper could not answer, and may say so, rather
    than waiting or inventing the helper's answer."""
    sam = await deployment.user("Sam")
    deployment.llm.fail(503, times=None)
    snapshot = orchestrator.config.current
    factory = AssistantFactory(orchestrator.deps, orchestrator.services, snapshot)
    helper = uuid.UUID(await deployment.assistant_id(deployment.config.helper))
    tool = SubAssistantTool(tool_spec("sub_assistant", sub_assistant_id=helper), factory.services)
    actor = Actor(str(sam.id), str(sam.id), int(sam.telegram_id), "UTC", language="en")
    call = ToolCallOrigin(actor, str(uuid.uuid4()), uuid.uuid4(), "0", 0)

    with pytest.raises(ToolError, match=rf"{deployment.config.helper} could not answer: its model"):
        await tool.run({"query": "summarise my week"}, call)
    assert deployment.llm.requests  # it was asked, and failed


async def test_a_bots_message_is_answered_by_its_assistant_on_a_conversation_of_its_own(
    deployment: Deployment, orchestrator: Orchestrator
) -> None:
    """One person with the secretary and with a shop's bot: each answers as itself, in the
    bot's name, and neither sees the other's conversation."""
    consultant = await deployment.admin.post_json(
        "/api/assistants/",
        {"name": f"consultant-{uuid.uuid4().hex[:6]}", "instructions": "You sell sofas."},
    )
    bot = await deployment.admin.post_json(
        "/api/bots/",
        {
            "name": f"shop-{uuid.uuid4().hex[:6]}",
            "assistant_id": consultant["id"],
            "token": f"{uuid.uuid4().int % 10**9 + 1}:AA{uuid.uuid4().hex}",
        },
    )
    bot_id = uuid.UUID(bot["id"])
    rita = await deployment.user("Rita")
    try:
        deployment.llm.reply("The green one.")
        deployment.llm.reply("Your day is free.")
        deployment.llm.reply("Yes, in velvet.")
        to_shop = message_from(deployment, rita, "which sofa?").model_copy(
            update={"bot_id": bot_id}
        )
        await orchestrator.handle(to_shop)
        await orchestrator.handle(message_from(deployment, rita, "my day?"))
        again = message_from(deployment, rita, "in velvet?").model_copy(update={"bot_id": bot_id})
        await orchestrator.handle(again)
    finally:
        await deployment.admin.delete(f"/api/assistants/{consultant['id']}", cascade=True)

    shop, secretary, shop_again = deployment.llm.requests
    assert "You sell sofas." in shop.system_text
    assert "You sell sofas." not in secretary.system_text
    assert "which sofa?" not in str(secretary.messages)
    assert "which sofa?" in str(shop_again.messages) and "my day?" not in str(shop_again.messages)
    answers = await replies(deployment)
    assert [(a.text, a.bot_id) for a in answers] == [
        ("The green one.", bot_id),
        ("Your day is free.", None),
        ("Yes, in velvet.", bot_id),
    ]


async def test_a_message_of_a_bot_no_longer_running_is_told_nobody_answers(
    deployment: Deployment, orchestrator: Orchestrator
) -> None:
    tess = await deployment.user("Tess")
    before = turn_failures("not_configured")
    message = message_from(deployment, tess, "hello?").model_copy(update={"bot_id": uuid.uuid4()})
    await orchestrator.handle(message)
    (answer,) = await replies(deployment)
    assert answer.kind == OutgoingKind.ERROR and answer.bot_id == message.bot_id
    assert deployment.llm.requests == []
    assert turn_failures("not_configured") == before + 1


async def test_a_turn_no_model_answers_is_apologised_for_and_counted_as_failed(
    deployment: Deployment, orchestrator: Orchestrator
) -> None:
    """The "language model unavailable" apology counts in
    smart_assistant_assistant_turn_failures_total{reason="llm_unavailable"}, which the
    SmartAssistantTurnFailures alert watches."""
    sam = await deployment.user("Sam")
    deployment.llm.fail(503, times=None)
    failures = "smart_assistant_assistant_turn_failures_total"
    before = REGISTRY.get_sample_value(failures, {"reason": "llm_unavailable"})

    answer = await orchestrator.answer(message_from(deployment, sam, "what's on today?"))

    assert answer is not None and answer.kind == OutgoingKind.ERROR
    assert answer.text == CATALOGUE.text(sam.language, "apology")
    assert deployment.llm.requests
    after = REGISTRY.get_sample_value(failures, {"reason": "llm_unavailable"})
    assert before is not None and after == before + 1


async def test_an_answer_carries_when_its_message_arrived_and_how_long_the_model_took(
    deployment: Deployment, orchestrator: Orchestrator
) -> None:
    """tg_bot and channels time the delivered answer from the message's `received_at`, and
    leave out `model_seconds` (the stand-in's 0.2 s delay at least) for the answer-time SLO."""
    rae = await deployment.user("Rae")
    arrived = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    message = message_from(deployment, rae, "hello?").model_copy(update={"received_at": arrived})
    deployment.llm.reply("Hello!", delay=0.2)

    await orchestrator.handle(message)

    (answer,) = await replies(deployment)
    assert answer.text == "Hello!"
    assert answer.received_at == arrived
    assert answer.model_seconds is not None and answer.model_seconds >= 0.2


async def test_a_message_naming_an_assistant_nobody_has_is_a_failed_turn(
    deployment: Deployment, orchestrator: Orchestrator
) -> None:
    wren = await deployment.user("Wren")
    before = turn_failures("not_configured")
    message = message_from(deployment, wren, "hello?").model_copy(update={"assistant": "nobody"})

    await orchestrator.handle(message)

    (answer,) = await replies(deployment)
    assert answer.kind == OutgoingKind.ERROR
    assert answer.text == CATALOGUE.text("en", "no_such_assistant", name="nobody")
    assert turn_failures("not_configured") == before + 1


async def test_a_dead_lettered_message_is_apologised_for_and_counted(
    deployment: Deployment, orchestrator: Orchestrator
) -> None:
    vic = await deployment.user("Vic")
    message = message_from(deployment, vic, "hello?")
    before = turn_failures("dead_letter")
    dead = DeadLetter("queue:to_secretary", "1-0", "boom", 5, message.to_json(), message)

    await orchestrator.dead_lettered(dead)

    (answer,) = await replies(deployment)
    assert answer.kind == OutgoingKind.ERROR and answer.chat_id == message.chat_id
    assert turn_failures("dead_letter") == before + 1


async def test_a_dead_entry_with_no_sender_to_answer_is_counted(
    orchestrator: Orchestrator,
) -> None:
    before = turn_failures("unanswerable")
    dead: DeadLetter[IncomingMessage] = DeadLetter(
        "queue:to_secretary", "1-0", "malformed", 0, "not json at all", None
    )

    await orchestrator.dead_lettered(dead)

    assert turn_failures("unanswerable") == before + 1


async def test_closing_lets_the_embeddings_an_answer_started_finish(
    deployment: Deployment, settings: Settings
) -> None:
    """The turn's messages are embedded and stored after the answer is out; closing waits
    for them (a thread's summary likewise: test_summary_fold.py)."""
    embedder = f"embed-{deployment.config.suffix}"
    deployment.import_models([(embedder, ["embedding"], True)])
    try:
        sol = await deployment.user("Sol")
        deployment.llm.reply("Hi Sol!")
        async with orchestrator_on(deployment, settings) as orchestrator:
            await orchestrator.handle(message_from(deployment, sol, "hello there"))

            await orchestrator.close()

            assert orchestrator.model.recall.pending == set()
        assert {"hello there", "Hi Sol!"} <= set(deployment.llm.embeddings.inputs())
    finally:
        deployment.import_models([(embedder, ["embedding"], False)])
