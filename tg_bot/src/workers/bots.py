"""Every Telegram bot of the deployment (decision 0048): the default one (`TELEGRAM_TOKEN`)
and each active bots row of rest_service.

A bot's `BotLine` is what talks to Telegram as that bot: its client (its token), its send
limits (Telegram's are per bot), its "typing…", its sender and its drafts. `queue:to_telegram`
and `queue:drafts` have one reader per process; each answer or draft goes to the line its
`bot_id` names (None: the default bot). A row's bot also gets a receiver: getUpdates with its
own offset (kept per Telegram bot id), its own poller lease (one process polls each bot), and
its greeting and allowed users on the router's `Services`.

The rows are read at start, on `bots:updated`, and every `BOTS_REFRESH_SECONDS` (a lost
notice leaves a bot stale that long at most). A new or re-tokened bot is started, a removed
or deactivated one stopped, a greeting or allow-list change applies at once. Row bots always
long-poll, also while the default bot takes webhooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import redis.asyncio as aioredis

from common.infrastructure.errors import AppError, RetryLater
from common.infrastructure.http import HealthServer
from common.infrastructure.logging import get_logger
from common.infrastructure.pubsub import listen
from common.infrastructure.queue import DeadLetter
from common.infrastructure.queue_messages import OutgoingMessage
from common.infrastructure.redis_keys import Names
from common.infrastructure.rest_client import RestClient
from common.infrastructure.wire import Bot, BotChannel
from tg_bot.src.clients.errors import TelegramError
from tg_bot.src.clients.telegram import TelegramClient
from tg_bot.src.domain.albums import AlbumStore
from tg_bot.src.domain.poller_lease import PollerLease
from tg_bot.src.domain.rate_limiter import SendLimiter
from tg_bot.src.handlers.base import BotIdentity, BotProfile, Services
from tg_bot.src.handlers.updates import UpdateRouter
from tg_bot.src.settings import Settings
from tg_bot.src.workers.drafts import DraftsWorker
from tg_bot.src.workers.receiver import ALLOWED_UPDATES, Route, UpdatePoller, UpdateQueue
from tg_bot.src.workers.response_handler import ResponseHandler
from tg_bot.src.workers.typing import TypingIndicator
from tg_bot.src.workers.webhook import WebhookReceiver, webhook_secret

log = get_logger(__name__)


@dataclass
class BotLine:
    """What talks to Telegram as one bot."""

    bot_id: uuid.UUID | None
    telegram: TelegramClient
    typing: TypingIndicator
    limiter: SendLimiter
    sender: ResponseHandler
    drafts: DraftsWorker | None


#: Builds a row bot's line on its own (open) client.
MakeLine = Callable[[uuid.UUID, TelegramClient], BotLine]


def profile(bot: Bot) -> BotProfile:
    return BotProfile(bot.id, bot.greeting or None, frozenset(bot.allowed_user_ids))


@dataclass
class _Running:
    """A row bot this process runs: its line, and its receiver until `stop`."""

    bot: Bot
    token: str
    line: BotLine
    services: Services
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class BotFleet:
    def __init__(
        self,
        default: BotLine,
        services: Services,
        albums: AlbumStore,
        make_line: MakeLine,
        settings: Settings,
        http: HealthServer,
        rest: RestClient,
    ) -> None:
        """`http`: the process's HTTP server, which takes the row bots' webhooks. `rest`: a
        client of its own without quick retries: the fleet tries again on its own pace, and
        does not spin (nor draw random jitter) while rest_service is down."""
        self._http = http
        self._rest = rest
        self.default = default
        self._services = services
        self._albums = albums
        self._make_line = make_line
        self._settings = settings
        self._running: dict[uuid.UUID, _Running] = {}
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        #: Shutting down: no bot is started any more (`run` ended).
        self._closing = False

    @property
    def _redis(self) -> aioredis.Redis:
        return self._services.redis

    @property
    def _names(self) -> Names:
        return self._services.names

    def known(self, bot_id: uuid.UUID | None) -> BotLine | None:
        """The line of a bot running here (None: the default bot's)."""
        if bot_id is None:
            return self.default
        run = self._running.get(bot_id)
        return run.line if run else None

    def drafts_of(self, bot_id: uuid.UUID) -> DraftsWorker | None:
        line = self.known(bot_id)
        return line.drafts if line else None

    def typing_of(self, bot_id: uuid.UUID | None) -> TypingIndicator | None:
        line = self.known(bot_id)
        return line.typing if line else None

    async def line(self, bot_id: uuid.UUID | None) -> BotLine | None:
        """The bot's line; a bot not running here yet (an answer came before the rows were
        read) is looked up first. None: no such active bot."""
        found = self.known(bot_id)
        if found is None and not self._closing:
            await self.sync()
            found = self.known(bot_id)
        return found

    # -- sending ---------------------------------------------------------------------------

    async def send(self, message: OutgoingMessage) -> None:
        """The `queue:to_telegram` handler: the answer goes out as the bot it names."""
        try:
            line = await self.line(message.bot_id)
        except AppError as exc:  # rest_service unreachable: the answer waits
            raise RetryLater(self._settings.send_outage_retry_seconds, str(exc)) from None
        if line is None and self._closing:  # another process, or the next start, sends it
            raise RetryLater(self._settings.send_outage_retry_seconds, "shutting down")
        if line is None:
            log.warning("answer_for_unknown_bot_dropped", bot_id=str(message.bot_id))
            return
        await line.sender.handle(message)

    async def dead_lettered(self, dead: DeadLetter[OutgoingMessage]) -> None:
        message = dead.message
        line = self.known(message.bot_id if message else None)
        if line is not None:
            await line.sender.dead_lettered(dead)

    # -- the rows --------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Keep the running bots as the rows say until `stop`; then stop their receivers
        (their lines send on until `close`)."""
        listening = asyncio.create_task(
            listen(self._redis, self._names.bots_updated, self._heard, self._wake.set, stop)
        )
        try:
            while not stop.is_set():
                wait_s = self._settings.bots_refresh_seconds
                try:
                    await self.sync()
                except AppError as exc:
                    log.warning("bots_sync_failed", error=str(exc)[:300])
                    wait_s = min(wait_s, self._settings.poll_backoff_max_seconds)
                await _wait_either(self._wake, stop, wait_s)
                self._wake.clear()
        finally:
            self._closing = True
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listening
            async with self._lock:
                await asyncio.gather(*(self._receiver_stopped(r) for r in self._running.values()))

    async def close(self) -> None:
        """Close the row bots' lines, once the answers being sent are done."""
        async with self._lock:
            running, self._running = list(self._running.values()), {}
            await asyncio.gather(*(self._closed(run) for run in running))

    def _heard(self, _data: str) -> None:
        self._wake.set()

    async def sync(self) -> None:
        """Start, restart and stop the row bots as the active rows now say."""
        async with self._lock:
            rows = await self._rest.list_bots(active=True)
            wanted = {b.id: b for b in rows if b.channel == BotChannel.telegram}
            for bot_id in [b for b in self._running if b not in wanted]:
                await self._stop(bot_id)
            for bot in wanted.values():
                await self._keep(bot)

    async def _keep(self, bot: Bot) -> None:
        run = self._running.get(bot.id)
        if run is not None and run.bot.updated_at == bot.updated_at:
            return
        token = await self._rest.get_bot_token(bot.id)
        if run is not None and run.token == token:  # the same bot: its receiver goes on
            run.bot = bot
            run.services.bot = profile(bot)  # the router reads it per update
            log.info("bot_changed", bot_id=str(bot.id), name=bot.name)
            return
        if run is not None:
            await self._stop(bot.id)
        await self._start(bot, token)

    async def _start(self, bot: Bot, token: str) -> None:
        settings = self._settings
        telegram = TelegramClient(
            settings.telegram_api_base, token,
            request_timeout=settings.telegram_request_timeout_seconds,
            retries=settings.send_retries, retry_backoff_s=settings.send_retry_backoff_seconds,
        )  # fmt: skip
        await telegram.__aenter__()
        line = self._make_line(bot.id, telegram)
        services = replace(self._services, telegram=telegram, bot=profile(bot))
        run = _Running(bot, token, line, services)
        run.task = asyncio.create_task(self._receive(run))
        self._running[bot.id] = run
        log.info("bot_started", bot_id=str(bot.id), name=bot.name)

    async def _stop(self, bot_id: uuid.UUID) -> None:
        run = self._running.pop(bot_id)
        await self._receiver_stopped(run)
        await self._closed(run)

    async def _receiver_stopped(self, run: _Running) -> None:
        run.stop.set()
        if run.task is not None:
            done, _ = await asyncio.wait({run.task}, timeout=self._settings.shutdown_grace_seconds)
            if not done:
                run.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await run.task

    async def _closed(self, run: _Running) -> None:
        await run.line.typing.close(self._settings.shutdown_grace_seconds)
        await run.line.telegram.__aexit__(None, None, None)
        log.info("bot_stopped", bot_id=str(run.bot.id), name=run.bot.name)

    async def _receive(self, run: _Running) -> None:
        """getMe, the command menus, then poll whenever this process holds the bot's lease."""
        settings, telegram = self._settings, run.line.telegram
        queue = UpdateQueue(self._redis, self._names, run.line.typing, settings)
        poller = UpdatePoller(telegram, self._redis, self._names, queue, settings)
        me = await poller.identify(run.stop)
        if me is None:
            return
        if me.username and me.username != run.bot.telegram_username:
            await self._learn_username(run.bot, me.username)
        for language, commands in self._services.commands.menus().items():
            with contextlib.suppress(TelegramError):
                await telegram.set_my_commands(commands, language)
        router = UpdateRouter(
            run.services, run.services.commands, BotIdentity(me.id, me.username or ""),
            files=telegram, albums=self._albums,
        )  # fmt: skip
        if settings.telegram_webhook_url:
            receiver = WebhookReceiver(queue, poller.full_notice)
            await self._by_webhook(run, me.id, receiver, poller, router.route)
            return
        if not await poller.until_done(telegram.delete_webhook, "delete_webhook", run.stop):
            return
        lease = PollerLease(self._redis, self._names, settings.poller_lease_seconds, run.bot.id)
        await lease.run_while_held(lambda until: poller.run(router.route, until), run.stop)

    async def _learn_username(self, bot: Bot, username: str) -> None:
        """Recorded on the row for the admin (best effort: the bot runs on getMe's anyway)."""
        try:
            await self._rest.learn_bot_username(bot.id, username)
        except AppError as exc:
            log.warning("bot_username_not_recorded", bot_id=str(bot.id), error=str(exc)[:300])

    async def _by_webhook(
        self,
        run: _Running,
        telegram_id: int,
        receiver: WebhookReceiver,
        poller: UpdatePoller,
        route: Route,
    ) -> None:
        """Webhook mode: the row's bot takes its POSTs on `<TELEGRAM_WEBHOOK_PATH>/<row id>`
        (`<TELEGRAM_WEBHOOK_URL>/<row id>` for Telegram) until stopped, in every process."""
        settings = self._settings
        secret = await webhook_secret(
            self._redis, self._names, telegram_id, settings.telegram_webhook_secret, run.stop
        )
        if secret is None:
            return
        path = f"{settings.telegram_webhook_path}/{run.bot.id}"
        url = f"{settings.telegram_webhook_url}/{run.bot.id}"
        receiver.open(telegram_id, secret, route)
        self._http.add_post(path, receiver.handle)
        try:
            telegram = run.line.telegram
            if await poller.until_done(
                lambda: telegram.set_webhook(url, secret, ALLOWED_UPDATES), "set_webhook", run.stop
            ):
                log.info("telegram_webhook_set", path=path)
            await run.stop.wait()
        finally:
            self._http.remove_post(path)
            await receiver.close(settings.shutdown_grace_seconds)


async def _wait_either(wake: asyncio.Event, stop: asyncio.Event, timeout_s: float) -> None:
    waits = {asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())}
    try:
        await asyncio.wait(waits, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
