"""What `GET /api/stats` answers: usage, tool health, model cost and speed, reminders."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel


class DayCount(BaseModel):
    day: date
    messages: int


class ActiveUsers(BaseModel):
    """Distinct people (or group chats) who wrote at least one message."""

    last_day: int
    last_week: int
    period: int
    users_total: int


class ToolStats(BaseModel):
    tool_name: str
    calls: int
    failures: int
    failure_rate: float
    avg_duration_ms: float | None


class ModelStats(BaseModel):
    model: str
    answers: int
    tokens_in: int
    tokens_out: int
    avg_latency_ms: float | None
    p95_latency_ms: float | None


class ReminderStats(BaseModel):
    """Fires by outcome (an urgent reminder's repeats apart), and urgent reminders: repeats
    sent, fires acknowledged with Done, and the repeats those needed in all."""

    on_time: int = 0
    late: int = 0
    missed: int = 0
    failed: int = 0
    urgent_repeats: int = 0
    urgent_acknowledged: int = 0
    urgent_repeats_needed: int = 0


class Stats(BaseModel):
    since: datetime
    days: int
    messages_per_day: list[DayCount]
    active_users: ActiveUsers
    tool_calls: list[ToolStats]
    models: list[ModelStats]
    reminders: ReminderStats
