"""What the orchestrator does for the queue besides answering, in-process: an entry that failed
for good is apologised for to whatever chat its payload still names, and the files it names go
either way (only the store's own keys, whatever the payload claims); a message answered
already, or dropped as a duplicate, only has its files deleted; a Yes that is not the held
call's owner's, or whose assistant is gone, runs nothing."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis

from assistant.src.assistants.factory import AssistantFactory
from assistant.src.assistants.llm_chat import AssistantDeps
from assistant.src.assistants.phrases import CATALOGUE
from assistant.src.clients.llm import LlmGateway
from assistant.src.confirmed import run_confirmed
from assistant.src.live_config.watcher import ConfigWatcher
from assistant.src.orchestrator import Orchestrator, readable
from assistant.src.settings import Settings
from assistant.src.tools.base import Actor, ToolError, ToolServices
from assistant.src.tools.sub_assistant_tool import SubAssistantTool
from assistant.tests.support import TIME_SCHEMA, call_context, tool_spec
from common.features.confirmations import Confirmations, HeldCall
from common.infrastructure.queue import DeadLetter
from common.infrastructure.queue_messages import (
    Attachment,
    AttachmentKind,
    IncomingMessage,
    OutgoingKind,
    OutgoingMessage,
)
from common.infrastructure.redis_keys import TO_TELEGRAM, Names
from common.infrastructure.rest_client import RestServiceUnavailable
from common.infrastructure.wire import AssistantType, ConfigSnapshot, SnapshotAssistant
from tests.streams import stream_entries


async def no_key(_provider_id: str) -> str | None:
    return None


@pytest.fixture
async def orchestrator(
    settings: Settings, redis: aioredis.Redis, names: Names, services: ToolServices
) -> AsyncIterator[Orchestrator]:
    llm = LlmGateway(settings, no_key)
    config = ConfigWatcher(services.rest, redis, names, poll_seconds=60.0)
    orchestrator = Orchestrator(
        settings=settings,
        redis=redis,
        names=names,
        deps=AssistantDeps(settings, services.rest, llm),
        services=services,
        config=config,
    )
    yield orchestrator
    await orchestrator.close()
    await llm.aclose()


def dead(data: str, message: IncomingMessage | None = None) -> DeadLetter[IncomingMessage]:
    return DeadLetter("queue:to_secretary", "1-0", "handler failed", 5, data, message)


async def answers(redis: aioredis.Redis, names: Names) -> list[OutgoingMessage]:
    entries = await stream_entries(redis, names.stream(TO_TELEGRAM))
    return [OutgoingMessage.model_validate_json(fields[b"data"]) for _, fields in entries]


async def test_a_payload_that_still_names_its_chat_gets_an_apology_and_its_files_go(
    orchestrator: Orchestrator, redis: aioredis.Redis, names: Names
) -> None:
    voice = await orchestrator.blobs.put(b"a voice note")
    payload = {"chat_id": 42, "language_code": "ru", "text": 7, "attachments": [
        {"blob_key": voice}
    ]}  # fmt: skip
    await orchestrator.dead_lettered(dead(json.dumps(payload)))
    (answer,) = await answers(redis, names)
    assert answer.chat_id == 42 and answer.kind == OutgoingKind.ERROR
    assert answer.text == CATALOGUE.text("ru", "turn_failed")
    assert await orchestrator.blobs.get(voice) is None


@pytest.mark.parametrize(
    "shape",
    ["files", "not JSON", "a list", "files not a list"],
)
async def test_a_payload_naming_no_chat_is_answered_by_nobody_and_only_our_files_go(
    orchestrator: Orchestrator, redis: aioredis.Redis, names: Names, shape: str
) -> None:
    voice = await orchestrator.blobs.put(b"a voice note")
    other = names.key("not-a-blob")
    await redis.set(other, b"kept")
    data = {
        "files": json.dumps({"attachments": [{"blob_key": voice}, {"blob_key": other}, 5, "x"]}),
        "not JSON": "{{{ cut off",
        "a list": json.dumps([{"blob_key": voice}]),
        "files not a list": json.dumps({"attachments": {"blob_key": voice}}),
    }[shape]
    await orchestrator.dead_lettered(dead(data))
    assert await answers(redis, names) == []
    assert (await orchestrator.blobs.get(voice) is None) == (shape == "files")
    assert await redis.get(other) == b"kept"


async def with_a_voice_note(orchestrator: Orchestrator, text: str = "hello") -> IncomingMessage:
    voice = await orchestrator.blobs.put(b"a voice note")
    return IncomingMessage(
        message_id=uuid.uuid4(),
        chat_id=42,
        user_id=uuid.uuid4(),
        text=text,
        attachments=[Attachment(kind=AttachmentKind.VOICE, blob_key=voice)],
    )


async def test_a_message_answered_already_is_not_answered_again_and_its_files_go(
    orchestrator: Orchestrator, redis: aioredis.Redis, names: Names
) -> None:
    message = await with_a_voice_note(orchestrator)
    await redis.set(names.assistant_answered(str(message.message_id), message.reply_stream), 1)
    await orchestrator.handle(message)  # no config, no rest_service: neither is needed
    assert await answers(redis, names) == []
    assert await orchestrator.blobs.get(message.attachments[0].blob_key) is None


async def test_a_duplicate_dropped_by_the_queue_has_its_files_deleted(
    orchestrator: Orchestrator,
) -> None:
    message = await with_a_voice_note(orchestrator)
    await orchestrator.dropped(message)
    assert await orchestrator.blobs.get(message.attachments[0].blob_key) is None


def test_text_postgres_would_refuse_is_cleaned_and_clean_text_kept_as_is() -> None:
    message = IncomingMessage(
        message_id=uuid.uuid4(), chat_id=1, user_id=uuid.uuid4(), text="hi\x00 there",
        first_name="An\ud800ya", username="anya",
    )  # fmt: skip
    cleaned = readable(message)
    assert "\x00" not in cleaned.text and "\ud800" not in (cleaned.first_name or "")
    assert cleaned.username == "anya" and cleaned.message_id == message.message_id
    assert readable(cleaned) is cleaned


# -- a Yes under a held tool call, the parts that need no rest_service --------------------------

#: A stored user's id is a UUID (the rest client sends it as one).
OWNER_ID = str(uuid.UUID(int=1))
OWNER = Actor(OWNER_ID, OWNER_ID, 42, "UTC", language="en")


async def said_yes(
    orchestrator: Orchestrator, redis: aioredis.Redis, names: Names, held: HeldCall, by: Actor
) -> tuple[str, bool]:
    """The answer to `by`'s Yes, and whether the held call is still there afterwards."""
    confirmations = Confirmations(redis, names)
    token = await confirmations.ask(held)
    empty = ConfigSnapshot(version=1, secretary=None, assistants=(), models=())
    factory = AssistantFactory(orchestrator.deps, orchestrator.services, empty)
    answer = await run_confirmed(token, by, factory, confirmations)
    return answer, await confirmations.peek(token) is not None


