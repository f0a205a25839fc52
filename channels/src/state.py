"""What the lifespan opens (main.py) and the routes work with."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from redis.asyncio import Redis

from channels.src.adapters.registry import AdapterRegistry
from channels.src.settings import Settings
from common.infrastructure.queue import StreamConsumer
from common.infrastructure.queue_messages import OutgoingMessage
from common.infrastructure.redis_keys import Names
from common.infrastructure.web import StateSlot


@dataclass
class ChannelsState:
    settings: Settings
    redis: Redis
    names: Names
    registry: AdapterRegistry
    #: The `queue:to_channels` consumer and the task running it.
    sender: StreamConsumer[OutgoingMessage]
    sending: asyncio.Task[None]


STATE = StateSlot(ChannelsState, "channels_state")
