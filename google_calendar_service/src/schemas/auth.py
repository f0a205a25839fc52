"""Shapes of the OAuth routes."""

from __future__ import annotations

from pydantic import BaseModel


class AuthUrlOut(BaseModel):
    auth_url: str
    expires_in: int


class AuthStatusOut(BaseModel):
    """Whether a user's calendar is connected, for `/calendar` (never a token)."""

    connected: bool
    valid: bool
    account: str | None = None
    connected_at: str | None = None


class DisconnectOut(BaseModel):
    disconnected: bool
    revoked: bool
