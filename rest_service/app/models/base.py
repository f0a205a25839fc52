"""What every table and API model shares: timestamps, checked text types, list paging."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator
from pydantic import Field as PydanticField
from sqlalchemy import DateTime, func
from sqlmodel import Field, SQLModel

from common.infrastructure.clock import utcnow

#: Deterministic constraint names, so Alembic can find and drop what it made.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Postgres BIGINT bounds: larger integers are a 422, never a driver error.
BIGINT_MAX = 2**63 - 1
INT_MAX = 2**31 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_nul(value: Any) -> Any:
    """Postgres text and JSONB cannot hold NUL or a lone surrogate (JSON `"\\ud800"`, not
    UTF-8); reject them as input instead of failing later."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        if _SURROGATE.search(value):
            raise ValueError("must not contain lone surrogates (not valid Unicode text)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_nul(key)
            _no_nul(item)
    elif isinstance(value, list):
        for item in value:
            _no_nul(item)
    return value


def one_line(value: object) -> object:
    """Runs of whitespace become one space (a fact is one line of the prompt, a task's title
    one line of a list)."""
    return " ".join(value.split()) if isinstance(value, str) else value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must carry a timezone offset (e.g. 2025-01-31T09:00:00+03:00)")
    return value


#: Text from a client: no NUL characters.
Text = Annotated[str, AfterValidator(_no_nul)]
#: JSON from a client: no NUL characters anywhere inside.
JsonObject = Annotated[dict[str, Any], AfterValidator(_no_nul)]
JsonList = Annotated[list[dict[str, Any]], AfterValidator(_no_nul)]
#: A datetime with an offset; naive times are ambiguous and refused.
AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
#: A bounded optional integer stored as INTEGER.
SmallCount = Annotated[int, PydanticField(ge=0, le=INT_MAX)]
#: Stripped, non-empty names.
Name = Annotated[
    str,
    BeforeValidator(lambda v: v.strip() if isinstance(v, str) else v),
    PydanticField(min_length=1, max_length=255),
    AfterValidator(_no_nul),
]


class TimestampMixin(SQLModel):
    created_at: datetime = Field(
        default_factory=utcnow,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": func.now(), "nullable": False},
    )
    updated_at: datetime = Field(
        default_factory=utcnow,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": func.now(), "onupdate": utcnow, "nullable": False},
    )


class CreatedMixin(SQLModel):
    created_at: datetime = Field(
        default_factory=utcnow,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": func.now(), "nullable": False},
    )
