"""Master key rotation: every secret at rest re-encrypted under the newest key of
`LLM_MODEL_DECRYPT_KEY`, in one transaction, so no secret is left under a key about to go."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from common.infrastructure.crypto import SecretBox
from rest_service.app.models.api_client import ApiClient
from rest_service.app.models.bot import Bot
from rest_service.app.models.calendar import CalendarCredential
from rest_service.app.models.llm import LLMProvider
from rest_service.app.models.webhook import WebhookSubscription

#: Every encrypted column: (what the report calls it, table model, column name).
SECRETS: tuple[tuple[str, Any, str], ...] = (
    ("provider keys", LLMProvider, "api_key_encrypted"),
    ("calendar credentials", CalendarCredential, "credentials_encrypted"),
    ("webhook secrets", WebhookSubscription, "secret_encrypted"),
    ("bot tokens", Bot, "token_encrypted"),
    ("API client webhook secrets", ApiClient, "webhook_secret_encrypted"),
)


@dataclass
class RotationCounts:
    rotated: dict[str, int] = field(default_factory=dict)
    current: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        return "; ".join(
            f"{name}: {self.rotated[name]} re-encrypted, {self.current[name]} already current"
            for name in self.rotated
        )


async def rotate_secrets(session: AsyncSession, box: SecretBox) -> RotationCounts:
    """Rows are locked while they are rewritten; a secret no key opens fails the whole unit
    of work (nothing is committed), so the old key is never dropped while it is still needed."""
    counts = RotationCounts()
    for name, model, column in SECRETS:
        attribute = getattr(model, column)
        rows = await session.execute(
            select(model.id, attribute).where(attribute.is_not(None)).with_for_update()
        )
        rotated = current = 0
        for row_id, token in rows.all():
            if box.is_current(token):
                current += 1
                continue
            new = box.rotate(token)
            await session.execute(update(model).where(model.id == row_id).values({column: new}))
            rotated += 1
        counts.rotated[name], counts.current[name] = rotated, current
    return counts
