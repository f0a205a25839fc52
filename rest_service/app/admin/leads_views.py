"""The admin's Leads (list, filter by status, edit status / owner / notes, a link to the
conversation, CSV and XLSX exports) and Contacts (list, delete) pages. Writes go through the
service layer, as the API's do."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar
from urllib.parse import urlencode

from markupsafe import Markup
from sqladmin import BaseView, ModelView, expose
from sqladmin.filters import StaticValuesFilter
from starlette.requests import Request
from starlette.responses import Response

from rest_service.app.admin import ADMIN_BASE
from rest_service.app.admin.auth import current_admin
from rest_service.app.admin.request_ctx import admin_ctx, app_state
from rest_service.app.admin.views import (
    _blank_to_none,
    _ReadableView,
    _ServiceView,
)
from rest_service.app.domain import contacts, leads, leads_export
from rest_service.app.domain.leads import LeadFilter
from rest_service.app.domain.unit_of_work import unit_of_work
from rest_service.app.models.contacts import Contact
from rest_service.app.models.leads import Lead, LeadStatus, LeadUpdate

LIST_PAGE_SIZE = 50


def conversation_link(model: object, _attribute: str) -> Markup:
    """A link to the row's conversation in the admin's conversation viewer."""
    key = (
        model.get("conversation_key", "")
        if isinstance(model, dict)
        else getattr(model, "conversation_key", "")
    )
    return Markup('<a class="lead-conversation" href="{}?{}">{}</a>').format(
        f"{ADMIN_BASE}/conversations", urlencode({"user": str(key)}), "conversation"
    )


def _items(model: object, _attribute: str) -> str:
    return ", ".join(str(i.get("name", "")) for i in getattr(model, "items", None) or [])


class LeadAdmin(_ServiceView, model=Lead):
    """Conversations that showed interest (docs/admin.md "Leads"): the business's people
    set the status, the owner and notes; the assistant's `lead` tool makes them."""

    name = "Lead"
    name_plural = "Leads"
    icon = "fa-solid fa-handshake"
    can_create = False
    name_columns: ClassVar[dict[str, str]] = {"assistant_id": "assistant", "user_id": "user"}
    text_columns = ("notes",)
    column_list: ClassVar[Any] = [
        Lead.created_at,
        Lead.status,
        Lead.assistant_id,
        Lead.user_id,
        Lead.items,
        Lead.owner,
        Lead.channel,
        Lead.notes,
        Lead.conversation_key,
    ]
    column_labels: ClassVar[Any] = {Lead.assistant_id: "Business", Lead.user_id: "Customer"}
    column_formatters: ClassVar[Any] = {
        Lead.conversation_key: conversation_link,
        Lead.items: _items,
    }
    column_formatters_detail: ClassVar[Any] = column_formatters
    column_searchable_list: ClassVar[Any] = [Lead.owner, Lead.notes]
    column_sortable_list: ClassVar[Any] = [Lead.created_at, Lead.updated_at, Lead.status]
    column_default_sort: ClassVar[tuple[str, bool]] = ("created_at", True)
    column_filters: ClassVar[list[StaticValuesFilter]] = [
        StaticValuesFilter(Lead.status, [(s.value, s.value) for s in LeadStatus], "Status")
    ]
    form_columns: ClassVar[Any] = [Lead.status, Lead.owner, Lead.notes]

    async def update_model(self, request: Request, pk: str, data: dict[str, Any]) -> object:
        cleaned = _blank_to_none(data, "owner")
        cleaned["notes"] = data.get("notes") or ""
        async with admin_ctx(self, request) as ctx:
            await leads.update_lead(ctx, uuid.UUID(pk), LeadUpdate.model_validate(cleaned))
            return await leads.get_lead(ctx, uuid.UUID(pk))

    async def delete_model(self, request: Request, pk: str) -> None:
        async with admin_ctx(self, request) as ctx:
            await leads.delete_lead(ctx, uuid.UUID(pk))


class ContactAdmin(_ReadableView, model=Contact):
    """Customers' details, saved with their consent: read or deleted here, saved only by
    the customer in chat."""

    name = "Contact"
    name_plural = "Contacts"
    icon = "fa-solid fa-address-book"
    can_create = False
    can_edit = False
    can_export = False
    page_size = LIST_PAGE_SIZE
    name_columns: ClassVar[dict[str, str]] = {"assistant_id": "assistant", "user_id": "user"}
    text_columns = ("consent_text",)
    column_list: ClassVar[Any] = [
        Contact.name,
        Contact.phone,
        Contact.email,
        Contact.assistant_id,
        Contact.user_id,
        Contact.consented_at,
        Contact.consent_text,
    ]
    column_labels: ClassVar[Any] = {Contact.assistant_id: "Business", Contact.user_id: "Customer"}
    column_searchable_list: ClassVar[Any] = [Contact.name, Contact.phone, Contact.email]
    column_default_sort: ClassVar[tuple[str, bool]] = ("created_at", True)

    async def delete_model(self, request: Request, pk: str) -> None:
        async with admin_ctx(self, request) as ctx:
            await contacts.delete_contact(ctx, uuid.UUID(pk))


class LeadsExportView(BaseView):
    """The Leads list as a spreadsheet: the same files as `GET /api/leads/export`."""

    name = "Leads export"
    icon = "fa-solid fa-file-excel"

    @expose("/leads-export", methods=["GET"], identity="leads-export")
    async def page(self, request: Request) -> Response:
        context = {"statuses": [s.value for s in LeadStatus]}
        return await self.templates.TemplateResponse(request, "admin_leads_export.html", context)

    @expose("/leads-download", methods=["GET"], identity="leads-download")
    async def download(self, request: Request) -> Response:
        fmt: leads_export.Format = "xlsx" if request.query_params.get("format") == "xlsx" else "csv"
        wanted = request.query_params.get("status") or ""
        status = LeadStatus(wanted) if wanted in LeadStatus.__members__ else None
        async with unit_of_work(app_state(self), current_admin(request).actor) as ctx:
            rows = await leads_export.export_rows(ctx, LeadFilter(status=status))
        disposition = f'attachment; filename="leads.{fmt}"'
        return Response(
            leads_export.render(rows, fmt),
            media_type=leads_export.MEDIA[fmt],
            headers={"Content-Disposition": disposition},
        )


#: Registered after the views of `views.VIEWS` (rest_service/app/admin/__init__.py).
LEAD_VIEWS: tuple[type[ModelView], ...] = (LeadAdmin, ContactAdmin)
