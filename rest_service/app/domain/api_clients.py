"""API clients and their keys (decision 0060): made, edited, given a new key, revoked, and a
key checked for the channels service.

A key is `sa_` + 32 random bytes (256 bits). Only its SHA-256 is stored. A slow hash
(argon2) protects guessable passwords against a stolen table; nobody can guess 256 random
bits, so a fast hash loses nothing there and keeps every API call's check cheap."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid

from sqlalchemy import select
from sqlmodel import col

from common.infrastructure.clock import utcnow
from common.infrastructure.errors import (
    ConflictError,
    FieldError,
    UnauthorizedError,
    ValidationFailedError,
)
from rest_service.app.domain.common import (
    apply_update,
    flush_or_conflict,
    get_or_404,
    name_taken,
    non_null,
    paged,
)
from rest_service.app.domain.paging import Page
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.domain.webhooks import check_address
from rest_service.app.models.api_client import (
    KEY_PREFIX_LENGTH,
    ApiClient,
    ApiClientCreate,
    ApiClientPublic,
    ApiClientUpdate,
    ApiClientWithKey,
    AuthenticatedClient,
)
from rest_service.app.models.assistant import Assistant

KIND = "API client"
KEY_SCHEME = "sa_"
#: What `new_key` makes: anything else is refused before the database sees it (a NUL or a
#: lone surrogate could not even be sent to it).
KEY_SHAPE = re.compile(r"sa_[A-Za-z0-9_-]{43}")
#: One answer for an unknown, malformed or revoked key: a caller learns nothing from it.
REFUSED = "unknown or revoked API key"


def new_key() -> str:
    return KEY_SCHEME + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def public(client: ApiClient) -> ApiClientPublic:
    return ApiClientPublic.model_validate(client.model_dump())


def with_key(client: ApiClient, key: str) -> ApiClientWithKey:
    return ApiClientWithKey.model_validate({**client.model_dump(), "key": key})


def _set_key(client: ApiClient) -> str:
    key = new_key()
    client.key_prefix = key[:KEY_PREFIX_LENGTH]
    client.key_hash = key_hash(key)
    return key


async def list_clients(ctx: UnitOfWork, page: Page) -> tuple[list[ApiClientPublic], int]:
    stmt = select(ApiClient).order_by(col(ApiClient.name))
    rows, total = await paged(ctx.session, stmt, page)
    return [public(row) for row in rows], total


async def get_client(ctx: UnitOfWork, client_id: uuid.UUID) -> ApiClient:
    return await get_or_404(ctx.session, ApiClient, client_id, KIND)


async def create_client(ctx: UnitOfWork, data: ApiClientCreate) -> tuple[ApiClient, str]:
    """The row and its key in clear (the caller shows it once)."""
    await _check(ctx, data.model_dump())
    await _name_free(ctx, data.name)
    client = ApiClient.model_validate({**data.model_dump(), "key_prefix": "", "key_hash": ""})
    key = _set_key(client)
    ctx.session.add(client)
    await flush_or_conflict(ctx.session)
    return client, key


async def update_client(ctx: UnitOfWork, client_id: uuid.UUID, data: ApiClientUpdate) -> ApiClient:
    client = await get_client(ctx, client_id)
    changes = non_null(ApiClient, data.model_dump(exclude_unset=True))
    await _check(ctx, changes)
    if "name" in changes and changes["name"] != client.name:
        await _name_free(ctx, changes["name"])
    apply_update(client, changes)
    await flush_or_conflict(ctx.session)
    return client


async def rotate_key(ctx: UnitOfWork, client_id: uuid.UUID) -> tuple[ApiClient, str]:
    """A new key; the old one's hash is gone with this commit, so it stops at once."""
    client = await get_client(ctx, client_id)
    if client.revoked_at is not None:
        reason = "the client is revoked; make a new one"
        raise ConflictError(reason, [FieldError("revoked_at", reason)])
    key = _set_key(client)
    client.updated_at = utcnow()
    await flush_or_conflict(ctx.session)
    return client, key


async def revoke_client(ctx: UnitOfWork, client_id: uuid.UUID) -> ApiClient:
    """The key stops at once; the row stays (its name, limits and times are the record of
    who had access). Revoking twice keeps the first time."""
    client = await get_client(ctx, client_id)
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        await flush_or_conflict(ctx.session)
    return client


async def authenticate(ctx: UnitOfWork, key: str) -> AuthenticatedClient:
    """The live client this key belongs to, or 401. Rows are found by the key's public
    prefix; the hash is compared in constant time."""
    if not KEY_SHAPE.fullmatch(key):
        raise UnauthorizedError(REFUSED)
    given = key_hash(key)
    stmt = (
        select(ApiClient)
        .where(col(ApiClient.key_prefix) == key[:KEY_PREFIX_LENGTH])
        .where(col(ApiClient.revoked_at).is_(None))
    )
    for client in (await ctx.session.scalars(stmt)).all():
        if hmac.compare_digest(client.key_hash, given):
            return AuthenticatedClient.model_validate(client.model_dump())
    raise UnauthorizedError(REFUSED)


async def _check(ctx: UnitOfWork, fields: dict[str, object]) -> None:
    """The webhook URL goes where outgoing webhooks may (SSRF rules); every assistant named
    exists."""
    url = fields.get("webhook_url")
    if isinstance(url, str):
        await check_address(ctx, url, "webhook_url")
    names = fields.get("allowed_assistants")
    if not isinstance(names, list) or not names:
        return
    known = set(
        await ctx.session.scalars(select(col(Assistant.name)).where(col(Assistant.name).in_(names)))
    )
    missing = [name for name in names if name not in known]
    if missing:
        reason = f"no assistant named {', '.join(map(repr, missing))}"
        raise ValidationFailedError(
            f"allowed_assistants: {reason}", [FieldError("allowed_assistants", reason)]
        )


async def _name_free(ctx: UnitOfWork, name: str) -> None:
    taken = await ctx.session.scalar(select(col(ApiClient.id)).where(col(ApiClient.name) == name))
    if taken:
        raise name_taken(KIND, "name", name)
