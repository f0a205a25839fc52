"""The seam every channel's adapter plugs into (docs/channels.md "Adapters").

An adapter is one channel beside Telegram: it may serve routes (a platform's webhooks, the
web chat's page), run background loops (an IMAP mailbox) and sends the secretary's answers
for its channel. The service builds one per configured channel at start (`registry.py`),
mounts its router, starts it, hands it the answers of its channel, and stops it on the way
out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import redis.asyncio as aioredis
from fastapi import APIRouter

from channels.src.intake import Intake
from channels.src.settings import Settings
from common.infrastructure.channels import Channel
from common.infrastructure.queue_messages import DraftMessage, OutgoingMessage
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient

#: The settings each channel needs before it is on (docs/channels.md "Settings").
REQUIRED_SETTINGS: dict[Channel, tuple[str, ...]] = {
    Channel.WHATSAPP: (
        "whatsapp_token",
        "whatsapp_phone_number_id",
        "whatsapp_app_secret",
        "whatsapp_verify_token",
    ),
    Channel.SLACK: ("slack_bot_token", "slack_signing_secret"),
    Channel.EMAIL: ("email_imap_url", "email_smtp_url", "email_from"),
    Channel.WEB: ("web_chat_secret",),
    # the public API needs no secret of its own (its callers' keys live in rest_service):
    # on unless API_ENABLED is false
    Channel.API: (),
}
#: The channels this service hosts, in the order `/health` lists them.
HOSTED: tuple[Channel, ...] = tuple(REQUIRED_SETTINGS)


def missing_settings(settings: Settings, channel: Channel) -> list[str]:
    """The environment names of the channel's settings that are empty."""
    missing = []
    for name in REQUIRED_SETTINGS[channel]:
        value = getattr(settings, name)
        text = value if isinstance(value, str) else value.get_secret_value()
        if not text.strip():
            missing.append(name.upper())
    return missing


@dataclass(frozen=True)
class AdapterContext:
    """What the service gives an adapter: its settings, the Redis it queues messages on, the
    intake every message goes in by (`channels/src/intake.py`) and rest_service."""

    settings: Settings
    redis: aioredis.Redis
    names: Names
    intake: Intake
    rest: RestClient


class Adapter(ABC):
    """One channel. Subclasses set `channel` and implement `send`; the rest is optional."""

    channel: ClassVar[Channel]
    #: Shows an answer as it is written (`show_draft`): the service then reads the drafts.
    shows_drafts: ClassVar[bool] = False

    def __init__(self, context: AdapterContext) -> None:
        self.context = context
        #: Why the running channel cannot work right now (its mailbox is down), while its
        #: loop tries again; None while it works. `/health` says it as the state `down`.
        self.trouble: str | None = None

    @classmethod
    def configured(cls, settings: Settings) -> bool:
        """On when every setting the channel needs is set."""
        return not missing_settings(settings, cls.channel)

    @classmethod
    def turned_off(cls, settings: Settings) -> str | None:
        """Why a channel whose settings are all set is off anyway (a switch); None: on."""
        return None

    @property
    def router(self) -> APIRouter | None:
        """Routes the service mounts while the adapter runs (webhooks, the web chat)."""
        return None

    async def start(self) -> None:  # noqa: B027 - optional: most adapters only send
        """Starts the adapter's background work (an IMAP loop); returns once it runs."""

    async def stop(self) -> None:  # noqa: B027 - optional, as start
        """Stops what `start` started, within the service's shutdown grace."""

    async def show_draft(self, draft: DraftMessage) -> None:  # noqa: B027 - optional
        """The answer so far (`shows_drafts`), best effort: the final answer replaces it."""

    @abstractmethod
    async def send(self, message: OutgoingMessage) -> None:
        """Delivers one answer of this channel. Raises `RetryLater` while the platform is
        down or limits it, `Undeliverable` for an answer it can never deliver; any other
        error is retried and, after the queue's limit, dead-lettered."""
