"""Which of a user's connected Google accounts a call means: pure choices over the loaded
accounts, so the rules (an exact address wins, a part of one must name a single account, a
calendar id that is an address names its account) are tested without any server."""

from __future__ import annotations

from common.infrastructure.errors import FieldError, ValidationFailedError
from google_calendar_service.src.domain.credentials import StoredCredentials


def default_of(accounts: list[StoredCredentials]) -> StoredCredentials:
    """The default account (the first when none is marked, as a single old row may be)."""
    return next((a for a in accounts if a.is_default), accounts[0])


def pick(accounts: list[StoredCredentials], name: str) -> StoredCredentials:
    """The account `name` means: its address (any case), else the one address containing
    it ("work" for me@work.example); 422 naming the connected ones otherwise."""
    wanted = name.strip().casefold()
    exact = [a for a in accounts if a.name.casefold() == wanted]
    found = exact or [a for a in accounts if wanted and wanted in a.name.casefold()]
    if len(found) == 1:
        return found[0]
    known = ", ".join(a.name or "?" for a in accounts) or "none"
    why = "names more than one account" if found else "not a connected account"
    raise ValidationFailedError(
        f"no single connected Google account matches {name.strip()[:80]!r} (connected: {known})",
        [FieldError("account", why)],
    )


def owner_by_address(
    accounts: list[StoredCredentials], calendar_id: str
) -> StoredCredentials | None:
    """A primary calendar's id is its account's address."""
    wanted = calendar_id.casefold()
    return next((a for a in accounts if a.name and a.name.casefold() == wanted), None)
