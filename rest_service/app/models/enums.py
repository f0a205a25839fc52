"""The column type of the enums (defined once, in `common.infrastructure.wire`), stored as
VARCHAR."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum as SAEnum


def varchar_enum(enum: type[StrEnum], length: int) -> SAEnum:
    """A VARCHAR column that reads back as the enum (so models never hold a bare string)."""
    return SAEnum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )
