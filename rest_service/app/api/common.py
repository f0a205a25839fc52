"""What every router shares: the error responses in OpenAPI and the `cascade` switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel


class ErrorField(BaseModel):
    field: str
    reason: str


class ErrorBody(BaseModel):
    """Every error: a machine-readable type, a sentence, and the fields at fault."""

    error: str
    detail: str
    fields: list[ErrorField]


def _error(description: str) -> dict[str, object]:
    return {"model": ErrorBody, "description": description}


ERRORS: dict[int | str, dict[str, object]] = {
    401: _error("no bearer token, or an unknown one"),
    403: _error("a valid token without the right (the service token on an admin route)"),
    404: _error("not found"),
    409: _error("conflict: a name taken, or a row others refer to"),
    422: _error("invalid input; `fields` names each problem"),
    503: _error("a dependency (Postgres) is down"),
}

Cascade = Annotated[
    bool,
    Query(description="also delete (or detach) what refers to it, instead of a 409"),
]
