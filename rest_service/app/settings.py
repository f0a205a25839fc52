"""rest_service settings."""

from __future__ import annotations

from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from common.features.mcp_servers import StdioServers
from common.infrastructure import postgres_url, service_tokens
from common.infrastructure.settings import ServiceSettings
from rest_service.app import phones


class Settings(ServiceSettings):
    required_secrets: ClassVar[tuple[str, ...]] = (
        "admin_api_token",
        "service_api_token",
        "llm_model_decrypt_key",
    )
    default_port: ClassVar[int] = 8000
    service_name: ClassVar[str] = "rest_service"

    async_database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/smart_assistant"
    #: Kept connections: the workers' concurrent requests (the assistant handles 16 chats
    #: at once), so a busy minute does not open and close overflow connections.
    db_pool_size: int = Field(default=20, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_echo: bool = False
    #: asyncpg's prepared-statement cache per connection; 0 behind PgBouncer in transaction
    #: mode, where a prepared statement may land on another server connection.
    db_statement_cache_size: int = Field(default=100, ge=0)
    #: Largest request body read (bytes); a larger one is a 413 before anything is parsed.
    max_request_body_bytes: int = Field(default=1_048_576, ge=1024)
    #: POST /api/config/import takes a whole configuration (instructions of up to 100 000
    #: characters per assistant), POST /api/knowledge/import a file and POST
    #: /api/catalogue/import a whole catalogue, so they have a larger limit of their own.
    max_import_body_bytes: int = Field(default=16 * 1_048_576, ge=1024)
    #: Recall by meaning: how many of a conversation's newest message vectors are ranked for
    #: a turn, and the cosine similarity below which a message is not about the question.
    recall_scan_depth: int = Field(default=2000, ge=1, le=100_000)
    recall_min_similarity: float = Field(default=0.3, ge=-1.0, le=1.0)
    #: Chat messages older than this many days are deleted once a day; 0 keeps them all. A
    #: year by default: storage limitation without losing a year's context
    #: (docs/security.md "Data kept, and for how long").
    history_retention_days: int = Field(default=365, ge=0)
    #: How often the deletion runs (one replica per period, claimed in Redis).
    history_retention_interval_seconds: float = Field(default=86_400.0, ge=1.0)
    #: Webhook deliveries done with (delivered or dead) are deleted from the outbox this many
    #: days after their last attempt, in the same periods; 0 keeps them all.
    webhook_retention_days: int = Field(default=30, ge=0)

    #: Outgoing webhooks (docs/decisions/0050-outgoing-webhooks-from-an-outbox.md): the
    #: delivery worker's sends per subscription event, the first retry's wait (doubling,
    #: jittered, up to the maximum), each request's timeout, and how often it looks for due
    #: deliveries without a nudge.
    webhook_delivery_enabled: bool = True
    webhook_max_attempts: int = Field(default=8, ge=1, le=100)
    webhook_retry_base_seconds: float = Field(default=10.0, gt=0)
    webhook_retry_max_seconds: float = Field(default=3600.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_poll_seconds: float = Field(default=5.0, gt=0)
    #: Let subscriptions (and Bitrix24) reach loopback and private addresses: for tests and
    #: a CRM inside the same network; off, only public addresses are sent to.
    webhook_allow_private_addresses: bool = False
    #: API clients' deliveries (decision 0061) are retried, on the same backoff, until they
    #: are this many hours old (from queueing or the latest replay), then dead.
    api_webhook_retry_hours: float = Field(default=24.0, gt=0, allow_inf_nan=False)
    #: Bitrix24's inbound webhook (`https://<portal>/rest/<user>/<token>/`): lead events
    #: also go to its crm.lead.add / crm.lead.update. Holds a token: never logged or shown.
    bitrix24_webhook_url: str = ""

    #: A human operator (decision 0052): the Telegram group where the default bot's customers
    #: are handed to people (0: none, the assistant says no one is available); a bots row
    #: names its own. How long a handoff waits for an operator when the bot says nothing,
    #: and how often the sweep looks for handoffs no one answered in time (0: this replica
    #: runs no sweep; another replica's expires them, or nothing does).
    operator_chat_id: int = 0
    operator_wait_minutes: int = Field(default=10, ge=1, le=10080)
    handoff_sweep_seconds: float = Field(default=15.0, ge=0)

    #: Per-user limits on cron jobs (reminders and assistant prompts): active jobs at once,
    #: and the shortest gap between two fires of a recurring one (0: no limit).
    max_active_reminders: int = Field(default=50, ge=0)
    min_recurrence_minutes: int = Field(default=5, ge=0)

    #: Contacts: a phone number written without a country code is read as one of this region
    #: (ISO 3166 alpha-2), so a local "8 912 345-67-89" is stored as +79123456789.
    phone_default_region: str = "RU"

    #: The stdio MCP servers an mcp tool may name (common/features/mcp_servers.py); the assistant
    #: reads the same setting to start them.
    mcp_stdio_servers: StdioServers = Field(default_factory=dict)

    admin_api_token: str = ""
    #: The web admin at /admin: log in with these, or with any name and ADMIN_API_TOKEN.
    admin_username: str = ""
    admin_password: str = ""
    #: Mark the admin session cookie `Secure` (serve /admin over HTTPS when this is on).
    admin_cookie_secure: bool = False
    admin_session_hours: int = Field(default=8, ge=1, le=24 * 30)
    #: Admin login limits: failures allowed per account name and per client address before
    #: each further attempt waits (doubling from the base delay up to the maximum, 429).
    admin_login_free_failures: int = Field(default=5, ge=1)
    admin_login_free_failures_per_address: int = Field(default=20, ge=1)
    admin_login_base_delay_seconds: float = Field(default=1.0, gt=0)
    admin_login_max_delay_seconds: float = Field(default=900.0, gt=0)
    #: Failures are forgotten after this long without another one.
    admin_login_failure_window_seconds: int = Field(default=3600, ge=1)
    #: The IANA time zone the admin shows times in (with its abbreviation or offset).
    admin_timezone: str = "UTC"
    llm_model_decrypt_key: str = ""
    #: The other services' HTTP base URLs, for the admin dashboard's health panel (their
    #: `/readyz`, or `/health` where a service has none); REST_SERVICE_URL and
    #: GOOGLE_CALENDAR_SERVICE_URL are the common settings.
    assistant_url: str = "http://127.0.0.1:8002"
    cron_service_url: str = "http://127.0.0.1:8003"
    tg_bot_url: str = "http://127.0.0.1:8004"
    channels_url: str = "http://127.0.0.1:8005"

    openai_api_key: str = ""
    openai_base_url: str = "https://api.openai.com/v1"
    default_model: str = "gpt-4o-mini"
    fallback_model: str = "gpt-4o"
    #: The seed's voice models on the same provider (OpenAI's names); empty: none seeded.
    transcription_model: str = "whisper-1"
    speech_model: str = "tts-1"
    #: The seed's picture model (capability `image`, e.g. `dall-e-3`); empty: none seeded, and
    #: the `draw` tool politely refuses until an admin adds one.
    image_model: str = ""

    @field_validator("async_database_url")
    @classmethod
    def _database_url_both_drivers(cls, url: str) -> str:
        """Refuse at start-up a URL one of the two drivers could not use
        (common.infrastructure.postgres_url)."""
        postgres_url.libpq_dsn(url)
        postgres_url.asyncpg_target(url)
        return url

    @field_validator("phone_default_region")
    @classmethod
    def _known_region(cls, region: str) -> str:
        """A region libphonenumber does not know would refuse every local number."""
        if not phones.known_region(region):
            raise ValueError(f"{region!r} is not a region code such as RU, DE or US")
        return region.upper()

    @field_validator("admin_timezone")
    @classmethod
    def _known_time_zone(cls, name: str) -> str:
        """An unknown zone is refused at start, not at the first page drawn."""
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {name!r} (an IANA name such as Europe/Berlin, or UTC)"
            ) from None
        return name

    def has_secret(self, name: str) -> bool:
        """rest_service needs some service token: the shared one or any scoped one."""
        if name == "service_api_token":
            return bool(service_tokens.scoped_tokens(self))
        return super().has_secret(name)
