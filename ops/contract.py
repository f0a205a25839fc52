"""The generated parts of docs/contract.md, read from the code that is the contract: the
services and ports, the streams and channels, the queue messages' fields, every Redis name,
the REST routes and every setting. The document's prose stays hand-written; each table sits
between `<!-- contract:NAME -->` and `<!-- /contract:NAME -->` and is rewritten here.

`python -m ops.contract --write` brings the document up to date; `--check` (and the suite's
tests/test_contract_doc.py) fails when the code and the document disagree."""

from __future__ import annotations

import argparse
import ast
import inspect
import re
import sys
import textwrap
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from ops.services import ROOT, SERVICES

DOCUMENT = ROOT / "docs" / "contract.md"
_BLOCK = re.compile(r"(<!-- contract:(\w+) -->\n)(.*?)(<!-- /contract:\2 -->)", re.S)


def field_comments(cls: type) -> dict[str, str]:
    """The `#:` comment lines above each annotated field of `cls` and its bases, joined."""
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__ in ("builtins", "pydantic.main") or klass.__module__.startswith(
            ("pydantic", "typing")
        ):
            continue
        try:
            lines, _ = inspect.getsourcelines(klass)
        except (OSError, TypeError):
            continue
        body = ast.parse(textwrap.dedent("".join(lines))).body[0]
        assert isinstance(body, ast.ClassDef)
        for node in body.body:
            if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
                continue
            if above := _comment_above(lines, node.lineno):
                found[node.target.id] = above
    return found


