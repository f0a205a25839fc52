"""One person across channels (decision 0054): a user's identities, got-or-created by the
channel's sender id; one-time link codes; linking another identity (and everything its user
had) into the code's issuer; unlinking one back into a user of its own.

A Telegram identity is `users.telegram_id`; the others are rows of `user_identities`."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from common.features.linking import (
    LINK_CODE_TTL_SECONDS,
    new_link_code,
    normalise_code,
    shown_code,
)
from common.infrastructure.channels import Channel
from common.infrastructure.clock import utcnow
from common.infrastructure.errors import FieldError, conflict, not_found
from common.infrastructure.queue_messages import UserChanged
from rest_service.app.domain import sql
from rest_service.app.domain.cron_jobs import announce_cron
from rest_service.app.domain.unit_of_work import UnitOfWork
from rest_service.app.domain.user_changes import announce_user
from rest_service.app.domain.users import check_settings, get_or_create_user, get_user
from rest_service.app.models.identity import (
    IdentityCreate,
    IdentityPublic,
    IdentityRef,
    LinkCodePublic,
    LinkRequest,
    LinkResult,
)
from rest_service.app.models.leads import OPEN_PREDICATE
from rest_service.app.models.user import UserCreate, UserPublic

_USER_BY_IDENTITY = (
    f"SELECT {sql.prefixed('u', sql.USER_COLUMNS)} FROM user_identities i "
    "JOIN users u ON u.id = i.user_id WHERE i.channel = $1 AND i.external_id = $2"
)
_INSERT_USER = (
    "INSERT INTO users (id, telegram_id, username, first_name, language, timezone, "
    "preferred_model, blocked, voice_replies, event_alert_minutes, created_at, updated_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, false, false, 0, clock_timestamp(), clock_timestamp()) "
    f"RETURNING {sql.USER_COLUMNS}"
)
_INSERT_IDENTITY = (
    "INSERT INTO user_identities (id, user_id, channel, external_id, display_name, created_at, "
    "updated_at) VALUES ($1, $2, $3, $4, $5, clock_timestamp(), clock_timestamp()) "
    "ON CONFLICT (channel, external_id) DO NOTHING RETURNING user_id"
)
_PROFILE = {"username", "first_name", "language", "timezone", "preferred_model"}


def _telegram(ref: IdentityRef) -> int | None:
    return int(ref.external_id) if ref.channel is Channel.TELEGRAM else None


async def _conn(ctx: UnitOfWork) -> AsyncConnection:
    return await ctx.session.connection()


# -- get-or-create -------------------------------------------------------------------------


async def get_or_create_by_identity(
    ctx: UnitOfWork, data: IdentityCreate
) -> tuple[dict[str, Any], bool]:
    """The user of a channel's sender, made when missing (`True` then). A Telegram sender is
    the user of that `telegram_id`, the same one `POST /api/users/` gives tg_bot. Concurrent
    calls make one user: the identity's unique key decides, and the loser's user row goes."""
    telegram_id = _telegram(data)
    if telegram_id is not None:
        given = data.model_dump(exclude_unset=True, include=_PROFILE)
        return await get_or_create_user(
            ctx, UserCreate.model_validate({**given, "telegram_id": telegram_id})
        )
    conn = await _conn(ctx)
    found = await sql.one(conn, _USER_BY_IDENTITY, (data.channel.value, data.external_id))
    if found is not None:
        return found, False
    await check_settings(ctx, data.model_dump(exclude_unset=True))
    user_id = uuid.uuid4()
    values = (data.username, data.first_name, data.language, data.timezone, data.preferred_model)
    made = await sql.one(conn, _INSERT_USER, (user_id, None, *values))
    assert made is not None
    params = (uuid.uuid4(), user_id, data.channel.value, data.external_id, data.display_name)
    if await sql.one(conn, _INSERT_IDENTITY, params) is not None:
        return made, True
    # Another call made this identity's user first (and committed): ours goes.
    await conn.exec_driver_sql("DELETE FROM users WHERE id = $1", (user_id,))
    found = await sql.one(conn, _USER_BY_IDENTITY, (data.channel.value, data.external_id))
    assert found is not None
    return found, False


# -- listing -------------------------------------------------------------------------------


async def list_identities(ctx: UnitOfWork, user_id: uuid.UUID) -> list[IdentityPublic]:
    """Telegram first (from `users.telegram_id`), then the others oldest first."""
    user = await get_user(ctx, user_id)
    return await _identities_of(await _conn(ctx), user.id)


async def _identities_of(conn: AsyncConnection, user_id: uuid.UUID) -> list[IdentityPublic]:
    found: list[IdentityPublic] = []
    user = await sql.one(
        conn,
        "SELECT telegram_id, username, first_name, created_at FROM users WHERE id = $1",
        (user_id,),
    )
    if user is not None and user["telegram_id"] is not None:
        name = f"@{user['username']}" if user["username"] else user["first_name"]
        found.append(
            IdentityPublic(
                channel=Channel.TELEGRAM,
                external_id=str(user["telegram_id"]),
                display_name=name,
                created_at=user["created_at"],
            )
        )
    others = await sql.rows(
        conn,
        "SELECT channel, external_id, display_name, created_at FROM user_identities "
        "WHERE user_id = $1 ORDER BY created_at, id",
        (user_id,),
    )
    found.extend(IdentityPublic.model_validate(row) for row in others)
    return found


# -- codes ---------------------------------------------------------------------------------


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def issue_code(ctx: UnitOfWork, user_id: uuid.UUID) -> LinkCodePublic:
    """A new code for the user; their older codes and everybody's expired ones go."""
    await get_user(ctx, user_id)
    conn = await _conn(ctx)
    await conn.exec_driver_sql(
        "DELETE FROM link_codes WHERE user_id = $1 OR expires_at <= now()", (user_id,)
    )
    code = new_link_code()
    expires_at = utcnow() + timedelta(seconds=LINK_CODE_TTL_SECONDS)
    await conn.exec_driver_sql(
        "INSERT INTO link_codes (code_hash, user_id, expires_at) VALUES ($1, $2, $3)",
        (_hash(code), user_id, expires_at),
    )
    return LinkCodePublic(
        code=shown_code(code), expires_at=expires_at, ttl_seconds=LINK_CODE_TTL_SECONDS
    )


