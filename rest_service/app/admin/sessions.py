"""Web-admin sessions kept in Redis: the cookie holds only a random token, so logout, a
password change or `./manage.py admin delete` ends a session for good (a copied cookie is
refused afterwards). Redis holds the token's SHA-256, never the token itself."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass

import redis.asyncio as aioredis

from common.infrastructure.redis_keys import Names

#: The admin name the API-token login is recorded as (whatever user name was typed).
API_TOKEN_ADMIN = "api-token"


@dataclass(frozen=True)
class AdminSession:
    #: The account name, or `api-token`.
    admin: str

    @property
    def actor(self) -> str:
        """Who the change history names."""
        return API_TOKEN_ADMIN if self.admin == API_TOKEN_ADMIN else f"admin:{self.admin}"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AdminSessions:
    def __init__(self, redis: aioredis.Redis, names: Names, ttl_seconds: int) -> None:
        self._redis = redis
        self._names = names
        self._ttl = ttl_seconds

    async def open(self, admin: str) -> str:
        """A new session's token (for the cookie)."""
        token = secrets.token_urlsafe(32)
        digest = _digest(token)
        index = self._names.admin_sessions_of(admin)
        # The index first: the session and its index are found by different names (token,
        # admin), so different Cluster slots and no transaction; a session that exists is
        # always in its index, so `revoke_all` ends it.
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(index, digest)
            pipe.expire(index, self._ttl)
            await pipe.execute()
        await self._redis.set(
            self._names.admin_session(digest), json.dumps({"admin": admin}), ex=self._ttl
        )
        return token

    async def find(self, token: str) -> AdminSession | None:
        if not token:
            return None
        stored = await self._redis.get(self._names.admin_session(_digest(token)))
        return AdminSession(json.loads(stored)["admin"]) if stored else None

    async def close(self, token: str) -> None:
        session = await self.find(token)
        digest = _digest(token)
        await self._redis.delete(self._names.admin_session(digest))
        if session is not None:
            await self._redis.srem(self._names.admin_sessions_of(session.admin), digest)

    async def revoke_all(self, admin: str) -> int:
        """Ends every session of `admin` (a password change, a deleted account)."""
        index = self._names.admin_sessions_of(admin)
        members = await self._redis.smembers(index)
        digests = [d.decode() if isinstance(d, bytes) else d for d in members]
        ended = 0
        for digest in digests:  # one key a call: the sessions are in many Cluster slots
            ended += int(await self._redis.delete(self._names.admin_session(digest)))
        await self._redis.delete(index)
        return ended
