"""The tg_bot worker (filled in by the tg_bot issue)."""

from __future__ import annotations

import asyncio

from common.settings import load_settings
from common.worker import worker_context
from tg_bot.src.config.settings import Settings


async def main(stop: asyncio.Event) -> None:
    async with worker_context("tg_bot", load_settings(Settings), stop):
        await stop.wait()
