"""The admin's Experiments page: the list, a form that starts one with its arms (the control
and up to three variants), and each experiment's results with their intervals and the Stop
and Promote buttons. Writes go through the service layer, so they land in the change history
as the API's do."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError
from sqladmin import BaseView, expose
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from common.infrastructure.errors import AppError, FieldError
from rest_service.app.admin import display_names as readable
from rest_service.app.admin.auth import current_admin
from rest_service.app.admin.request_ctx import AdminFormError, admin_ctx, app_state, page
from rest_service.app.domain import experiments
from rest_service.app.domain.experiment_results import experiment_results
from rest_service.app.domain.paging import Page
from rest_service.app.domain.unit_of_work import unit_of_work
from rest_service.app.models.experiment import ExperimentCreate

#: Rows of the form: the control, then variants (a row without a name is left out).
FORM_ROWS = 4
LISTED = 200


class ExperimentsView(BaseView):
    name = "Experiments"
    icon = "fa-solid fa-flask"

    @expose("/experiments", methods=["GET"], identity="experiments")
    async def listing(self, request: Request) -> Response:
        return await self._render(request)

    @expose("/experiments-start", methods=["POST"], identity="experiments-start")
    async def start(self, request: Request) -> Response:
        async with request.form() as form:
            body = _body(form)
            typed = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        try:
            data = ExperimentCreate.model_validate(body)
            async with unit_of_work(app_state(self), current_admin(request).actor) as ctx:
                made = await experiments.create_experiment(ctx, data)
        except ValidationError as exc:
            errors = [
                FieldError(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()
            ]
            return await self._render(request, errors=errors, status=400, typed=typed)
        except AppError as exc:
            return await self._render(
                request, errors=exc.fields, detail=exc.detail, status=400, typed=typed
            )
        url = request.url_for("admin:view-experiment", experiment_id=str(made.id))
        return RedirectResponse(str(url), status_code=303)

    async def _render(
        self,
        request: Request,
        *,
        errors: list[FieldError] | None = None,
        detail: str | None = None,
        status: int = 200,
        typed: dict[str, str] | None = None,
    ) -> Response:
        """The list and the start form; a refused form comes back as the admin typed it."""
        async with unit_of_work(app_state(self), current_admin(request).actor) as ctx:
            rows, _total = await experiments.list_experiments(
                ctx, Page(offset=0, limit=LISTED), None, None
            )
            owners = await readable.choices(ctx.session, "assistant")
            models = await readable.choices(ctx.session, "model", blank="(the assistant's)")
        context = {
            "experiments": rows,
            "owners": owners,
            "names": dict(owners),
            "models": models,
            "rows": range(FORM_ROWS),
            "errors": errors or [],
            "detail": detail,
            "typed": typed or {},
        }
        return await page(self, request, "admin_experiments.html", context, status)


class ExperimentView(BaseView):
    """One experiment's results and its Stop / Promote buttons (not a menu entry)."""

    name = "Experiment"

    def is_visible(self, request: Request) -> bool:
        return False

    @expose("/experiments/{experiment_id}", methods=["GET"], identity="experiment")
    async def show(self, request: Request) -> Response:
        key = _key(request)
        if key is None:
            return await page(self, request, "admin_experiment.html", {"missing": True}, 404)
        try:
            async with admin_ctx(self, request) as ctx:
                results = await experiment_results(ctx, key)
                owners = dict(await readable.choices(ctx.session, "assistant"))
        except AdminFormError:
            return await page(self, request, "admin_experiment.html", {"missing": True}, 404)
        context = {
            "results": results,
            "assistant": owners.get(str(results.experiment.assistant_id), "?"),
            "done": request.query_params.get("done"),
            "error": request.query_params.get("error"),
        }
        return await page(self, request, "admin_experiment.html", context)

    @expose("/experiments/{experiment_id}/stop", methods=["POST"], identity="experiment-stop")
    async def stop(self, request: Request) -> Response:
        return await self._act(request, "stopped", None)

    @expose("/experiments/{experiment_id}/promote", methods=["POST"], identity="experiment-promote")
    async def promote(self, request: Request) -> Response:
        async with request.form() as form:
            variant = str(form.get("variant_id") or "")
        return await self._act(request, "promoted", variant)

    async def _act(self, request: Request, done: str, variant: str | None) -> Response:
        key = _key(request)
        url = request.url_for("admin:view-experiment", experiment_id=str(key))
        try:
            if key is None:
                raise AdminFormError("no such experiment")
            async with admin_ctx(self, request) as ctx:
                if variant is None:
                    await experiments.stop_experiment(ctx, key)
                else:
                    await experiments.promote_variant(ctx, key, _variant(variant))
        except AdminFormError as exc:
            return RedirectResponse(str(url.include_query_params(error=str(exc))), 303)
        return RedirectResponse(str(url.include_query_params(done=done)), 303)


def _key(request: Request) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(request.path_params["experiment_id"]))
    except ValueError:
        return None


def _variant(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError as exc:
        raise AdminFormError("variant_id: choose one of the experiment's variants") from exc


def _body(form: FormData) -> dict[str, Any]:
    """The form as `ExperimentCreate`'s body: row 0 is the control."""
    variants: list[dict[str, Any]] = []
    for row in range(FORM_ROWS):
        name = str(form.get(f"variant-{row}-name") or "").strip()
        if not name:
            continue
        arm: dict[str, Any] = {
            "name": name,
            "share": str(form.get(f"variant-{row}-share") or "").strip() or None,
            "is_control": row == 0,
        }
        for field in ("instructions", "model"):
            value = str(form.get(f"variant-{row}-{field}") or "").strip()
            if value:
                arm[field] = value
        variants.append(arm)
    return {
        "assistant_id": str(form.get("assistant_id") or "") or None,
        "name": str(form.get("name") or ""),
        "variants": variants,
    }
