"""Webhook subscriptions (an admin's: a URL, the events it wants, a signing secret kept
encrypted and shown once) and their deliveries: listed, and sent again on an admin's say
(an API client's deliveries too, decision 0061)."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy import select, update
from sqlmodel import col

from common.infrastructure.address_guard import AddressRefused, HostNotFound, check_url
from common.infrastructure.clock import utcnow
from common.infrastructure.crypto import mask_secret
from common.infrastructure.errors import (
    ConflictError,
    FieldError,
    ValidationFailedError,
    not_found,
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
from rest_service.app.models.webhook import (
    DeliveryPublic,
    DeliveryStatus,
    WebhookCreate,
    WebhookCreated,
    WebhookDelivery,
    WebhookPublic,
    WebhookSubscription,
    WebhookUpdate,
)

KIND = "webhook"


class PrivateAddressError(ValidationFailedError):
    """The URL's host is loopback, private or otherwise not public (SSRF)."""


def _fields(sub: WebhookSubscription) -> dict[str, object]:
    """`events` as stored (JSONB gives back strings; the public model reads them as names)."""
    return {**sub.model_dump(exclude={"events"}), "events": sub.events}


def public(sub: WebhookSubscription) -> WebhookPublic:
    return WebhookPublic.model_validate(_fields(sub))


def created(sub: WebhookSubscription, secret: str) -> WebhookCreated:
    return WebhookCreated.model_validate({**_fields(sub), "secret": secret})


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def sealed(ctx: UnitOfWork, secret: str) -> tuple[str, str | None]:
    """A signing secret as kept: encrypted with the master key (the worker must read it to
    sign), and masked for the admin."""
    return ctx.box.encrypt(secret), mask_secret(secret)


def set_secret(ctx: UnitOfWork, sub: WebhookSubscription, secret: str) -> None:
    sub.secret_encrypted, sub.secret_masked = sealed(ctx, secret)


async def check_address(ctx: UnitOfWork, url: str, field: str = "url") -> None:
    """422 for a URL whose host resolves to a non-public address, unless the setting lets
    private addresses through. A host not found now is let be: its deliveries retry."""
    try:
        await check_url(url, allow_private=ctx.settings.webhook_allow_private_addresses)
    except HostNotFound:
        return
    except AddressRefused as exc:
        reason = f"{exc.host} is a {exc.reason} address; webhooks go to public addresses only"
        raise PrivateAddressError(f"{field}: {reason}", [FieldError(field, reason)]) from exc


async def list_subscriptions(ctx: UnitOfWork, page: Page) -> tuple[list[WebhookPublic], int]:
    stmt = select(WebhookSubscription).order_by(col(WebhookSubscription.name))
    rows, total = await paged(ctx.session, stmt, page)
    return [public(row) for row in rows], total


async def get_subscription(ctx: UnitOfWork, sub_id: uuid.UUID) -> WebhookSubscription:
    return await get_or_404(ctx.session, WebhookSubscription, sub_id, KIND)


async def create_subscription(
    ctx: UnitOfWork, data: WebhookCreate
) -> tuple[WebhookSubscription, str]:
    """The row and its secret in clear (the caller shows it once)."""
    await check_address(ctx, data.url)
    await _name_free(ctx, data.name)
    secret = data.secret or new_secret()
    sub = WebhookSubscription.model_validate(
        {**data.model_dump(exclude={"secret"}), "secret_encrypted": ""}
    )
    set_secret(ctx, sub, secret)
    ctx.session.add(sub)
    await flush_or_conflict(ctx.session)
    return sub, secret


async def update_subscription(
    ctx: UnitOfWork, sub_id: uuid.UUID, data: WebhookUpdate
) -> WebhookSubscription:
    sub = await get_subscription(ctx, sub_id)
    changes = non_null(WebhookSubscription, data.model_dump(exclude_unset=True))
    if "url" in changes:
        await check_address(ctx, changes["url"])
    if "name" in changes and changes["name"] != sub.name:
        await _name_free(ctx, changes["name"])
    if "secret" in changes:
        set_secret(ctx, sub, changes.pop("secret"))
    apply_update(sub, changes)
    await flush_or_conflict(ctx.session)
    return sub


async def delete_subscription(ctx: UnitOfWork, sub_id: uuid.UUID) -> None:
    """Its deliveries go with it (the foreign key cascades)."""
    await ctx.session.delete(await get_subscription(ctx, sub_id))


async def list_deliveries(
    ctx: UnitOfWork, sub_id: uuid.UUID, status: DeliveryStatus | None, page: Page
) -> tuple[list[DeliveryPublic], int]:
    await get_subscription(ctx, sub_id)
    return await deliveries_to(ctx, WebhookDelivery.subscription_id, sub_id, status, page)


async def deliveries_to(
    ctx: UnitOfWork, owner: Any, owner_id: uuid.UUID, status: DeliveryStatus | None, page: Page
) -> tuple[list[DeliveryPublic], int]:
    """The deliveries whose `owner` column (a subscription's, an API client's) is `owner_id`,
    newest first."""
    stmt = select(WebhookDelivery).where(col(owner) == owner_id)
    if status is not None:
        stmt = stmt.where(col(WebhookDelivery.status) == status)
    stmt = stmt.order_by(col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.id))
    rows, total = await paged(ctx.session, stmt, page)
    return [DeliveryPublic.model_validate(row.model_dump()) for row in rows], total


async def replay(ctx: UnitOfWork, delivery_id: uuid.UUID) -> DeliveryPublic:
    """A dead or delivered delivery goes out again, with the same event id (so the receiver
    can tell it has seen it), a fresh count of attempts and a fresh `queued_at` (an API
    client's gets its whole retry time again); a pending one is left be."""
    now = utcnow()
    found = await ctx.session.execute(
        update(WebhookDelivery)
        .where(col(WebhookDelivery.id) == delivery_id)
        .where(col(WebhookDelivery.status) != DeliveryStatus.pending)
        .values(
            status=DeliveryStatus.pending,
            attempts=0,
            next_attempt_at=now,
            queued_at=now,
            last_error=None,
            updated_at=now,
        )
        .returning(WebhookDelivery)
    )
    row = found.scalar_one_or_none()
    if row is None:
        if await ctx.session.get(WebhookDelivery, delivery_id) is None:
            raise not_found("delivery", delivery_id)
        reason = "the delivery is pending: it goes out without a replay"
        raise ConflictError(reason, [FieldError("status", reason)])
    ctx.after_commit("webhooks", nudge_workers)
    return DeliveryPublic.model_validate(row.model_dump())


async def _name_free(ctx: UnitOfWork, name: str) -> None:
    taken = await ctx.session.scalar(
        select(col(WebhookSubscription.id)).where(col(WebhookSubscription.name) == name)
    )
    if taken:
        raise name_taken(KIND, "name", name)
