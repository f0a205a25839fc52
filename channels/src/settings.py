"""channels settings: the service, its outgoing worker, and every channel's own settings.

A channel whose settings are missing is off (`channels/src/adapters/registry.py`), so none
of them is required: the service starts with none configured and says so in `/health`."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from common.infrastructure.settings import ServiceSettings


class Settings(ServiceSettings):
    default_port: ClassVar[int] = 8005
    service_name: ClassVar[str] = "channels"

    # WhatsApp (Cloud API): on with a token, the phone number's id and the app secret that
    # signs the webhooks (X-Hub-Signature-256)
    whatsapp_token: SecretStr = SecretStr("")
    whatsapp_phone_number_id: str = ""
    whatsapp_app_secret: SecretStr = SecretStr("")
    #: What WhatsApp's webhook verification handshake sends back as `hub.verify_token`.
    whatsapp_verify_token: SecretStr = SecretStr("")
    whatsapp_api_base: str = "https://graph.facebook.com/v21.0"
    #: The approved message template a reminder goes out as outside the 24-hour window: its
    #: name, or `name:language` (`en` when not given); its body has one variable, the text.
    whatsapp_reminder_template: str = ""

    # Slack (Events API + Web API): on with the bot token and the signing secret
    slack_bot_token: SecretStr = SecretStr("")
    slack_signing_secret: SecretStr = SecretStr("")
    slack_api_base: str = "https://slack.com/api"

    # e-mail: on with both servers (URLs with the account, `imaps://user:pass@host:993`) and
    # the address the secretary writes from
    email_imap_url: SecretStr = SecretStr("")
    email_smtp_url: SecretStr = SecretStr("")
    email_from: str = ""
    #: Comma-separated addresses (or `@domain`s) whose mail is answered; empty: nobody's.
    email_allowed_senders: str = ""
    #: Use IMAP IDLE where the server has it (new mail within a second); off, or on a server
    #: without it, the mailbox is looked at every EMAIL_POLL_SECONDS.
    email_idle: bool = True
    email_poll_seconds: float = Field(default=60.0, gt=0)
    #: A mail's attachment larger than this is left out (the text still goes in).
    email_attachment_max_bytes: int = Field(default=20 * 1024 * 1024, ge=0)

    # the web chat: on when the secret that signs the visitor's session cookie is set
    web_chat_secret: SecretStr = SecretStr("")

    # the public API (OpenAI-compatible chat and asynchronous messages): on unless turned
    # off; every request needs an API client's key (`POST /api/api-clients` on rest_service)
    api_enabled: bool = True
    #: How long `/v1/chat/completions` waits for the answer before a 504 that names the
    #: message (its answer is then in `GET /api/v1/messages/{id}`).
    api_answer_timeout_seconds: float = Field(default=120.0, gt=0)
    #: How long a message's state and answer are kept for `GET /api/v1/messages/{id}`.
    api_message_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    #: The largest file a client uploads (`POST /api/v1/files`) or a message names by URL.
    api_attachment_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    #: Fetch attachment URLs on private addresses too (a test's or an intranet's files); off,
    #: only public addresses are fetched (the SSRF rule of outgoing calls).
    api_attachment_allow_private_addresses: bool = False
    api_attachment_timeout_seconds: float = Field(default=20.0, gt=0)

    #: The largest request body any other route reads (a 413 before anything parses it).
    max_request_body_bytes: int = Field(default=1_048_576, ge=1024)

    #: Messages a person may send a minute, in all these channels together (0: no limit), as
    #: tg_bot's limit of the same name; the first refused one is answered, once.
    rate_limit_messages_per_minute: int = Field(default=20, ge=0)

    # the `queue:to_channels` consumer (common/infrastructure/queue.py): an answer idle this
    # long is claimed from a dead process, whose chat locks expire after the lock TTL
    send_concurrency: int = Field(default=64, ge=1, description="conversations answered at once")
    queue_claim_idle_ms: int = Field(default=30_000, ge=100)
    queue_claim_interval_seconds: float = Field(default=5.0, gt=0)
    queue_lock_ttl_ms: int = Field(default=15_000, ge=100)
