"""A message from any channel in: its sender as a person (one user across linked channels),
the link commands answered here, everything else queued for the secretary, once.

Every adapter turns its platform's delivery into an `Inbound` and hands it to
`Intake.receive`. The platform's own message id makes the queued message's id, and a mark kept
after queueing makes a second delivery of it (a retried webhook, a mail fetched again after a
restart) a `DUPLICATE` that queues nothing. A failure to reach rest_service or Redis raises,
so the adapter answers its platform with an error and the platform delivers again: nothing is
lost, and nothing is queued twice."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

import redis.asyncio as aioredis

from common.features.buttons import ButtonAction, decode, fired_choice
from common.features.confirmations import Confirmations, HeldCall, decline_fact
from common.features.language import choose_language
from common.features.limits import LIMIT_REFUSALS, MessageRateLimit
from common.features.linking import BRANDS, LinkCommand, normalise_external_id, parse_link_command
from common.features.texts import TEXTS
from common.infrastructure import tracing
from common.infrastructure.channels import (
    Channel,
    ChannelAddress,
    answer_stream,
    channel_chat_number,
)
from common.infrastructure.clock import utcnow
from common.infrastructure.errors import ConflictError, NotFoundError, ValidationFailedError
from common.infrastructure.logging import get_logger
from common.infrastructure.queue import StreamPublisher
from common.infrastructure.queue_messages import (
    Attachment,
    ChatType,
    IncomingMessage,
    OutgoingMessage,
    Source,
    answer_address,
    answer_message_id,
    channel_message_uuid,
)
from common.infrastructure.redis_keys import TO_SECRETARY, Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.text import clean_text, trim
from common.infrastructure.wire import CronJob, CronJobStatus, Identity, User

log = get_logger(__name__)

#: Buttons the intake acts on itself; any other says its label to the secretary.
_ACTED_HERE = frozenset(
    {
        ButtonAction.CONFIRM_YES,
        ButtonAction.CONFIRM_NO,
        ButtonAction.CANCEL_REMINDER,
        ButtonAction.DONE,
    }
)

#: How long a person's last channel is kept as where their alerts go.
HOME_TTL_SECONDS = 180 * 24 * 3600
#: The longest name a user row keeps.
NAME_MAX = 255
#: How long a platform's message id is remembered as queued: longer than any platform retries
#: (WhatsApp for up to 7 days, Slack for minutes, a mailbox until the mail is marked answered).
SEEN_TTL_SECONDS = 8 * 24 * 3600


class Received(StrEnum):
    """What became of an inbound message (for the adapter's answer, logs and tests)."""

    QUEUED = "queued"
    #: A link command, answered here.
    ANSWERED = "answered"
    DUPLICATE = "duplicate"
    #: rest_service says the sender is blocked: no answer, as in Telegram.
    BLOCKED = "blocked"
    #: Over the messages-a-minute limit: the first refused one is told so, once.
    LIMITED = "limited"
    #: The platform named no usable sender (an empty id, an address without `@`): nobody to
    #: answer, so nothing is queued (and a redelivery would not change that).
    UNREADABLE = "unreadable"


@dataclass(frozen=True)
class Inbound:
    """One message of a channel, in the channel's own terms."""

    channel: Channel
    #: The account that received it (a phone number id, a Slack team, the mailbox, `web`).
    account: str
    #: The platform's id of this message: the same delivery twice is one message.
    message_id: str
    #: The conversation (`channel_chat_id`) and the sender (`channel_user_id`).
    chat_id: str
    sender_id: str
    text: str
    group: bool = False
    thread_id: str | None = None
    first_name: str | None = None
    username: str | None = None
    language: str | None = None
    sent_at: datetime | None = None
    attachments: list[Attachment] = field(default_factory=list)
    #: A held tool call's token when the message is a tap on its Yes.
    confirmed: str | None = None
    #: The assistant (by name) that answers instead of the secretary: only a channel that
    #: checked the sender may use it sets it (the public API, from its client's list).
    assistant: str | None = None
    #: When it reached us (the webhook, the mail read, the API call): its answer carries it.
    received_at: datetime = field(default_factory=utcnow)


class Intake:
    def __init__(
        self, rest: RestClient, redis: aioredis.Redis, names: Names, per_minute: int = 0
    ) -> None:
        self.rest = rest
        self.redis = redis
        self.names = names
        self.publisher = StreamPublisher(redis, names)
        self.limit = MessageRateLimit(redis, names, per_minute)

    async def receive(self, inbound: Inbound) -> Received:
        """Queues the message for the secretary (or answers a link command), once; the first
        span of its trace (decision 0069), or a child of the webhook request's."""
        channel = inbound.channel.value
        with tracing.span(f"{channel} message", kind="consumer", attributes={"channel": channel}):
            return await self._receive(inbound)

    async def _receive(self, inbound: Inbound) -> Received:
        message_id = channel_message_uuid(inbound.channel, inbound.account, inbound.message_id)
        seen = self.names.channel_message_seen(str(message_id))
        if await self.redis.exists(seen):
            log.info("channel_message_duplicate", channel=inbound.channel.value)
            return Received.DUPLICATE
        try:
            inbound = readable(inbound)
        except ValueError as exc:
            log.warning("sender_unreadable", channel=inbound.channel.value, error=str(exc))
            return Received.UNREADABLE
        user = await self.user_of(inbound)
        if user.blocked:
            log.info("sender_blocked", channel=inbound.channel.value)
            return Received.BLOCKED
        message = self.message(inbound, message_id, user)
        command = None if inbound.group else parse_link_command(inbound.text)
        admission = await self.limit.admit(str(user.id), str(message_id))
        if not admission.admitted:
            await self._limited(message, user, admission.wait_seconds, told=admission.notify)
            await self.redis.set(seen, "1", ex=SEEN_TTL_SECONDS)
            return Received.LIMITED
        if command is not None:
            await self._answer(reply(message, await self._link(message, command, user)))
            outcome = Received.ANSWERED
        else:
            await self.publisher.publish(TO_SECRETARY, message)
            outcome = Received.QUEUED
        # After the queueing: a crash between the two delivers again, and the queue's own
        # marks (`done:`, answered) keep the second copy from a second answer. In the same
        # round trip, where this person last wrote from (`Names.channel_home`): a calendar
        # alert, which answers no message, goes there when they have no Telegram.
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(seen, "1", ex=SEEN_TTL_SECONDS)
            if not inbound.group:
                home = ChannelAddress(inbound.channel, inbound.chat_id)
                pipe.set(self.names.channel_home(str(user.id)), home.to_json(), ex=HOME_TTL_SECONDS)
            await pipe.execute()
        log.info("channel_message_received", channel=inbound.channel.value, outcome=outcome.value)
        return outcome

    async def press(self, inbound: Inbound, data: str, label: str) -> Received:
        """A button under an answer (`inbound.message_id` is the press's own id): a Yes
        under a held tool call runs that call, a No drops the question, a reminder's Cancel
        cancels it, its Done ends it (an urgent one's repeats stop) — each only for the
        person the button was for; any other button says its label to the secretary, as if
        typed."""
        pressed = decode(data)
        if pressed is None or pressed.action not in _ACTED_HERE:
            return await self.receive(replace(inbound, text=label))
        if pressed.action == ButtonAction.CONFIRM_YES:
            # A held tool call runs as asked (the assistant checks it is the presser's); a
            # calendar delete's Yes is tg_bot's own, so here it is said in words.
            pending = await Confirmations(self.redis, self.names).peek(pressed.target)
            if isinstance(pending, HeldCall):
                return await self.receive(replace(inbound, text="", confirmed=pressed.target))
            return await self.receive(replace(inbound, text=label))
        message_id = channel_message_uuid(inbound.channel, inbound.account, inbound.message_id)
        seen = self.names.channel_message_seen(str(message_id))
        if await self.redis.exists(seen):
            return Received.DUPLICATE
        try:
            inbound = readable(replace(inbound, text=label))
        except ValueError:
            return Received.UNREADABLE
        user = await self.user_of(inbound)
        message = self.message(inbound, message_id, user)
        if pressed.action == ButtonAction.CONFIRM_NO:
            key = await self._drop(pressed.target, user)
        elif pressed.action == ButtonAction.DONE:
            key = await self._done(pressed.target, pressed.option, user)
        else:
            key = await self._cancel(pressed.target, user)
        await self._answer(reply(message, TEXTS.text(language_of(message, user), key)))
        await self.redis.set(seen, "1", ex=SEEN_TTL_SECONDS)
        return Received.ANSWERED

    async def _limited(
        self, message: IncomingMessage, user: User, wait_seconds: int, *, told: bool
    ) -> None:
        """A flood costs one Redis call a message, never a model's: the first refused message
        is answered, the rest are dropped until the window frees a place."""
        LIMIT_REFUSALS.labels("messages_per_minute").inc()
        log.info("message_rate_limited", channel=message.channel.value, told=told)
        if not told:
            return
        text = TEXTS.text(language_of(message, user), "limit.flood", seconds=wait_seconds)
        await self._answer(reply(message, text))

    async def _drop(self, token: str, user: User) -> str:
        """No under a question: the held call (or delete) is dropped, if it is the user's (a
        proposed fact is not proposed again soon)."""
        confirmations = Confirmations(self.redis, self.names)
        pending = await confirmations.peek(token)
        if pending is None:
            return "confirm.expired"
        if pending.user_id != str(user.id):
            return "button.not_yours"
        await decline_fact(self.redis, self.names, await confirmations.take(token))
        return "confirm.dropped"

    async def _cancel(self, job_id: str, user: User) -> str:
        """A reminder's (or briefing's) Cancel, if it is the user's."""
        job = await self._own_job(job_id, user)
        if isinstance(job, str):
            return job
        if job.status not in (CronJobStatus.active, CronJobStatus.paused):
            return "reminders.gone_notice"
        await self.rest.update_cron_job(job.id, status=CronJobStatus.cancelled)
        return "reminders.cancelled_notice"

    async def _own_job(self, job_id: str, user: User) -> CronJob | str:
        """The job a button acts on, or what to answer when it is gone or someone else's."""
        try:
            job = await self.rest.get_cron_job(uuid.UUID(job_id))
        except (ValueError, NotFoundError, ValidationFailedError):
            return "reminders.gone_notice"
        if job.user_id != user.id:
            return "button.not_yours"
        return job

    async def _done(self, job_id: str, option: str, user: User) -> str:
        """A fired reminder's Done, if it is the user's: an urgent one stops repeating."""
        job = await self._own_job(job_id, user)
        if isinstance(job, str):
            return job
        _, occurrence = fired_choice(option)
        await self.rest.mark_cron_job_done(job.id, occurrence)
        return (
            "reminders.repeats_stopped_notice"
            if job.urgent and occurrence
            else "reminders.done_notice"
        )

    async def user_of(self, inbound: Inbound) -> User:
        """The sender's user, made on their first message (a linked sender's is the person's)."""
        user, _made = await self.rest.get_or_create_user_by_identity(
            inbound.channel,
            inbound.sender_id,
            username=inbound.username,
            first_name=inbound.first_name,
            language=inbound.language,
        )
        return user

    @staticmethod
    def message(inbound: Inbound, message_id: uuid.UUID, user: User) -> IncomingMessage:
        return IncomingMessage(
            message_id=message_id,
            source=Source(inbound.channel.value),
            reply_stream=answer_stream(inbound.channel),
            chat_id=channel_chat_number(inbound.channel, inbound.chat_id, group=inbound.group),
            chat_type=ChatType.GROUP if inbound.group else ChatType.PRIVATE,
            user_id=user.id,
            username=inbound.username,
            first_name=inbound.first_name,
            language_code=inbound.language or user.language,
            text=inbound.text,
            sent_at=inbound.sent_at or utcnow(),
            attachments=inbound.attachments,
            confirmed=inbound.confirmed,
            assistant=inbound.assistant,
            channel=inbound.channel,
            channel_chat_id=inbound.chat_id,
            channel_thread_id=inbound.thread_id,
            channel_user_id=inbound.sender_id,
            channel_message_id=inbound.message_id,
            received_at=inbound.received_at,
        )

    async def _link(self, message: IncomingMessage, command: LinkCommand, user: User) -> str:
        """What `/link`, `/link CODE` or `/unlink` answers in the sender's channel."""
        language = language_of(message, user)
        channel = message.channel
        name = channel_name(language, channel)
        sender = message.channel_user_id or ""  # in its stored form already (`readable`)
        if command.action == "issue":
            issued = await self.rest.issue_link_code(user.id)
            minutes = max(1, issued.ttl_seconds // 60)
            text = TEXTS.text(language, "link.code_from", code=issued.code, minutes=minutes)
        elif command.action == "join" and command.code is None:
            text = TEXTS.text(language, "link.bad_code")
        elif command.action == "join":
            try:
                linked = await self.rest.link_identity(command.code or "", channel, sender)
            except NotFoundError:
                text = TEXTS.text(language, "link.unknown_code")
            except ConflictError:  # the one conflict a link meets: a second Telegram account
                telegram = channel_name(language, Channel.TELEGRAM)
                text = TEXTS.text(language, "link.second_account", channel=telegram)
            else:
                channels = channel_names(language, linked.identities)
                text = TEXTS.text(language, "link.done", channels=channels)
        else:
            others = [i for i in await self.rest.list_identities(user.id) if i.channel != channel]
            try:
                await self.rest.unlink_identity(user.id, channel, sender)
            except (ConflictError, NotFoundError):
                text = TEXTS.text(language, "unlink.alone_in", channel=name)
            else:
                channels = channel_names(language, others)
                text = TEXTS.text(language, "unlink.done_in", channel=name, channels=channels)
        return text

    async def _answer(self, answer: OutgoingMessage) -> None:
        """An answer of the intake's own, on its channel's stream."""
        await self.publisher.publish(answer_stream(answer.channel), answer)


def reply(message: IncomingMessage, text: str) -> OutgoingMessage:
    """The intake's answer to `message`, in its conversation (its id derived: once)."""
    return OutgoingMessage(
        message_id=answer_message_id(message.message_id),
        chat_id=message.chat_id,
        text=text,
        correlation_id=str(message.message_id),
        **answer_address(message),
        received_at=message.received_at,
    )


def language_of(message: IncomingMessage, user: User) -> str:
    return choose_language(stored=user.language, app=message.language_code) or "en"


def readable(inbound: Inbound) -> Inbound:
    """`inbound` as every store takes it: the sender id in its stored form (ValueError when
    it cannot be one), names and text without NUL or lone surrogates, names within the
    user row's 255 characters (empty: none)."""
    return replace(
        inbound,
        sender_id=normalise_external_id(inbound.channel, inbound.sender_id),
        text=clean_text(inbound.text),
        first_name=_name(inbound.first_name),
        username=_name(inbound.username),
    )


def _name(value: str | None) -> str | None:
    return trim(clean_text(value).strip(), NAME_MAX) or None if value else None


def channel_name(language: str, channel: Channel) -> str:
    return BRANDS.get(channel) or TEXTS.text(language, f"channel.{channel.value}")


def channel_names(language: str, identities: list[Identity]) -> str:
    """The channels, each once, in the order listed, as the user's language names them."""
    seen = dict.fromkeys(i.channel for i in identities)
    return ", ".join(channel_name(language, c) for c in seen)
