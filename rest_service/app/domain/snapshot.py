"""The live config snapshot, built from Postgres: what the assistant runs on."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from common.infrastructure.wire import (
    ConfigSnapshot,
    LLMModel,
    SnapshotAssistant,
    SnapshotBot,
    SnapshotExperiment,
    SnapshotTool,
    SnapshotVariant,
)
from rest_service.app.domain.model_views import public_models
from rest_service.app.domain.version import current_version
from rest_service.app.models.assistant import Assistant, AssistantToolLink, Tool
from rest_service.app.models.bot import Bot
from rest_service.app.models.experiment import Experiment, ExperimentStatus, ExperimentVariant

EMPTY_SCHEMA: dict[str, object] = {"type": "object", "properties": {}}


async def build_snapshot(session: AsyncSession) -> ConfigSnapshot:
    """Version first: data read after it is at least that new, so a label never lies."""
    version = await current_version(session)
    assistants = (
        await session.scalars(
            select(Assistant).where(col(Assistant.is_active)).order_by(col(Assistant.name))
        )
    ).all()
    tools_by_assistant = await _active_tools(session)
    entries = [
        SnapshotAssistant.model_validate(
            {**assistant.model_dump(), "tools": tools_by_assistant.get(assistant.id, [])}
        )
        for assistant in assistants
    ]
    secretary = next((a for a in entries if a.is_secretary), None)
    models = await public_models(session, active_only=True)
    return ConfigSnapshot(
        version=version,
        secretary=secretary,
        assistants=tuple(entries),
        models=tuple(LLMModel.model_validate(model) for model in models),
        bots=await _active_bots(session),
        experiments=await running_experiments(session),
    )


async def running_experiments(session: AsyncSession) -> tuple[SnapshotExperiment, ...]:
    """For the live config snapshot: each running experiment with its arms in order."""
    rows = (
        await session.execute(
            select(Experiment, ExperimentVariant)
            .join(ExperimentVariant, col(ExperimentVariant.experiment_id) == col(Experiment.id))
            .where(col(Experiment.status) == ExperimentStatus.running)
            .order_by(col(Experiment.id), col(ExperimentVariant.position))
        )
    ).all()
    arms: dict[uuid.UUID, list[SnapshotVariant]] = {}
    owners: dict[uuid.UUID, uuid.UUID] = {}
    for experiment, variant in rows:
        owners[experiment.id] = experiment.assistant_id
        arms.setdefault(experiment.id, []).append(SnapshotVariant.model_validate(variant))
    return tuple(
        SnapshotExperiment(id=key, assistant_id=owners[key], variants=tuple(variants))
        for key, variants in arms.items()
    )


async def _active_bots(session: AsyncSession) -> tuple[SnapshotBot, ...]:
    rows = await session.scalars(select(Bot).where(col(Bot.is_active)).order_by(col(Bot.name)))
    return tuple(SnapshotBot.model_validate(bot) for bot in rows.all())


async def _active_tools(session: AsyncSession) -> dict[uuid.UUID, list[SnapshotTool]]:
    rows = (
        await session.execute(
            select(AssistantToolLink, Tool)
            .join(Tool, col(Tool.id) == col(AssistantToolLink.tool_id))
            .where(col(AssistantToolLink.is_active), col(Tool.is_active))
            .order_by(col(Tool.name))
        )
    ).all()
    by_assistant: dict[uuid.UUID, list[SnapshotTool]] = {}
    for link, tool in rows:
        by_assistant.setdefault(link.assistant_id, []).append(
            SnapshotTool(
                id=tool.id,
                name=tool.name,
                tool_type=tool.tool_type,
                description=tool.description,
                input_schema=parse_schema(tool.input_schema),
                sub_assistant_id=link.sub_assistant_id or tool.assistant_id,
                config=tool.config,
            )
        )
    return by_assistant


def parse_schema(text: str) -> dict[str, object]:
    """Stored schemas were checked on write; a hand-edited broken one reads as empty."""
    try:
        value = json.loads(text)
    except ValueError:
        return dict(EMPTY_SCHEMA)
    return value if isinstance(value, dict) else dict(EMPTY_SCHEMA)
