"""assistant settings."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from common.settings import ServiceSettings


class Settings(ServiceSettings):
    default_port: ClassVar[int] = 8002

    openai_api_key: str = ""
    openai_base_url: str = "https://api.openai.com/v1"
    default_model: str = "gpt-4o-mini"
    fallback_model: str = "gpt-4o"

    weather_api_url: str = "https://api.open-meteo.com/v1/forecast"
    geocoding_api_url: str = "https://geocoding-api.open-meteo.com/v1/search"

    max_context_messages: int = Field(default=20, ge=1)
    max_context_length: int = Field(default=12_000, ge=100)
    long_term_memory_enabled: bool = True
    max_long_term_results: int = Field(default=5, ge=0)
    long_term_memory_length: int = Field(default=2_000, ge=0)

    assistant_concurrency: int = Field(default=16, ge=1)
