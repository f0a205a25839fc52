"""Which channels are on: the adapters built for the configured channels, their states for
`/health`, and the one that sends an answer of a channel."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from fastapi import APIRouter

from channels.src.adapters.api import ApiAdapter
from channels.src.adapters.base import HOSTED, Adapter, AdapterContext, missing_settings
from channels.src.adapters.email import EmailAdapter
from channels.src.adapters.slack import SlackAdapter
from channels.src.adapters.web import WebChatAdapter
from channels.src.adapters.whatsapp import WhatsAppAdapter
from channels.src.settings import Settings
from common.infrastructure.channels import Channel
from common.infrastructure.errors import Undeliverable
from common.infrastructure.logging import get_logger
from common.infrastructure.queue_messages import DraftMessage

log = get_logger(__name__)

#: The adapters written so far, by channel: an adapter's author adds its class here.
ADAPTERS: Mapping[Channel, type[Adapter]] = {
    Channel.WHATSAPP: WhatsAppAdapter,
    Channel.SLACK: SlackAdapter,
    Channel.EMAIL: EmailAdapter,
    Channel.WEB: WebChatAdapter,
    Channel.API: ApiAdapter,
}


@dataclass(frozen=True)
class ChannelState:
    """What `/health` says of a channel: on, off (not configured, or no adapter yet), failed
    (configured, but its start failed) or down (running, but its platform does not answer
    now; it tries again by itself), with why."""

    state: Literal["on", "off", "failed", "down"]
    reason: str | None = None

    def to_dict(self) -> dict[str, str]:
        return {"state": self.state} if self.reason is None else {
            "state": self.state, "reason": self.reason
        }  # fmt: skip


def _off_reason(settings: Settings, channel: Channel, adapter: type[Adapter] | None) -> str | None:
    """Why the channel is off; None when it is to run."""
    missing = missing_settings(settings, channel)
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        return f"{', '.join(missing)} {verb} not set"
    if adapter is None:
        return f"configured, but the {channel.value} adapter is not built yet"
    if (switched := adapter.turned_off(settings)) is not None:
        return switched
    if not adapter.configured(settings):
        return f"the {channel.value} settings are incomplete"
    return None


class AdapterRegistry:
    """The channels' adapters of one service process."""

    def __init__(
        self, context: AdapterContext, adapters: Mapping[Channel, type[Adapter]] = ADAPTERS
    ) -> None:
        self._states: dict[Channel, ChannelState] = {}
        self._running: dict[Channel, Adapter] = {}
        for channel in HOSTED:
            adapter = adapters.get(channel)
            reason = _off_reason(context.settings, channel, adapter)
            if reason is not None or adapter is None:
                self._states[channel] = ChannelState("off", reason)
                continue
            self._running[channel] = adapter(context)
            self._states[channel] = ChannelState("on")

    @property
    def shows_drafts(self) -> bool:
        """Some running channel shows answers as they are written."""
        return any(adapter.shows_drafts for adapter in self._running.values())

    async def show_draft(self, draft: DraftMessage) -> None:
        """A draft to its channel's adapter, if it runs here and shows drafts."""
        adapter = self._running.get(draft.channel)
        if adapter is not None and adapter.shows_drafts:
            await adapter.show_draft(draft)

    def routers(self) -> list[APIRouter]:
        return [r for a in self._running.values() if (r := a.router) is not None]

    async def start(self) -> None:
        """Starts every adapter; one whose start fails is failed, the others run on."""
        for channel, adapter in list(self._running.items()):
            try:
                await adapter.start()
            except Exception as exc:  # one channel's outage must not keep the others off
                log.exception("channel_start_failed", channel=channel.value)
                del self._running[channel]
                self._states[channel] = ChannelState("failed", f"{type(exc).__name__}: {exc}")
            else:
                log.info("channel_started", channel=channel.value)

    async def stop(self, grace_s: float) -> None:
        """Stops every running adapter, each within `grace_s`."""
        for channel, adapter in self._running.items():
            try:
                async with asyncio.timeout(grace_s):
                    await adapter.stop()
            except Exception:  # the others must still be stopped
                log.exception("channel_stop_failed", channel=channel.value)

    def states(self) -> dict[str, dict[str, str]]:
        return {channel.value: self._now(channel).to_dict() for channel in self._states}

    @property
    def failed(self) -> list[str]:
        """The channels that are failed or down: the service is degraded while any is."""
        return [c.value for c in self._states if self._now(c).state in ("failed", "down")]

    def _now(self, channel: Channel) -> ChannelState:
        running = self._running.get(channel)
        if running is not None and running.trouble is not None:
            return ChannelState("down", running.trouble)
        return self._states[channel]

    def sender_of(self, channel: object) -> Adapter:
        """The running adapter of `channel` (an answer's `channel`); `Undeliverable` when
        this service has no such channel or it is off."""
        try:
            known = Channel(str(channel))
        except ValueError:
            raise Undeliverable(f"no channel {str(channel)[:40]!r}") from None
        adapter = self._running.get(known)
        if adapter is not None:
            return adapter
        state = self._states.get(known)
        if state is None:
            raise Undeliverable(f"the {known.value} channel is not served here")
        raise Undeliverable(f"the {known.value} channel is {state.state}: {state.reason}")
