"""Handoffs: a conversation handed to the operators (decision 0052). `request_handoff` is the
one place a conversation goes to people, `reply` and `hand_back` the places people act on
it, `expire_due` the one place a wait runs out. What the customer and the operator chat get
is queued after the commit (`queue:to_telegram` for the operator chat, the customer's own
reply stream for them), with ids derived from the handoff so a retry sends nothing twice;
`Names.handoff_open` tells the assistant to stay silent while the conversation is open."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypedDict

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from common.features.buttons import hand_back_button
from common.features.texts import TEXTS
from common.infrastructure.channels import Channel
from common.infrastructure.clock import utcnow
from common.infrastructure.errors import DependencyUnavailableError, conflict, invalid, not_found
from common.infrastructure.logging import get_logger
from common.infrastructure.queue_messages import (
    OutgoingKind,
    OutgoingMessage,
    handoff_message_id,
)
from common.infrastructure.redis_keys import TO_TELEGRAM
from common.infrastructure.text import escape_markdown
from common.infrastructure.wire import BotChannel, MessageRole
from rest_service.app.domain.common import constraint_name, get_or_404, paged
from rest_service.app.domain.events import emit_event
from rest_service.app.domain.leads import record_interest
from rest_service.app.domain.paging import Page
from rest_service.app.domain.unit_of_work import CommitThenRaise, UnitOfWork
from rest_service.app.models.bot import Bot
from rest_service.app.models.handoffs import (
    OPEN_STATUSES,
    Handoff,
    HandoffCreate,
    HandoffPublic,
    HandoffReplyIn,
    HandoffStatus,
)
from rest_service.app.models.leads import InterestIn
from rest_service.app.models.thread import ChatMessage
from rest_service.app.models.user import User
from rest_service.app.models.webhook import WebhookEvent

log = get_logger(__name__)

KIND = "handoff"
#: The conversation's last messages the operator chat is shown, each cut to this length.
RECENT_MESSAGES = 6
RECENT_CHARS = 300
#: Handoffs one sweep expires at a time.
SWEEP_BATCH = 20
_MISSING = {
    "fk_handoffs_user_id_users": ("user_id", "no such user"),
    "fk_handoffs_assistant_id_assistants": ("assistant_id", "no such assistant"),
    "fk_handoffs_bot_id_bots": ("bot_id", "no such bot"),
}
OPEN_WHERE = text("status IN ('waiting', 'active')")
NO_OPERATORS = "no operator chat is set for this bot: no one is available"


@dataclass(frozen=True)
class HandoffFilter:
    status: HandoffStatus | None = None
    bot_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    conversation_key: str | None = None


def public(handoff: Handoff) -> HandoffPublic:
    return HandoffPublic.model_validate(handoff.model_dump())


async def request_handoff(ctx: UnitOfWork, data: HandoffCreate) -> HandoffPublic:
    """The conversation goes to the bot's operator chat; 422 on `bot_id` when it has none, 409
    when the conversation is with the operators already."""
    operator_chat, minutes = await _operators_of(ctx, data.bot_id)
    now = utcnow()
    stmt = (
        insert(Handoff)
        .values(
            id=uuid.uuid4(),
            **data.model_dump(),
            operator_chat_id=operator_chat,
            status=HandoffStatus.waiting.value,
            requested_at=now,
            expires_at=now + timedelta(minutes=minutes),
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(
            index_elements=["conversation_key"],
            # literal, as the index says it: with bound values a generic plan (the sixth run
            # of the prepared statement on a connection) cannot match the partial index
            index_where=OPEN_WHERE,
        )
        .returning(col(Handoff.id))
    )
    try:
        made = await ctx.session.scalar(stmt)
    except IntegrityError as exc:
        field, reason = _MISSING.get(constraint_name(exc) or "", ("user_id", "no such user"))
        raise invalid(field, reason) from exc
    if made is None:
        already = await open_handoff(ctx, data.conversation_key)
        if already is not None:  # announced again: a request that failed after its commit
            await _announce(ctx, already)
        raise CommitThenRaise(conflict("this conversation is with the operators already"))
    handoff = await get_handoff(ctx, made)
    shown = public(handoff)
    customer = await _customer_name(ctx, handoff.user_id)
    await emit_event(
        ctx,
        WebhookEvent.handoff_requested,
        {**shown.model_dump(mode="json"), "customer": customer},
        event_id=handoff.id,
    )
    await _announce(ctx, handoff)
    return shown


async def _announce(ctx: UnitOfWork, handoff: Handoff) -> None:
    """After the commit: the assistant's marker (the bot falls silent) and the operator
    chat's message (once: its id is the handoff's)."""
    announcement = await _announcement(ctx, handoff, await _customer_name(ctx, handoff.user_id))
    marker = {
        "id": str(handoff.id),
        "operator_chat_id": handoff.operator_chat_id,
        "bot_id": announcement.bot_id and str(announcement.bot_id),
    }

    async def announce(ctx: UnitOfWork) -> None:
        await _must(ctx.cache.set_value(_marker(ctx, handoff), json.dumps(marker)))
        await _must(ctx.cache.queue(TO_TELEGRAM, announcement.to_json()))

    ctx.after_commit(f"handoff:{handoff.id}", announce)


async def reply(ctx: UnitOfWork, handoff_id: uuid.UUID, data: HandoffReplyIn) -> HandoffPublic:
    """An operator's words go to the customer; the first one makes the handoff active (its
    wait ends). 409 when it is closed."""
    handoff = await _open(ctx, handoff_id)
    if handoff.answered_at is None:
        handoff.answered_at = utcnow()
    handoff.status = HandoffStatus.active
    await ctx.session.flush()
    message = OutgoingMessage(
        message_id=handoff_message_id(handoff.id, f"reply:{data.key or uuid.uuid4()}"),
        chat_id=handoff.chat_id,
        **customer_address(handoff),
        text=escape_markdown(data.text),
        correlation_id=str(handoff.id),
        bot_id=handoff.bot_id,
    )

    async def send(ctx: UnitOfWork) -> None:
        await _must(ctx.cache.queue(handoff.reply_stream, message.to_json()))

    ctx.after_commit(f"handoff:{handoff.id}", send)
    log.info("handoff_reply", handoff_id=str(handoff.id), author=data.author or ctx.actor)
    return public(handoff)


async def hand_back(ctx: UnitOfWork, handoff_id: uuid.UUID, by: str | None) -> HandoffPublic:
    """The bot answers the conversation again; the customer is told. 409 when it is closed."""
    handoff = await _open(ctx, handoff_id)
    handoff.status = HandoffStatus.returned
    handoff.returned_at = utcnow()
    handoff.returned_by = by or ctx.actor
    await ctx.session.flush()
    notice = _to_customer(handoff, "returned", TEXTS.text(handoff.language, "handoff.returned"))

    async def close(ctx: UnitOfWork) -> None:
        await _must(ctx.cache.delete_key(_marker(ctx, handoff)))
        await ctx.cache.queue(handoff.reply_stream, notice.to_json())

    ctx.after_commit(f"handoff:{handoff.id}", close)
    return public(handoff)


async def expire_due(ctx: UnitOfWork, now: datetime) -> int:
    """Handoffs still waiting at `now` past their minutes expire: the customer is told no one
    is free, a lead is recorded for them, the operator chat hears it and the bot resumes.
    Rows another replica holds are skipped (SKIP LOCKED); the count expired."""
    due = (
        select(Handoff)
        .where(col(Handoff.status) == HandoffStatus.waiting, col(Handoff.expires_at) <= now)
        .order_by(col(Handoff.expires_at))
        .limit(SWEEP_BATCH)
        .with_for_update(skip_locked=True)
    )
    found = list((await ctx.session.scalars(due)).all())
    for handoff in found:
        await _expire(ctx, handoff, now)
    return len(found)


async def _expire(ctx: UnitOfWork, handoff: Handoff, now: datetime) -> None:
    handoff.status = HandoffStatus.expired
    handoff.returned_at = now
    await ctx.session.flush()
    note = "Asked for a person; no operator answered in time."
    interest = InterestIn(
        user_id=handoff.user_id,
        assistant_id=handoff.assistant_id,
        conversation_key=handoff.conversation_key,
        note=f"{note} {handoff.summary}".strip()[:1000],
        channel=handoff.channel,
        bot=str(handoff.bot_id) if handoff.bot_id else None,
    )
    await record_interest(ctx, interest)
    customer = await _customer_name(ctx, handoff.user_id)
    told = _to_customer(handoff, "expired", TEXTS.text(handoff.language, "handoff.no_answer"))
    operators = OutgoingMessage(
        message_id=handoff_message_id(handoff.id, "expired:operators"),
        chat_id=handoff.operator_chat_id,
        text=TEXTS.text(handoff.language, "handoff.expired", customer=escape_markdown(customer)),
        kind=OutgoingKind.NOTIFICATION,
        correlation_id=str(handoff.id),
        bot_id=await _operator_bot(ctx, handoff),
        reply_to_telegram_message_id=handoff.operator_message_id,
    )

    async def close(ctx: UnitOfWork) -> None:
        await ctx.cache.delete_key(_marker(ctx, handoff))
        await ctx.cache.queue(handoff.reply_stream, told.to_json())
        await ctx.cache.queue(TO_TELEGRAM, operators.to_json())

    ctx.after_commit(f"handoff:{handoff.id}", close)
    log.info("handoff_expired", handoff_id=str(handoff.id))


async def get_handoff(ctx: UnitOfWork, handoff_id: uuid.UUID) -> Handoff:
    return await get_or_404(ctx.session, Handoff, handoff_id, KIND)


async def open_handoff(ctx: UnitOfWork, conversation_key: str) -> Handoff | None:
    """The conversation's open handoff (waiting or active), if any."""
    stmt = select(Handoff).where(
        col(Handoff.conversation_key) == conversation_key, col(Handoff.status).in_(OPEN_STATUSES)
    )
    return await ctx.session.scalar(stmt)


