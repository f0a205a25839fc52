"""The assistant worker: consumes `queue:to_secretary` (filled in by the assistant issue)."""

from __future__ import annotations

import asyncio

from assistant.src.config import Settings
from common.settings import load_settings
from common.worker import worker_context


async def main(stop: asyncio.Event) -> None:
    async with worker_context("assistant", load_settings(Settings), stop):
        await stop.wait()
