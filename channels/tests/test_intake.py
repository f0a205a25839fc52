"""Every channel's way in (`channels/src/intake.py`), against a real rest_service and Redis:
a sender becomes a person on their first message, the message is queued for the secretary
with its channel's address, a second delivery of it queues nothing, the link commands are
answered in the sender's channel and make two channels one person, and a blocked person's
message goes nowhere."""

from __future__ import annotations

import re
import uuid

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.trace import SpanKind

from channels.src.intake import Inbound, Intake, Received
from common.features.buttons import confirm_buttons
from common.features.confirmations import Confirmations, HeldCall
from common.infrastructure import tracing
from common.infrastructure.channels import Channel, channel_chat_number
from common.infrastructure.queue_messages import IncomingMessage, OutgoingMessage, Source
from common.infrastructure.redis_keys import TO_CHANNELS, TO_SECRETARY, Names
from common.infrastructure.rest_client import RestClient
from common.tests.spans import is_child, named, recorded
from tests.streams import stream_entries


@pytest.fixture
def names() -> Names:
    return Names(f"intake-{uuid.uuid4().hex[:8]}:")


@pytest.fixture
def intake(rest: RestClient, redis: aioredis.Redis, names: Names) -> Intake:
    return Intake(rest, redis, names)


def whatsapp(number: str, text: str, **fields: object) -> Inbound:
    defaults: dict[str, object] = {
        "channel": Channel.WHATSAPP,
        "account": "109876543210",
        "message_id": f"wamid.{uuid.uuid4().hex}",
        "chat_id": number,
        "sender_id": number,
        "text": text,
        "first_name": "Wanda",
    }
    return Inbound(**{**defaults, **fields})  # type: ignore[arg-type]


def a_number() -> str:
    return f"49{uuid.uuid4().int % 10**11:011d}"


async def queued(redis: aioredis.Redis, names: Names, stream: str) -> list[str]:
    return [fields[b"data"].decode() for _id, fields in await stream_entries(
        redis, names.stream(stream)
    )]  # fmt: skip


async def for_secretary(redis: aioredis.Redis, names: Names) -> list[IncomingMessage]:
    return [
        IncomingMessage.model_validate_json(d) for d in await queued(redis, names, TO_SECRETARY)
    ]


async def answers(redis: aioredis.Redis, names: Names) -> list[OutgoingMessage]:
    return [OutgoingMessage.model_validate_json(d) for d in await queued(redis, names, TO_CHANNELS)]


async def test_a_first_message_makes_a_person_and_is_queued_with_its_address(
    intake: Intake, redis: aioredis.Redis, names: Names, rest: RestClient
) -> None:
    number = a_number()
    inbound = whatsapp(number, "hi there", language="de")

    assert await intake.receive(inbound) == Received.QUEUED

    (message,) = await for_secretary(redis, names)
    assert (message.channel, message.source) == (Channel.WHATSAPP, Source.WHATSAPP)
    assert (message.channel_chat_id, message.channel_user_id) == (number, number)
    assert message.channel_message_id == inbound.message_id
    assert message.chat_id == channel_chat_number(Channel.WHATSAPP, number)
    assert message.reply_stream == TO_CHANNELS and message.text == "hi there"
    (identity,) = await rest.list_identities(message.user_id)
    assert (identity.channel, identity.external_id) == (Channel.WHATSAPP, number)


async def test_a_message_taken_in_is_the_first_span_of_its_trace_and_carries_it(
    intake: Intake, redis: aioredis.Redis, names: Names
) -> None:
    """Decision 0069: inside a webhook's request span it is that span's child."""
    with recorded("channels") as spans:
        with tracing.span("POST /whatsapp/webhook", kind="server"):
            assert await intake.receive(whatsapp(a_number(), "trace me")) == Received.QUEUED
        request, taken = named(spans, "POST /whatsapp/webhook"), named(spans, "whatsapp message")
    assert is_child(taken, request) and taken.attributes == {"channel": "whatsapp"}
    (message,) = await for_secretary(redis, names)
    assert message.traceparent is not None
    assert message.traceparent.split("-")[1:3] == [
        f"{taken.context.trace_id:032x}",
        f"{taken.context.span_id:016x}",
    ]
    calls = [s for s in spans.get_finished_spans() if s.kind is SpanKind.CLIENT]
    assert calls and all(is_child(call, taken) for call in calls)  # to rest_service


