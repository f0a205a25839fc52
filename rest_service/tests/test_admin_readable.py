"""The admin's readable values without a database: stored text that is not what the service
writes (a hand-edited row, an old record) is still shown, as it is, never an error."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

from rest_service.app.admin import history_view
from rest_service.app.admin.display_names import SHOWN, named, pretty_json, truncated
from rest_service.app.models.history import ConfigChange


def test_a_schema_that_is_not_json_is_shown_as_stored() -> None:
    assert pretty_json('{"type":"object"}') == '{\n  "type": "object"\n}'
    assert pretty_json("{half") == "{half"
    assert pretty_json(None) == ""


def test_an_id_without_a_known_name_is_shown_as_the_id() -> None:
    known, unknown = uuid.uuid4(), uuid.uuid4()
    token = SHOWN.set({known: "Ann <admin>"})
    try:
        assert named(SimpleNamespace(user_id=known), "user_id") == (
            f'<span title="{known}">Ann &lt;admin&gt;</span>'
        )
        assert named(SimpleNamespace(user_id=unknown), "user_id") == str(unknown)
        assert named(SimpleNamespace(user_id=None), "user_id") == ""
    finally:
        SHOWN.reset(token)


def test_a_cell_is_cut_with_the_whole_on_hover() -> None:
    assert truncated(None) == "" and truncated("short") == "short"
    assert truncated("abcdef", limit=4) == '<span title="abcdef">abc…</span>'


async def test_an_old_record_whose_id_field_is_no_uuid_reads_as_written() -> None:
    change = ConfigChange(
        id=1,
        entity="tool",
        entity_id=uuid.uuid4(),
        action="updated",
        actor="seed",
        version=3,
        before={"name": "clock", "assistant_id": "legacy-7"},
        after={"name": "clock", "assistant_id": None},
    )
    # No id reads as a UUID: no names are looked up, so no database is asked.
    (line,) = await history_view.lines(None, [change])  # type: ignore[arg-type]
    assert line["title"] == "clock"
    assert [(f["field"], f["before"], f["after"]) for f in line["fields"]] == [
        ("assistant_id", "legacy-7", "∅")
    ]
