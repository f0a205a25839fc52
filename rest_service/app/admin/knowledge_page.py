"""The admin's knowledge import (the same reading as `POST /api/knowledge/import`): upload a
Markdown, text, PDF, DOCX or CSV file, for one assistant's business or every one. All or
nothing; a refused file is named with the reason."""

from __future__ import annotations

import uuid

from sqladmin import BaseView, expose
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from common.infrastructure.errors import AppError, FieldError, invalid
from rest_service.app.admin import display_names as readable
from rest_service.app.admin.auth import current_admin
from rest_service.app.admin.request_ctx import app_state, page
from rest_service.app.domain import knowledge
from rest_service.app.domain.knowledge_import import ImportOptions, articles_from_file
from rest_service.app.domain.unit_of_work import unit_of_work

ACCEPTED = ".md,.markdown,.txt,.pdf,.docx,.csv"


class KnowledgeImportView(BaseView):
    name = "Knowledge import"
    icon = "fa-solid fa-file-import"

    @expose("/knowledge-import", methods=["GET"], identity="knowledge-import")
    async def page(self, request: Request) -> Response:
        made = request.query_params.get("created")
        done = f"Imported: {made} articles added." if made and made.isdigit() else None
        return await self._render(request, done=done)

    @expose("/knowledge-upload", methods=["POST"], identity="knowledge-upload")
    async def upload(self, request: Request) -> Response:
        async with request.form() as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile) or not upload.filename:
                problem = [FieldError("file", f"choose a file: {ACCEPTED}")]
                return await self._render(request, errors=problem, status=400)
            data, file_name = await upload.read(), upload.filename
            owner, language, tags = (
                str(form.get(name) or "") for name in ("assistant_id", "language", "tags")
            )
        try:
            options = ImportOptions.of_form(_uuid(owner), language or None, tags)
            drafts = await articles_from_file(data, file_name, options)
            async with unit_of_work(app_state(self), current_admin(request).actor) as ctx:
                made = await knowledge.create_articles(ctx, drafts)
        except AppError as exc:
            return await self._render(request, errors=exc.fields, detail=exc.detail, status=400)
        url = request.url_for("admin:view-knowledge-import").include_query_params(created=len(made))
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
        async with app_state(self).sessions() as session:
            owners = await readable.choices(session, "assistant", blank="(every assistant)")
        context = {
            "done": done,
            "errors": errors or [],
            "detail": detail,
            "owners": owners,
            "accepted": ACCEPTED,
        }
        return await page(self, request, "admin_knowledge_import.html", context, status)


def _uuid(text: str) -> uuid.UUID | None:
    """The select's value: an assistant's id, or empty for every assistant."""
    try:
        return uuid.UUID(text) if text else None
    except ValueError as exc:
        raise invalid("assistant_id", "not an assistant of this list") from exc
