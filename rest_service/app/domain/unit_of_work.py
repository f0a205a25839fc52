"""The one argument every service function takes: the session and what a write needs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from common.crypto import SecretBox
from rest_service.app.live_config_cache import ConfigCache
from rest_service.app.settings import Settings


@dataclass
class Ctx:
    session: AsyncSession
    settings: Settings
    box: SecretBox
    cache: ConfigCache
    #: Who is writing, for the change history (`admin-token`, `admin:<username>`, `seed`, …).
    actor: str = "api"
