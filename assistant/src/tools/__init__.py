"""The assistant's tools: one class per `tool_type` in a `*_tool` module of this package.

Adding a tool is one class: `class CalendarTool(BaseTool, tool_type="calendar")` in
`calendar_tool.py`; `tool_classes()` imports every such module, which registers it.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil

from assistant.src.tools.base import TOOL_TYPES, BaseTool


@functools.cache
def tool_classes() -> dict[str, type[BaseTool]]:
    for module in pkgutil.iter_modules(__path__):
        if module.name.endswith("_tool"):
            importlib.import_module(f"{__name__}.{module.name}")
    return TOOL_TYPES
