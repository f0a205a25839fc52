"""One pydantic-settings base for every service: environment first, then `.env` (or the one
env file SMART_ASSISTANT_ENV_FILE names; empty: none)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar, cast

from dotenv import dotenv_values
from pydantic import BaseModel, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.infrastructure import redis_connection, service_tokens
from common.infrastructure.crypto import is_valid_master_key
from common.infrastructure.redis_connection import check_topology

#: The env file a service reads instead of `./.env` (manage.py sets it to the file it was
#: given, so no `.env` of the working directory leaks in); set but empty: no env file at all.
ENV_FILE_VARIABLE = "SMART_ASSISTANT_ENV_FILE"
#: Shorter tokens are refused outside tests (`./manage.py up` makes 43 characters).
MIN_TOKEN_LENGTH = 32
#: Shorter admin passwords are refused outside tests.
MIN_ADMIN_PASSWORD_LENGTH = 12
#: Every bearer token a service may hold; two equal ones would share their rights.
TOKEN_SETTINGS = (
    "admin_api_token",
    "service_api_token",
    *(service_tokens.setting_name(s) for s in service_tokens.SCOPES),
)


class InsecureSettingsError(ValueError):
    """A secret setting is empty or malformed where the service must not start with it."""


#: Between a service's name and a setting's: `TG_BOT__LOG_LEVEL=DEBUG` is tg_bot's alone.
OWN_SEPARATOR = "__"


def own_name(service: str, setting: str) -> str:
    """The variable that gives `service` its own value of `setting` (`TG_BOT__HTTP_PORT`)."""
    return f"{service.upper()}{OWN_SEPARATOR}{setting.upper()}"


def own_values(service: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The settings `environ` gives `service` alone, by field name (`tg_bot`: `TG_BOT__X=1`
    gives `x`). Several services in one process (ops/one_process.py) read one environment;
    this is how each still gets its own port, log level or anything else."""
    if not service:
        return {}
    prefix = f"{service.upper()}{OWN_SEPARATOR}"
    return {
        key[len(prefix) :].lower(): value
        for key, value in environ.items()
        if key.upper().startswith(prefix) and len(key) > len(prefix)
    }


def _env_file_values(env_file: object) -> dict[str, str]:
    """The variables of the env file(s) a settings class reads (None: none; missing: none)."""
    paths = env_file if isinstance(env_file, list | tuple) else [env_file]
    found: dict[str, str] = {}
    for path in paths:
        if path is not None and Path(str(path)).is_file():
            values = dotenv_values(Path(str(path)), encoding="utf-8")
            found |= {key: value for key, value in values.items() if value is not None}
    return found


class OpenMeteoSettings(BaseModel):
    """Open-Meteo's APIs (common/features/geocoding.py), for every service that turns places into
    zones or weather. A plain model, not settings: mixed into a service's settings after
    ServiceSettings, it adds its fields without replacing their env-file configuration."""

    weather_api_url: str = "https://api.open-meteo.com/v1/forecast"
    geocoding_api_url: str = "https://geocoding-api.open-meteo.com/v1/search"