async def _redeem(conn: AsyncConnection, typed: str) -> uuid.UUID:
    """The code's issuer; the code is gone from now on (once this unit commits)."""
    code = normalise_code(typed)
    row = None
    if code is not None:
        row = await sql.one(
            conn,
            "DELETE FROM link_codes WHERE code_hash = $1 AND expires_at > now() RETURNING user_id",
            (_hash(code),),
        )
    if row is None:
        raise not_found("link code (unknown, used or expired)", typed)
    return uuid.UUID(str(row["user_id"]))


# -- linking -------------------------------------------------------------------------------


async def link(ctx: UnitOfWork, data: LinkRequest) -> LinkResult:
    """The sending identity joins the code's issuer, in one transaction: its user's other
    identities, reminders, facts, memory, usage and (when the issuer has none) calendar move
    to the issuer, and that emptied user is deleted."""
    conn = await _conn(ctx)
    issuer = await _redeem(conn, data.code)
    joiner = await _owner(conn, data)
    # Both rows locked in one order, so two links crossing each other wait, never deadlock.
    for user_id in sorted({issuer} if joiner is None else {issuer, joiner}):
        await _lock(conn, user_id)
    if await _owner(conn, data) != joiner:
        raise conflict("the identity changed hands meanwhile; try again")
    merged: uuid.UUID | None = None
    if joiner is None:
        await _attach(conn, issuer, data)
    elif joiner != issuer:
        old_telegram = await _merge(ctx, conn, joiner, issuer)
        ctx.after_commit(
            f"cron:user:{joiner}",
            announce_cron({"user_id": str(issuer), "change": "updated"}),
        )
        announce_user(ctx, UserChanged(user_id=joiner, telegram_id=old_telegram, change="deleted"))
        merged = joiner
    user = await sql.one(conn, f"SELECT {sql.USER_COLUMNS} FROM users WHERE id = $1", (issuer,))
    assert user is not None
    public = UserPublic.model_validate(user)
    announce_user(
        ctx, UserChanged(user_id=issuer, telegram_id=public.telegram_id, change="updated")
    )
    identities = await _identities_of(conn, issuer)
    return LinkResult(user=public, identities=identities, merged_user_id=merged)


async def _lock(conn: AsyncConnection, user_id: uuid.UUID) -> None:
    await conn.exec_driver_sql("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", (user_id,))


