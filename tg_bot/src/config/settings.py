"""tg_bot settings."""

from __future__ import annotations

from typing import ClassVar

from common.settings import ServiceSettings


class Settings(ServiceSettings):
    required_secrets: ClassVar[tuple[str, ...]] = ("service_api_token", "telegram_token")
    default_port: ClassVar[int] = 8004

    telegram_token: str = ""
    telegram_api_base: str = "https://api.telegram.org"
    allowed_telegram_ids: str = ""
