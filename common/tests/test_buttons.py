"""The callback data codec: what we encode reads back, anything else reads as None, nothing
goes over Telegram's 64 bytes; the reminder buttons' labels and rule."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.features.buttons import (
    MAX_DATA_BYTES,
    ButtonAction,
    ButtonData,
    cancel_reminder_button,
    decode,
    fired_reminder_buttons,
    snoozed_until,
)

FIELD = st.text(alphabet="abcXYZ0129._-", max_size=40)


@settings(max_examples=100, deadline=None)
@given(action=st.sampled_from(ButtonAction), target=FIELD, option=FIELD)
def test_what_is_encoded_decodes_to_itself_or_is_refused(
    action: ButtonAction, target: str, option: str
) -> None:
    data = ButtonData(action, target, option)
    try:
        encoded = data.encode()
    except ValueError:
        assert len(f"b1:{action.value}:{target}:{option}".encode()) > MAX_DATA_BYTES
        return
    assert len(encoded.encode()) <= MAX_DATA_BYTES
    assert decode(encoded) == data


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=64))
def test_any_string_decodes_or_is_none(raw: str) -> None:
    found = decode(raw)
    assert found is None or decode(found.encode()) == found


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=64))
def test_any_bytes_as_text_decode_or_are_none(raw: bytes) -> None:
    found = decode(raw.decode("utf-8", "replace"))
    assert found is None or isinstance(found, ButtonData)


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "b1",
        "b1:sn",
        "b2:sn:x:10m",
        "b1:zz:x:",
        "b1:sn:x:10m:extra",
        "b1:sn:a b:10m",
        "b1:sn:ä:10m",
        "b1:cx:" + "a" * 70 + ":",
        "/start",
        '{"action": "snooze"}',
        "b1:sn:\x00:10m",
    ],
)
def test_foreign_or_garbled_data_is_none(raw: str | None) -> None:
    assert decode(raw) is None


def test_a_uuid_and_a_telegram_id_fit() -> None:
    data = ButtonData(ButtonAction.MODEL, str(uuid.uuid4()), str(2**53))
    assert len(data.encode()) <= MAX_DATA_BYTES
    assert decode(data.encode()) == data


def test_a_field_with_a_separator_is_refused_on_encoding() -> None:
    with pytest.raises(ValueError):
        ButtonData(ButtonAction.CANCEL_REMINDER, "a:b").encode()
    with pytest.raises(ValueError):
        ButtonData(ButtonAction.CANCEL_REMINDER, "x" * 60).encode()


def test_a_fired_reminder_has_three_snoozes_and_done_in_its_language() -> None:
    job = uuid.uuid4()
    rows = fired_reminder_buttons(job, "ru")
    labels = [b.text for row in rows for b in row]
    assert labels == ["⏰ 10 мин", "⏰ 1 ч", "⏰ Завтра", "✅ Готово"]
    decoded = [decode(b.data) for row in rows for b in row]
    assert [d.option for d in decoded if d] == ["10m", "1h", "1d", ""]
    assert {d.target for d in decoded if d} == {str(job)}
    assert [b.text for row in fired_reminder_buttons(job, "xx") for b in row][-1] == "✅ Done"
    cancel = cancel_reminder_button(job, "de")
    assert cancel.text == "✖ Abbrechen"
    assert decode(cancel.data) == ButtonData(ButtonAction.CANCEL_REMINDER, str(job))


def test_tomorrow_keeps_the_time_of_day_across_a_dst_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    before = datetime(2026, 3, 28, 9, 30, 15, 500, tzinfo=berlin)
    after = snoozed_until(before, timedelta(days=1))
    assert (after.day, after.hour, after.minute, after.second) == (29, 9, 30, 15)
    assert after.utcoffset() == timedelta(hours=2)
    with pytest.raises(ValueError):
        snoozed_until(datetime(2026, 1, 1), timedelta(minutes=10))
