"""Buttons and link commands at the intake (`channels/src/intake.py`), against a real
rest_service and Redis: a Yes with no held call behind it is said in words; No on an expired
question and Cancel on a reminder that is gone, not the presser's or already cancelled are
each answered with why nothing happened; a press from a sender that cannot be one queues
nothing; `/unlink` of a linked account names the accounts that stay; a link that would give
a person a second Telegram account says so (Telegram, not the channel it was sent from); Done
under a fired reminder ends it, and stops an urgent one's repeats, saying so; No under a
proposed fact keeps it from being proposed again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from channels.src.intake import Inbound, Intake, Received
from common.features.buttons import (
    ButtonAction,
    ButtonData,
    cancel_reminder_button,
    fired_reminder_buttons,
)
from common.features.confirmations import Confirmations, HeldCall, fact_declined
from common.infrastructure.channels import Channel
from common.infrastructure.queue_messages import IncomingMessage, OutgoingMessage
from common.infrastructure.redis_keys import TO_CHANNELS, TO_SECRETARY, Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import CronJobStatus, User
from tests.streams import stream_entries


@pytest.fixture
def names() -> Names:
    return Names(f"intake-buttons-{uuid.uuid4().hex[:8]}:")


@pytest.fixture
def intake(rest: RestClient, redis: aioredis.Redis, names: Names) -> Intake:
    return Intake(rest, redis, names)


def a_number() -> str:
    return f"49{uuid.uuid4().int % 10**11:011d}"


def whatsapp(number: str, text: str = "", **fields: object) -> Inbound:
    defaults: dict[str, object] = {
        "channel": Channel.WHATSAPP,
        "account": "109876543210",
        "message_id": f"press-{uuid.uuid4().hex}",
        "chat_id": number,
        "sender_id": number,
        "text": text,
    }
    return Inbound(**{**defaults, **fields})  # type: ignore[arg-type]


async def _stream(redis: aioredis.Redis, names: Names, stream: str) -> list[bytes]:
    return [fields[b"data"] for _id, fields in await stream_entries(redis, names.stream(stream))]


async def told(redis: aioredis.Redis, names: Names) -> list[str]:
    entries = await _stream(redis, names, TO_CHANNELS)
    return [OutgoingMessage.model_validate_json(d).text for d in entries]


async def for_secretary(redis: aioredis.Redis, names: Names) -> list[IncomingMessage]:
    entries = await _stream(redis, names, TO_SECRETARY)
    return [IncomingMessage.model_validate_json(d) for d in entries]


async def a_reminder(rest: RestClient, user: User) -> uuid.UUID:
    job = await rest.create_cron_job(
        name="water the plants", chat_id=1, user_id=user.id, text="water the plants",
        run_at=datetime.now(UTC) + timedelta(days=1),
    )  # fmt: skip
    return job.id


def cancel(job_id: uuid.UUID | str) -> tuple[str, str]:
    button = cancel_reminder_button(job_id, "en")
    return button.data or "", button.text


async def test_a_yes_with_no_held_call_behind_it_is_said_in_words(
    intake: Intake, redis: aioredis.Redis, names: Names
) -> None:
    """A calendar delete's Yes (tg_bot's own) or a question already answered elsewhere."""
    yes = ButtonData(ButtonAction.CONFIRM_YES, uuid.uuid4().hex).encode()
    assert await intake.press(whatsapp(a_number()), yes, "Yes, delete it") == Received.QUEUED
    (message,) = await for_secretary(redis, names)
    assert (message.text, message.confirmed) == ("Yes, delete it", None)


async def test_no_under_an_expired_question_says_it_expired(
    intake: Intake, redis: aioredis.Redis, names: Names
) -> None:
    no = ButtonData(ButtonAction.CONFIRM_NO, uuid.uuid4().hex).encode()
    assert await intake.press(whatsapp(a_number()), no, "No") == Received.ANSWERED
    assert await told(redis, names) == [
        "This question has expired: nothing was done. Ask me again if you want it."
    ]


async def test_cancel_on_a_reminder_that_is_gone_or_was_cancelled_says_so(
    intake: Intake, redis: aioredis.Redis, names: Names, rest: RestClient
) -> None:
    number = a_number()
    job_id = await a_reminder(rest, await intake.user_of(whatsapp(number)))
    for target in (job_id, job_id, uuid.uuid4(), "not-a-job-id"):
        assert await intake.press(whatsapp(number), *cancel(target)) == Received.ANSWERED
    assert (await rest.get_cron_job(job_id)).status == CronJobStatus.cancelled
    gone = "This reminder was already cancelled."
    assert await told(redis, names) == ["Reminder cancelled.", gone, gone, gone]


async def test_cancel_on_someone_elses_reminder_is_refused_and_keeps_it(
    intake: Intake, redis: aioredis.Redis, names: Names, rest: RestClient
) -> None:
    job_id = await a_reminder(rest, await intake.user_of(whatsapp(a_number())))
    assert await intake.press(whatsapp(a_number()), *cancel(job_id)) == Received.ANSWERED
    assert await told(redis, names) == ["This button is for someone else."]
    assert (await rest.get_cron_job(job_id)).status == CronJobStatus.active


async def test_a_press_from_a_sender_that_cannot_be_one_does_nothing(
    intake: Intake, redis: aioredis.Redis, names: Names, rest: RestClient
) -> None:
    job_id = await a_reminder(rest, await intake.user_of(whatsapp(a_number())))
    nobody = whatsapp("no-at-sign", channel=Channel.EMAIL, chat_id="no-at-sign")
    assert await intake.press(nobody, *cancel(job_id)) == Received.UNREADABLE
    assert await told(redis, names) == []
    assert (await rest.get_cron_job(job_id)).status == CronJobStatus.active


async def linked_to_telegram(intake: Intake, rest: RestClient, number: str) -> User:
    """A Telegram person who linked the WhatsApp `number` (the code sent from WhatsApp)."""
    person, _ = await rest.get_or_create_user(uuid.uuid4().int % 10**12, first_name="Tom")
    code = (await rest.issue_link_code(person.id)).code
    assert await intake.receive(whatsapp(number, f"/link {code}")) == Received.ANSWERED
    return person


async def test_unlink_of_a_linked_account_names_the_accounts_that_stay(
    intake: Intake, redis: aioredis.Redis, names: Names, rest: RestClient
) -> None:
    number = a_number()
    person = await linked_to_telegram(intake, rest, number)
    assert await intake.receive(whatsapp(number, "/unlink")) == Received.ANSWERED
    assert (await told(redis, names))[-1] == (
        "This WhatsApp account stands on its own again. Your other accounts (Telegram) keep "
        "what you had."
    )
    assert [i.channel for i in await rest.list_identities(person.id)] == [Channel.TELEGRAM]


async def test_a_link_that_would_give_a_person_two_telegram_accounts_names_telegram(
    intake: Intake, redis: aioredis.Redis, names: Names, rest: RestClient
) -> None:
    number = a_number()
    first = await linked_to_telegram(intake, rest, number)
    other, _ = await rest.get_or_create_user(uuid.uuid4().int % 10**12, first_name="Tim")
    code = (await rest.issue_link_code(other.id)).code
    assert await intake.receive(whatsapp(number, f"/link {code}")) == Received.ANSWERED
    assert (await told(redis, names))[-1] == (
        "That person has another Telegram account linked already. Unlink that one first "
        "(/unlink there)."
    )
    assert (await intake.user_of(whatsapp(number))).id == first.id


def done(job_id: uuid.UUID, occurrence: datetime | None = None) -> tuple[str, str]:
    [_, [button]] = fired_reminder_buttons(job_id, "en", occurrence)
    return button.data or "", button.text


async def test_done_ends_a_reminder_and_stops_an_urgent_ones_repeats(
    intake: Intake, redis: aioredis.Redis, names: Names, rest: RestClient
) -> None:
    number = a_number()
    user = await intake.user_of(whatsapp(number))
    calm = await a_reminder(rest, user)
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    urgent = await rest.create_cron_job(
        name="pills", chat_id=1, user_id=user.id, text="pills", run_at=due, urgent=True
    )
    assert await intake.press(whatsapp(number), *done(calm)) == Received.ANSWERED
    assert await intake.press(whatsapp(number), *done(urgent.id, due)) == Received.ANSWERED
    assert await intake.press(whatsapp(a_number()), *done(urgent.id, due)) == Received.ANSWERED
    assert await intake.press(whatsapp(number), *done(uuid.uuid4())) == Received.ANSWERED
    assert await told(redis, names) == [
        "Done.",
        "Done: no more repeats.",
        "This button is for someone else.",
        "This reminder was already cancelled.",
    ]
    assert (await rest.get_cron_job(calm)).status == CronJobStatus.done
    stopped = await rest.get_cron_job(urgent.id)
    assert (stopped.status, stopped.acknowledged_for) == (CronJobStatus.done, due)


async def test_no_under_a_proposed_fact_keeps_it_from_being_proposed_again(
    intake: Intake, redis: aioredis.Redis, names: Names
) -> None:
    """The proposal's No said by label (a mail, WhatsApp) counts as in Telegram."""
    inbound = whatsapp(a_number())
    user = await intake.user_of(inbound)
    arguments = {"action": "add", "fact": "I work at Acme"}
    proposal = HeldCall(
        str(user.id), 0, str(uuid.uuid4()), "remember", arguments, "m", "0", "remember add",
        fact="I work at Acme",
    )  # fmt: skip
    token = await Confirmations(redis, names).ask(proposal)
    no = ButtonData(ButtonAction.CONFIRM_NO, token).encode()
    assert await intake.press(inbound, no, "No") == Received.ANSWERED
    assert await told(redis, names) == ["✖ Not done: nothing was stored or removed."]
    assert await fact_declined(redis, names, str(user.id), "i work at acme")
    assert not await fact_declined(redis, names, str(uuid.uuid4()), "I work at Acme")