async def test_a_yes_from_someone_else_or_from_another_chat_runs_nothing(
    orchestrator: Orchestrator, redis: aioredis.Redis, names: Names
) -> None:
    held = HeldCall(OWNER_ID, 42, str(uuid.uuid4()), "remember", {"action": "add"}, summary="note")
    gone = CATALOGUE.text("en", "confirmed_gone")
    other_user = dataclasses.replace(OWNER, user_id="u2")
    other_chat = dataclasses.replace(OWNER, chat_id=43)
    assert await said_yes(orchestrator, redis, names, held, other_user) == (gone, True)
    assert await said_yes(orchestrator, redis, names, held, other_chat) == (gone, True)


async def test_a_yes_to_a_call_of_an_assistant_since_removed_says_so_and_is_spent(
    orchestrator: Orchestrator, redis: aioredis.Redis, names: Names
) -> None:
    for assistant_id in (str(uuid.uuid4()), "not-an-id"):
        held = HeldCall(OWNER_ID, 42, assistant_id, "remember", {"action": "add"}, summary="note")
        answer, kept = await said_yes(orchestrator, redis, names, held, OWNER)
        assert answer == CATALOGUE.text("en", "confirmed_failed", error="the assistant is gone")
        assert not kept


def helper_with_time(assistant_id: uuid.UUID) -> SnapshotAssistant:
    """An assistant of the config that has the time tool (not the secretary)."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return SnapshotAssistant(
        id=assistant_id, name="helper", is_secretary=False, model=None, instructions="",
        assistant_type=AssistantType.llm, openai_assistant_id=None, is_active=True,
        created_at=at, updated_at=at,
        tools=(tool_spec("time", input_schema=TIME_SCHEMA),),
    )  # fmt: skip


async def test_a_yes_while_rest_service_is_down_is_kept_for_the_retry(
    orchestrator: Orchestrator, redis: aioredis.Redis, names: Names
) -> None:
    """The call ran but its record could not be written: the message is retried later (the
    queue's RetryLater), and the retry finds the held call still there to run."""
    helper = helper_with_time(uuid.uuid4())
    snapshot = ConfigSnapshot(version=1, secretary=None, assistants=(helper,), models=())
    held = HeldCall(OWNER_ID, 42, str(helper.id), "time", {"action": "now"}, summary="the time")
    confirmations = Confirmations(redis, names)
    token = await confirmations.ask(held)
    factory = AssistantFactory(orchestrator.deps, orchestrator.services, snapshot)
    with pytest.raises(RestServiceUnavailable):
        await run_confirmed(token, OWNER, factory, confirmations)
    assert await confirmations.peek(token) == held


async def test_a_sub_assistant_missing_from_the_config_is_a_tool_error_the_model_reads(
    orchestrator: Orchestrator,
) -> None:
    """The tool links an assistant deleted or deactivated since: no turn is started."""
    empty = ConfigSnapshot(version=1, secretary=None, assistants=(), models=())
    factory = AssistantFactory(orchestrator.deps, orchestrator.services, empty)
    tool = SubAssistantTool(
        tool_spec("sub_assistant", sub_assistant_id=uuid.uuid4()), factory.services
    )
    with pytest.raises(ToolError, match="does not exist or is not active"):
        await tool.run({"query": "who wrote Solaris?"}, call_context())