class ServiceSettings(BaseSettings):
    """Settings every service reads. Subclasses add their own and name their secrets."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    #: Names of string settings that must be non-empty outside tests.
    required_secrets: ClassVar[tuple[str, ...]] = ("service_api_token",)
    #: The service's default port (docs/contract.md "Services").
    default_port: ClassVar[int] = 8000
    #: The package name; picks the service's own scoped token (`SERVICE_TOKEN_<SERVICE>`).
    service_name: ClassVar[str] = ""

    environment: Literal["development", "production", "test"] = "development"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=0, ge=0, le=65535)
    #: Proxies (addresses or networks, comma-separated; `*` any) whose X-Forwarded-For and
    #: X-Forwarded-Proto are believed; empty: none, the peer address is the client's.
    forwarded_allow_ips: str = ""

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_key_prefix: str = ""
    #: Redis behind Sentinel: `host:port,host:port`; when set, REDIS_URL gives only
    #: the database, password and TLS, and the master is asked of the sentinels by name.
    redis_sentinels: str = ""
    redis_sentinel_master: str = "mymaster"
    #: Redis Cluster: REDIS_URL names any node; every script's keys share a slot through
    #: the hash tags of common/infrastructure/redis_keys.py.
    redis_cluster: bool = False
    #: A service's Redis client retries a lost connection REDIS_RETRIES times, the waits
    #: doubling from 0.1 s up to REDIS_RETRY_CAP_SECONDS (about 3 s ridden out with the
    #: defaults) before a command fails; raise them for a failover slower than that.
    redis_retries: int = Field(default=redis_connection.RETRIES, ge=0, le=100)
    redis_retry_cap_seconds: float = Field(default=redis_connection.RETRY_CAP_S, gt=0, le=60)

    rest_service_url: str = "http://127.0.0.1:8000"
    google_calendar_service_url: str = "http://127.0.0.1:8001"
    service_api_token: str = ""
    #: Scoped service tokens (common/infrastructure/service_tokens.py); each service is given its
    #: own.
    service_token_tg_bot: str = ""
    service_token_assistant: str = ""
    service_token_google_calendar_service: str = ""
    service_token_cron_service: str = ""
    service_token_channels: str = ""

    default_timezone: str = "UTC"

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] | None = None
    log_file: str | None = None

    shutdown_grace_seconds: float = Field(default=10.0, gt=0)

    #: Traces go to this OTLP/HTTP collector (`http://host:4318`); empty: tracing is off and
    #: OpenTelemetry is not even imported (common/infrastructure/tracing.py).
    otel_exporter_otlp_endpoint: str = ""
    #: The service name the traces show; empty: the service's own (`tg_bot`, `assistant`, ...).
    otel_service_name: str = ""

    def __init__(self, **values: Any) -> None:
        # An explicit `_env_file=` (tests) wins; then SMART_ASSISTANT_ENV_FILE; then `.env`.
        if "_env_file" not in values and ENV_FILE_VARIABLE in os.environ:
            values["_env_file"] = os.environ[ENV_FILE_VARIABLE] or None
        env_file = values.get("_env_file", self.model_config.get("env_file"))
        # Its own value from the env file too (a service run by hand reads `.env` itself);
        # the environment wins over the file, as for every setting.
        environ = {**_env_file_values(env_file), **os.environ}
        for name, value in own_values(self.service_name, environ).items():
            values.setdefault(name, value)
        super().__init__(**values)

    @property
    def port(self) -> int:
        return self.http_port or self.default_port

    @property
    def is_test(self) -> bool:
        return self.environment == "test"

    @property
    def own_service_token(self) -> str:
        """The token this service sends: its scoped one when set, else SERVICE_API_TOKEN."""
        if self.service_name in service_tokens.SCOPES:
            # Every scoped token field is declared `str` above.
            scoped = cast(str, getattr(self, service_tokens.setting_name(self.service_name)))
            if scoped:
                return scoped
        return self.service_api_token

    def has_secret(self, name: str) -> bool:
        """A required secret is set; a service's own scoped token stands for the shared one."""
        if name == "service_api_token":
            return bool(self.own_service_token)
        return bool(getattr(self, name, ""))

    @model_validator(mode="after")
    def _one_redis_topology(self) -> ServiceSettings:
        """REDIS_SENTINELS as host:port pairs, not with REDIS_CLUSTER: one line at start-up."""
        check_topology(self.redis_sentinels, self.redis_cluster)
        return self

    @model_validator(mode="after")
    def _refuse_insecure_secrets(self) -> ServiceSettings:
        if self.is_test:
            return self
        empty = [name.upper() for name in self.required_secrets if not self.has_secret(name)]
        if empty:
            raise InsecureSettingsError(
                f"{', '.join(empty)} must be set (in the environment or .env); "
                "./manage.py up writes fresh values on first run"
            )
        problems = weak_secrets(self)
        if problems:
            raise InsecureSettingsError("\n".join(problems))
        return self


def weak_secrets(settings: BaseSettings) -> list[str]:
    """One line per weak secret: short or shared tokens, a short admin password, a bad key."""
    tokens = {n: v for n in TOKEN_SETTINGS if (v := getattr(settings, n, ""))}
    problems = [
        f"{n.upper()} is shorter than {MIN_TOKEN_LENGTH} characters"
        for n, v in tokens.items()
        if len(v) < MIN_TOKEN_LENGTH
    ]
    names = list(tokens)
    problems += [
        f"{a.upper()} and {b.upper()} are the same token; each must be its own"
        for i, a in enumerate(names)
        for b in names[i + 1 :]
        if tokens[a] == tokens[b]
    ]
    password = getattr(settings, "admin_password", "")
    if password and len(password) < MIN_ADMIN_PASSWORD_LENGTH:
        problems.append(f"ADMIN_PASSWORD is shorter than {MIN_ADMIN_PASSWORD_LENGTH} characters")
    key = getattr(settings, "llm_model_decrypt_key", None)
    if key is not None and not is_valid_master_key(key):
        problems.append(
            "LLM_MODEL_DECRYPT_KEY is not a Fernet key (32 url-safe base64-encoded bytes; "
            "several, newest first, separated by commas)"
        )
    return problems


S = TypeVar("S", bound=ServiceSettings)


def load_settings(cls: type[S]) -> S:
    """Settings for `python -m <service>`: a clear message and exit 2 instead of a traceback."""
    try:
        return cls()
    except ValidationError as exc:
        for problem in settings_problems(exc):
            print(f"invalid settings: {problem}", file=sys.stderr)
        raise SystemExit(2) from None


def settings_problems(exc: ValidationError) -> list[str]:
    """One line per problem (a weak-secrets error holds several, one per line)."""
    lines = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e["loc"]).upper()
        for line in str(e["msg"]).removeprefix("Value error, ").splitlines():
            lines.append(f"{where}: {line}" if where else line)
    return lines
