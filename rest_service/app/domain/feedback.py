"""Feedback on answers: `record_feedback` is the one place a 👍 / 👎 (and a 👎's comment) is
stored, one per answer and user, and where its outgoing event is emitted; `analytics` reads
satisfaction (the share of 👍 among rated answers) by assistant, model and day (decision 0051).

The rated answer is found by its history key, never taken on the caller's word: a key that
names no stored assistant message is refused, and the conversation and model are the stored
message's own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from common.infrastructure.errors import invalid
from common.infrastructure.wire import MessageRole
from rest_service.app.domain.common import constraint_name, paged
from rest_service.app.domain.events import emit_event
from rest_service.app.domain.paging import Page
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.models.assistant import Assistant
from rest_service.app.models.feedback import (
    Dislike,
    Feedback,
    FeedbackAnalytics,
    FeedbackIn,
    FeedbackPublic,
    Satisfaction,
)
from rest_service.app.models.thread import ChatMessage
from rest_service.app.models.webhook import WebhookEvent

Ts = TypeVarTuple("Ts")
_EVENTS = uuid.UUID("7d0f5d8e-5d0b-4a53-9a39-3f3b8a4f1e51")
_MISSING = {
    "fk_feedback_user_id_users": ("user_id", "no such user"),
    "fk_feedback_assistant_id_assistants": ("assistant_id", "no such assistant"),
    "fk_feedback_bot_id_bots": ("bot_id", "no such bot"),
}
#: The label of answers whose model is not known (made before models were recorded).
UNKNOWN_MODEL = "unknown"
#: 👎s listed by the analytics, newest first.
DISLIKES_DEFAULT = 50


@dataclass(frozen=True)
class FeedbackFilter:
    """What a list or the analytics narrow to; `None` is "any". Dates bound `created_at`."""

    assistant_id: uuid.UUID | None = None
    model: str | None = None
    rating: int | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


def public(row: Feedback) -> FeedbackPublic:
    return FeedbackPublic.model_validate(row.model_dump())


async def record_feedback(ctx: UnitOfWork, data: FeedbackIn) -> tuple[FeedbackPublic, bool]:
    """The user's feedback on the answer, made now when `True` (`feedback.created`) or
    changed (`feedback.updated` when the rating or the comment changed)."""
    answer = await _answer(ctx, data.message_key)
    made = await _insert_if_none(ctx, data, answer)
    row = await _locked(ctx, data.message_key, data.user_id)
    assert row is not None  # made above, or there already
    if made is not None:
        shown = public(row)
        await emit_event(ctx, WebhookEvent.feedback_created, _event(shown), _event_id(shown))
        return shown, True
    if _change(row, data):
        await ctx.session.flush()
        await ctx.session.refresh(row)
        shown = public(row)
        await emit_event(ctx, WebhookEvent.feedback_updated, _event(shown))
        return shown, False
    return public(row), False


async def _answer(ctx: UnitOfWork, message_key: str) -> ChatMessage:
    found = await ctx.session.scalar(
        select(ChatMessage).where(col(ChatMessage.dedup_key) == message_key)
    )
    if found is None or found.role != MessageRole.assistant:
        raise invalid("message_key", "no stored answer has this key")
    return found


async def _insert_if_none(
    ctx: UnitOfWork, data: FeedbackIn, answer: ChatMessage
) -> uuid.UUID | None:
    """Two presses at once make one row: the unique index decides."""
    stmt = (
        insert(Feedback)
        .values(
            id=uuid.uuid4(),
            assistant_id=data.assistant_id,
            user_id=data.user_id,
            conversation_key=answer.conversation_key,
            message_key=data.message_key,
            chat_message_id=answer.id,
            rating=data.rating,
            comment=data.comment if data.rating < 0 else None,
            model=answer.model or data.model,
            prompt_hash=data.prompt_hash,
            bot_id=data.bot_id,
            created_at=func.now(),
            updated_at=func.now(),
        )
        .on_conflict_do_nothing(index_elements=["message_key", "user_id"])
        .returning(col(Feedback.id))
    )
    try:
        return await ctx.session.scalar(stmt)
    except IntegrityError as exc:
        field, reason = _MISSING.get(constraint_name(exc) or "", ("user_id", "no such user"))
        raise invalid(field, reason) from exc


async def _locked(ctx: UnitOfWork, message_key: str, user_id: uuid.UUID) -> Feedback | None:
    stmt = (
        select(Feedback)
        .where(col(Feedback.message_key) == message_key, col(Feedback.user_id) == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return await ctx.session.scalar(stmt)


def _change(row: Feedback, data: FeedbackIn) -> bool:
    """The rating as pressed now; the comment as written, kept when none is given, dropped
    by a 👍. True when something changed."""
    comment = row.comment
    if data.rating > 0:
        comment = None
    elif "comment" in data.model_fields_set:
        comment = data.comment
    changed = (row.rating, row.comment) != (data.rating, comment)
    row.rating, row.comment = data.rating, comment
    return changed


def _event(row: FeedbackPublic) -> dict[str, Any]:
    return {**row.model_dump(mode="json"), "rating": "up" if row.rating > 0 else "down"}


def _event_id(row: FeedbackPublic) -> uuid.UUID:
    """A replayed first press adds no second `feedback.created`."""
    return uuid.uuid5(_EVENTS, f"created:{row.id}")


async def list_feedback(
    ctx: UnitOfWork, page: Page, where: FeedbackFilter
) -> tuple[list[FeedbackPublic], int]:
    """Newest first."""
    stmt = filtered(select(Feedback), where).order_by(
        col(Feedback.created_at).desc(), col(Feedback.id)
    )
    rows, total = await paged(ctx.session, stmt, page)
    return [public(r) for r in rows], total


def filtered(stmt: Select[*Ts], where: FeedbackFilter) -> Select[*Ts]:
    """`stmt` (over `feedback`) narrowed by `where`."""
    if where.assistant_id is not None:
        stmt = stmt.where(col(Feedback.assistant_id) == where.assistant_id)
    if where.model is not None:
        stmt = stmt.where(_model() == where.model)
    if where.rating is not None:
        stmt = stmt.where(col(Feedback.rating) == where.rating)
    if where.created_from is not None:
        stmt = stmt.where(col(Feedback.created_at) >= where.created_from)
    if where.created_to is not None:
        stmt = stmt.where(col(Feedback.created_at) < where.created_to)
    return stmt


# -- analytics ----------------------------------------------------------------------------------


def _model() -> ColumnElement[str]:
    return func.coalesce(col(Feedback.model), UNKNOWN_MODEL)


def _day() -> ColumnElement[Any]:
    return func.date(func.timezone("UTC", col(Feedback.created_at)))


async def analytics(
    ctx: UnitOfWork, where: FeedbackFilter, dislikes: int = DISLIKES_DEFAULT
) -> FeedbackAnalytics:
    """Satisfaction in total and by assistant, model and day (UTC); each grouping covers
    every rated answer once, so its counts add up to the total's. And the newest 👎s."""
    rows = await ctx.session.execute(select(col(Assistant.id), col(Assistant.name)))
    names = {str(key): name for key, name in rows.all()}
    total = await _total(ctx, where)
    by_assistant = await _grouped(ctx, where, col(Feedback.assistant_id))
    for group in by_assistant:
        group.label = names.get(group.key, group.key)
    return FeedbackAnalytics(
        total=total,
        by_assistant=by_assistant,
        by_model=await _grouped(ctx, where, _model()),
        by_day=await _grouped(ctx, where, _day()),
        dislikes=await _dislikes(ctx, where, dislikes),
    )


