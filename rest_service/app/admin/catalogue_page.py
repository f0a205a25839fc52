"""The admin's catalogue export and import (the same documents as `GET /api/catalogue/export`
and `POST /api/catalogue/import`): download CSV or JSON, upload a file back. An import is all
or nothing; the page lists every bad row and field."""

from __future__ import annotations

from sqladmin import BaseView, expose
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from common.infrastructure.errors import AppError, FieldError
from rest_service.app.admin.auth import current_admin
from rest_service.app.admin.request_ctx import app_state, page
from rest_service.app.domain import catalogue_transfer
from rest_service.app.domain.catalogue_transfer import Format
from rest_service.app.domain.unit_of_work import unit_of_work

_MEDIA = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


class CatalogueTransferView(BaseView):
    name = "Catalogue export / import"
    icon = "fa-solid fa-file-csv"

    @expose("/catalogue-transfer", methods=["GET"], identity="catalogue-transfer")
    async def page(self, request: Request) -> Response:
        params = request.query_params
        done = (
            f"Imported: {params['created']} added, {params['updated']} updated."
            if "created" in params and "updated" in params
            else None
        )
        return await self._render(request, done=done)

    @expose("/catalogue-export", methods=["GET"], identity="catalogue-export")
    async def export(self, request: Request) -> Response:
        fmt: Format = "csv" if request.query_params.get("format") == "csv" else "json"
        async with unit_of_work(app_state(self), current_admin(request).actor) as ctx:
            rows = await catalogue_transfer.export_rows(ctx)
        body = catalogue_transfer.as_csv(rows) if fmt == "csv" else catalogue_transfer.as_json(rows)
        disposition = f'attachment; filename="catalogue.{fmt}"'
        return Response(body, media_type=_MEDIA[fmt], headers={"Content-Disposition": disposition})

    @expose("/catalogue-import", methods=["POST"], identity="catalogue-import")
    async def upload(self, request: Request) -> Response:
        async with request.form() as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile) or not upload.filename:
                problem = [FieldError("file", "choose a .csv or .json file")]
                return await self._render(request, errors=problem, status=400)
            body = await upload.read()
            fmt: Format = "json" if upload.filename.lower().endswith(".json") else "csv"
        try:
            async with unit_of_work(app_state(self), current_admin(request).actor) as ctx:
                outcome = await catalogue_transfer.import_rows(
                    ctx, catalogue_transfer.parse(body, fmt)
                )
        except AppError as exc:
            return await self._render(request, errors=exc.fields, detail=exc.detail, status=400)
        url = request.url_for("admin:view-catalogue-transfer").include_query_params(
            created=outcome.created, updated=outcome.updated
        )
        return RedirectResponse(str(url), status_code=303)

    async def _render(
        self,
        request: Request,
        *,
        done: str | None = None,
        errors: list[FieldError] | None = None,
        detail: str | None = None,
        status: int = 200,
    ) -> Response:
        context = {"done": done, "errors": errors or [], "detail": detail}
        return await page(self, request, "admin_catalogue_transfer.html", context, status)
