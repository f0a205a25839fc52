"""cron_service settings."""

from __future__ import annotations

from typing import ClassVar

from common.settings import ServiceSettings


class Settings(ServiceSettings):
    default_port: ClassVar[int] = 8003
