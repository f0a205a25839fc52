"""tg_bot settings: Telegram, who may talk to the bot, receiving, sending and its limits."""

from __future__ import annotations

import functools
import re
from typing import ClassVar

from pydantic import Field, field_validator

from common.infrastructure.settings import MIN_TOKEN_LENGTH, OpenMeteoSettings, ServiceSettings

#: What TELEGRAM_WEBHOOK_SECRET may be: the Bot API's characters, no shorter than a token.
WEBHOOK_SECRET_PATTERN = rf"[A-Za-z0-9_-]{{{MIN_TOKEN_LENGTH},256}}"


class Settings(ServiceSettings, OpenMeteoSettings):
    required_secrets: ClassVar[tuple[str, ...]] = ("service_api_token", "telegram_token")
    default_port: ClassVar[int] = 8004
    service_name: ClassVar[str] = "tg_bot"

    telegram_token: str = ""
    telegram_api_base: str = "https://api.telegram.org"
    #: Comma-separated Telegram user ids; empty lets everyone in.
    allowed_telegram_ids: str = ""
    #: A stranger to the default bot gets a code for its owners (ALLOWED_TELEGRAM_IDS) to
    #: approve; off: strangers are refused as before.
    pairing: bool = False
    #: Comma-separated group chat ids the default bot talks in; empty: any group.
    allowed_groups: str = ""

    # receiving
    poll_timeout_seconds: int = Field(default=25, ge=0, le=50)
    poll_limit: int = Field(default=100, ge=1, le=100)
    poll_backoff_initial_seconds: float = Field(default=0.5, gt=0)
    poll_backoff_max_seconds: float = Field(default=30.0, gt=0)
    telegram_request_timeout_seconds: float = Field(default=10.0, gt=0)
    #: /health turns degraded after this long without a successful Telegram call.
    telegram_unhealthy_after_seconds: float = Field(default=180.0, gt=0)
    #: One process polls; another takes over this long after it stopped renewing.
    poller_lease_seconds: float = Field(default=10.0, gt=0)
    #: The bots rows (decision 0048) are read again this often, besides on `bots:updated`, so a
    #: lost change notice leaves a bot stale at most this long.
    bots_refresh_seconds: float = Field(default=60.0, gt=0)
    #: How long Redis must have refused an update for memory before its sender is told.
    redis_full_notice_after_seconds: float = Field(default=5.0, gt=0)

    # sending (Telegram's limits are the defaults; tests and the benchmark raise or lower them)
    send_limit_overall_per_second: float = Field(default=30.0, gt=0)
    send_limit_chat_per_second: float = Field(default=1.0, gt=0)
    send_limit_group_per_minute: int = Field(default=20, gt=0)
    send_concurrency: int = Field(default=64, ge=1, description="chats answered at once")
    send_retries: int = Field(default=2, ge=0, description="quick retries of a network/5xx")
    send_retry_backoff_seconds: float = Field(default=0.5, gt=0)
    #: After the quick retries, how long a chat waits before its answer is tried again.
    send_outage_retry_seconds: float = Field(default=5.0, gt=0)
    max_message_length: int = Field(default=4096, ge=256, le=4096)
    sent_part_ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    #: The `queue:to_telegram` consumer: an answer idle this long is claimed from a dead
    #: process, whose chat locks expire after the lock TTL (see common/infrastructure/queue.py).
    queue_claim_idle_ms: int = Field(default=30_000, ge=100)
    queue_claim_interval_seconds: float = Field(default=5.0, gt=0)
    queue_lock_ttl_ms: int = Field(default=15_000, ge=100)

    # the conversation around the messages
    typing_interval_seconds: float = Field(default=4.0, gt=0)
    #: "typing…" only for an answer that takes noticeably long (the Bot API's advice for
    #: sendChatAction): one ready sooner is sent without a chat action and its round trips.
    typing_delay_seconds: float = Field(default=0.5, ge=0)
    typing_max_seconds: float = Field(default=120.0, gt=0)
    user_cache_seconds: float = Field(default=300.0, ge=0)
    forget_confirm_seconds: int = Field(default=300, gt=0)

    # per-user limits (common/features/limits.py): messages for the assistant per minute (0: none);
    # the assistant's LLM token budget per UTC day, which /usage shows (0: none)
    rate_limit_messages_per_minute: int = Field(default=20, ge=0)
    llm_daily_token_budget: int = Field(default=200_000, ge=0)

    # /timezone and a shared location: places and coordinates to zones (Open-Meteo's URLs
    # are OpenMeteoSettings')
    geocoding_timeout_seconds: float = Field(default=5.0, gt=0)

    # receiving by webhook instead of polling (empty URL: long polling; switching
    # back deletes the webhook); the secret Telegram sends back in every webhook request's
    # X-Telegram-Bot-Api-Secret-Token header (generated and kept in Redis when empty)
    telegram_webhook_url: str = ""
    telegram_webhook_secret: str = ""
    #: Where tg_bot's HTTP server takes webhook requests (the URL above ends with it).
    telegram_webhook_path: str = "/telegram/webhook"

    # live answers: drafts in private chats, throttled edits elsewhere
    stream_answers: bool = True
    #: Edits of a group's live answer: at most one per this many seconds (Telegram's group limit
    #: is 20 messages a minute, which edits share).
    stream_edit_interval_seconds: float = Field(default=3.0, gt=0)
    #: Drafts in a private chat: at most one per this many seconds.
    stream_draft_interval_seconds: float = Field(default=0.3, gt=0)

    # voice, pictures and documents
    voice_max_seconds: int = Field(default=300, gt=0)
    document_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    #: Telegram's bots may download files up to 20 MB.
    file_max_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    #: A photo declaring more pixels than this is refused before it is downloaded (the
    #: assistant checks every picture's real dimensions again).
    image_max_pixels: int = Field(default=40_000_000, ge=1_000_000)
    #: Bytes of users' files waiting in Redis for the assistant: per sender, and in all
    #: (`common/features/blobs.py`). A file over either is refused with a short answer. 0: no limit.
    blob_max_bytes_per_user: int = Field(default=64 * 1024 * 1024, ge=0)
    blob_max_bytes_total: int = Field(default=256 * 1024 * 1024, ge=0)
    #: How long the parts of an album are gathered into one turn.
    album_wait_seconds: float = Field(default=1.5, gt=0)

    #: An edit of the user's last message within this window is answered again.
    edit_window_seconds: int = Field(default=120, ge=0)

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _secret_telegram_takes(cls, value: str) -> str:
        """The Bot API takes 1-256 of `A-Za-z0-9_-`; a short one could be guessed, so the
        floor is the tokens' (in tests too: no test needs a weak secret)."""
        if value and not re.fullmatch(WEBHOOK_SECRET_PATTERN, value):
            raise ValueError(
                f"{MIN_TOKEN_LENGTH}-256 characters of A-Z, a-z, 0-9, _ and - "
                "(leave it empty and one is generated)"
            )
        return value

    @field_validator("telegram_webhook_path")
    @classmethod
    def _path_is_absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with /")
        return value

    @field_validator("allowed_telegram_ids")
    @classmethod
    def _ids_are_numbers(cls, value: str) -> str:
        _ids(value, "not a Telegram user id")
        return value

    @field_validator("allowed_groups")
    @classmethod
    def _groups_are_numbers(cls, value: str) -> str:
        _ids(value, "not a Telegram chat id")
        return value

    @functools.cached_property
    def allowed_ids(self) -> frozenset[int]:
        return _ids(self.allowed_telegram_ids, "")

    @functools.cached_property
    def allowed_group_ids(self) -> frozenset[int]:
        return _ids(self.allowed_groups, "")


def _ids(value: str, refusal: str) -> frozenset[int]:
    """The ids of a comma- (or semicolon-) separated list; ValueError(`refusal`) on a word."""
    items = [item.strip() for item in value.replace(";", ",").split(",") if item.strip()]
    for item in items:
        if not item.lstrip("-").isdigit():
            raise ValueError(f"{refusal}: {item!r}")
    return frozenset(int(item) for item in items)
