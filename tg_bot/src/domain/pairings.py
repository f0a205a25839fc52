"""Strangers' pairings as rest_service has them, cached like users: a change is said on
`pairings:updated` (the person's Telegram id) and drops that copy on every replica; a lost
subscription drops them all; `USER_CACHE_SECONDS` bounds what a missed message leaves stale."""

from __future__ import annotations

import time

from common.infrastructure.logging import get_logger
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import Pairing, PairingIn, PairingStatus
from tg_bot.src.clients.types import TgUser

log = get_logger(__name__)


class PairingDirectory:
    def __init__(self, rest: RestClient, cache_s: float = 300.0) -> None:
        self._rest = rest
        self._cache_s = cache_s
        self._cache: dict[int, tuple[float, Pairing]] = {}

    async def of(self, sender: TgUser) -> tuple[Pairing, bool]:
        """The sender's pairing, made pending with a code if they have none (`True` then)."""
        cached = self._cache.get(sender.id)
        if cached and time.monotonic() - cached[0] < self._cache_s:
            return cached[1], False
        who = PairingIn(
            telegram_id=sender.id, username=sender.username, first_name=sender.first_name or None
        )
        pairing, created = await self._rest.request_pairing(who)
        if created:
            log.info("pairing_requested", telegram_id=sender.id, code=pairing.code)
        self._cache[sender.id] = (time.monotonic(), pairing)
        return pairing, created

    async def approved(self, sender: TgUser) -> bool:
        return (await self.of(sender))[0].status == PairingStatus.approved

    def heard(self, raw: str) -> None:
        """A message on `pairings:updated`: that person's copy is dropped; one that cannot be
        read drops every copy."""
        try:
            self._cache.pop(int(raw), None)
        except ValueError:
            log.warning("pairing_update_unreadable", raw=raw[:200])
            self.forget_all()

    def forget_all(self) -> None:
        self._cache.clear()
