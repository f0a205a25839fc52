"""Deleting what others refer to: a 409 that names the references, unless `?cascade=true`."""

from __future__ import annotations

from dataclasses import dataclass

from common.infrastructure.errors import ConflictError, FieldError


@dataclass(frozen=True)
class Reference:
    table: str
    count: int
    what: str


def refuse_if_referenced(kind: str, key: object, refs: list[Reference], cascade: bool) -> None:
    found = [r for r in refs if r.count]
    if cascade or not found:
        return
    named = ", ".join(f"{r.count} {r.what}" for r in found)
    raise ConflictError(
        f"{kind} {key} is referenced by {named}; remove those first or pass ?cascade=true",
        [FieldError(r.table, f"{r.count} {r.what}") for r in found],
    )
