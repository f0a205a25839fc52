"""The web admin's API clients: made, edited and revoked through the api_clients domain, as
the API's are. The key and the webhook signing secret are shown once, on the page that
answers the save (or the "New key" / "New webhook secret" action); the tables hold only the
key's prefix and hash and the secret encrypted. A client's page lists its latest webhook
deliveries (decision 0061)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from sqladmin import action
from sqladmin.secret import Secret
from sqlalchemy import select
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import Response
from wtforms import Form, SelectMultipleField, widgets

from rest_service.app.admin.request_ctx import AdminFormError, admin_ctx, page
from rest_service.app.admin.views import FormData, _blank_to_none, _ServiceView, _with_fields
from rest_service.app.domain import api_clients
from rest_service.app.domain.paging import Page
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.models.api_client import ApiClient, ApiClientCreate, ApiClientUpdate
from rest_service.app.models.assistant import Assistant

KEY_TITLE = "The client's API key"
KEY_LABEL = "Copy it now: it is shown this once and kept only as a hash."
SECRET_TITLE = "The client's webhook signing secret"
SECRET_LABEL = "Copy it now: it is shown this once and kept encrypted."
#: Deliveries listed on a client's page: the newest; the webhook deliveries page has all.
RECENT_DELIVERIES = 20
#: Gives a client a new key or webhook secret: the client and the secret in clear.
Renewal = Callable[[UnitOfWork, uuid.UUID], Awaitable[tuple[ApiClient, str]]]


class ApiClientAdmin(_ServiceView, model=ApiClient):
    """Delete revokes: the key stops at once and the row stays, with its revoked time."""

    name = "API client"
    name_plural = "API clients"
    icon = "fa-solid fa-key"
    column_list: ClassVar[Any] = [
        ApiClient.name,
        ApiClient.key_prefix,
        ApiClient.webhook_url,
        ApiClient.allowed_assistants,
        ApiClient.per_minute_limit,
        ApiClient.daily_limit,
        ApiClient.revoked_at,
        ApiClient.updated_at,
    ]
    column_details_exclude_list: ClassVar[Any] = [
        ApiClient.key_hash,
        ApiClient.webhook_secret_encrypted,
    ]
    column_searchable_list: ClassVar[Any] = [ApiClient.name, ApiClient.key_prefix]
    column_labels: ClassVar[Any] = {
        ApiClient.key_prefix: "Key",
        ApiClient.webhook_secret_masked: "Webhook secret",
    }
    column_descriptions: ClassVar[Any] = {
        "per_minute_limit": "requests a minute; 0: no limit",
        "daily_limit": "requests a day; 0: no limit",
        "webhook_url": "where its asynchronous answers are posted (public http(s) addresses "
        "only); empty: none",
    }
    form_columns: ClassVar[Any] = [
        ApiClient.name,
        ApiClient.webhook_url,
        ApiClient.per_minute_limit,
        ApiClient.daily_limit,
    ]
    create_template = "admin_api_client_create.html"
    edit_template = "admin_form_edit.html"
    details_template = "admin_api_client_details.html"

    async def scaffold_form(self, rules: list[str] | None = None) -> type[Form]:
        form = await super().scaffold_form(rules)
        async with self.session_maker() as session:
            names = list(
                await session.scalars(select(col(Assistant.name)).order_by(col(Assistant.name)))
            )
        assistants = SelectMultipleField(
            "Allowed assistants",
            choices=[(name, name) for name in names],
            description="none ticked: the secretary only",
            widget=widgets.ListWidget(prefix_label=False),
            option_widget=widgets.CheckboxInput(),
            validate_choice=False,  # the domain names an unknown assistant in its message
        )
        return _with_fields(form, allowed_assistants=assistants)

    async def get_form_data_for_edit(self, obj: ApiClient) -> FormData:
        data = await super().get_form_data_for_edit(obj)
        return {**data, "allowed_assistants": list(obj.allowed_assistants)}

    @staticmethod
    def _clean(data: FormData) -> FormData:
        cleaned = _blank_to_none(data, "webhook_url")
        chosen = data.get("allowed_assistants")
        cleaned["allowed_assistants"] = list(chosen) if isinstance(chosen, list) else []
        return cleaned

    async def insert_model(self, request: Request, data: FormData) -> object:
        async with admin_ctx(self, request) as ctx:
            body = ApiClientCreate.model_validate(self._clean(data))
            client, key, webhook_secret = await api_clients.create_client(ctx, body)
        Secret.reveal_once(request, key, KEY_TITLE, KEY_LABEL)  # sqladmin shows it, no-store
        request.state.api_client_webhook_secret = webhook_secret  # under it, on that page
        return client

    async def get_object_for_details(self, request: Request) -> object:
        """The client, and its latest deliveries for the page (`request.state`)."""
        found = await super().get_object_for_details(request)
        if isinstance(found, ApiClient):
            async with admin_ctx(self, request) as ctx:
                page_ = Page(limit=RECENT_DELIVERIES, offset=0)
                rows, _total = await api_clients.list_deliveries(ctx, found.id, None, page_)
            request.state.api_client_deliveries = rows
        return found

    async def update_model(self, request: Request, pk: str, data: FormData) -> object:
        async with admin_ctx(self, request) as ctx:
            body = ApiClientUpdate.model_validate(self._clean(data))
            return await api_clients.update_client(ctx, uuid.UUID(pk), body)

    async def delete_model(self, request: Request, pk: str) -> None:
        async with admin_ctx(self, request) as ctx:
            await api_clients.revoke_client(ctx, uuid.UUID(pk))

    @action(
        name="new-key",
        label="New key",
        confirmation_message="The current key stops at once. Make a new one?",
        add_in_list=False,
        add_in_detail=True,
    )
    async def new_key(self, request: Request) -> Response:
        """The new key on a page of its own (never cached); the old one stops at once."""
        shown = Shown(KEY_TITLE, KEY_LABEL, "The previous key no longer works.", "api-client-key")
        return await self._renewed(request, api_clients.rotate_key, "No new key", shown)

    @action(
        name="new-webhook-secret",
        label="New webhook secret",
        confirmation_message="Deliveries are signed with the new secret from now on. Make one?",
        add_in_list=False,
        add_in_detail=True,
    )
    async def new_webhook_secret(self, request: Request) -> Response:
        """The new signing secret on a page of its own (never cached)."""
        note = "Deliveries are signed with it from now on."
        shown = Shown(SECRET_TITLE, SECRET_LABEL, note, "api-client-webhook-secret")
        renew = api_clients.renew_webhook_secret
        return await self._renewed(request, renew, "No new webhook secret", shown)

    async def _renewed(
        self, request: Request, renew: Renewal, refused: str, shown: Shown
    ) -> Response:
        """The chosen client's new secret, shown once; the domain's refusal as a 409 page."""
        pk = request.query_params.get("pks", "").split(",")[0]
        try:
            async with admin_ctx(self, request) as ctx:
                client, secret = await renew(ctx, _client_id(pk))
        except AdminFormError as exc:
            context = {"status_code": 409, "message": f"{refused}: {exc}"}
            return await page(self, request, "sqladmin/error.html", context, 409)
        context = {"client": client, "secret": secret, **dataclasses.asdict(shown)}
        response = await page(self, request, "admin_api_client_secret.html", context)
        Secret.apply_no_store_headers(response)
        return response


@dataclass(frozen=True)
class Shown:
    """How a secret shown once is introduced on its page."""

    title: str
    label: str
    note: str
    field_id: str


def _client_id(pk: str) -> uuid.UUID:
    try:
        return uuid.UUID(pk)
    except ValueError as exc:
        raise AdminFormError(f"no API client {pk!r}") from exc