async def _owner(conn: AsyncConnection, ref: IdentityRef) -> uuid.UUID | None:
    telegram_id = _telegram(ref)
    if telegram_id is not None:
        row = await sql.one(conn, "SELECT id FROM users WHERE telegram_id = $1", (telegram_id,))
        return None if row is None else uuid.UUID(str(row["id"]))
    row = await sql.one(
        conn,
        "SELECT user_id FROM user_identities WHERE channel = $1 AND external_id = $2",
        (ref.channel.value, ref.external_id),
    )
    return None if row is None else uuid.UUID(str(row["user_id"]))


def _second_telegram() -> Exception:
    return conflict(
        "this person has a Telegram account linked already; unlink it first",
        [FieldError("external_id", "a person has at most one Telegram account")],
    )


async def _attach(conn: AsyncConnection, issuer: uuid.UUID, ref: IdentityRef) -> None:
    """An identity nobody has used yet becomes the issuer's."""
    telegram_id = _telegram(ref)
    if telegram_id is None:
        params = (uuid.uuid4(), issuer, ref.channel.value, ref.external_id, None)
        await sql.one(conn, _INSERT_IDENTITY, params)
        return
    taken = await sql.one(conn, "SELECT telegram_id FROM users WHERE id = $1", (issuer,))
    if taken is not None and taken["telegram_id"] is not None:
        raise _second_telegram()
    await conn.exec_driver_sql(
        "UPDATE users SET telegram_id = $2, updated_at = clock_timestamp() WHERE id = $1",
        (issuer, telegram_id),
    )


#: (table, the columns besides user_id that make a row unique, or a condition of its own):
#: a row of the joiner's moves unless the issuer has its twin; a twin stays behind and goes
#: with the joiner's user.
_MOVED: list[tuple[str, str]] = [
    ("cron_jobs", "false"),
    ("tool_invocations", "false"),
    ("chat_messages", "false"),
    ("profile_facts", "o.text_key = t.text_key"),
    ("calendar_credentials", "o.status = t.status"),
    ("contacts", "o.assistant_id = t.assistant_id"),
    ("feedback", "o.message_key = t.message_key"),
    ("experiment_assignments", "o.experiment_id = t.experiment_id"),
    ("handoffs", "false"),
    ("tasks", "false"),
    ("leads", f"o.assistant_id = t.assistant_id AND o.{OPEN_PREDICATE} AND t.{OPEN_PREDICATE}"),
]
#: Tables whose `conversation_key` names a private conversation (`<user id>`, or with a
#: `bot:<bot id>:` or `assistant:<name>:` prefix): the joiner's become the issuer's.
_KEYED = ["chat_messages", "leads", "feedback"]
_SETTINGS = sorted(_PROFILE)


async def _merge(
    ctx: UnitOfWork, conn: AsyncConnection, joiner: uuid.UUID, issuer: uuid.UUID
) -> int | None:
    """Everything of `joiner` moves to `issuer`; `joiner` is deleted. Returns the Telegram id
    the joiner had (now the issuer's)."""
    rows = await sql.rows(
        conn, "SELECT id, telegram_id FROM users WHERE id = ANY($1::uuid[])", ([joiner, issuer],)
    )
    telegram = {uuid.UUID(str(r["id"])): r["telegram_id"] for r in rows}
    moving_telegram = telegram.get(joiner)
    if moving_telegram is not None and telegram.get(issuer) is not None:
        raise _second_telegram()
    await _move_identities(conn, joiner, issuer, moving_telegram)
    for table, twin in _MOVED:
        await conn.exec_driver_sql(
            f"UPDATE {table} t SET user_id = $2 WHERE t.user_id = $1 AND NOT EXISTS "
            f"(SELECT 1 FROM {table} o WHERE o.user_id = $2 AND ({twin}))",
            (joiner, issuer),
        )
    await _move_conversations(conn, str(joiner), str(issuer))
    await _fill_settings(conn, joiner, issuer)
    await conn.exec_driver_sql("DELETE FROM users WHERE id = $1", (joiner,))
    return moving_telegram


async def _move_identities(
    conn: AsyncConnection, joiner: uuid.UUID, issuer: uuid.UUID, telegram_id: int | None
) -> None:
    await conn.exec_driver_sql(
        "UPDATE user_identities SET user_id = $2, updated_at = clock_timestamp() "
        "WHERE user_id = $1",
        (joiner, issuer),
    )
    if telegram_id is None:
        return
    await conn.exec_driver_sql("UPDATE users SET telegram_id = NULL WHERE id = $1", (joiner,))
    await conn.exec_driver_sql(
        "UPDATE users SET telegram_id = $2, updated_at = clock_timestamp() WHERE id = $1",
        (issuer, telegram_id),
    )


