"""Route dependencies: routes read like a sentence (`ctx: CtxDep, page: PageDep`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request, Response

from common.web import caller_of
from rest_service.app.domain.unit_of_work import Ctx
from rest_service.app.state import STATE, AppState

MAX_LIMIT = 1000
MAX_OFFSET = 2**31 - 1


async def ctx(
    request: Request, state: Annotated[AppState, Depends(STATE.of)]
) -> AsyncIterator[Ctx]:
    """One session per request; services commit, anything uncommitted rolls back on close."""
    caller = caller_of(request)
    actor = f"{caller.role}-token" if caller else "api"
    async with state.sessions() as session:
        yield Ctx(session, state.settings, state.box, state.cache, actor)


#: Dependencies are `async def`: a plain `def` would cost a thread hop per request.


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


async def page(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip")] = 0,
) -> Page:
    return Page(limit, offset)


def set_total(response: Response, total: int) -> None:
    response.headers["X-Total-Count"] = str(total)


CtxDep = Annotated[Ctx, Depends(ctx)]
PageDep = Annotated[Page, Depends(page)]
