"""The bots page of the web admin: create, edit and delete go through the bots domain, as
the API's do; the token is write-only (a password field; empty keeps the stored one)."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from sqladmin.filters import BooleanFilter
from starlette.requests import Request
from wtforms import Form, PasswordField, StringField

from rest_service.app.admin import display_names as readable
from rest_service.app.admin.request_ctx import admin_ctx
from rest_service.app.admin.views import (
    FormData,
    _blank_to_none,
    _name_select,
    _ServiceView,
    _uuid_or_none,
    _with_fields,
)
from rest_service.app.domain import bots
from rest_service.app.models.bot import Bot, BotCreate, BotUpdate


def _ids(text: object) -> list[str]:
    """`123, 456` (or one a line): the allowed Telegram ids as the form types them."""
    return [part for part in str(text or "").replace("\n", ",").split(",") if part.strip()]


class BotAdmin(_ServiceView, model=Bot):
    name = "Bot"
    name_plural = "Bots"
    icon = "fa-solid fa-robot"
    name_columns: ClassVar[dict[str, str]] = {"assistant_id": "assistant"}
    column_list: ClassVar[Any] = [
        Bot.name,
        Bot.channel,
        Bot.telegram_username,
        Bot.assistant_id,
        Bot.token_masked,
        Bot.is_active,
        Bot.updated_at,
    ]
    column_details_exclude_list: ClassVar[Any] = [Bot.token_encrypted]
    column_searchable_list: ClassVar[Any] = [Bot.name, Bot.telegram_username]
    column_filters: ClassVar[list[BooleanFilter]] = [BooleanFilter("is_active")]
    column_labels: ClassVar[Any] = {Bot.token_masked: "Token"}
    form_columns: ClassVar[Any] = [
        Bot.name,
        Bot.channel,
        Bot.greeting,
        Bot.operator_chat_id,
        Bot.operator_wait_minutes,
        Bot.is_active,
    ]
    column_descriptions: ClassVar[Any] = {
        "operator_chat_id": "the Telegram group its conversations are handed to people in "
        "(a group's id is negative); empty: no operators",
        "operator_wait_minutes": "how long a handoff waits for an operator before the customer "
        "is told no one is free",
    }
    create_template = "admin_form_create.html"
    edit_template = "admin_form_edit.html"

    async def scaffold_form(self, rules: list[str] | None = None) -> type[Form]:
        form = await super().scaffold_form(rules)
        async with self.session_maker() as session:
            assistants = await readable.choices(session, "assistant")
        token = PasswordField("Token", description="write-only: empty keeps the stored token")
        allowed = StringField(
            "Allowed Telegram ids", description="comma-separated; empty: everyone"
        )
        return _with_fields(
            form,
            assistant_id=_name_select("Assistant", assistants),
            token=token,
            allowed_user_ids=allowed,
        )

    async def get_form_data_for_edit(self, obj: Bot) -> FormData:
        """The added fields are no columns of the form: fill them from the row too."""
        data = await super().get_form_data_for_edit(obj)
        allowed = ", ".join(str(i) for i in obj.allowed_user_ids)
        return {**data, "assistant_id": str(obj.assistant_id), "allowed_user_ids": allowed}

    def _clean(self, data: FormData, *, editing: bool) -> FormData:
        cleaned = _blank_to_none(data, "greeting", "operator_chat_id", "operator_wait_minutes")
        if cleaned.get("operator_wait_minutes") is None:
            cleaned.pop("operator_wait_minutes", None)  # the default, or the stored minutes
        cleaned["assistant_id"] = _uuid_or_none(data.get("assistant_id"))
        cleaned["allowed_user_ids"] = _ids(data.get("allowed_user_ids"))
        if editing:
            cleaned.pop("channel", None)  # a bot keeps its channel
            if not cleaned.get("token"):
                cleaned.pop("token", None)  # write-only: empty keeps the stored token
        return cleaned

    async def insert_model(self, request: Request, data: FormData) -> object:
        async with admin_ctx(self, request) as ctx:
            body = BotCreate.model_validate(self._clean(data, editing=False))
            return await bots.create_bot(ctx, body)

    async def update_model(self, request: Request, pk: str, data: FormData) -> object:
        async with admin_ctx(self, request) as ctx:
            body = BotUpdate.model_validate(self._clean(data, editing=True))
            return await bots.update_bot(ctx, uuid.UUID(pk), body)

    async def delete_model(self, request: Request, pk: str) -> None:
        async with admin_ctx(self, request) as ctx:
            await bots.delete_bot(ctx, uuid.UUID(pk))
