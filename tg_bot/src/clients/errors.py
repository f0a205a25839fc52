"""The Bot API's failures as types, so callers decide by kind: wait, retry, drop or fix."""

from __future__ import annotations


class TelegramError(Exception):
    """A Bot API call failed. `status` is the HTTP status (0 when nothing came back)."""

    status: int = 0

    def __init__(self, method: str, description: str, status: int | None = None) -> None:
        super().__init__(f"{method}: {description}")
        self.method = method
        self.description = description
        if status is not None:
            self.status = status


class TelegramNetworkError(TelegramError):
    """No answer: connection refused or reset, or a timeout. Worth retrying."""


class TelegramServerError(TelegramError):
    """Telegram answered 5xx. Worth retrying."""


class TelegramRetryAfter(TelegramError):
    """429 Too Many Requests: nothing more to this chat for `retry_after` seconds."""

    status = 429

    def __init__(self, method: str, description: str, retry_after: float) -> None:
        super().__init__(method, description)
        self.retry_after = retry_after


class TelegramBadRequest(TelegramError):
    """400: the request itself is wrong; sending it again will not help."""

    status = 400


class TelegramParseError(TelegramBadRequest):
    """400 "can't parse entities": the HTML markup was refused."""


class TelegramMigrateChat(TelegramBadRequest):
    """400: a group became a supergroup with a new id."""

    def __init__(self, method: str, description: str, new_chat_id: int) -> None:
        super().__init__(method, description)
        self.new_chat_id = new_chat_id


class TelegramUnauthorized(TelegramError):
    """401: the bot token is wrong or revoked."""

    status = 401


class TelegramForbidden(TelegramError):
    """403: the user blocked the bot, or the bot was removed from the group."""

    status = 403


class TelegramNotFound(TelegramError):
    """404: unknown method, or a token Telegram does not know."""

    status = 404


class TelegramConflict(TelegramError):
    """409: another getUpdates (another instance of this bot) is polling."""

    status = 409
