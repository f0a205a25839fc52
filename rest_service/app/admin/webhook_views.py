"""The web admin's webhooks: subscriptions (create, edit, delete through the webhooks domain,
as the API's; the signing secret write-only) and their deliveries (read-only, filtered by
status, each replayable: the API's `POST /api/webhooks/deliveries/{id}/replay`)."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from sqladmin import action
from sqladmin.filters import AllUniqueStringValuesFilter, BooleanFilter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from wtforms import Form, PasswordField, SelectMultipleField, widgets

from common.infrastructure.errors import invalid
from rest_service.app.admin.request_ctx import AdminFormError, admin_ctx, page
from rest_service.app.admin.views import FormData, _ReadableView, _ServiceView, _with_fields
from rest_service.app.domain import webhooks
from rest_service.app.models.webhook import (
    API_EVENTS,
    WebhookCreate,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
    WebhookUpdate,
)

EVENTS = [(event.value, event.value) for event in WebhookEvent if event not in API_EVENTS]


class WebhookAdmin(_ServiceView, model=WebhookSubscription):
    name = "Webhook"
    name_plural = "Webhooks"
    icon = "fa-solid fa-paper-plane"
    column_list: ClassVar[Any] = [
        WebhookSubscription.name,
        WebhookSubscription.url,
        WebhookSubscription.events,
        WebhookSubscription.secret_masked,
        WebhookSubscription.is_active,
        WebhookSubscription.updated_at,
    ]
    column_details_exclude_list: ClassVar[Any] = [WebhookSubscription.secret_encrypted]
    column_searchable_list: ClassVar[Any] = [WebhookSubscription.name, WebhookSubscription.url]
    column_filters: ClassVar[list[BooleanFilter]] = [BooleanFilter("is_active")]
    column_labels: ClassVar[Any] = {WebhookSubscription.secret_masked: "Secret"}
    form_columns: ClassVar[Any] = [
        WebhookSubscription.name,
        WebhookSubscription.url,
        WebhookSubscription.is_active,
    ]
    create_template = "admin_form_create.html"
    edit_template = "admin_form_edit.html"

    async def scaffold_form(self, rules: list[str] | None = None) -> type[Form]:
        form = await super().scaffold_form(rules)
        events = SelectMultipleField(
            "Events",
            choices=EVENTS,
            widget=widgets.ListWidget(prefix_label=False),
            option_widget=widgets.CheckboxInput(),
        )
        secret = PasswordField(
            "Signing secret",
            description="16 to 256 characters, what the receiver checks the signature with; "
            "write-only: empty keeps the stored one",
        )
        return _with_fields(form, events=events, secret=secret)

    async def get_form_data_for_edit(self, obj: WebhookSubscription) -> FormData:
        data = await super().get_form_data_for_edit(obj)
        return {**data, "events": list(obj.events)}

    @staticmethod
    def _clean(data: FormData, *, editing: bool) -> FormData:
        cleaned = dict(data)
        if not cleaned.get("secret"):
            if not editing:  # the API generates one and shows it once; a form cannot
                raise invalid("secret", "type the secret the receiver checks (16+ characters)")
            cleaned.pop("secret", None)
        return cleaned

    async def insert_model(self, request: Request, data: FormData) -> object:
        async with admin_ctx(self, request) as ctx:
            body = WebhookCreate.model_validate(self._clean(data, editing=False))
            sub, _secret = await webhooks.create_subscription(ctx, body)
            return sub

    async def update_model(self, request: Request, pk: str, data: FormData) -> object:
        async with admin_ctx(self, request) as ctx:
            body = WebhookUpdate.model_validate(self._clean(data, editing=True))
            return await webhooks.update_subscription(ctx, uuid.UUID(pk), body)

    async def delete_model(self, request: Request, pk: str) -> None:
        async with admin_ctx(self, request) as ctx:
            await webhooks.delete_subscription(ctx, uuid.UUID(pk))


class WebhookDeliveryAdmin(_ReadableView, model=WebhookDelivery):
    """What was sent where: written by the delivery worker; an admin only replays."""

    name = "Webhook delivery"
    name_plural = "Webhook deliveries"
    icon = "fa-solid fa-truck-fast"
    can_create = False
    can_edit = False
    can_delete = False
    can_export = False
    column_list: ClassVar[Any] = [
        WebhookDelivery.created_at,
        WebhookDelivery.target,
        WebhookDelivery.event,
        WebhookDelivery.status,
        WebhookDelivery.attempts,
        WebhookDelivery.last_error,
        WebhookDelivery.delivered_at,
    ]
    column_default_sort: ClassVar[tuple[str, bool]] = ("created_at", True)
    column_filters: ClassVar[list[AllUniqueStringValuesFilter]] = [
        AllUniqueStringValuesFilter(WebhookDelivery.status),
        AllUniqueStringValuesFilter(WebhookDelivery.target),
        AllUniqueStringValuesFilter(WebhookDelivery.event),
    ]

    @action(name="replay", label="Replay", add_in_list=True, add_in_detail=True)
    async def replay(self, request: Request) -> Response:
        """Dead or delivered ones go out again (same event id); a pending one is refused
        with the API's reason, shown above the list."""
        chosen = [pk for pk in request.query_params.get("pks", "").split(",") if pk]
        try:
            async with admin_ctx(self, request) as ctx:
                for pk in chosen:
                    await webhooks.replay(ctx, _delivery_id(pk))
        except AdminFormError as exc:  # all or none: the page says which and why
            context = {"status_code": 409, "message": f"Nothing was replayed: {exc}"}
            return await page(self, request, "sqladmin/error.html", context, 409)
        return RedirectResponse(str(request.url_for("admin:list", identity=self.identity)), 303)


def _delivery_id(pk: str) -> uuid.UUID:
    try:
        return uuid.UUID(pk)
    except ValueError as exc:
        raise AdminFormError(f"no delivery {pk!r}") from exc
