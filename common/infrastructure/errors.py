"""The base error every service's own errors derive from, and the factories the domain
layers raise them with (no HTTP here: the web plumbing renders them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str


class AppError(Exception):
    """An error with an HTTP status and a machine-readable type.

    One handler per service renders it as `{"error", "detail", "fields"}`.
    """

    status_code: int = 500
    error: str = "internal_error"

    def __init__(self, detail: str, fields: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields or []

    def to_dict(self) -> dict[str, object]:
        return {
            "error": self.error,
            "detail": self.detail,
            "fields": [{"field": f.field, "reason": f.reason} for f in self.fields],
        }


class BadRequestError(AppError):
    status_code, error = 400, "bad_request"


class UnauthorizedError(AppError):
    status_code, error = 401, "unauthorized"


class ForbiddenError(AppError):
    status_code, error = 403, "forbidden"


class NotFoundError(AppError):
    status_code, error = 404, "not_found"


class ConflictError(AppError):
    status_code, error = 409, "conflict"


class ValidationFailedError(AppError):
    status_code, error = 422, "validation_error"


class TooManyRequestsError(AppError):
    """Over a limit: answered 429 with `Retry-After` (whole seconds until a request passes)."""

    status_code, error = 429, "rate_limited"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)


class DependencyUnavailableError(AppError):
    status_code, error = 503, "service_unavailable"


class SecretUnreadableError(AppError):
    """A stored secret does not decrypt under the master key (was the key changed?)."""

    status_code, error = 500, "secret_unreadable"


def not_found(kind: str, key: object) -> NotFoundError:
    return NotFoundError(f"{kind} {key} not found")


def invalid(field: str, reason: str) -> ValidationFailedError:
    return ValidationFailedError(f"{field}: {reason}", [FieldError(field, reason)])


def conflict(detail: str, fields: list[FieldError] | None = None) -> ConflictError:
    return ConflictError(detail, fields)


class RetryLater(Exception):
    """Raised by a queue handler when a dependency is down: the entry is retried after
    `delay` seconds and the attempt does not count towards the delivery limit."""

    def __init__(self, delay: float = 1.0, reason: str = "") -> None:
        super().__init__(reason or f"retry in {delay}s")
        self.delay = delay
        self.reason = reason


class Undeliverable(Exception):
    """Raised by a queue handler for a message it can never handle (an answer for a channel
    this deployment has off): the entry goes to the dead-letter stream at once, with this
    reason, instead of being tried again."""


ERRORS_BY_STATUS: dict[int, type[AppError]] = {
    cls.status_code: cls
    for cls in (
        BadRequestError,
        UnauthorizedError,
        ForbiddenError,
        NotFoundError,
        ConflictError,
        ValidationFailedError,
        DependencyUnavailableError,
    )
}


def error_from_body(status: int, body: object, fallback: str) -> AppError:
    """Our error body (`{"error", "detail", "fields"}`) as its type again, on the calling side;
    `fallback` is the detail when the body has none."""
    found = body if isinstance(body, dict) else {}
    fields = [
        FieldError(str(f.get("field")), str(f.get("reason")))
        for f in found.get("fields") or []
        if isinstance(f, dict)
    ]
    detail = str(found.get("detail") or fallback)
    cls = ERRORS_BY_STATUS.get(status)
    if cls is not None:
        return cls(detail, fields)
    error = AppError(detail, fields)
    error.status_code = status
    return error
