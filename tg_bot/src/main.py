"""The tg_bot worker: receives Telegram updates into `queue:to_secretary` and delivers
`queue:to_telegram` to Telegram. Wiring only; the work lives in handlers/ and services/."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from common.infrastructure.http_client import client_session
from common.infrastructure.logging import get_logger
from common.infrastructure.pubsub import listen
from common.infrastructure.rest_client import RestClient
from common.infrastructure.settings import load_settings
from common.infrastructure.worker import WorkerRuntime, worker_runtime
from tg_bot.src.clients.errors import TelegramError
from tg_bot.src.clients.telegram import TelegramClient
from tg_bot.src.domain.albums import AlbumStore
from tg_bot.src.domain.poller_lease import PollerLease
from tg_bot.src.domain.rate_limiter import Clock, Limit, SendLimiter, SendLimits, Sleep
from tg_bot.src.domain.users import UserDirectory
from tg_bot.src.handlers import (
    briefings,
    calendar,
    forget,
    link,
    memory,
    model,
    reminders,
    reset,
    start,
    tasks,
    timezone,
    usage,
    voice,
)
from tg_bot.src.handlers import help as help_command
from tg_bot.src.handlers.base import BotIdentity, Services
from tg_bot.src.handlers.commands import CommandRegistry
from tg_bot.src.handlers.updates import UpdateRouter
from tg_bot.src.settings import Settings
from tg_bot.src.workers.albums import AlbumFlusher
from tg_bot.src.workers.bots import BotFleet, BotLine
from tg_bot.src.workers.drafts import DraftsWorker
from tg_bot.src.workers.receiver import ALLOWED_UPDATES, Route, UpdatePoller, UpdateQueue
from tg_bot.src.workers.response_handler import ResponseHandler
from tg_bot.src.workers.typing import TypingIndicator
from tg_bot.src.workers.webhook import WebhookReceiver, webhook_secret

log = get_logger(__name__)


def default_commands() -> CommandRegistry:
    """The commands of this issue; /calendar and /reminders register theirs here."""
    return CommandRegistry(
        [start.COMMAND, help_command.COMMAND, model.COMMAND, reset.COMMAND, timezone.COMMAND,
         forget.COMMAND, reminders.COMMAND, briefings.COMMAND, calendar.COMMAND, memory.COMMAND,
         tasks.COMMAND, usage.COMMAND, voice.COMMAND, link.COMMAND, link.UNLINK_COMMAND]
    )  # fmt: skip


@dataclass
class Bot:
    """Everything the worker runs, built from one context."""

    settings: Settings
    telegram: TelegramClient
    services: Services
    typing: TypingIndicator
    poller: UpdatePoller
    webhook: WebhookReceiver
    lease: PollerLease
    sender: ResponseHandler
    #: Shows live answers; None with STREAM_ANSWERS off.
    drafts: DraftsWorker | None
    started: float
    albums: AlbumStore
    #: Every bot: the default one's line, and the bots rows' (decision 0048).
    fleet: BotFleet


async def main(
    stop: asyncio.Event, *, clock: Clock | None = None, sleep: Sleep | None = None
) -> None:
    """Run tg_bot until `stop`. `clock` and `sleep`: a test's own, for the send limits and
    the send retries' delays (by default Redis's clock and real waits)."""
    settings = load_settings(Settings)
    async with (
        worker_runtime("tg_bot", settings, stop) as ctx,
        _bot(ctx, settings, clock, sleep) as bot,
    ):
        ctx.health.add_check("telegram", lambda: _telegram_health(bot))
        if settings.telegram_webhook_url:
            ctx.health.add_post(settings.telegram_webhook_path, bot.webhook.handle)
        consumer = bot.sender.consumer(handle=bot.fleet.send, on_dead=bot.fleet.dead_lettered)
        sending = asyncio.create_task(consumer.run())
        showing = asyncio.create_task(bot.drafts.run()) if bot.drafts else None
        receiving = asyncio.create_task(_receive(bot, stop))
        running_bots = asyncio.create_task(bot.fleet.run(stop))
        flusher = AlbumFlusher(bot.albums, bot.fleet.typing_of, settings.album_wait_seconds)
        flushing = asyncio.create_task(flusher.run(stop))
        users = bot.services.users
        following = asyncio.create_task(
            listen(ctx.redis, ctx.names.user_updated, users.heard, users.forget_all, stop)
        )
        pairings = bot.services.pairings
        following_pairings = asyncio.create_task(
            listen(ctx.redis, ctx.names.pairings_updated, pairings.heard, pairings.forget_all, stop)
        )
        await stop.wait()
        await bot.webhook.close(settings.shutdown_grace_seconds)
        consumer.stop()
        if bot.drafts and showing:
            bot.drafts.stop()
            await _finish(showing, settings.shutdown_grace_seconds)
        await _finish(receiving, settings.shutdown_grace_seconds)
        await _finish(running_bots, settings.shutdown_grace_seconds * 2)
        await _finish(flushing, settings.shutdown_grace_seconds)
        await _finish(following, settings.shutdown_grace_seconds)
        await _finish(following_pairings, settings.shutdown_grace_seconds)
        await sending
        await consumer.drain(settings.shutdown_grace_seconds)
        await bot.fleet.close()
        await bot.typing.close()


@contextlib.asynccontextmanager
async def _bot(
    ctx: WorkerRuntime, settings: Settings, clock: Clock | None = None, sleep: Sleep | None = None
) -> AsyncIterator[Bot]:
    """`clock`, `sleep`: a test's, for the send limits and the send retries' delays."""
    telegram = TelegramClient(
        settings.telegram_api_base,
        settings.telegram_token,
        request_timeout=settings.telegram_request_timeout_seconds,
        retries=settings.send_retries,
        retry_backoff_s=settings.send_retry_backoff_seconds,
    )
    rest = RestClient(settings.rest_service_url, settings.own_service_token)
    rows = RestClient(settings.rest_service_url, settings.own_service_token, retries=0)
    async with telegram, rest, rows, client_session() as http:
        users = UserDirectory(rest, settings.user_cache_seconds)
        services = Services(
            settings, rest, users, ctx.redis, ctx.names, default_commands(), http, telegram
        )
        limits = _limits(settings)

        def line(bot_id: uuid.UUID | None, client: TelegramClient) -> BotLine:
            """What talks to Telegram as one bot; a row bot's drafts are read by the
            default bot's drafts worker, which hands them over."""
            typing = TypingIndicator(
                client, ctx.redis, ctx.names,
                interval_s=settings.typing_interval_seconds, delay_s=settings.typing_delay_seconds,
                max_s=settings.typing_max_seconds, bot_id=bot_id,
            )  # fmt: skip
            limiter = SendLimiter(
                ctx.redis, ctx.names, limits, clock=clock, sleep=sleep or asyncio.sleep,
                bot_id=bot_id,
            )  # fmt: skip
            sender = ResponseHandler(
                client, limiter, ctx.redis, ctx.names, users, typing, settings, sleep=sleep,
                bot_id=bot_id,
            )  # fmt: skip
            drafts = (
                DraftsWorker(client, limiter, ctx.redis, ctx.names, settings)
                if settings.stream_answers
                else None
            )
            return BotLine(bot_id, client, typing, limiter, sender, drafts)

        albums = AlbumStore(
            ctx.redis,
            ctx.names,
            wait_seconds=settings.album_wait_seconds,
            typing_ttl_seconds=settings.typing_max_seconds,
        )
        default = line(None, telegram)
        fleet = BotFleet(default, services, albums, line, settings, ctx.health, rows)
        if default.drafts is not None:  # the one reader of queue:drafts in this process
            default.drafts = DraftsWorker(
                telegram, default.limiter, ctx.redis, ctx.names, settings, others=fleet.drafts_of
            )
        queue = UpdateQueue(ctx.redis, ctx.names, default.typing, settings)
        poller = UpdatePoller(telegram, ctx.redis, ctx.names, queue, settings)
        yield Bot(
            settings=settings,
            telegram=telegram,
            services=services,
            typing=default.typing,
            poller=poller,
            webhook=WebhookReceiver(queue, poller.full_notice),
            lease=PollerLease(ctx.redis, ctx.names, settings.poller_lease_seconds),
            sender=default.sender,
            drafts=default.drafts,
            started=time.monotonic(),
            albums=albums,
            fleet=fleet,
        )


