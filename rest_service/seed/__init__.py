"""The default configuration (a secretary with its tools and a writer sub-assistant, a
provider, two chat models, a transcription, a speech and a picture model from the settings).

`seed` never overwrites: into a database without assistants it imports the whole document;
on one that has them it adds only the rows missing by name and changes nothing that exists
(an admin's edits survive every deploy). `reset` is the full import through the config
import, which puts every default back; `differences` says first what it would change."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import select
from sqlmodel import col

from rest_service.app.domain.transfer import export_config, import_config
from rest_service.app.domain.unit_of_work import UnitOfWork, unit_of_work
from rest_service.app.models.llm import LLMProvider
from rest_service.app.models.snapshot import (
    AssistantDoc,
    ConfigDocument,
    ImportResult,
    LinkDoc,
    ModelDoc,
    ProviderDoc,
)
from rest_service.app.settings import Settings
from rest_service.app.state import AppState

DEFAULT_CONFIG = Path(__file__).with_name("default_config.json")
_PLACEHOLDER = re.compile(r"\$\{([A-Z_]+)\}")
#: A changed text longer than this is shown as a diff of its lines, not as old -> new.
_SHORT = 60
#: At most this many diff lines per changed field (the rest is counted).
_DIFF_LINES = 30

_Doc = TypeVar("_Doc", bound=BaseModel)
_T = TypeVar("_T")


@dataclass(frozen=True)
class SeedResult:
    result: ImportResult
    #: Empty database: the whole document was imported.
    full: bool
    #: What was added ("model gpt-4o", "link secretary -> weather"); everything when full.
    added: list[str]
    #: The provider OPENAI_API_KEY was put into (it had no key), if any.
    key_for: str | None = None


def load_document(settings: Settings, path: Path = DEFAULT_CONFIG) -> ConfigDocument:
    """The JSON with `${OPENAI_BASE_URL}`, `${OPENAI_API_KEY}`, `${DEFAULT_MODEL}`,
    `${FALLBACK_MODEL}`, `${TRANSCRIPTION_MODEL}`, `${SPEECH_MODEL}` and `${IMAGE_MODEL}` filled
    in from the settings."""
    values = {
        "OPENAI_BASE_URL": settings.openai_base_url,
        "OPENAI_API_KEY": settings.openai_api_key,
        "DEFAULT_MODEL": settings.default_model,
        "FALLBACK_MODEL": settings.fallback_model,
        "TRANSCRIPTION_MODEL": settings.transcription_model,
        "SPEECH_MODEL": settings.speech_model,
        "IMAGE_MODEL": settings.image_model,
    }
    raw = _fill(json.loads(path.read_text(encoding="utf-8")), values)
    _drop_empty_keys(raw)
    _drop_unnamed_models(raw)
    _merge_same_models(raw)
    return ConfigDocument.model_validate(raw)


async def seed(settings: Settings, path: Path = DEFAULT_CONFIG) -> SeedResult:
    """The safe seed: everything into a database without assistants, else only what is
    missing by name (and the key into a default provider that has none)."""
    return await _with_document(settings, path, _seed)


async def reset(settings: Settings, path: Path = DEFAULT_CONFIG) -> ImportResult:
    """Every default row back as the document has it (rows it does not name are left)."""
    return await _with_document(settings, path, import_config)


async def differences(settings: Settings, path: Path = DEFAULT_CONFIG) -> list[str]:
    """What `reset` would change, one line per row and field (`+` added, `~` changed); long
    texts as a diff of their lines."""
    return await _with_document(settings, path, _differences)


async def _with_document(
    settings: Settings, path: Path, work: Callable[[UnitOfWork, ConfigDocument], Awaitable[_T]]
) -> _T:
    """`work` on the document in one unit of work (actor `seed`) of its own state."""
    document = load_document(settings, path)
    state = AppState.create(settings)
    try:
        async with unit_of_work(state, "seed") as ctx:
            return await work(ctx, document)
    finally:
        await state.close()


# -- the safe seed -------------------------------------------------------------------------


async def _seed(ctx: UnitOfWork, document: ConfigDocument) -> SeedResult:
    current = await export_config(ctx)
    if not current.assistants:
        return SeedResult(await import_config(ctx, document), True, _names(document))
    missing, key_for = await _missing(ctx, document, current)
    result = await import_config(ctx, missing)
    added = _names(missing, skip_providers={key_for} if key_for else set())
    return SeedResult(result, False, added, key_for)


async def _missing(
    ctx: UnitOfWork, doc: ConfigDocument, current: ConfigDocument
) -> tuple[ConfigDocument, str | None]:
    """The part of `doc` whose rows do not exist by name. An added row takes no flag another
    row holds (secretary, default, fallback), and a link is added only with an assistant or
    tool added now: a link missing between existing rows is an admin's choice."""
    have_assistants = {a.name for a in current.assistants}
    have_tools = {t.name for t in current.tools}
    providers = [p for p in doc.providers if p.name not in {c.name for c in current.providers}]
    key_for = await _provider_needing_key(ctx, doc, current)
    if key_for is not None:
        providers.append(key_for)
    models = [
        _without_flags(m, current.models, ("is_default", "is_fallback"))
        for m in doc.models
        if m.provider_model_name not in {c.provider_model_name for c in current.models}
    ]
    assistants = [
        _without_flags(a, current.assistants, ("is_secretary",))
        for a in doc.assistants
        if a.name not in have_assistants
    ]
    tools = [t for t in doc.tools if t.name not in have_tools]
    new_assistants = {a.name for a in assistants}
    new_tools = {t.name for t in tools}
    links = [
        link for link in doc.links if link.assistant in new_assistants or link.tool in new_tools
    ]
    missing = ConfigDocument(
        providers=providers, models=models, assistants=assistants, tools=tools, links=links
    )
    return missing, key_for.name if key_for else None


