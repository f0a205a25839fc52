"""What the lifespan creates and every request (and the seed CLI) works with."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from common.infrastructure.crypto import SecretBox, generate_key, is_valid_master_key
from common.infrastructure.logging import get_logger
from common.infrastructure.redis_keys import Names
from common.infrastructure.service_tokens import TokenTable
from common.infrastructure.web import StateSlot
from rest_service.app.database import create_engine, create_sessionmaker
from rest_service.app.live_config_cache import ConfigCache, create_cache_redis
from rest_service.app.settings import Settings

log = get_logger(__name__)


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: aioredis.Redis
    cache: ConfigCache
    box: SecretBox

    @classmethod
    def create(cls, settings: Settings) -> AppState:
        engine = create_engine(settings)
        redis = create_cache_redis(settings)
        return cls(
            settings=settings,
            engine=engine,
            sessions=create_sessionmaker(engine),
            redis=redis,
            cache=ConfigCache(redis, Names(settings.redis_key_prefix)),
            box=SecretBox(_master_key(settings)),
        )

    @property
    def tokens(self) -> TokenTable:
        """The tokens the settings hold, as the auth middleware reads them."""
        return TokenTable.from_settings(self.settings)

    async def close(self) -> None:
        await self.engine.dispose()
        await self.redis.aclose()


#: The app's state, stored by the lifespan (`main.py`), read by dependencies and the admin.
STATE = StateSlot(AppState, "app_state")


def _master_key(settings: Settings) -> str:
    """Settings refuse a bad key outside tests; a test run without one gets a throwaway key."""
    if is_valid_master_key(settings.llm_model_decrypt_key):
        return settings.llm_model_decrypt_key
    log.warning("ephemeral_master_key", reason="LLM_MODEL_DECRYPT_KEY unset in a test run")
    return generate_key()
