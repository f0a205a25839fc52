"""An admin action's unit of work: the same as an API request's, with the logged-in admin as
the change history's actor (`admin:<name>`, or `api-token` for the token login); and a page
rendered with the status its outcome calls for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pydantic import ValidationError
from sqladmin import BaseView
from starlette.requests import Request
from starlette.responses import Response

from common.infrastructure.errors import AppError
from rest_service.app.admin.auth import current_admin
from rest_service.app.domain.unit_of_work import UnitOfWork, unit_of_work
from rest_service.app.state import STATE, AppState

#: Postgres's bigint: an integer id from an address above it names no row (and the database
#: would refuse the number with an error, not an empty answer).
BIGINT_MAX = 2**63 - 1


class AdminFormError(Exception):
    """What the admin page shows above the form (sqladmin renders `str(exc)`)."""


def app_state(view: BaseView) -> AppState:
    return STATE.of_app(view._admin_ref.app)


@asynccontextmanager
async def admin_ctx(view: BaseView, request: Request) -> AsyncIterator[UnitOfWork]:
    """One admin action; our errors (after the rollback) become a readable message on the
    page."""
    try:
        async with unit_of_work(app_state(view), current_admin(request).actor) as ctx:
            yield ctx
    except AppError as exc:
        raise AdminFormError(_describe(exc)) from exc
    except ValidationError as exc:
        raise AdminFormError(_describe_validation(exc)) from exc


def _describe(exc: AppError) -> str:
    reasons = "; ".join(f"{f.field}: {f.reason}" for f in exc.fields if f.field)
    return exc.detail if not reasons or reasons in exc.detail else f"{exc.detail} ({reasons})"


def _describe_validation(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'value'}: {err['msg']}" for err in exc.errors()
    )


async def page(
    view: BaseView, request: Request, template: str, context: dict[str, Any], status: int = 200
) -> Response:
    """`template` with `context`, answered with `status` (a refused upload or action is a
    4xx page that says why)."""
    response: Response = await view.templates.TemplateResponse(request, template, context)
    response.status_code = status
    return response
