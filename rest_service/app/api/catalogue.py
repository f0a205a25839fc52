"""/api/catalogue: the business assistants' services and products. The admin keeps it (list,
create, edit, delete, export, import); services only search it, for one assistant, among
active items (the `catalogue` tool)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from common.infrastructure.errors import invalid
from rest_service.app.api.common import ERRORS
from rest_service.app.api.deps import PageDep, UnitOfWorkDep, set_total
from rest_service.app.auth import admin_only, any_token
from rest_service.app.domain import catalogue, catalogue_transfer
from rest_service.app.domain.catalogue import ItemFilter
from rest_service.app.domain.catalogue_transfer import Format
from rest_service.app.models.catalogue import (
    MAX_PRICE,
    CatalogueItemCreate,
    CatalogueItemPublic,
    CatalogueItemUpdate,
    Currency,
)

router = APIRouter(prefix="/api/catalogue", tags=["catalogue"], responses=ERRORS)

#: Items one search returns at most.
MAX_SEARCH_RESULTS = 50
Words = Annotated[
    str | None, Query(max_length=400, description="words of the name, description or tags")
]
TagQuery = Annotated[str | None, Query(max_length=50, description="items with this tag")]
PriceQuery = Annotated[Decimal | None, Query(ge=0, lt=MAX_PRICE, allow_inf_nan=False)]
CurrencyQuery = Annotated[Currency | None, Query(description="ISO 4217 code")]


class ImportResult(BaseModel):
    created: int
    updated: int


_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "description": "the export's columns, as CSV (a spreadsheet's too: BOM, `;`, decimal "
        "commas) or JSON (an array of items); or a multipart form with the file in `file`",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
        },
    }
}


@router.get("/", response_model=list[CatalogueItemPublic], dependencies=[admin_only])
async def list_items(
    ctx: UnitOfWorkDep,
    page: PageDep,
    response: Response,
    q: Words = None,
    tag: TagQuery = None,
    min_price: PriceQuery = None,
    max_price: PriceQuery = None,
    currency: CurrencyQuery = None,
    available: bool | None = None,
    is_active: bool | None = None,
    assistant_id: uuid.UUID | None = None,
    shared: Annotated[bool | None, Query(description="only the items of every assistant")] = None,
) -> object:
    """By name, or best match first with `q`."""
    where = ItemFilter(
        q, tag, min_price, max_price, currency, available, is_active, assistant_id, shared
    )
    rows, total = await catalogue.list_items(ctx, page, where)
    set_total(response, total)
    return rows


@router.get("/search", response_model=list[CatalogueItemPublic], dependencies=[any_token])
async def search_items(
    ctx: UnitOfWorkDep,
    assistant_id: uuid.UUID | None = None,
    q: Words = None,
    tag: TagQuery = None,
    min_price: PriceQuery = None,
    max_price: PriceQuery = None,
    available: Annotated[bool, Query(description="only items available now")] = False,
    item_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_SEARCH_RESULTS)] = 10,
) -> object:
    """Active items of `assistant_id` and the shared ones (without it, the shared ones
    only), best match first. Either token: what the `catalogue` tool reads."""
    where = ItemFilter(q, tag, min_price, max_price, None, True if available else None)
    return await catalogue.search_items(ctx, assistant_id, where, item_id, limit)


@router.get("/export", dependencies=[admin_only], response_class=Response)
async def export_items(ctx: UnitOfWorkDep, format: Format = "json") -> Response:
    """Every item with the import's columns: CSV (UTF-8 with a BOM) or JSON."""
    rows = await catalogue_transfer.export_rows(ctx)
    if format == "csv":
        body, media = catalogue_transfer.as_csv(rows), "text/csv; charset=utf-8"
    else:
        body, media = catalogue_transfer.as_json(rows), "application/json"
    disposition = f'attachment; filename="catalogue.{format}"'
    return Response(body, media_type=media, headers={"Content-Disposition": disposition})


@router.post(
    "/import",
    response_model=ImportResult,
    dependencies=[admin_only],
    openapi_extra=_IMPORT_BODY,
)
async def import_items(
    ctx: UnitOfWorkDep,
    request: Request,
    format: Annotated[Format | None, Query(description="else from the content type")] = None,
) -> object:
    """All or nothing: a 422 names every bad row and field (`rows.<n>.<field>`, rows from
    1). Rows with an `id` or a `sku` update that item; the others are added."""
    body, fmt = await _upload(request, format)
    outcome = await catalogue_transfer.import_rows(ctx, catalogue_transfer.parse(body, fmt))
    return ImportResult(created=outcome.created, updated=outcome.updated)


@router.post("/", response_model=CatalogueItemPublic, status_code=201, dependencies=[admin_only])
async def create_item(ctx: UnitOfWorkDep, data: CatalogueItemCreate) -> object:
    """409 when the sku is taken in the item's scope."""
    return await catalogue.create_item(ctx, data)


@router.get("/{item_id}", response_model=CatalogueItemPublic, dependencies=[admin_only])
async def get_item(ctx: UnitOfWorkDep, item_id: uuid.UUID) -> object:
    return catalogue.public(await catalogue.get_item(ctx, item_id))


@router.put("/{item_id}", response_model=CatalogueItemPublic, dependencies=[admin_only])
async def update_item(ctx: UnitOfWorkDep, item_id: uuid.UUID, data: CatalogueItemUpdate) -> object:
    return await catalogue.update_item(ctx, item_id, data)


@router.delete("/{item_id}", status_code=204, dependencies=[admin_only])
async def delete_item(ctx: UnitOfWorkDep, item_id: uuid.UUID) -> None:
    await catalogue.delete_item(ctx, item_id)


async def _upload(request: Request, wanted: Format | None) -> tuple[bytes, Format]:
    """The document and its format: `format`, else the content type (or the uploaded file's
    name); a 422 when neither says."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        async with request.form() as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise invalid("file", "the form needs the CSV or JSON file in the field `file`")
            body = await upload.read()
            named = (upload.filename or "").lower().rsplit(".", 1)[-1]
        return body, wanted or _format_of(named if named in ("csv", "json") else "")
    return await request.body(), wanted or _format_of(media)


def _format_of(media: str) -> Format:
    if media in ("csv", "text/csv", "text/plain", "application/csv"):
        return "csv"
    if media in ("json", "application/json"):
        return "json"
    raise invalid("format", "say `format=csv` or `format=json`, or send text/csv or JSON")
