"""Shapes of the OAuth routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class AuthUrlOut(BaseModel):
    auth_url: str
    expires_in: int


class AuthStatusOut(BaseModel):
    """Whether a user's calendar is connected, for `/calendar` (never a token)."""

    connected: bool
    valid: bool
    account: str | None = None
    connected_at: datetime | None = None
    #: A consented account waits for the user's `/calendar confirm` (not a connection yet).
    pending: bool = False
    pending_account: str | None = None


class ConfirmOut(BaseModel):
    """`confirmed` false: nothing was pending, or the request expired."""

    confirmed: bool
    account: str | None = None


class DeclineOut(BaseModel):
    declined: bool
    account: str | None = None


class DisconnectOut(BaseModel):
    disconnected: bool
    revoked: bool
