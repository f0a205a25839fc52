"""/api/feedback: users' 👍 / 👎 on answers. A service records one (tg_bot, when a feedback
button is pressed or a 👎's comment written); the admin lists them and reads satisfaction
at /api/analytics/feedback."""

from __future__ import annotations

import uuid
from enum import IntEnum
from typing import Annotated

from fastapi import APIRouter, Query, Response

from rest_service.app.api.common import ERRORS
from rest_service.app.api.deps import PageDep, UnitOfWorkDep, set_total
from rest_service.app.auth import admin_only, any_token
from rest_service.app.domain import feedback
from rest_service.app.domain.feedback import DISLIKES_DEFAULT, FeedbackFilter
from rest_service.app.models.base import AwareDatetime
from rest_service.app.models.feedback import (
    MODEL_MAX,
    FeedbackAnalytics,
    FeedbackIn,
    FeedbackPublic,
)


class RatingQuery(IntEnum):
    up = 1
    down = -1


router = APIRouter(prefix="/api/feedback", tags=["feedback"], responses=ERRORS)
analytics_router = APIRouter(prefix="/api/analytics", tags=["feedback"], responses=ERRORS)

ModelQuery = Annotated[str | None, Query(max_length=MODEL_MAX, description="`unknown`: none")]
From = Annotated[AwareDatetime | None, Query(description="made at or after this time")]
To = Annotated[AwareDatetime | None, Query(description="made before this time")]


@router.post("/", response_model=FeedbackPublic, dependencies=[any_token])
async def record_feedback(ctx: UnitOfWorkDep, response: Response, data: FeedbackIn) -> object:
    """The user's feedback on the answer: 201 when made now, 200 when it changed or was
    already so (one per answer and user)."""
    row, created = await feedback.record_feedback(ctx, data)
    response.status_code = 201 if created else 200
    return row


@router.get("/", response_model=list[FeedbackPublic], dependencies=[admin_only])
async def list_feedback(
    ctx: UnitOfWorkDep,
    page: PageDep,
    response: Response,
    assistant_id: uuid.UUID | None = None,
    model: ModelQuery = None,
    rating: Annotated[RatingQuery | None, Query(description="1 (👍) or -1 (👎)")] = None,
    created_from: From = None,
    created_to: To = None,
) -> object:
    """Newest first."""
    where = FeedbackFilter(assistant_id, model, rating and int(rating), created_from, created_to)
    rows, total = await feedback.list_feedback(ctx, page, where)
    set_total(response, total)
    return rows


@analytics_router.get("/feedback", response_model=FeedbackAnalytics, dependencies=[admin_only])
async def feedback_analytics(
    ctx: UnitOfWorkDep,
    assistant_id: uuid.UUID | None = None,
    model: ModelQuery = None,
    created_from: From = None,
    created_to: To = None,
    dislikes: Annotated[int, Query(ge=0, le=1000, description="👎s listed")] = DISLIKES_DEFAULT,
) -> object:
    """Satisfaction (the share of 👍 among rated answers) in total, by assistant, by model
    and by day (UTC), and the newest 👎s with their conversations."""
    where = FeedbackFilter(assistant_id, model, None, created_from, created_to)
    return await feedback.analytics(ctx, where, dislikes)
