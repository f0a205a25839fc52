"""Named admins: create, change a password, delete, list, and check a login. Passwords are
hashed with argon2id (argon2-cffi's RFC 9106 defaults) off the event loop; an unknown name
costs the same hash check as a known one, so timing does not tell which names exist.

Under ENVIRONMENT=test (which also lets a service start without its secrets, so is never a
deployment) new hashes use argon2-cffi's cheapest parameters: each default hash costs 0.3 s
of CPU and 64 MiB, and the suite makes hundreds. A hash keeps its parameters, so either kind
verifies under either setting."""

from __future__ import annotations

import asyncio
import functools
import re

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.infrastructure.clock import utcnow
from common.infrastructure.errors import (
    ConflictError,
    FieldError,
    NotFoundError,
    ValidationFailedError,
)
from rest_service.app.models.admin_account import AdminAccount

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
#: Names are lower case: letters, digits, `.`, `_`, `-`, `@`; never the API token's actor.
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
RESERVED_NAMES = frozenset({"api-token", "admin-token", "service-token", "seed"})

_DEFAULT_HASHER = PasswordHasher()
_TEST_HASHER = PasswordHasher.from_parameters(profiles.CHEAPEST)
_hasher = _DEFAULT_HASHER


def use_test_hashing(on: bool) -> None:
    """Cheap hashes for a test run (`settings.is_test`), the RFC 9106 defaults otherwise."""
    global _hasher
    if (_TEST_HASHER if on else _DEFAULT_HASHER) is not _hasher:
        _hasher = _TEST_HASHER if on else _DEFAULT_HASHER
        _dummy_hash.cache_clear()


@functools.cache
def _dummy_hash() -> str:
    """Made on the first failed login, not at import: argon2 takes 64 MiB and 0.3 s of CPU,
    which every start paid (a third of rest_service's peak memory) for a rare path."""
    return _hasher.hash("no such admin: the same work as a real check")


def clean_name(raw: str) -> str:
    """The stored form of an admin name (lower case), or a 422 naming the field."""
    name = raw.strip().lower()
    if not NAME_PATTERN.fullmatch(name) or name in RESERVED_NAMES:
        reason = "1-64 of a-z 0-9 . _ - @, starting with a letter or digit; not a reserved name"
        raise ValidationFailedError("invalid admin name", [FieldError("name", reason)])
    return name


def check_password(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        reason = f"{MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
        raise ValidationFailedError(
            "password too short or too long", [FieldError("password", reason)]
        )


async def hash_password(password: str) -> str:
    check_password(password)
    return await asyncio.to_thread(_hasher.hash, password)


async def _matches(password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


async def find(session: AsyncSession, name: str) -> AdminAccount | None:
    """The account of a stored-form name; any other text (NUL included) names none."""
    if not NAME_PATTERN.fullmatch(name):
        return None
    return await session.scalar(select(AdminAccount).where(col(AdminAccount.name) == name))


async def verify(session: AsyncSession, name: str, password: str) -> AdminAccount | None:
    """The account these credentials open, or None."""
    account = await find(session, name.strip().lower()[:64])
    if account is None or len(password) > MAX_PASSWORD_LENGTH:
        await _matches(await asyncio.to_thread(_dummy_hash), password[:MAX_PASSWORD_LENGTH])
        return None
    return account if await _matches(account.password_hash, password) else None


async def create(session: AsyncSession, name: str, password: str) -> AdminAccount:
    account = AdminAccount(name=clean_name(name), password_hash=await hash_password(password))
    session.add(account)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise ConflictError(f"admin {account.name!r} already exists") from exc
    return account


async def set_password(session: AsyncSession, name: str, password: str) -> AdminAccount:
    account = await _existing(session, name)
    account.password_hash = await hash_password(password)
    account.password_changed_at = utcnow()
    await session.flush()
    return account


async def delete(session: AsyncSession, name: str) -> AdminAccount:
    account = await _existing(session, name)
    await session.delete(account)
    await session.flush()
    return account


async def list_accounts(session: AsyncSession) -> list[AdminAccount]:
    return list((await session.scalars(select(AdminAccount).order_by(AdminAccount.name))).all())


async def _existing(session: AsyncSession, name: str) -> AdminAccount:
    account = await find(session, name.strip().lower())
    if account is None:
        raise NotFoundError(f"no admin named {name.strip().lower()!r}")
    return account