async def _finish(task: asyncio.Task[None], grace_s: float) -> None:
    """Wait for `task` to stop by itself (it watches the stop event); cancel it after that."""
    done, _ = await asyncio.wait({task}, timeout=grace_s)
    if not done:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    elif (exc := task.exception()) is not None:  # its type too: a KeyError's text is a number
        log.error("receiver_failed", error=f"{type(exc).__name__}: {exc}", exc_info=exc)


def _limits(settings: Settings) -> SendLimits:
    return SendLimits(
        overall=Limit.per_second(settings.send_limit_overall_per_second),
        chat=Limit.per_second(settings.send_limit_chat_per_second),
        group=Limit.per_minute(settings.send_limit_group_per_minute),
    )


async def _receive(bot: Bot, stop: asyncio.Event) -> None:
    """getMe, register the commands, then receive until stopped: by webhook when
    TELEGRAM_WEBHOOK_URL is set (every process), else by polling whenever this process
    holds the poller lease (another tg_bot process may be the one polling)."""
    me = await bot.poller.identify(stop)
    if me is None:
        return
    identity = BotIdentity(me.id, me.username or "")
    await _register_commands(bot)
    router = UpdateRouter(
        bot.services, bot.services.commands, identity, files=bot.telegram, albums=bot.albums
    )
    if bot.settings.telegram_webhook_url:
        await _receive_by_webhook(bot, me.id, router.route, stop)
        return
    # getUpdates is refused (409) while a webhook is set: switching back removes it, and
    # keeps what Telegram holds for the poller
    if not await bot.poller.until_done(bot.telegram.delete_webhook, "delete_webhook", stop):
        return
    await bot.lease.run_while_held(lambda until: bot.poller.run(router.route, until), stop)


