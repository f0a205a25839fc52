"""API clients and their keys (decision 0060): made, edited, given a new key or webhook
secret, revoked, and a key checked for the channels service; their webhook deliveries
(decision 0061) queued for the channels service and listed for the admin.

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
from sqlalchemy.dialects.postgresql import insert
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
from rest_service.app.domain.events import nudge_workers
from rest_service.app.domain.paging import Page
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.domain.webhooks import check_address, deliveries_to, sealed
from rest_service.app.models.api_client import (
    KEY_PREFIX_LENGTH,
    ApiClient,
    ApiClientCreate,
    ApiClientCreated,
    ApiClientPublic,
    ApiClientUpdate,
    ApiClientWithKey,
    ApiClientWithWebhookSecret,
    AuthenticatedClient,
)
from rest_service.app.models.assistant import Assistant
from rest_service.app.models.webhook import (
    ApiDeliveryCreate,
    DeliveryPublic,
    DeliveryStatus,
    DeliveryTarget,
    WebhookDelivery,
)

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


def created(client: ApiClient, key: str, webhook_secret: str) -> ApiClientCreated:
    fields = {**client.model_dump(), "key": key, "webhook_secret": webhook_secret}
    return ApiClientCreated.model_validate(fields)


def with_webhook_secret(client: ApiClient, webhook_secret: str) -> ApiClientWithWebhookSecret:
    fields = {**client.model_dump(), "webhook_secret": webhook_secret}
    return ApiClientWithWebhookSecret.model_validate(fields)


def _set_key(client: ApiClient) -> str:
    key = new_key()
    client.key_prefix = key[:KEY_PREFIX_LENGTH]
    client.key_hash = key_hash(key)
    return key


def _set_webhook_secret(ctx: UnitOfWork, client: ApiClient) -> str:
    """A new signing secret, kept encrypted (the worker reads it to sign each delivery)."""
    secret = secrets.token_urlsafe(32)
    client.webhook_secret_encrypted, client.webhook_secret_masked = sealed(ctx, secret)
    return secret


async def list_clients(ctx: UnitOfWork, page: Page) -> tuple[list[ApiClientPublic], int]:
    stmt = select(ApiClient).order_by(col(ApiClient.name))
    rows, total = await paged(ctx.session, stmt, page)
    return [public(row) for row in rows], total


async def get_client(ctx: UnitOfWork, client_id: uuid.UUID) -> ApiClient:
    return await get_or_404(ctx.session, ApiClient, client_id, KIND)


async def create_client(ctx: UnitOfWork, data: ApiClientCreate) -> tuple[ApiClient, str, str]:
    """The row, its key and its webhook signing secret in clear (the caller shows them
    once)."""
    await _check(ctx, data.model_dump())
    await _name_free(ctx, data.name)
    client = ApiClient.model_validate({**data.model_dump(), "key_prefix": "", "key_hash": ""})
    key = _set_key(client)
    webhook_secret = _set_webhook_secret(ctx, client)
    ctx.session.add(client)
    await flush_or_conflict(ctx.session)
    return client, key, webhook_secret


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
    client = await _live_client(ctx, client_id)
    key = _set_key(client)
    client.updated_at = utcnow()
    await flush_or_conflict(ctx.session)
    return client, key


async def renew_webhook_secret(ctx: UnitOfWork, client_id: uuid.UUID) -> tuple[ApiClient, str]:
    """A new signing secret; deliveries sent after this commit are signed with it (pending
    ones too, and those of a client that had none)."""
    client = await _live_client(ctx, client_id)
    secret = _set_webhook_secret(ctx, client)
    client.updated_at = utcnow()
    await flush_or_conflict(ctx.session)
    return client, secret


async def _live_client(ctx: UnitOfWork, client_id: uuid.UUID) -> ApiClient:
    """The client, or 409 naming `revoked_at`: a revoked one gets nothing new."""
    client = await get_client(ctx, client_id)
    if client.revoked_at is not None:
        reason = "the client is revoked; make a new one"
        raise ConflictError(reason, [FieldError("revoked_at", reason)])
    return client


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


async def queue_delivery(
    ctx: UnitOfWork, client_id: uuid.UUID, data: ApiDeliveryCreate
) -> tuple[DeliveryPublic, bool]:
    """The delivery of `data` to the client's webhook, and whether this call queued it: an
    `event_id` already queued for this client gives back that delivery (a retried call
    queues nothing twice). 409 for a revoked client or one without a webhook_url."""
    client = await _live_client(ctx, client_id)
    if client.webhook_url is None:
        reason = "the client has no webhook_url to deliver to"
        raise ConflictError(reason, [FieldError("webhook_url", reason)])
    now = utcnow()
    row = {
        "id": uuid.uuid4(),
        "api_client_id": client.id,
        "target": DeliveryTarget.api_client,
        "event": data.event,
        "event_id": data.event_id,
        "occurred_at": now,
        "payload": data.payload,
        "status": DeliveryStatus.pending,
        "attempts": 0,
        "next_attempt_at": now,
        "queued_at": now,
        "created_at": now,
        "updated_at": now,
    }
    stmt = (
        insert(WebhookDelivery)
        .values(row)
        .on_conflict_do_nothing(index_elements=["api_client_id", "event_id"])
        .returning(WebhookDelivery)
    )
    made = (await ctx.session.execute(stmt)).scalar_one_or_none()
    if made is not None:
        ctx.after_commit("webhooks", nudge_workers)
        return DeliveryPublic.model_validate(made.model_dump()), True
    queued = await ctx.session.execute(
        select(WebhookDelivery)
        .where(col(WebhookDelivery.api_client_id) == client.id)
        .where(col(WebhookDelivery.event_id) == data.event_id)
    )
    return DeliveryPublic.model_validate(queued.scalar_one().model_dump()), False


async def list_deliveries(
    ctx: UnitOfWork, client_id: uuid.UUID, status: DeliveryStatus | None, page: Page
) -> tuple[list[DeliveryPublic], int]:
    await get_client(ctx, client_id)
    return await deliveries_to(ctx, WebhookDelivery.api_client_id, client_id, status, page)


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
