"""Outgoing webhooks: an admin's subscriptions to business events, and the outbox of their
deliveries (written in the transaction of the change that caused the event, sent by the
delivery worker). A delivery to the Bitrix24 connector has no subscription; one to an API
client's webhook (decision 0061) has its client instead."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic import Field as PydanticField
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy import Text as SAText
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import AutoString, Field, SQLModel

from common.infrastructure.clock import utcnow
from rest_service.app.models.base import JsonObject, Name, TimestampMixin
from rest_service.app.models.enums import varchar_enum
from rest_service.app.models.llm import BaseUrl


class WebhookEvent(StrEnum):
    """The events an admin may subscribe to, and the public API's (`API_EVENTS`)."""

    lead_created = "lead.created"
    lead_updated = "lead.updated"
    handoff_requested = "handoff.requested"
    feedback_created = "feedback.created"
    feedback_updated = "feedback.updated"
    #: An answer to a message the API client sent.
    message_answered = "message.answered"
    #: A message nobody asked for right then: a reminder, a briefing.
    message_notification = "message.notification"


#: What the public API tells one API client about its own conversations: never a
#: subscription's, whose events are about the business as a whole.
API_EVENTS = frozenset({WebhookEvent.message_answered, WebhookEvent.message_notification})


def _subscribable(event: WebhookEvent) -> WebhookEvent:
    if event in API_EVENTS:
        raise ValueError(f"{event.value} goes to API clients' webhooks only")
    return event


def _api_event(event: WebhookEvent) -> WebhookEvent:
    if event not in API_EVENTS:
        names = ", ".join(sorted(API_EVENTS))
        raise ValueError(f"an API client's delivery is one of {names}")
    return event


SubscribableEvent = Annotated[WebhookEvent, AfterValidator(_subscribable)]
ApiEvent = Annotated[WebhookEvent, AfterValidator(_api_event)]


class DeliveryStatus(StrEnum):
    pending = "pending"
    delivered = "delivered"
    dead = "dead"


class DeliveryTarget(StrEnum):
    """Where a delivery goes: a subscription's URL, Bitrix24's lead methods, or an API
    client's webhook URL."""

    webhook = "webhook"
    bitrix24 = "bitrix24"
    api_client = "api_client"


SECRET_MIN = 16
SECRET_MAX = 256


def _distinct(events: list[SubscribableEvent]) -> list[SubscribableEvent]:
    return list(dict.fromkeys(events))


#: Names listed in one request (duplicates are dropped after, so a list with a name twice
#: is not refused for its length: the property test found it was).
EVENTS_LISTED_MAX = 20

Events = Annotated[
    list[SubscribableEvent],
    PydanticField(min_length=1, max_length=EVENTS_LISTED_MAX),
    AfterValidator(_distinct),
]
Secret = Annotated[str, PydanticField(min_length=SECRET_MIN, max_length=SECRET_MAX)]


class WebhookBase(SQLModel):
    name: Name = Field(max_length=255)
    url: BaseUrl = Field(max_length=2048)
    events: Events = Field(sa_column=Column(JSONB, nullable=False))
    is_active: bool = True


class WebhookSubscription(WebhookBase, TimestampMixin, table=True):
    __tablename__ = "webhook_subscriptions"
    __table_args__ = (UniqueConstraint("name", name="uq_webhook_subscriptions_name"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    #: Fernet token of the signing secret (LLM_MODEL_DECRYPT_KEY); never leaves rest_service.
    secret_encrypted: str = Field(sa_type=SAText)
    #: What an admin sees (`…abcd`).
    secret_masked: str | None = Field(default=None, max_length=32)


class WebhookCreate(WebhookBase):
    #: Write-only; generated when left out and then shown once, in the create response.
    secret: Secret | None = None


class WebhookUpdate(SQLModel):
    name: Name | None = Field(default=None, max_length=255)
    url: BaseUrl | None = Field(default=None, max_length=2048)
    events: Events | None = None
    is_active: bool | None = None
    #: Write-only: a new secret replaces the old one.
    secret: Secret | None = None


class WebhookPublic(WebhookBase):
    id: uuid.UUID
    secret_masked: str | None
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookPublic):
    """The create response: the one time the secret is shown."""

    secret: str


class WebhookDelivery(TimestampMixin, table=True):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id", name="uq_webhook_deliveries_event"),
        UniqueConstraint(
            "api_client_id", "event_id", name="uq_webhook_deliveries_api_client_event"
        ),
        Index(
            "uq_webhook_deliveries_bitrix24_event",
            "event_id",
            unique=True,
            postgresql_where=text("target = 'bitrix24'"),
        ),
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    subscription_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(
            ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), nullable=True, index=True
        ),
    )
    api_client_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(
            ForeignKey("api_clients.id", ondelete="CASCADE"), nullable=True, index=True
        ),
    )
    target: DeliveryTarget = Field(
        default=DeliveryTarget.webhook, sa_type=varchar_enum(DeliveryTarget, 16)
    )
    event: WebhookEvent = Field(sa_type=varchar_enum(WebhookEvent, 32))
    #: The event's id: the same in every delivery of one event, and in a replay.
    event_id: uuid.UUID
    occurred_at: datetime = Field(sa_type=DateTime(timezone=True))
    payload: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    status: DeliveryStatus = Field(
        default=DeliveryStatus.pending, sa_type=varchar_enum(DeliveryStatus, 16)
    )
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=DateTime(timezone=True))
    #: An HTTP status or an error's name; never a secret or a response body.
    last_error: str | None = Field(default=None, sa_type=AutoString(length=200))
    delivered_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    #: When this run of sends began: the queueing, or the latest replay. An API client's
    #: delivery is retried until API_WEBHOOK_RETRY_HOURS past it.
    queued_at: datetime = Field(
        default_factory=utcnow,
        sa_type=DateTime(timezone=True),
        sa_column_kwargs={"server_default": func.now(), "nullable": False},
    )


class DeliveryPublic(SQLModel):
    id: uuid.UUID
    subscription_id: uuid.UUID | None
    api_client_id: uuid.UUID | None
    target: DeliveryTarget
    event: WebhookEvent
    event_id: uuid.UUID
    occurred_at: datetime
    payload: dict[str, Any]
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None
    queued_at: datetime
    created_at: datetime
    updated_at: datetime


#: The largest `payload` an API client's delivery takes, as compact JSON: an answer or a
#: notification with room to spare, far below the request body limit.
PAYLOAD_MAX_BYTES = 64 * 1024


def _sendable(payload: dict[str, Any]) -> dict[str, Any]:
    """JSON a receiver can parse (no NaN or Infinity) within `PAYLOAD_MAX_BYTES`."""
    try:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError as exc:
        raise ValueError("must be JSON without NaN or Infinity") from exc
    if len(body.encode()) > PAYLOAD_MAX_BYTES:
        raise ValueError(f"must be at most {PAYLOAD_MAX_BYTES} bytes as JSON")
    return payload


class ApiDeliveryCreate(SQLModel):
    """`POST /api/api-clients/{id}/deliveries`: what the channels service queues."""

    event: ApiEvent
    #: The message's id, derived by the caller: the same event queued again is one delivery.
    event_id: uuid.UUID
    payload: Annotated[JsonObject, AfterValidator(_sendable)]


class Bitrix24Lead(TimestampMixin, table=True):
    """Our lead's id → the Bitrix24 lead `crm.lead.add` made for it, for later updates."""

    __tablename__ = "bitrix24_leads"
    lead_id: str = Field(primary_key=True, max_length=64)
    bitrix_id: int = Field(sa_type=BigInteger)
