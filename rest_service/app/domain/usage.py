"""One user's own figures since a moment, in one round trip: the messages they wrote, the
tokens of the answers they got (their private chat, and in groups the answers to them), the
tool calls made for them and the pictures drawn for them (the `draw` calls that made one)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlmodel import col

from common.infrastructure.wire import MessageRole, ToolType
from rest_service.app.domain.common import get_or_404
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.models.assistant import Tool
from rest_service.app.models.invocation import ToolInvocation
from rest_service.app.models.thread import ChatMessage
from rest_service.app.models.usage import UserUsage
from rest_service.app.models.user import User


async def user_usage(ctx: UnitOfWork, user_id: uuid.UUID, since: datetime) -> UserUsage:
    await get_or_404(ctx.session, User, user_id, "user")
    role = col(ChatMessage.role)
    mine = or_(
        col(ChatMessage.user_id) == user_id,
        col(ChatMessage.conversation_key) == str(user_id),
    )
    sent = func.count().filter(role == MessageRole.user)
    answers = role == MessageRole.assistant
    tokens_in = func.coalesce(func.sum(col(ChatMessage.tokens_in)).filter(answers), 0)
    tokens_out = func.coalesce(func.sum(col(ChatMessage.tokens_out)).filter(answers), 0)
    theirs = (col(ToolInvocation.user_id) == user_id, col(ToolInvocation.created_at) >= since)
    calls = select(func.count()).where(*theirs).scalar_subquery()
    drawn = (
        select(func.count())
        .select_from(ToolInvocation)
        .join(Tool, col(Tool.id) == col(ToolInvocation.tool_id))
        .where(*theirs, col(ToolInvocation.ok), col(Tool.tool_type) == ToolType.draw)
        .scalar_subquery()
    )
    row = (
        await ctx.session.execute(
            select(sent, tokens_in, tokens_out, calls, drawn).where(
                mine, col(ChatMessage.created_at) >= since
            )
        )
    ).one()
    return UserUsage(
        since=since,
        messages=int(row[0]),
        tokens_in=int(row[1]),
        tokens_out=int(row[2]),
        tool_calls=int(row[3]),
        images=int(row[4]),
    )
