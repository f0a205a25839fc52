"""The service's own errors. The shared handlers (common/infrastructure/web.py) render every
AppError as JSON."""

from __future__ import annotations

from common.infrastructure.errors import AppError, BadRequestError, DependencyUnavailableError


class CalendarAccessError(AppError):
    """The user must (re)connect their calendar; the body carries the link to do it and, for a
    reconnect, which Google accounts need it."""

    status_code = 409

    def __init__(self, detail: str, auth_url: str, accounts: list[str] | None = None) -> None:
        super().__init__(detail)
        self.auth_url = auth_url
        self.accounts = accounts or []

    def to_dict(self) -> dict[str, object]:
        extra = {"accounts": self.accounts} if self.accounts else {}
        return {**super().to_dict(), "auth_url": self.auth_url, **extra}


class CalendarNotConnectedError(CalendarAccessError):
    error = "calendar_not_connected"


class CalendarReconnectRequiredError(CalendarAccessError):
    error = "calendar_reconnect_required"


class GoogleAccessNotGrantedError(CalendarAccessError):
    """The connection works, but its grant lacks an access (mail, tasks) a call needs."""

    error = "google_access_not_granted"


class GoogleRejectedError(BadRequestError):
    """Google answered 400: retrying the same request cannot help."""

    error = "google_rejected"


class GoogleUnavailableError(DependencyUnavailableError):
    """Google kept failing or rate limiting after the retries."""

    error = "google_unavailable"


class OAuthCallbackError(AppError):
    """A callback that must not connect anything; rendered as a 400 page, not JSON."""

    status_code, error = 400, "oauth_callback_rejected"


class AuthorizationDeniedError(OAuthCallbackError):
    error = "oauth_denied"


# Raised below the service layer and turned into the errors above there.


class InvalidGrantError(Exception):
    """Google no longer accepts the refresh token (revoked, expired): reconnect needed."""


class GoogleAuthRejectedError(Exception):
    """Google kept answering 401/403 for these credentials after a refresh."""


class DuplicateEventError(Exception):
    """events.insert answered 409: an event with this id exists already."""


class EventGoneError(Exception):
    """Google answered 410: the event was deleted already."""


class GoogleScopeMissingError(AppError):
    """Google answered 403 insufficientPermissions: the token lacks the scope the call needs
    (the user took mail back at Google); the caller asks for it again."""

    status_code = 409
    error = "google_scope_missing"


class MailSendUnsettledError(AppError):
    """A send with this idempotency key began and its outcome is unknown (it is under way,
    or its process died): sending again could send twice, so it is not done."""

    status_code = 409
    error = "mail_send_unsettled"
