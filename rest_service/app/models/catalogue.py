"""The catalogue of a business assistant: services and products with a price in a currency,
availability and tags. An item belongs to one assistant (its business) or, without one, to
every assistant. Prices are `Decimal`, never floats, with no more decimals than the currency
has, so an answer shows exactly the stored price."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ValidationInfo, field_validator
from pydantic import Field as PydanticField
from sqlalchemy import Column, Computed, Index, Numeric, text
from sqlalchemy import Text as SAText
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlmodel import AutoString, Field, SQLModel

from rest_service.app.models.base import INT_MAX, TimestampMixin, _no_nul
from rest_service.app.models.currencies import MINOR_UNITS

NAME_MAX = 200
#: Prices below a trillion: NUMERIC(16, 4) holds them with four decimals.
MAX_PRICE = Decimal(10) ** 12
MAX_TAGS = 20
TAG_MAX_CHARS = 50
DESCRIPTION_MAX = 4000
SKU_MAX = 64
#: A year: the longest service one booking covers.
DURATION_MAX = 525_600
#: Name and tags weigh more than the description; the same `russian` configuration as the
#: chat history (Cyrillic stemmed as Russian, Latin as English).
SEARCH_VECTOR_SQL = (
    "setweight(to_tsvector('russian'::regconfig, COALESCE(name, ''::character varying)), 'A')"
    " || setweight(to_tsvector('russian'::regconfig, COALESCE((tags)::text, ''::text)), 'A')"
    " || setweight(to_tsvector('russian'::regconfig, COALESCE(description, ''::text)), 'B')"
)


def _stripped(value: object) -> object:
    return " ".join(value.split()) if isinstance(value, str) else value


def _blank_is_none(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        return None
    return value.strip() if isinstance(value, str) else value


def _currency(value: object) -> object:
    if not isinstance(value, str):
        return value
    code = value.strip().upper()
    if code not in MINOR_UNITS:
        raise ValueError("must be an ISO 4217 currency code in use, such as EUR, USD or RUB")
    return code


def _tag(value: object) -> object:
    if not isinstance(value, str):
        return value
    tag = tag_key(value)
    if not tag:
        raise ValueError("a tag must not be empty")
    if "," in tag or "|" in tag:
        raise ValueError("a tag must not contain ',' or '|' (they separate tags in CSV)")
    return tag


def tag_key(value: str) -> str:
    """What makes two tags the same: their words, lower case ("Hair  Cut" is "hair cut")."""
    return " ".join(value.split()).lower()


def _unique_tags(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


ItemName = Annotated[
    str,
    BeforeValidator(_stripped),
    PydanticField(min_length=1, max_length=NAME_MAX),
    AfterValidator(_no_nul),
]
Description = Annotated[str, PydanticField(max_length=DESCRIPTION_MAX), AfterValidator(_no_nul)]
Sku = Annotated[
    Annotated[str, PydanticField(max_length=SKU_MAX), AfterValidator(_no_nul)] | None,
    BeforeValidator(_blank_is_none),
]
Price = Annotated[
    Decimal,
    PydanticField(ge=0, lt=MAX_PRICE, allow_inf_nan=False),
]
Currency = Annotated[str, BeforeValidator(_currency)]
Tag = Annotated[
    str,
    BeforeValidator(_tag),
    PydanticField(max_length=TAG_MAX_CHARS),
    AfterValidator(_no_nul),
]
Tags = Annotated[list[Tag], PydanticField(max_length=MAX_TAGS), AfterValidator(_unique_tags)]
Duration = Annotated[int, PydanticField(ge=1, le=DURATION_MAX)]
Stock = Annotated[int, PydanticField(ge=0, le=INT_MAX)]


def price_error(price: Decimal, currency: str) -> str | None:
    """Why `price` cannot be a price in `currency`: more decimals than the currency has."""
    digits = MINOR_UNITS.get(currency, 2)
    exponent = price.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > digits:
        return f"{currency} has {digits} decimals: {price} has more"
    return None


class CatalogueItemBase(SQLModel):
    assistant_id: uuid.UUID | None = Field(
        default=None, foreign_key="assistants.id", ondelete="CASCADE"
    )
    sku: Sku = Field(default=None, sa_type=AutoString(length=SKU_MAX))
    name: ItemName = Field(max_length=NAME_MAX)
    description: Description = Field(default="", sa_type=SAText)
    currency: Currency = Field(max_length=3)
    price: Price = Field(sa_column=Column(Numeric(16, 4), nullable=False))
    duration_minutes: Duration | None = None
    available: bool = True
    stock: Stock | None = None
    tags: Tags = Field(
        default_factory=list,
        sa_column=Column(JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    )
    is_active: bool = True


class CatalogueItem(CatalogueItemBase, TimestampMixin, table=True):
    __tablename__ = "catalogue_items"
    #: A sku names one item in its scope: one business's items, or the shared ones.
    __table_args__ = (
        Index(
            "uq_catalogue_items_assistant_sku",
            "assistant_id",
            "sku",
            unique=True,
            postgresql_where=text("assistant_id IS NOT NULL AND sku IS NOT NULL"),
        ),
        Index(
            "uq_catalogue_items_shared_sku",
            "sku",
            unique=True,
            postgresql_where=text("assistant_id IS NULL AND sku IS NOT NULL"),
        ),
        Index("ix_catalogue_items_assistant_id_name", "assistant_id", "name"),
        Index("ix_catalogue_items_search", "search_vector", postgresql_using="gin"),
        Index(
            "ix_catalogue_items_tags",
            "tags",
            postgresql_using="gin",
            postgresql_ops={"tags": "jsonb_path_ops"},
        ),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    search_vector: Any = Field(
        default=None,
        sa_column=Column(TSVECTOR, Computed(SEARCH_VECTOR_SQL, persisted=True)),
        exclude=True,
    )


class CatalogueItemCreate(CatalogueItemBase):
    #: Given by an import that re-creates an exported item under its id.
    id: uuid.UUID | None = None

    @field_validator("price")
    @classmethod
    def _price_fits_currency(cls, price: Decimal, info: ValidationInfo) -> Decimal:
        currency = info.data.get("currency")
        if currency and (problem := price_error(price, currency)):
            raise ValueError(problem)
        return price


class CatalogueItemUpdate(SQLModel):
    assistant_id: uuid.UUID | None = None
    sku: Sku = None
    name: ItemName | None = None
    description: Description | None = None
    currency: Currency | None = None
    price: Price | None = None
    duration_minutes: Duration | None = None
    available: bool | None = None
    stock: Stock | None = None
    tags: Tags | None = None
    is_active: bool | None = None


class CatalogueItemPublic(SQLModel):
    id: uuid.UUID
    assistant_id: uuid.UUID | None
    sku: str | None
    name: str
    description: str
    #: A JSON string, exactly as stored, with the currency's decimals ("10.50").
    price: Decimal
    currency: str
    duration_minutes: int | None
    available: bool
    stock: int | None
    tags: list[str]
    is_active: bool
    created_at: datetime
    updated_at: datetime