async def _receive_by_webhook(bot: Bot, bot_id: int, route: Route, stop: asyncio.Event) -> None:
    settings = bot.settings
    secret = await webhook_secret(
        bot.services.redis, bot.services.names, bot_id, settings.telegram_webhook_secret, stop
    )
    if secret is None:
        return
    bot.webhook.open(bot_id, secret, route)
    url = settings.telegram_webhook_url
    done = await bot.poller.until_done(
        lambda: bot.telegram.set_webhook(url, secret, ALLOWED_UPDATES), "set_webhook", stop
    )
    if done:
        log.info("telegram_webhook_set", path=settings.telegram_webhook_path)


async def _register_commands(bot: Bot) -> None:
    for language, commands in bot.services.commands.menus().items():
        try:
            await bot.telegram.set_my_commands(commands, language)
        except TelegramError as exc:
            log.warning("set_my_commands_failed", language=language, error=str(exc))


async def _telegram_health(bot: Bot) -> dict[str, object]:
    """Degraded when Telegram has not answered the poller for too long (a bad token, no
    network), or when updates it handed out have waited unqueued as long (Redis or
    rest_service down, a bug). A process that only sends does not poll: nothing to judge.
    In webhook mode: degraded when updates Telegram posts have failed to queue that long."""
    if bot.settings.telegram_webhook_url:
        return _webhook_health(bot)
    held_since = bot.lease.held_since
    if held_since is None:
        return {"role": "sender"}
    last = bot.poller.last_contact
    since = time.monotonic() - max(last if last is not None else bot.started, held_since)
    if since > bot.settings.telegram_unhealthy_after_seconds:
        raise RuntimeError(f"no answer from Telegram for {since:.0f}s")
    stalled = bot.poller.stalled_for()
    if stalled is not None and stalled[0] > bot.settings.telegram_unhealthy_after_seconds:
        # Telegram answers, but what it hands out is not getting queued: nobody is heard.
        raise RuntimeError(f"updates pending, not queued for {stalled[0]:.0f}s: {stalled[1]}")
    return {"role": "poller", "last_contact_s": None if last is None else round(since, 1)}


def _webhook_health(bot: Bot) -> dict[str, object]:
    failing = bot.webhook.failing_since
    if failing is not None:
        since = time.monotonic() - failing
        if since > bot.settings.telegram_unhealthy_after_seconds:
            raise RuntimeError(f"webhook updates not queued for {since:.0f}s: "
                               f"{bot.webhook.last_error}")  # fmt: skip
    return {"role": "webhook"}