def _comment_above(lines: list[str], lineno: int) -> str:
    """The `#:` lines right above line `lineno` (1-based), joined."""
    above: list[str] = []
    row = lineno - 2
    while row >= 0 and lines[row].strip().startswith("#:"):
        above.insert(0, lines[row].strip().removeprefix("#:").strip())
        row -= 1
    return " ".join(above)


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: tuple[str, ...], rows: Iterable[tuple[object, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def services() -> str:
    return _table(
        ("service", "kind", "default port", "found by the others at"),
        ((f"`{s.name}`", s.kind.value, s.default_port, f"`{s.url_setting}`") for s in SERVICES),
    )


def streams() -> str:
    from common.infrastructure import redis_keys as names

    constants = [
        (name, value)
        for name, value in vars(names).items()
        if name.isupper() and isinstance(value, str)
    ]
    comments = _module_comments(names)
    return _table(
        ("name", "constant", "what it is"),
        ((f"`{value}`", f"`{name}`", comments.get(name, "")) for name, value in constants),
    )


def _module_comments(module: Any) -> dict[str, str]:
    """`#:` comments above a module's top-level assignments."""
    lines = inspect.getsource(module).splitlines()
    found: dict[str, str] = {}
    for node in ast.parse("\n".join(lines)).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            found[node.targets[0].id] = _comment_above(lines, node.lineno)
    return found


def messages() -> str:
    from common.infrastructure.queue_messages import (
        Attachment,
        Button,
        DraftMessage,
        IncomingMessage,
        OutgoingMessage,
        Usage,
        UserChanged,
    )

    parts = []
    models = (
        IncomingMessage,
        OutgoingMessage,
        DraftMessage,
        UserChanged,
        Attachment,
        Button,
        Usage,
    )
    for model in models:
        doc = " ".join((model.__doc__ or "").split("\n\n")[0].split())
        parts.append(f"**`{model.__name__}`**: {doc}\n\n{_fields(model)}")
    return "\n".join(parts)


def _fields(model: type[BaseModel]) -> str:
    comments = field_comments(model)
    rows = []
    for name, field in model.model_fields.items():
        default = "required" if field.is_required() else _default_of(field)
        rows.append((f"`{name}`", _type(field.annotation), default, comments.get(name, "")))
    return _table(("field", "type", "default", "meaning"), rows)


def _type(annotation: Any) -> str:
    return f"`{_type_text(annotation)}`"


def _type_text(annotation: Any) -> str:
    """`int | None`, `list[Attachment]`: a type as its reader writes it, constraints left out."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _type_text(args[0])
    if origin in (Union, UnionType):
        return " | ".join(_type_text(arg) for arg in args)
    if origin is Literal:
        return f"Literal[{', '.join(repr(arg) for arg in args)}]"
    if origin is not None:
        return f"{origin.__name__}[{', '.join(_type_text(arg) for arg in args)}]"
    if annotation is type(None):
        return "None"
    return str(getattr(annotation, "__name__", annotation))


def _default_of(field: FieldInfo) -> str:
    if field.default_factory in (dict, list):
        return "none"
    if field.default_factory is not None:
        return f"`{getattr(field.default_factory, '__name__', 'computed')}()`"
    return _default(field.default)


def _default(value: Any) -> str:
    if value is None:
        return "`None`"
    if callable(value):
        return f"`{getattr(value, '__name__', 'computed')}()`"
    if hasattr(value, "value"):  # an enum member
        value = value.value
    if isinstance(value, SecretStr):  # every secret defaults to empty
        value = value.get_secret_value()
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        return f"`{int(seconds) if seconds.is_integer() else seconds}` s"
    if isinstance(value, dict | list) and not value:
        return "none"
    return f"`{value!r}`" if not isinstance(value, str) else f"`{value}`" if value else "empty"


def redis_names() -> str:
    from common.infrastructure.redis_keys import Names

    sample = Names("")
    rows = []
    for name, member in inspect.getmembers(Names):
        if name.startswith("_") or name in ("key", "tagged", "slot_of", "stream", "prefix"):
            continue
        if isinstance(member, property):
            shown = getattr(sample, name)
        elif callable(member):
            params = [p for p in inspect.signature(member).parameters if p != "self"]
            shown = getattr(sample, name)(*[f"<{p}>" for p in params])
        else:
            continue
        doc = " ".join((inspect.getdoc(member) or "").split("\n\n")[0].split())
        rows.append((f"`{shown}`", f"`{name}`", doc))
    return _table(("name (after `REDIS_KEY_PREFIX`)", "`Names.`", "what it holds"), rows)


def rest_routes() -> str:
    from google_calendar_service.src.main import create_app as calendar_app
    from rest_service.app.main import create_app as rest_app

    parts = []
    for title, app in (("rest_service", rest_app()), ("google_calendar_service", calendar_app())):
        rows = []
        for path, methods in app.openapi()["paths"].items():
            for method, operation in methods.items():
                about = operation.get("description", "").split("\n\n")[0]
                rows.append((f"`{method.upper()} {path}`", " ".join(about.split())))
        parts.append(f"**{title}**\n\n" + _table(("route", "what it does"), rows))
    return "\n".join(parts)


def _settings_classes() -> list[type[BaseSettings]]:
    from assistant.src.settings import Settings as AssistantSettings
    from channels.src.settings import Settings as ChannelsSettings
    from cron_service.app.settings import Settings as CronSettings
    from google_calendar_service.src.settings import Settings as CalendarSettings
    from rest_service.app.settings import Settings as RestSettings
    from tg_bot.src.settings import Settings as TgSettings

    return [
        RestSettings, CalendarSettings, AssistantSettings, CronSettings, TgSettings,
        ChannelsSettings,
    ]  # fmt: skip


def every_setting() -> dict[str, list[str]]:
    """Each environment variable a service reads, with the services that read it."""
    read: dict[str, list[str]] = {}
    for cls in _settings_classes():
        service = cls.__module__.split(".")[0]
        for name in cls.model_fields:
            read.setdefault(name.upper(), []).append(service)
    return dict(sorted(read.items()))


def settings() -> str:
    """Every setting: who reads it, its type and default (README "Configuration" says what
    each means, once)."""
    rows: dict[str, tuple[str, str, str]] = {}
    for cls in _settings_classes():
        service = cls.__module__.split(".")[0]
        for name, field in cls.model_fields.items():
            env, kind, default = name.upper(), _type(field.annotation), _default_of(field)
            if env in rows:
                readers, _, first_default = rows[env][0], rows[env][1], rows[env][2]
                shown = first_default if first_default == default else "per service"
                rows[env] = (f"{readers}, {service}", kind, shown)
            else:
                rows[env] = (service, kind, default)
    return _table(
        ("variable", "read by", "type", "default"),
        ((f"`{env}`", *row) for env, row in sorted(rows.items())),
    )


BLOCKS: dict[str, Callable[[], str]] = {
    "services": services,
    "streams": streams,
    "messages": messages,
    "redis": redis_names,
    "rest": rest_routes,
    "settings": settings,
}


def updated(text: str) -> str:
    """`text` with every generated block rewritten from the code."""
    unknown = {m.group(2) for m in _BLOCK.finditer(text)} - BLOCKS.keys()
    if unknown:
        raise ValueError(f"unknown contract blocks: {sorted(unknown)}")
    return _BLOCK.sub(lambda m: m.group(1) + "\n" + BLOCKS[m.group(2)]() + "\n" + m.group(4), text)


def main(argv: list[str] | None = None, document: Path = DOCUMENT) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the generated tables")
    args = parser.parse_args(argv)
    text = document.read_text()
    new = updated(text)
    if args.write:
        document.write_text(new)
        return 0
    if new != text:
        shown = document.relative_to(ROOT) if document.is_relative_to(ROOT) else document
        print(f"{shown} is behind the code: python -m ops.contract --write")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
