"""The admin's "Pairing requests": strangers who wrote to a private bot (PAIRING in tg_bot),
newest first, with Approve / Refuse on the chosen rows (the same domain function as the API's
routes, the logged-in admin as who decided)."""

from __future__ import annotations

from typing import Any, ClassVar

from sqladmin import action
from sqladmin.filters import StaticValuesFilter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from common.infrastructure.wire import PairingStatus
from rest_service.app.admin.request_ctx import AdminFormError, admin_ctx, page
from rest_service.app.admin.views import _ReadableView
from rest_service.app.domain import pairings
from rest_service.app.models.pairing import Pairing


class PairingAdmin(_ReadableView, model=Pairing):
    """docs/admin.md "Pairing requests"."""

    name = "Pairing request"
    name_plural = "Pairing requests"
    icon = "fa-solid fa-user-check"
    can_create = False
    can_edit = False
    can_export = False
    page_size = 50
    column_list: ClassVar[Any] = [
        Pairing.created_at,
        Pairing.code,
        Pairing.status,
        Pairing.first_name,
        Pairing.username,
        Pairing.telegram_id,
        Pairing.decided_by,
        Pairing.decided_at,
    ]
    column_searchable_list: ClassVar[Any] = [Pairing.code, Pairing.username, Pairing.first_name]
    column_sortable_list: ClassVar[Any] = [Pairing.created_at, Pairing.status]
    column_default_sort: ClassVar[tuple[str, bool]] = ("created_at", True)
    column_filters: ClassVar[list[StaticValuesFilter]] = [
        StaticValuesFilter("status", [(s.value, s.value) for s in PairingStatus], "Status")
    ]

    @action(name="approve", label="Approve", add_in_list=True, add_in_detail=True)
    async def approve(self, request: Request) -> Response:
        return await self._decide(request, PairingStatus.approved)

    @action(name="refuse", label="Refuse", add_in_list=True, add_in_detail=True)
    async def refuse(self, request: Request) -> Response:
        return await self._decide(request, PairingStatus.refused)

    async def _decide(self, request: Request, status: PairingStatus) -> Response:
        codes = [pk for pk in request.query_params.get("pks", "").split(",") if pk]
        try:
            async with admin_ctx(self, request) as ctx:
                for code in codes:
                    await pairings.decide(ctx, code, status, ctx.actor[:100])
        except AdminFormError as exc:
            context = {"status_code": 404, "message": str(exc)}
            return await page(self, request, "sqladmin/error.html", context, 404)
        return RedirectResponse(str(request.url_for("admin:list", identity=self.identity)), 303)
