"""Route dependencies: routes read like a sentence (`ctx: UnitOfWorkDep, page: PageDep`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request, Response

from common.infrastructure.web import caller_of
from rest_service.app.domain.paging import Page
from rest_service.app.domain.unit_of_work import UnitOfWork, unit_of_work
from rest_service.app.state import STATE, AppState

MAX_LIMIT = 1000
MAX_OFFSET = 2**31 - 1


async def ctx(
    request: Request, state: Annotated[AppState, Depends(STATE.of)]
) -> AsyncIterator[UnitOfWork]:
    """One unit of work per request, the caller's role as the history's actor."""
    caller = caller_of(request)
    async with unit_of_work(state, f"{caller.role}-token" if caller else "api") as unit:
        yield unit


#: Dependencies are `async def`: a plain `def` would cost a thread hop per request.


async def page(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip")] = 0,
) -> Page:
    return Page(limit, offset)


def set_total(response: Response, total: int) -> None:
    response.headers["X-Total-Count"] = str(total)


#: `scope="function"`: the commit (and a 409 it may raise) happens before the response is
#: sent, so a client that got its 201 reads its write.
UnitOfWorkDep = Annotated[UnitOfWork, Depends(ctx, scope="function")]
PageDep = Annotated[Page, Depends(page)]
