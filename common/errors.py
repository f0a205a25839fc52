"""The base error every service's own errors derive from."""

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


class DependencyUnavailableError(AppError):
    status_code, error = 503, "service_unavailable"


class RetryLater(Exception):
    """Raised by a queue handler when a dependency is down: the entry is retried after
    `delay` seconds and the attempt does not count towards the delivery limit."""

    def __init__(self, delay: float = 1.0, reason: str = "") -> None:
        super().__init__(reason or f"retry in {delay}s")
        self.delay = delay
        self.reason = reason
