"""Every Redis stream, key and channel name, under one prefix (REDIS_KEY_PREFIX)."""

from __future__ import annotations

from dataclasses import dataclass

TO_SECRETARY = "queue:to_secretary"
TO_TELEGRAM = "queue:to_telegram"
ASSISTANT_GROUP = "assistant"
TG_BOT_GROUP = "tg_bot"
CONFIG_UPDATED = "config:updated"
CRON_UPDATED = "cron:updated"


@dataclass(frozen=True)
class Names:
    """Builds prefixed names. Stream names in messages (`reply_stream`) are unprefixed;
    `stream()` applies the prefix when a service touches Redis."""

    prefix: str = ""

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def stream(self, name: str) -> str:
        return self.key(name)

    @property
    def to_secretary(self) -> str:
        return self.key(TO_SECRETARY)

    @property
    def to_telegram(self) -> str:
        return self.key(TO_TELEGRAM)

    @property
    def config_updated(self) -> str:
        return self.key(CONFIG_UPDATED)

    @property
    def cron_updated(self) -> str:
        return self.key(CRON_UPDATED)

    @property
    def config_snapshot(self) -> str:
        return self.key("config:snapshot")

    @property
    def config_version(self) -> str:
        return self.key("config:version")

    @property
    def telegram_offset(self) -> str:
        return self.key("tg_bot:offset")

    # The helpers below take the logical (unprefixed) stream name.

    def dead(self, stream: str) -> str:
        return self.key(f"{stream}:dead")

    def done(self, stream: str, message_id: str) -> str:
        return self.key(f"done:{stream}:{message_id}")

    def attempts(self, stream: str, entry_id: str) -> str:
        return self.key(f"attempts:{stream}:{entry_id}")

    def last_error(self, stream: str, entry_id: str) -> str:
        return self.key(f"error:{stream}:{entry_id}")

    def chat_lock(self, stream: str, chat: str) -> str:
        return self.key(f"lock:{stream}:chat:{chat}")

    def chat_backlog(self, stream: str, chat: str) -> str:
        return self.key(f"backlog:{stream}:chat:{chat}")

    def fire_claim(self, job_id: str, scheduled_for: str) -> str:
        return self.key(f"cron:fired:{job_id}:{scheduled_for}")

    def oauth_state(self, state: str) -> str:
        return self.key(f"gcal:oauth_state:{state}")

    def weather_cache(self, location: str, days: int) -> str:
        return self.key(f"weather:{location.lower()}:{days}")