async def list_handoffs(
    ctx: UnitOfWork, page: Page, where: HandoffFilter
) -> tuple[list[HandoffPublic], int]:
    """Newest first."""
    stmt = select(Handoff)
    if where.status is not None:
        stmt = stmt.where(col(Handoff.status) == where.status)
    if where.bot_id is not None:
        stmt = stmt.where(col(Handoff.bot_id) == where.bot_id)
    if where.user_id is not None:
        stmt = stmt.where(col(Handoff.user_id) == where.user_id)
    if where.conversation_key is not None:
        stmt = stmt.where(col(Handoff.conversation_key) == where.conversation_key)
    stmt = stmt.order_by(col(Handoff.requested_at).desc(), col(Handoff.id))
    rows, total = await paged(ctx.session, stmt, page)
    return [public(r) for r in rows], total


async def _open(ctx: UnitOfWork, handoff_id: uuid.UUID) -> Handoff:
    """The handoff, locked; 409 unless it is waiting or active."""
    stmt = (
        select(Handoff)
        .where(col(Handoff.id) == handoff_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    handoff = await ctx.session.scalar(stmt)
    if handoff is None:
        raise not_found(KIND, handoff_id)
    if handoff.status not in OPEN_STATUSES:
        raise conflict(f"this handoff is {handoff.status.value}: the bot has the conversation")
    return handoff


async def _operators_of(ctx: UnitOfWork, bot_id: uuid.UUID | None) -> tuple[int, int]:
    """The operator chat and minutes to wait: the bot's, or the settings' for the default."""
    if bot_id is None:
        chat, minutes = ctx.settings.operator_chat_id, ctx.settings.operator_wait_minutes
    else:
        bot = await ctx.session.get(Bot, bot_id)
        if bot is None:
            raise invalid("bot_id", "no such bot")
        chat, minutes = bot.operator_chat_id or 0, bot.operator_wait_minutes
    if not chat:
        raise invalid("bot_id", NO_OPERATORS)
    return chat, minutes


async def _operator_bot(ctx: UnitOfWork, handoff: Handoff) -> uuid.UUID | None:
    """The bot that writes in the operator chat: the customer's own when it is a Telegram
    bot, else the default bot."""
    if handoff.bot_id is None:
        return None
    bot = await ctx.session.get(Bot, handoff.bot_id)
    return bot.id if bot is not None and bot.channel == BotChannel.telegram else None


async def _customer_name(ctx: UnitOfWork, user_id: uuid.UUID) -> str:
    user = await ctx.session.get(User, user_id)
    if user is None:
        return "customer"
    return user.first_name or (f"@{user.username}" if user.username else "customer")


async def _announcement(ctx: UnitOfWork, handoff: Handoff, customer: str) -> OutgoingMessage:
    """The operator chat's message: who asks, the summary, the last messages, how to answer,
    and the button that hands the conversation back."""
    language = handoff.language
    lines = [TEXTS.text(language, "handoff.requested", customer=escape_markdown(customer))]
    if handoff.summary:
        summary = escape_markdown(handoff.summary)
        lines.append(TEXTS.text(language, "handoff.summary", summary=summary))
    recent = await _recent(ctx, handoff.conversation_key)
    if recent:
        lines += ["", TEXTS.text(language, "handoff.recent"), *recent]
    lines += ["", TEXTS.text(language, "handoff.how")]
    return OutgoingMessage(
        message_id=handoff_message_id(handoff.id, "requested"),
        chat_id=handoff.operator_chat_id,
        text="\n".join(lines),
        kind=OutgoingKind.NOTIFICATION,
        correlation_id=str(handoff.id),
        bot_id=await _operator_bot(ctx, handoff),
        buttons=[[hand_back_button(handoff.id, language)]],
        handoff_id=handoff.id,
    )


async def _recent(ctx: UnitOfWork, conversation_key: str) -> list[str]:
    """The conversation's last words (the customer's and the assistant's), oldest first."""
    stmt = (
        select(col(ChatMessage.role), col(ChatMessage.author), col(ChatMessage.content))
        .where(
            col(ChatMessage.conversation_key) == conversation_key,
            col(ChatMessage.role).in_([MessageRole.user, MessageRole.assistant]),
            col(ChatMessage.content).is_not(None),
            func.length(col(ChatMessage.content)) > 0,
        )
        .order_by(col(ChatMessage.id).desc())
        .limit(RECENT_MESSAGES)
    )
    rows = (await ctx.session.execute(stmt)).all()
    lines = []
    for role, author, content in reversed(rows):
        who = "🤖" if role == MessageRole.assistant else f"👤{f' {author}' if author else ''}"
        said = " ".join(str(content).split())
        cut = said if len(said) <= RECENT_CHARS else said[: RECENT_CHARS - 1] + "…"
        lines.append(f"{who}: {escape_markdown(cut)}")
    return lines


def _to_customer(handoff: Handoff, what: str, text: str) -> OutgoingMessage:
    return OutgoingMessage(
        message_id=handoff_message_id(handoff.id, what),
        chat_id=handoff.chat_id,
        **customer_address(handoff),
        text=text,
        kind=OutgoingKind.NOTIFICATION,
        correlation_id=str(handoff.id),
        bot_id=handoff.bot_id,
    )


class CustomerAddress(TypedDict):
    channel: Channel
    channel_chat_id: str | None


def customer_address(handoff: Handoff) -> CustomerAddress:
    """The customer's channel and conversation there: what the operators say goes back to
    the channel the customer wrote in (`channel` also names `cli` for `./manage.py chat`,
    whose answers are Telegram-shaped)."""
    known = handoff.channel in Channel.__members__.values()
    channel = Channel(handoff.channel) if known else Channel.TELEGRAM
    if channel is not Channel.TELEGRAM and handoff.channel_chat_id is None:
        channel = Channel.TELEGRAM
    return CustomerAddress(channel=channel, channel_chat_id=handoff.channel_chat_id)


def _marker(ctx: UnitOfWork, handoff: Handoff) -> str:
    return ctx.cache.names.handoff_open(handoff.conversation_key)


async def _must(done: Awaitable[bool]) -> None:
    """A Redis write the request's outcome depends on: refused with a 503 when Redis is down
    (the change is committed; trying again is safe: a second request re-announces an open
    handoff, and its messages have derived ids)."""
    if not await done:
        raise DependencyUnavailableError("redis unavailable: try again")
