"""The admin's Feedback list (each 👍 / 👎 with its comment, model and a link to the
conversation; filtered by rating) and Satisfaction page (the share of 👍 by assistant, model
and day, the data of `GET /api/analytics/feedback`, and each 👎 linking to its
conversation)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

from sqladmin import BaseView, expose
from sqladmin.filters import StaticValuesFilter
from sqlalchemy import Select
from starlette.requests import Request
from starlette.responses import Response

from common.infrastructure.clock import utcnow
from rest_service.app.admin import ADMIN_BASE
from rest_service.app.admin.leads_views import conversation_link
from rest_service.app.admin.request_ctx import admin_ctx
from rest_service.app.admin.views import _ReadableView
from rest_service.app.domain import feedback
from rest_service.app.domain.feedback import FeedbackFilter
from rest_service.app.models.feedback import Dislike, Feedback

MAX_DAYS = 3650


def _rating(model: object, _attribute: str) -> str:
    return "👍" if getattr(model, "rating", 0) > 0 else "👎"


class _RatingFilter(StaticValuesFilter):
    """👍 or 👎: the column is a number, the address a string (anything else: every row)."""

    async def get_filtered_query(self, query: Select[Any], value: Any, model: Any) -> Select[Any]:
        if value not in ("1", "-1"):
            return query
        return await super().get_filtered_query(query, int(value), model)


class FeedbackAdmin(_ReadableView, model=Feedback):
    """Users' ratings of answers (docs/admin.md "Feedback"): made by the 👍 / 👎 buttons,
    read and deleted here."""

    name = "Feedback"
    name_plural = "Feedback"
    icon = "fa-solid fa-thumbs-up"
    can_create = False
    can_edit = False
    can_export = False
    page_size = 50
    name_columns: ClassVar[dict[str, str]] = {"assistant_id": "assistant", "user_id": "user"}
    text_columns = ("comment",)
    column_list: ClassVar[Any] = [
        Feedback.created_at,
        Feedback.rating,
        Feedback.comment,
        Feedback.assistant_id,
        Feedback.model,
        Feedback.user_id,
        Feedback.conversation_key,
    ]
    column_labels: ClassVar[Any] = {Feedback.user_id: "Customer"}
    column_formatters: ClassVar[Any] = {
        Feedback.rating: _rating,
        Feedback.conversation_key: conversation_link,
    }
    column_formatters_detail: ClassVar[Any] = column_formatters
    column_searchable_list: ClassVar[Any] = [Feedback.comment, Feedback.model]
    column_sortable_list: ClassVar[Any] = [Feedback.created_at, Feedback.rating, Feedback.model]
    column_default_sort: ClassVar[tuple[str, bool]] = ("created_at", True)
    column_filters: ClassVar[list[StaticValuesFilter]] = [
        _RatingFilter("rating", [("1", "👍"), ("-1", "👎")], "Rating")
    ]


class SatisfactionView(BaseView):
    """Satisfaction of the last days, by assistant, model and day, and the 👎s to read."""

    name = "Satisfaction"
    icon = "fa-solid fa-face-smile"

    @expose("/satisfaction", methods=["GET"], identity="satisfaction")
    async def page(self, request: Request) -> Response:
        days = _days(request.query_params.get("days"))
        assistant_id = _uuid(request.query_params.get("assistant_id"))
        where = FeedbackFilter(assistant_id=assistant_id, created_from=utcnow() - timedelta(days))
        async with admin_ctx(self, request) as ctx:
            figures = await feedback.analytics(ctx, where)
        context = {
            "days": days,
            "assistant_id": assistant_id,
            "figures": figures,
            "names": {g.key: g.label for g in figures.by_assistant},
            "dislikes": [(d, _conversation_href(d)) for d in figures.dislikes],
        }
        return await self.templates.TemplateResponse(request, "admin_satisfaction.html", context)


def _conversation_href(dislike: Dislike) -> str:
    """The conversation page of the 👎's conversation, opened at its answer's thread."""
    query = {"user": dislike.conversation_key}
    if dislike.thread_id:
        query["thread"] = dislike.thread_id
    return f"{ADMIN_BASE}/conversations?{urlencode(query)}"


def _days(value: str | None) -> int:
    try:
        return min(max(int(value or 30), 1), MAX_DAYS)
    except ValueError:
        return 30


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None
