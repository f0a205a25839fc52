"""One pydantic-settings base for every service: environment first, then `.env`."""

from __future__ import annotations

import sys
from typing import ClassVar, Literal, TypeVar

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.crypto import is_valid_fernet_key


class InsecureSettingsError(ValueError):
    """A secret setting is empty or malformed where the service must not start with it."""


class ServiceSettings(BaseSettings):
    """Settings every service reads. Subclasses add their own and name their secrets."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    #: Names of string settings that must be non-empty outside tests.
    required_secrets: ClassVar[tuple[str, ...]] = ("service_api_token",)
    #: The service's default port (ARCHITECTURE.md "Services").
    default_port: ClassVar[int] = 8000

    environment: Literal["development", "production", "test"] = "development"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=0, ge=0, le=65535)

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_key_prefix: str = ""

    rest_service_url: str = "http://127.0.0.1:8000"
    google_calendar_service_url: str = "http://127.0.0.1:8001"
    service_api_token: str = ""

    default_timezone: str = "UTC"

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] | None = None
    log_file: str | None = None

    shutdown_grace_seconds: float = Field(default=10.0, gt=0)

    @property
    def port(self) -> int:
        return self.http_port or self.default_port

    @property
    def is_test(self) -> bool:
        return self.environment == "test"

    @model_validator(mode="after")
    def _refuse_insecure_secrets(self) -> ServiceSettings:
        if self.is_test:
            return self
        empty = [name.upper() for name in self.required_secrets if not getattr(self, name, "")]
        if empty:
            raise InsecureSettingsError(
                f"{', '.join(empty)} must be set (in the environment or .env); "
                "./manage.py up writes fresh values on first run"
            )
        key = getattr(self, "llm_model_decrypt_key", None)
        if key is not None and not is_valid_fernet_key(key):
            raise InsecureSettingsError(
                "LLM_MODEL_DECRYPT_KEY is not a Fernet key (32 url-safe base64-encoded bytes)"
            )
        return self


S = TypeVar("S", bound=ServiceSettings)


def load_settings(cls: type[S]) -> S:
    """Settings for `python -m <service>`: a clear message and exit 2 instead of a traceback."""
    try:
        return cls()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']).upper() or 'settings'}: "
            f"{str(e['msg']).removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        print(f"invalid settings: {problems}", file=sys.stderr)
        raise SystemExit(2) from None