async def _provider_needing_key(
    ctx: UnitOfWork, doc: ConfigDocument, current: ConfigDocument
) -> ProviderDoc | None:
    """The existing default provider as it is, with OPENAI_API_KEY, when it has no key."""
    for item in doc.providers:
        existing = next((p for p in current.providers if p.name == item.name), None)
        if existing is None or not item.api_key:
            continue
        row = await ctx.session.scalar(
            select(LLMProvider).where(col(LLMProvider.name) == item.name)
        )
        if row is not None and row.api_key_encrypted is None:
            return existing.model_copy(update={"api_key": item.api_key})
    return None


def _without_flags(item: _Doc, rows: Sequence[BaseModel], flags: Sequence[str]) -> _Doc:
    held = {flag: False for flag in flags if any(getattr(row, flag) for row in rows)}
    return item.model_copy(update=held) if held else item


def _names(doc: ConfigDocument, skip_providers: set[str] | None = None) -> list[str]:
    skip = skip_providers or set()
    return [
        *(f"provider {p.name}" for p in doc.providers if p.name not in skip),
        *(f"model {m.provider_model_name}" for m in doc.models),
        *(f"assistant {a.name}" for a in doc.assistants),
        *(f"tool {t.name}" for t in doc.tools),
        *(f"link {link.assistant} -> {link.tool}" for link in doc.links),
    ]


# -- the differences a reset makes ---------------------------------------------------------


async def _differences(ctx: UnitOfWork, doc: ConfigDocument) -> list[str]:
    current = await export_config(ctx)
    lines: list[str] = []
    lines += _section("provider", current.providers, doc.providers, lambda p: p.name)
    lines += await _key_differences(ctx, doc)
    lines += _section("model", current.models, doc.models, lambda m: m.provider_model_name)
    lines += _flags_taken("model", current.models, doc.models, ("is_default", "is_fallback"))
    lines += _section("assistant", current.assistants, doc.assistants, lambda a: a.name)
    lines += _flags_taken("assistant", current.assistants, doc.assistants, ("is_secretary",))
    lines += _section("tool", current.tools, doc.tools, lambda t: t.name)
    lines += _section("link", current.links, doc.links, _link_name)
    return lines


def _link_name(link: LinkDoc) -> str:
    return f"{link.assistant} -> {link.tool}"


def _section(
    kind: str, current: Sequence[_Doc], wanted: Sequence[_Doc], name: Callable[[_Doc], str]
) -> list[str]:
    by_name = {name(row): row for row in current}
    lines: list[str] = []
    for item in wanted:
        row = by_name.get(name(item))
        if row is None:
            lines.append(f"+ {kind} {name(item)}")
            continue
        new, old = item.model_dump(), row.model_dump()
        for field, value in new.items():
            if field == "capabilities" and value is None:
                continue  # left out: the import keeps what the model has
            if old.get(field) != value:
                lines += _changed(f"{kind} {name(item)}", field, old.get(field), value)
    return lines


