"""/api/handoffs: conversations handed to the operators (decision 0052). A service (the
assistant's `handoff` tool) opens one; an operator's reply and the hand back come from tg_bot
(the operator chat) or the admin; the admin lists and reads them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from rest_service.app.api.common import ERRORS
from rest_service.app.api.deps import PageDep, UnitOfWorkDep, set_total
from rest_service.app.auth import admin_only, any_token
from rest_service.app.domain import handoffs
from rest_service.app.domain.handoffs import HandoffFilter
from rest_service.app.models.handoffs import (
    HandoffCreate,
    HandoffPublic,
    HandoffReplyIn,
    HandoffReturnIn,
    HandoffStatus,
)
from rest_service.app.models.thread import CONVERSATION_KEY_MAX

router = APIRouter(prefix="/api/handoffs", tags=["handoffs"], responses=ERRORS)


@router.get("/", response_model=list[HandoffPublic], dependencies=[admin_only])
async def list_handoffs(
    ctx: UnitOfWorkDep,
    page: PageDep,
    response: Response,
    status: HandoffStatus | None = None,
    bot_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    conversation_key: Annotated[str | None, Query(max_length=CONVERSATION_KEY_MAX)] = None,
) -> object:
    """Newest first."""
    where = HandoffFilter(status, bot_id, user_id, conversation_key)
    rows, total = await handoffs.list_handoffs(ctx, page, where)
    set_total(response, total)
    return rows


@router.post("/", response_model=HandoffPublic, status_code=201, dependencies=[any_token])
async def request_handoff(ctx: UnitOfWorkDep, data: HandoffCreate) -> object:
    """The conversation goes to the bot's operator chat: 422 on `bot_id` when the bot has
    none, 409 when the conversation is with the operators already."""
    return await handoffs.request_handoff(ctx, data)


@router.get("/{handoff_id}", response_model=HandoffPublic, dependencies=[admin_only])
async def get_handoff(ctx: UnitOfWorkDep, handoff_id: uuid.UUID) -> object:
    return handoffs.public(await handoffs.get_handoff(ctx, handoff_id))


@router.post("/{handoff_id}/reply", response_model=HandoffPublic, dependencies=[any_token])
async def reply(ctx: UnitOfWorkDep, handoff_id: uuid.UUID, data: HandoffReplyIn) -> object:
    """An operator's words reach the customer on their channel; 409 when it is closed."""
    return await handoffs.reply(ctx, handoff_id, data)


@router.post("/{handoff_id}/return", response_model=HandoffPublic, dependencies=[any_token])
async def hand_back(ctx: UnitOfWorkDep, handoff_id: uuid.UUID, data: HandoffReturnIn) -> object:
    """The bot answers the conversation again; 409 when it is closed."""
    return await handoffs.hand_back(ctx, handoff_id, data.by)