async def _move_conversations(conn: AsyncConnection, joiner: str, issuer: str) -> None:
    """The joiner's private conversations (with every bot and every named assistant too)
    become the issuer's, so memory search and usage see one person. A thread the issuer has
    with the same assistant already wins; the joiner's messages keep their old `thread_id`
    (older history, as after /reset)."""
    for table in _KEYED:
        await conn.exec_driver_sql(
            f"UPDATE {table} SET conversation_key = {_issuers('conversation_key')} "
            f"WHERE {_joiners('conversation_key')}",
            (joiner, issuer),
        )
    new_key = _issuers("t.user_id")
    await conn.exec_driver_sql(
        f"UPDATE user_assistant_threads t SET user_id = {new_key}, updated_at = now() "
        f"WHERE ({_joiners('t.user_id')}) AND NOT EXISTS "
        f"(SELECT 1 FROM user_assistant_threads o WHERE o.assistant_id = t.assistant_id "
        f"AND o.user_id = {new_key})",
        (joiner, issuer),
    )
    await conn.exec_driver_sql(
        f"DELETE FROM user_assistant_threads WHERE {_joiners('user_id')}", (joiner,)
    )
    await conn.exec_driver_sql(
        f"UPDATE handoffs t SET conversation_key = {_issuers('conversation_key')} "
        f"WHERE ({_joiners('conversation_key')}) AND status NOT IN ('waiting', 'active')",
        (joiner, issuer),
    )


def _joiners(column: str) -> str:
    """SQL: `column` is a private conversation key of the user `$1`: `<user>`, with a bot
    (`bot:<id>:<user>`), with a named assistant (`assistant:<name>:<user>`) or both."""
    return f"{column} = $1 OR {column} LIKE 'bot:%:' || $1 OR {column} LIKE 'assistant:%:' || $1"


def _issuers(column: str) -> str:
    """SQL: that key with the user `$1` at its end replaced by `$2`, its prefixes kept."""
    return f"substr({column}, 1, length({column}) - length($1)) || $2"


async def _fill_settings(conn: AsyncConnection, joiner: uuid.UUID, issuer: uuid.UUID) -> None:
    """The issuer's settings win; one they never set is taken from the joiner."""
    kept = ", ".join(f"{c} = COALESCE(i.{c}, j.{c})" for c in _SETTINGS)
    await conn.exec_driver_sql(
        f"UPDATE users i SET {kept}, voice_replies = i.voice_replies OR j.voice_replies, "
        "event_alert_minutes = GREATEST(i.event_alert_minutes, j.event_alert_minutes), "
        "updated_at = clock_timestamp() FROM users j WHERE i.id = $2 AND j.id = $1",
        (joiner, issuer),
    )


# -- unlinking -----------------------------------------------------------------------------


async def unlink(ctx: UnitOfWork, user_id: uuid.UUID, ref: IdentityRef) -> UserPublic:
    """The identity leaves the user and becomes a user of its own (with the person's language
    and time zone); the user's last identity cannot leave (409)."""
    await get_user(ctx, user_id)
    conn = await _conn(ctx)
    await _lock(conn, user_id)
    if await _owner(conn, ref) != user_id:
        raise not_found("identity of this user", f"{ref.channel.value}:{ref.external_id}")
    if len(await _identities_of(conn, user_id)) <= 1:
        raise conflict(
            "a user's last identity cannot be unlinked",
            [FieldError("external_id", "the user's only identity")],
        )
    source = await sql.one(
        conn,
        "SELECT username, first_name, language, timezone FROM users WHERE id = $1",
        (user_id,),
    )
    assert source is not None
    telegram_id = _telegram(ref)
    fresh = uuid.uuid4()
    if telegram_id is not None:
        await conn.exec_driver_sql("UPDATE users SET telegram_id = NULL WHERE id = $1", (user_id,))
        names = (source["username"], source["first_name"])
    else:
        names = (None, None)
    made = await sql.one(
        conn,
        _INSERT_USER,
        (fresh, telegram_id, *names, source["language"], source["timezone"], None),
    )
    assert made is not None
    if telegram_id is None:
        await conn.exec_driver_sql(
            "UPDATE user_identities SET user_id = $3, updated_at = clock_timestamp() "
            "WHERE channel = $1 AND external_id = $2",
            (ref.channel.value, ref.external_id, fresh),
        )
    announce_user(ctx, UserChanged(user_id=user_id, telegram_id=telegram_id, change="updated"))
    return UserPublic.model_validate(made)
