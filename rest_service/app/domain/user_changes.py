"""`user:updated`: every committed change to a user is said, so tg_bot's replicas drop their
cached copy (`tg_bot/src/domain/users.py`)."""

from __future__ import annotations

from common.infrastructure.queue_messages import UserChanged
from rest_service.app.domain.unit_of_work import UnitOfWork


def announce_user(ctx: UnitOfWork, change: UserChanged) -> None:
    """Said once the unit commits; the latest change to a user in a unit is the one said."""

    async def announce(ctx: UnitOfWork) -> None:
        await ctx.cache.publish_user(change.model_dump_json())

    ctx.after_commit(f"user:{change.user_id}", announce)
