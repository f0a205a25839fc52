"""Knowledge articles: listed with filters, written by an admin, and searched in full text
(Russian and English stemmed, title words first) for an assistant: its own articles and
the shared ones. Articles are data, not configuration: no write bumps the config version."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnClause, ColumnElement, delete, func, literal_column, or_, select
from sqlmodel import col

from common.infrastructure.errors import invalid, not_found
from common.infrastructure.wire import KNOWLEDGE_SEARCH_MAX
from rest_service.app.domain.chat_messages import tsquery
from rest_service.app.domain.common import apply_update, non_null, paged
from rest_service.app.domain.paging import Page
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.models.assistant import Assistant
from rest_service.app.models.knowledge import (
    KnowledgeArticle,
    KnowledgeArticleCreate,
    KnowledgeArticleUpdate,
    KnowledgeHitPublic,
)

KIND = "knowledge article"
#: Words of a query that count; a customer's question is a sentence.
_CONFIG: ColumnClause[Any] = literal_column("'russian'::regconfig")
#: The excerpt: up to three passages of 20 to 40 words around the words found, marked **so**.
_HEADLINE = "MaxWords=40, MinWords=20, ShortWord=2, MaxFragments=3, StartSel=**, StopSel=**"


@dataclass(frozen=True)
class ArticleFilter:
    """What a list may be narrowed to; `shared` means articles of no assistant."""

    assistant_id: uuid.UUID | None = None
    shared: bool | None = None
    is_active: bool | None = None
    language: str | None = None
    tag: str | None = None
    source: str | None = None
    q: str | None = None


async def list_articles(
    ctx: UnitOfWork, page: Page, where: ArticleFilter
) -> tuple[list[KnowledgeArticle], int]:
    """Newest change first."""
    stmt = select(KnowledgeArticle).order_by(
        col(KnowledgeArticle.updated_at).desc(), col(KnowledgeArticle.id)
    )
    for condition in _conditions(where):
        stmt = stmt.where(condition)
    return await paged(ctx.session, stmt, page)


def _conditions(where: ArticleFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if where.assistant_id is not None:
        found.append(col(KnowledgeArticle.assistant_id) == where.assistant_id)
    if where.shared is not None:
        shared = col(KnowledgeArticle.assistant_id).is_(None)
        found.append(shared if where.shared else ~shared)
    if where.is_active is not None:
        found.append(col(KnowledgeArticle.is_active).is_(where.is_active))
    if where.language is not None:
        found.append(col(KnowledgeArticle.language) == where.language.strip().lower())
    if where.tag is not None:
        tag = " ".join(where.tag.split()).lower()
        found.append(col(KnowledgeArticle.tags).contains([tag]))
    if where.source is not None:
        found.append(col(KnowledgeArticle.source) == where.source)
    if where.q is not None and (terms := tsquery(where.q, match_all=False)) is not None:
        found.append(col(KnowledgeArticle.search_vector).op("@@")(terms))
    return found


async def get_article(ctx: UnitOfWork, article_id: uuid.UUID) -> KnowledgeArticle:
    article = await ctx.session.get(KnowledgeArticle, article_id)
    if article is None:
        raise not_found(KIND, article_id)
    return article


async def create_article(ctx: UnitOfWork, data: KnowledgeArticleCreate) -> KnowledgeArticle:
    await _assistant_exists(ctx, data.assistant_id)
    article = KnowledgeArticle.model_validate(data)
    ctx.session.add(article)
    await ctx.session.flush()
    await ctx.session.refresh(article)
    return article


async def create_articles(
    ctx: UnitOfWork, items: list[KnowledgeArticleCreate]
) -> list[KnowledgeArticle]:
    """An import's articles, all or none (the unit of work commits them together)."""
    for assistant_id in {item.assistant_id for item in items}:
        await _assistant_exists(ctx, assistant_id)
    articles = [KnowledgeArticle.model_validate(item) for item in items]
    ctx.session.add_all(articles)
    await ctx.session.flush()
    for article in articles:
        await ctx.session.refresh(article)
    return articles


async def update_article(
    ctx: UnitOfWork, article_id: uuid.UUID, data: KnowledgeArticleUpdate
) -> KnowledgeArticle:
    article = await get_article(ctx, article_id)
    changes = non_null(KnowledgeArticle, data.model_dump(exclude_unset=True))
    if changes.get("assistant_id") is not None:
        await _assistant_exists(ctx, changes["assistant_id"])
    apply_update(article, changes)
    await ctx.session.flush()
    await ctx.session.refresh(article)
    return article


async def delete_article(ctx: UnitOfWork, article_id: uuid.UUID) -> None:
    result = await ctx.session.execute(
        delete(KnowledgeArticle).where(col(KnowledgeArticle.id) == article_id)
    )
    # execute() is typed as returning Result; a DELETE returns a CursorResult with rowcount
    if not result.rowcount:  # type: ignore[attr-defined]
        raise not_found(KIND, article_id)


async def search(
    ctx: UnitOfWork, query: str, assistant_id: uuid.UUID | None, limit: int
) -> list[KnowledgeHitPublic]:
    """Active articles with any of the query's words, best first: for an assistant, its own
    and the shared ones; without one, all of them."""
    terms = tsquery(query, match_all=False)
    if terms is None:
        return []
    # Built once per statement, as the chat history's search does (an InitPlan).
    wanted = select(terms).scalar_subquery()
    rank = func.ts_rank_cd(col(KnowledgeArticle.search_vector), wanted).label("rank")
    excerpt = func.ts_headline(_CONFIG, col(KnowledgeArticle.body), wanted, _HEADLINE)
    stmt = (
        select(KnowledgeArticle, rank, excerpt.label("excerpt"))
        .where(
            col(KnowledgeArticle.is_active).is_(True),
            col(KnowledgeArticle.search_vector).op("@@")(wanted),
        )
        .order_by(rank.desc(), col(KnowledgeArticle.updated_at).desc())
        .limit(min(limit, KNOWLEDGE_SEARCH_MAX))
    )
    if assistant_id is not None:
        stmt = stmt.where(
            or_(
                col(KnowledgeArticle.assistant_id).is_(None),
                col(KnowledgeArticle.assistant_id) == assistant_id,
            )
        )
    rows = (await ctx.session.execute(stmt)).all()
    return [_hit(article, float(found), str(passage)) for article, found, passage in rows]


def _hit(article: KnowledgeArticle, rank: float, excerpt: str) -> KnowledgeHitPublic:
    return KnowledgeHitPublic(
        id=article.id,
        title=article.title,
        excerpt=" ".join(excerpt.split()),
        source=article.source,
        language=article.language,
        assistant_id=article.assistant_id,
        rank=rank,
    )


async def _assistant_exists(ctx: UnitOfWork, assistant_id: uuid.UUID | None) -> None:
    if assistant_id is not None and await ctx.session.get(Assistant, assistant_id) is None:
        raise invalid("assistant_id", f"no assistant {assistant_id}")