async def test_a_second_delivery_of_a_message_queues_nothing(
    intake: Intake, redis: aioredis.Redis, names: Names
) -> None:
    inbound = whatsapp(a_number(), "once")
    assert await intake.receive(inbound) == Received.QUEUED
    assert await intake.receive(inbound) == Received.DUPLICATE
    assert len(await for_secretary(redis, names)) == 1
    again = whatsapp(inbound.sender_id, "once", message_id=inbound.message_id, account="other")
    assert await intake.receive(again) == Received.QUEUED, "another account's id is another"


async def test_link_makes_a_telegram_user_and_a_whatsapp_sender_one_person(
    intake: Intake, redis: aioredis.Redis, names: Names, rest: RestClient
) -> None:
    telegram_id = uuid.uuid4().int % 10**12
    person, _ = await rest.get_or_create_user(telegram_id, first_name="Tom", language="en")
    code = (await rest.issue_link_code(person.id)).code
    number = a_number()

    assert await intake.receive(whatsapp(number, f"/link {code.lower()}")) == Received.ANSWERED

    (told,) = await answers(redis, names)
    assert (told.channel, told.channel_chat_id) == (Channel.WHATSAPP, number)
    assert "Telegram" in told.text and "WhatsApp" in told.text
    assert await for_secretary(redis, names) == [], "a command is not the secretary's"
    same = await intake.user_of(whatsapp(number, "x"))
    assert same.id == person.id


async def test_link_in_whatsapp_gives_a_code_to_send_from_elsewhere(
    intake: Intake, redis: aioredis.Redis, names: Names, rest: RestClient
) -> None:
    number = a_number()
    await intake.receive(whatsapp(number, "link my accounts"))
    (told,) = await answers(redis, names)
    code = re.search(r"`([A-Z0-9]{4}-[A-Z0-9]{4})`", told.text)
    assert code is not None, told.text
    joined = await rest.link_identity(code.group(1), Channel.SLACK, "T1:U" + uuid.uuid4().hex[:8])
    assert {i.channel for i in joined.identities} == {Channel.WHATSAPP, Channel.SLACK}


async def test_unlink_and_a_wrong_code_are_answered_in_the_channel(
    intake: Intake, redis: aioredis.Redis, names: Names
) -> None:
    number = a_number()
    await intake.receive(whatsapp(number, "/unlink"))
    await intake.receive(whatsapp(number, "/link ZZZZ-ZZZZ"))
    await intake.receive(whatsapp(number, "/link hello"))
    alone, unknown, bad = (a.text for a in await answers(redis, names))
    assert alone == "This WhatsApp account is not linked to any other."
    assert "unknown, used or expired" in unknown
    assert "doesn't look like a code" in bad


async def test_in_a_group_link_is_a_message_like_any_other(
    intake: Intake, redis: aioredis.Redis, names: Names
) -> None:
    group = whatsapp(a_number(), "/link", group=True, chat_id="C024BE91L", channel=Channel.SLACK)
    assert await intake.receive(group) == Received.QUEUED
    (message,) = await for_secretary(redis, names)
    assert message.is_group and message.chat_id < 0


