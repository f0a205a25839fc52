"""Telegram users as rest_service users: got-or-created on every message (cached, so a busy
chat does not cost a request per message), updated, forgotten, marked blocked.

The cache follows rest_service: every committed change to a user is said on `user:updated`
(`common.infrastructure.queue_messages.UserChanged`) and drops that user's copy here, on every
tg_bot replica; a lost subscription drops them all. `USER_CACHE_SECONDS` bounds what a missed
message could leave stale."""

from __future__ import annotations

import contextlib
import time

from pydantic import ValidationError

from common.infrastructure.errors import NotFoundError
from common.infrastructure.logging import get_logger
from common.infrastructure.queue_messages import UserChanged
from common.infrastructure.rest_client import UNSET, RestClient
from common.infrastructure.wire import User
from tg_bot.src.clients.types import TgUser

log = get_logger(__name__)

#: The longest language tag rest_service keeps (`User.language`); a longer one is left out,
#: or it would refuse the user, and every message of theirs would get an apology.
LANGUAGE_MAX = 16


class UserDirectory:
    def __init__(self, rest: RestClient, cache_s: float = 300.0) -> None:
        self._rest = rest
        self._cache_s = cache_s
        self._cache: dict[int, tuple[float, User]] = {}

    async def identify(self, sender: TgUser) -> tuple[User, bool]:
        """The sender's user, made if missing (`True` then); name and language kept current."""
        cached = self._cache.get(sender.id)
        if cached and time.monotonic() - cached[0] < self._cache_s:
            return cached[1], False
        user: User
        user, created = await self._rest.get_or_create_user(
            sender.id,
            username=sender.username,
            first_name=sender.first_name or None,
            language=_kept_language(sender.language_code),
        )
        if not created:
            user = await self._refresh_profile(user, sender)
        else:
            log.info("user_created", user_id=str(user.id), telegram_id=sender.id)
        self._remember(user)
        return user, created

    async def update(
        self,
        user: User,
        *,
        timezone: str | None = UNSET,
        preferred_model: str | None = UNSET,
        voice_replies: bool = UNSET,
    ) -> User:
        updated = await self._rest.update_user(
            str(user.id),
            timezone=timezone,
            preferred_model=preferred_model,
            voice_replies=voice_replies,
        )
        self._remember(updated)
        return updated

    async def fresh(self, user: User) -> User:
        """The user as rest_service has it now (another replica or the admin may have changed
        it within the cache's lifetime), remembered."""
        current = await self._rest.get_user(str(user.id))
        self._remember(current)
        return current

    async def forget(self, user: User) -> None:
        """Delete the user and everything rest_service holds about them."""
        with contextlib.suppress(NotFoundError):
            await self._rest.delete_user(str(user.id))
        if user.telegram_id is not None:
            self._cache.pop(user.telegram_id, None)
        log.info("user_forgotten", user_id=str(user.id))

    async def set_blocked(self, telegram_id: int, blocked: bool) -> None:
        """The user blocked (or unblocked) the bot; an unknown user is left alone."""
        self._cache.pop(telegram_id, None)
        try:
            user = await self._rest.get_user_by_telegram(telegram_id)
        except NotFoundError:
            return
        if bool(user.blocked) != blocked:
            await self._rest.update_user(str(user.id), blocked=blocked)
            log.info("user_blocked" if blocked else "user_unblocked", user_id=str(user.id))

    async def _refresh_profile(self, user: User, sender: TgUser) -> User:
        username = _changed(sender.username, user.username)
        first_name = _changed(sender.first_name or None, user.first_name)
        language = _changed(_kept_language(sender.language_code), user.language)
        if username is UNSET and first_name is UNSET and language is UNSET:
            return user
        return await self._rest.update_user(
            str(user.id), username=username, first_name=first_name, language=language
        )

    def heard(self, raw: str) -> None:
        """A message on `user:updated`: that user's copy is dropped. One that cannot be read
        drops every copy (what it meant is unknown)."""
        try:
            change = UserChanged.model_validate_json(raw)
        except ValidationError:
            log.warning("user_update_unreadable", raw=raw[:200])
            self.forget_all()
            return
        if change.telegram_id is not None:
            self._cache.pop(change.telegram_id, None)

    def drop(self, telegram_id: int) -> None:
        """This replica's copy of a Telegram sender (linked to or unlinked from another user:
        the next message asks rest_service)."""
        self._cache.pop(telegram_id, None)

    def forget_all(self) -> None:
        """Every cached user (a (re)subscription: changes may have been missed meanwhile)."""
        self._cache.clear()

    def _remember(self, user: User) -> None:
        """Kept by Telegram id: a user without one (another channel's) is never asked for here."""
        if user.telegram_id is not None:
            self._cache[user.telegram_id] = (time.monotonic(), user)


def _kept_language(tag: str | None) -> str | None:
    return tag if tag is None or len(tag) <= LANGUAGE_MAX else None


def _changed(new: str | None, old: str | None) -> str | None:
    """What Telegram now says, or UNSET when it says nothing new (a missing value never clears)."""
    return new if new is not None and new != old else UNSET