async def _key_differences(ctx: UnitOfWork, doc: ConfigDocument) -> list[str]:
    lines = []
    for item in doc.providers:
        if not item.api_key:
            continue
        row = await ctx.session.scalar(
            select(LLMProvider).where(col(LLMProvider.name) == item.name)
        )
        if row is None:
            continue
        stored = ctx.box.decrypt(row.api_key_encrypted) if row.api_key_encrypted else None
        if stored != item.api_key:
            lines.append(f"~ provider {item.name}: api_key replaced by OPENAI_API_KEY")
    return lines


def _flags_taken(
    kind: str,
    current: Sequence[ModelDoc] | Sequence[AssistantDoc],
    wanted: Sequence[ModelDoc] | Sequence[AssistantDoc],
    flags: Sequence[str],
) -> list[str]:
    """The import gives a flag to its row and takes it from the row that held it."""
    lines = []
    for flag in flags:
        holder = next((_doc_name(w) for w in wanted if getattr(w, flag)), None)
        if holder is None:
            continue
        for row in current:
            if getattr(row, flag) and _doc_name(row) != holder:
                lines.append(f"~ {kind} {_doc_name(row)}: {flag}: True -> False")
    return lines


def _doc_name(row: ModelDoc | AssistantDoc) -> str:
    return row.provider_model_name if isinstance(row, ModelDoc) else row.name


def _changed(what: str, field: str, old: Any, new: Any) -> list[str]:
    old_text, new_text = _display_value(old), _display_value(new)
    if "\n" not in old_text + new_text and len(old_text) + len(new_text) <= 2 * _SHORT:
        return [f"~ {what}: {field}: {old_text} -> {new_text}"]
    diff = list(
        difflib.unified_diff(
            old_text.splitlines(), new_text.splitlines(), "now", "default", n=0, lineterm=""
        )
    )[2:]
    shown = [f"    {line[:200]}" for line in diff[:_DIFF_LINES]]
    if len(diff) > _DIFF_LINES:
        shown.append(f"    ... {len(diff) - _DIFF_LINES} more lines")
    return [f"~ {what}: {field} differs:", *shown]


def _display_value(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    return str(value)


# -- the document --------------------------------------------------------------------------


def _fill(node: Any, values: dict[str, str]) -> Any:
    if isinstance(node, str):
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), node)
    if isinstance(node, list):
        return [_fill(item, values) for item in node]
    if isinstance(node, dict):
        return {key: _fill(item, values) for key, item in node.items()}
    return node


def _drop_empty_keys(raw: dict[str, Any]) -> None:
    """No OPENAI_API_KEY: keep whatever key the provider has (a local endpoint needs none)."""
    for provider in raw.get("providers", []):
        if not provider.get("api_key"):
            provider.pop("api_key", None)


def _drop_unnamed_models(raw: dict[str, Any]) -> None:
    """An empty TRANSCRIPTION_MODEL, SPEECH_MODEL or IMAGE_MODEL: that model is not seeded (an
    endpoint without audio or pictures)."""
    raw["models"] = [m for m in raw.get("models", []) if m["provider_model_name"].strip()]


def _merge_same_models(raw: dict[str, Any]) -> None:
    """Two settings naming one model (DEFAULT_MODEL equal to FALLBACK_MODEL): one model that
    does both."""
    merged: dict[str, dict[str, Any]] = {}
    for model in raw.get("models", []):
        seen = merged.get(model["provider_model_name"])
        if seen is None:
            merged[model["provider_model_name"]] = model
            continue
        seen["is_default"] = seen.get("is_default", False) or model.get("is_default", False)
        seen["is_fallback"] = seen.get("is_fallback", False) or model.get("is_fallback", False)
        if "capabilities" in seen or "capabilities" in model:
            both = seen.get("capabilities", ["chat"]) + model.get("capabilities", ["chat"])
            seen["capabilities"] = list(dict.fromkeys(both))
    raw["models"] = list(merged.values())
