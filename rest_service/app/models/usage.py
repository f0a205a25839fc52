"""What `GET /api/users/{user_id}/usage` answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class UserUsage(BaseModel):
    since: datetime
    messages: int
    tokens_in: int
    tokens_out: int
    tool_calls: int
    #: Pictures drawn (`draw` calls that made one; each also counts in `tool_calls`).
    images: int
