"""/api/knowledge: the articles a business's assistant answers from. The admin token writes,
lists and imports them; the search is what the assistant's `knowledge` tool calls, so any
service token may run it (it reads what the tool would show a customer, nothing more)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from common.infrastructure.wire import KNOWLEDGE_SEARCH_MAX
from rest_service.app.api.common import ERRORS
from rest_service.app.api.deps import PageDep, UnitOfWorkDep, set_total
from rest_service.app.auth import admin_only, any_token
from rest_service.app.domain import knowledge
from rest_service.app.domain.knowledge import ArticleFilter
from rest_service.app.domain.knowledge_import import ImportOptions, articles_from_file
from rest_service.app.models.knowledge import (
    KnowledgeArticleCreate,
    KnowledgeArticlePublic,
    KnowledgeArticleUpdate,
    KnowledgeHitPublic,
)

router = APIRouter(prefix="/api/knowledge", tags=["knowledge"], responses=ERRORS)

Words = Annotated[str, Query(min_length=1, max_length=1000, description="the question's words")]


@router.get("/", response_model=list[KnowledgeArticlePublic], dependencies=[admin_only])
async def list_articles(
    ctx: UnitOfWorkDep,
    page: PageDep,
    response: Response,
    assistant_id: uuid.UUID | None = None,
    shared: Annotated[bool | None, Query(description="only articles of no assistant")] = None,
    is_active: bool | None = None,
    language: Annotated[str | None, Query(max_length=8)] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    source: Annotated[str | None, Query(max_length=255)] = None,
    q: Annotated[str | None, Query(max_length=1000, description="any of these words")] = None,
) -> object:
    """Newest change first; every filter narrows."""
    where = ArticleFilter(assistant_id, shared, is_active, language, tag, source, q)
    rows, total = await knowledge.list_articles(ctx, page, where)
    set_total(response, total)
    return rows


@router.post("/", response_model=KnowledgeArticlePublic, status_code=201, dependencies=[admin_only])
async def create_article(ctx: UnitOfWorkDep, data: KnowledgeArticleCreate) -> object:
    return await knowledge.create_article(ctx, data)


@router.get("/search", response_model=list[KnowledgeHitPublic], dependencies=[any_token])
async def search(
    ctx: UnitOfWorkDep,
    q: Words,
    assistant_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=KNOWLEDGE_SEARCH_MAX)] = 5,
) -> object:
    """Active articles with any of the words (stemmed, Russian and English), best first,
    each with a passage around the words found: the assistant's own and the shared ones,
    or every one without `assistant_id`."""
    return await knowledge.search(ctx, q, assistant_id, limit)


@router.post(
    "/import",
    response_model=list[KnowledgeArticlePublic],
    status_code=201,
    dependencies=[admin_only],
)
async def import_file(
    ctx: UnitOfWorkDep,
    file: Annotated[UploadFile, File(description=".md, .markdown, .txt, .pdf, .docx or .csv")],
    assistant_id: Annotated[uuid.UUID | None, Form()] = None,
    language: Annotated[str | None, Form()] = None,
    tags: Annotated[str | None, Form(description="comma-separated")] = None,
) -> object:
    """The file's articles, all or none: Markdown one per `# ` section, PDF/DOCX/text in
    parts of about 8 000 characters, CSV one per `question,answer` row."""
    options = ImportOptions.of_form(assistant_id, language, tags)
    drafts = await articles_from_file(await file.read(), file.filename or "", options)
    return await knowledge.create_articles(ctx, drafts)


@router.get("/{article_id}", response_model=KnowledgeArticlePublic, dependencies=[admin_only])
async def get_article(ctx: UnitOfWorkDep, article_id: uuid.UUID) -> object:
    return await knowledge.get_article(ctx, article_id)


@router.put("/{article_id}", response_model=KnowledgeArticlePublic, dependencies=[admin_only])
async def update_article(
    ctx: UnitOfWorkDep, article_id: uuid.UUID, data: KnowledgeArticleUpdate
) -> object:
    return await knowledge.update_article(ctx, article_id, data)


@router.delete("/{article_id}", status_code=204, dependencies=[admin_only])
async def delete_article(ctx: UnitOfWorkDep, article_id: uuid.UUID) -> None:
    await knowledge.delete_article(ctx, article_id)