async def test_a_blocked_person_is_not_queued(
    intake: Intake, redis: aioredis.Redis, names: Names, rest: RestClient
) -> None:
    number = a_number()
    user = await intake.user_of(whatsapp(number, "x"))
    await rest.update_user(user.id, blocked=True)
    assert await intake.receive(whatsapp(number, "hello?")) == Received.BLOCKED
    assert await for_secretary(redis, names) == []


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.text(max_size=300),
    name=st.none() | st.text(max_size=300),
    username=st.none() | st.text(max_size=40),
)
async def test_whatever_a_person_writes_and_is_called_is_queued_as_written(
    intake: Intake,
    redis: aioredis.Redis,
    names: Names,
    text: str,
    name: str | None,
    username: str | None,
) -> None:
    """NUL, lone surrogates, a 300-character name: queued all the same, never a 422 that the
    platform would redeliver for ever."""
    inbound = whatsapp(a_number(), text, first_name=name, username=username)
    assert await intake.receive(inbound) in {Received.QUEUED, Received.ANSWERED}


@pytest.mark.parametrize(
    "sender", ["", "   ", "x" * 256, "no-at-sign"], ids=["empty", "blank", "long", "no_at"]
)
async def test_a_sender_that_cannot_be_one_queues_nothing(
    intake: Intake, redis: aioredis.Redis, names: Names, sender: str
) -> None:
    inbound = whatsapp(sender, "hello", channel=Channel.EMAIL)
    assert await intake.receive(inbound) == Received.UNREADABLE
    assert await for_secretary(redis, names) == []


async def test_a_flood_is_refused_told_once_and_counted_per_person(
    rest: RestClient, redis: aioredis.Redis, names: Names
) -> None:
    intake = Intake(rest, redis, names, per_minute=2)
    number = a_number()
    outcomes = [await intake.receive(whatsapp(number, f"message {i}")) for i in range(4)]
    assert outcomes == [Received.QUEUED, Received.QUEUED, Received.LIMITED, Received.LIMITED]
    (told,) = await answers(redis, names)
    assert told.text.startswith("You're sending messages faster than I can read them")
    assert len(await for_secretary(redis, names)) == 2
    other = await intake.receive(whatsapp(a_number(), "someone else"))
    assert other == Received.QUEUED


async def test_yes_runs_a_held_call_no_drops_it_and_anothers_button_is_refused(
    intake: Intake, redis: aioredis.Redis, names: Names
) -> None:
    number = a_number()
    user = await intake.user_of(whatsapp(number, "x"))
    confirmations = Confirmations(redis, names)

    async def held() -> str:
        call = HeldCall(str(user.id), 1, str(uuid.uuid4()), "time", {"action": "now"})
        return await confirmations.ask(call)

    def press_of(token: str, yes: bool) -> tuple[str, str]:
        (row,) = confirm_buttons(token, "en", deleting=False)
        button = row[0] if yes else row[1]
        return button.data or "", button.text

    yes_token, no_token = await held(), await held()
    pressed = whatsapp(number, "", message_id=f"press-{uuid.uuid4().hex}")
    assert await intake.press(pressed, *press_of(yes_token, yes=True)) == Received.QUEUED
    (run,) = await for_secretary(redis, names)
    assert (run.confirmed, run.text) == (yes_token, "")

    dropped = whatsapp(number, "", message_id=f"press-{uuid.uuid4().hex}")
    assert await intake.press(dropped, *press_of(no_token, yes=False)) == Received.ANSWERED
    assert await confirmations.peek(no_token) is None
    stranger = whatsapp(a_number(), "", message_id=f"press-{uuid.uuid4().hex}")
    assert await intake.press(stranger, *press_of(await held(), yes=False)) == Received.ANSWERED
    told = [a.text for a in await answers(redis, names)]
    assert told == [
        "✖ Not done: nothing was stored or removed.",
        "This button is for someone else.",
    ]
    assert await intake.press(dropped, *press_of(no_token, yes=False)) == Received.DUPLICATE


async def test_any_other_button_says_its_label_to_the_secretary(
    intake: Intake, redis: aioredis.Redis, names: Names
) -> None:
    pressed = whatsapp(a_number(), "", message_id=f"press-{uuid.uuid4().hex}")
    assert await intake.press(pressed, "not ours at all", "Show the blue teapot") == Received.QUEUED
    (message,) = await for_secretary(redis, names)
    assert message.text == "Show the blue teapot" and message.confirmed is None
