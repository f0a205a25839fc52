"""/usage: the sender's own figures. This month (the calendar month in the user's time zone):
messages, AI tokens and tool calls, counted by rest_service in one request. Today (UTC): LLM
tokens against the daily budget, messages sent, active reminders. In a group it points to the
private chat: one member's usage is not the group's business."""

from __future__ import annotations

from common.features.limits import seconds_until_reset
from common.features.timezones import zone_or_default
from common.infrastructure.clock import utcnow
from common.infrastructure.wire import CronJobStatus, User, UserUsage
from tg_bot.src.handlers.base import Addressed, Services
from tg_bot.src.handlers.commands import Command
from tg_bot.src.i18n import Markdown

#: rest_service's largest page; far above MAX_ACTIVE_REMINDERS' default.
_PAGE = 1000


async def show_usage(turn: Addressed, _args: str, services: Services) -> str:
    if turn.is_group:
        return turn.t("usage.private_only")
    if turn.user is None:
        return turn.t("error.generic")
    month = await _this_month(turn.user, services)
    user_id = str(turn.user.id)
    budget = services.token_budget
    tokens = await budget.used_today(user_id)
    messages = await services.message_limit.messages_today(turn.sender.id)
    jobs = await services.rest.list_cron_jobs(
        user_id=user_id, status=CronJobStatus.active, limit=_PAGE
    )
    hours, rest = divmod(seconds_until_reset(), 3600)
    allowance = (
        turn.t("usage.budget", budget=_grouped(budget.daily), left=_grouped(budget.daily - tokens))
        if budget.daily > 0
        else turn.t("usage.no_budget")
    )
    return turn.t(
        "usage.text",
        month_since=f"{month.since:%Y-%m-%d}",
        zone=str(month.since.tzinfo),
        month_messages=_grouped(month.messages),
        month_tokens=_grouped(month.tokens_in + month.tokens_out),
        month_tools=_grouped(month.tool_calls),
        month_images=_grouped(month.images),
        tokens=_grouped(tokens),
        allowance=Markdown(allowance),
        messages=messages,
        reminders=len(jobs),
        hours=hours,
        minutes=rest // 60,
    )


async def _this_month(user: User, services: Services) -> UserUsage:
    """Since midnight of the 1st in the user's zone (the service's default zone without one)."""
    zone = zone_or_default(user.timezone, services.settings.default_timezone)
    start = utcnow().astimezone(zone).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    usage = await services.rest.user_usage(user.id, start)
    return usage.model_copy(update={"since": start})


def _grouped(number: int) -> str:
    """12 345: digits grouped by a space, which reads right in English and Russian."""
    return f"{max(0, number):,}".replace(",", " ")


COMMAND = Command("usage", show_usage)
