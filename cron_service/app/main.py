"""The cron_service worker (filled in by the cron issue)."""

from __future__ import annotations

import asyncio

from common.settings import load_settings
from common.worker import worker_context
from cron_service.app.config import Settings


async def main(stop: asyncio.Event) -> None:
    async with worker_context("cron_service", load_settings(Settings), stop):
        await stop.wait()
