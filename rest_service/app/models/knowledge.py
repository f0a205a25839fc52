"""Knowledge articles: what a business's assistant answers from. An admin writes or imports
them; the assistant's `knowledge` tool searches them each turn. Data, not configuration:
writing one bumps no config version."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator
from pydantic import Field as PydanticField
from sqlalchemy import Column, Computed, Index, String
from sqlalchemy import Text as SAText
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlmodel import Field, SQLModel

from rest_service.app.models.base import TimestampMixin, _no_nul

TITLE_MAX = 300
BODY_MAX = 100_000
SOURCE_MAX = 255
TAG_MAX = 64
TAGS_MAX = 20
_ISO_CODE = re.compile(r"[a-z]{2,3}")
#: Title words weigh more than body words (`A` over `B`); one configuration for Russian and
#: English alike, as the chat history's search (`russian` stems Latin words as English).
SEARCH_VECTOR_SQL = (
    "setweight(to_tsvector('russian'::regconfig, COALESCE(title, ''::character varying)), 'A') "
    "|| setweight(to_tsvector('russian'::regconfig, COALESCE(body, ''::text)), 'B')"
)


def _stripped(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _language(value: object) -> object:
    """`EN`, ` ru ` and `pt-BR` are `en`, `ru` and `pt`: the search needs the language only."""
    if isinstance(value, str):
        value = value.strip().lower().split("-")[0].split("_")[0] or None
    return value


def _tags(value: object) -> object:
    """Tags trimmed, lowercased, blanks and repeats dropped, order kept."""
    if not isinstance(value, list):
        return value
    seen: dict[str, None] = {}
    for tag in value:
        if not isinstance(tag, str):
            return value  # the list type refuses it, naming the item
        if key := " ".join(tag.split()).lower():
            seen[key] = None
    return list(seen)


Title = Annotated[
    str,
    BeforeValidator(_stripped),
    PydanticField(min_length=1, max_length=TITLE_MAX),
    AfterValidator(_no_nul),
]
Body = Annotated[
    str, BeforeValidator(_stripped), PydanticField(min_length=1, max_length=BODY_MAX),
    AfterValidator(_no_nul),
]  # fmt: skip


def _iso_code(value: str | None) -> str | None:
    if value is not None and not _ISO_CODE.fullmatch(value):
        raise ValueError("must be an ISO 639 language code such as en or ru")
    return value


#: An ISO 639 code (`en`, `ru`); blank is none.
Language = Annotated[str | None, BeforeValidator(_language), AfterValidator(_iso_code)]
Source = Annotated[
    str,
    BeforeValidator(_stripped),
    PydanticField(min_length=1, max_length=SOURCE_MAX),
    AfterValidator(_no_nul),
]
Tag = Annotated[str, PydanticField(min_length=1, max_length=TAG_MAX), AfterValidator(_no_nul)]
Tags = Annotated[list[Tag], BeforeValidator(_tags), PydanticField(max_length=TAGS_MAX)]


class KnowledgeArticle(TimestampMixin, table=True):
    __tablename__ = "knowledge_articles"
    __table_args__ = (
        Index("ix_knowledge_articles_search", "search_vector", postgresql_using="gin"),
        Index("ix_knowledge_articles_assistant_id", "assistant_id"),
        Index("ix_knowledge_articles_tags", "tags", postgresql_using="gin"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    #: Whose business it is; null: every assistant's. Goes with its assistant.
    assistant_id: uuid.UUID | None = Field(
        default=None, foreign_key="assistants.id", ondelete="CASCADE", nullable=True
    )
    title: str = Field(max_length=TITLE_MAX)
    body: str = Field(sa_type=SAText)
    language: str | None = Field(default=None, max_length=8)
    source: str = Field(default="manual", max_length=SOURCE_MAX)
    tags: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(String(TAG_MAX)), nullable=False, server_default="{}"),
    )
    is_active: bool = Field(default=True)
    search_vector: Any = Field(
        default=None,
        sa_column=Column(TSVECTOR, Computed(SEARCH_VECTOR_SQL, persisted=True)),
        exclude=True,
    )


class KnowledgeArticleCreate(SQLModel):
    assistant_id: uuid.UUID | None = None
    title: Title
    body: Body
    language: Language = None
    source: Source = "manual"
    tags: Tags = PydanticField(default_factory=list)
    is_active: bool = True


class KnowledgeArticleUpdate(SQLModel):
    """Partial: fields left out keep their values; `assistant_id: null` makes it shared."""

    assistant_id: uuid.UUID | None = None
    title: Title | None = None
    body: Body | None = None
    language: Language = None
    source: Source | None = None
    tags: Tags | None = None
    is_active: bool | None = None


class KnowledgeArticlePublic(SQLModel):
    id: uuid.UUID
    assistant_id: uuid.UUID | None
    title: str
    body: str
    language: str | None
    source: str
    tags: list[str]
    is_active: bool
    created_at: datetime
    updated_at: datetime


class KnowledgeHitPublic(SQLModel):
    id: uuid.UUID
    title: str
    excerpt: str
    source: str
    language: str | None
    assistant_id: uuid.UUID | None
    rank: float