def _counts() -> tuple[ColumnElement[int], ColumnElement[int], ColumnElement[int]]:
    up = func.count().filter(col(Feedback.rating) > 0)
    down = func.count().filter(col(Feedback.rating) < 0)
    return func.count(), up, down


async def _total(ctx: UnitOfWork, where: FeedbackFilter) -> Satisfaction:
    stmt = filtered(select(*_counts()).select_from(Feedback), where)
    rated, up, down = (await ctx.session.execute(stmt)).one()
    return _figures("total", int(rated), int(up), int(down))


async def _grouped(ctx: UnitOfWork, where: FeedbackFilter, key: Any) -> list[Satisfaction]:
    """One row per value of `key` (a column or an expression over `feedback`), in its order."""
    stmt = filtered(select(key, *_counts()).select_from(Feedback), where)
    rows = (await ctx.session.execute(stmt.group_by(key).order_by(key))).all()
    return [_figures(str(k), int(rated), int(u), int(d)) for k, rated, u, d in rows]


def _figures(key: str, rated: int, up: int, down: int) -> Satisfaction:
    share = round(up / rated, 4) if rated else None
    return Satisfaction(key=key, label=key, rated=rated, up=up, down=down, satisfaction=share)


async def _dislikes(ctx: UnitOfWork, where: FeedbackFilter, limit: int) -> list[Dislike]:
    """The newest 👎s, each with its answer's thread (the conversation page opens it)."""
    mine = FeedbackFilter(where.assistant_id, where.model, -1, where.created_from, where.created_to)
    stmt = (
        filtered(select(Feedback, col(ChatMessage.thread_id)), mine)
        .outerjoin(ChatMessage, col(ChatMessage.id) == col(Feedback.chat_message_id))
        .order_by(col(Feedback.created_at).desc(), col(Feedback.id))
        .limit(limit)
    )
    rows = (await ctx.session.execute(stmt)).all()
    return [Dislike.model_validate({**row.model_dump(), "thread_id": tid}) for row, tid in rows]
