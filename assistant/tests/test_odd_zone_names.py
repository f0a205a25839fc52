"""Zone names as people and models type them: a folder of the zone database ("Europe") or an
over-long name makes zoneinfo raise OSError, which must read as an unknown zone, not a crash."""

from __future__ import annotations

import pytest

from assistant.src.tools.base import ToolError
from assistant.src.tools.when import zone as tool_zone
from common.features.schedule import InvalidSchedule
from common.features.schedule import zone as schedule_zone

ODD_NAMES = ["Europe", "America", "a" * 300, "Europe/" + "x" * 300]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_the_schedule_refuses_an_odd_zone_name(name: str) -> None:
    with pytest.raises(InvalidSchedule):
        schedule_zone(name)


@pytest.mark.parametrize("name", ODD_NAMES)
def test_the_tools_answer_an_odd_zone_name_with_a_tool_error(name: str) -> None:
    with pytest.raises(ToolError):
        tool_zone(name)
