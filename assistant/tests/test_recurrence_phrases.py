"""Recurrences in English and Russian become the cron expression they mean, or a recurrence
rule from their first occurrence when a cron line cannot hold them ("every other Tuesday");
what is unclear is a question saying what is missing; any text is a valid schedule or a
`ToolError`, never another exception."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.src.tools.base import ToolError
from assistant.src.tools.recurrence import parse_recurrence
from assistant.src.tools.when import UnclearTime
from common.features.schedule import repeating

EXPECTED = [
    ("every weekday at 9", "0 9 * * 1-5"),
    ("every weekday at 9am", "0 9 * * 1-5"),
    ("weekdays at 7:30", "30 7 * * 1-5"),
    ("every business day at 18:00", "0 18 * * 1-5"),
    ("every Monday at 9", "0 9 * * 1"),
    ("every monday and wednesday at 6pm", "0 18 * * 1,3"),
    ("every friday at 17:30", "30 17 * * 5"),
    ("every sunday evening", "0 19 * * 0"),
    ("mondays at 10", "0 10 * * 1"),
    ("every day at 8", "0 8 * * *"),
    # clock times in words, read by the one-off resolver's reader of the time of day
    ("every day at half past eight", "30 8 * * *"),
    ("каждый день в полдевятого", "30 8 * * *"),
    ("каждый будний день без четверти девять", "45 8 * * 1-5"),
    ("every friday at a quarter to six in the evening", "45 17 * * 5"),
    ("every day 8", "0 8 * * *"),
    ("every weekday 09:30", "30 9 * * 1-5"),
    ("daily at noon", "0 12 * * *"),
    ("every day at 10pm", "0 22 * * *"),
    ("every morning", "0 9 * * *"),
    ("every evening at 8", "0 20 * * *"),
    ("every weekend at 10", "0 10 * * 0,6"),
    ("every month on the 1st", "0 9 1 * *"),
    ("every month on the 15th at 10", "0 10 15 * *"),
    ("monthly on the 5th at 8am", "0 8 5 * *"),
    ("on the 1st of every month at 9", "0 9 1 * *"),
    ("every year on 5 March at 10", "0 10 5 3 *"),
    ("every 15 minutes", "*/15 * * * *"),
    ("every hour", "0 * * * *"),
    ("every 2 hours", "0 */2 * * *"),
    ("0 9 * * 1-5", "0 9 * * 1-5"),
    ("@daily", "0 0 * * *"),
    ("каждый понедельник в 10", "0 10 * * 1"),
    ("каждую пятницу в 17:30", "30 17 * * 5"),
    ("каждую среду в 8 вечера", "0 20 * * 3"),
    ("по понедельникам и средам в 18:00", "0 18 * * 1,3"),
    ("по будням в 7 утра", "0 7 * * 1-5"),
    ("в будни в 9", "0 9 * * 1-5"),
    ("каждый будний день в 8:15", "15 8 * * 1-5"),
    ("по выходным в 11", "0 11 * * 0,6"),
    ("ежедневно в 9", "0 9 * * *"),
    ("ежедневно 9", "0 9 * * *"),
    ("каждый день в 21:00", "0 21 * * *"),
    ("каждое утро", "0 9 * * *"),
    ("каждое утро в 8", "0 8 * * *"),
    ("каждый вечер", "0 19 * * *"),
    ("каждый месяц 1-го числа в 10", "0 10 1 * *"),
    ("1-го числа каждого месяца в 9", "0 9 1 * *"),
    ("каждое 15 число в 12", "0 12 15 * *"),
    ("ежемесячно 5 числа", "0 9 5 * *"),
    ("каждый год 8 марта в 8 утра", "0 8 8 3 *"),
    ("каждые 10 минут", "*/10 * * * *"),
    ("каждый час", "0 * * * *"),
    ("каждые 3 часа", "0 */3 * * *"),
    ("every 15th at noon", "0 12 15 * *"),
    ("each 15th at 10am", "0 10 15 * *"),
    ("every 1st at 9", "0 9 1 * *"),
    ("twice a day at 9 and 21", "0 9,21 * * *"),
    ("twice a day at 9am and 9pm", "0 9,21 * * *"),
    ("every day at 9 and 21", "0 9,21 * * *"),
    ("three times a day at 8, 14 and 20", "0 8,14,20 * * *"),
    ("два раза в день в 9 и 21", "0 9,21 * * *"),
    ("дважды в день в 9 и 21", "0 9,21 * * *"),
    ("каждый день в 9:30 и 21:30", "30 9,21 * * *"),
    ("weekly on monday at 9", "0 9 * * 1"),
    ("every week on Friday at 17:00", "0 17 * * 5"),
    ("раз в неделю в понедельник в 10", "0 10 * * 1"),
    ("еженедельно по пятницам в 18:00", "0 18 * * 5"),
]

MOSCOW = ZoneInfo("Europe/Moscow")
#: A Wednesday noon: "every other Tuesday" counts from the coming Tuesday, 1 December.
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=MOSCOW)
RULES = [
    ("every other Tuesday at 8", "20261201T080000",
     "WEEKLY;INTERVAL=2;BYDAY=TU;BYHOUR=8;BYMINUTE=0"),
    ("every second Friday at 9am", "20261127T090000",
     "WEEKLY;INTERVAL=2;BYDAY=FR;BYHOUR=9;BYMINUTE=0"),
    ("every two weeks on Monday at 10", "20261130T100000",
     "WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=10;BYMINUTE=0"),
    ("every 2 weeks on monday and thursday at 18:00", "20261126T180000",
     "WEEKLY;INTERVAL=2;BYDAY=MO,TH;BYHOUR=18;BYMINUTE=0"),
    ("fortnightly on friday at 17:30", "20261127T173000",
     "WEEKLY;INTERVAL=2;BYDAY=FR;BYHOUR=17;BYMINUTE=30"),
    ("every 3 weeks on Wednesday at 11", "20261202T110000",
     "WEEKLY;INTERVAL=3;BYDAY=WE;BYHOUR=11;BYMINUTE=0"),
    ("every other day at 7", "20261126T070000",
     "DAILY;INTERVAL=2;BYHOUR=7;BYMINUTE=0"),
    ("каждый второй вторник в 8", "20261201T080000",
     "WEEKLY;INTERVAL=2;BYDAY=TU;BYHOUR=8;BYMINUTE=0"),
    ("каждую вторую среду в 8 вечера", "20261125T200000",
     "WEEKLY;INTERVAL=2;BYDAY=WE;BYHOUR=20;BYMINUTE=0"),
    ("каждое второе воскресенье в 10", "20261129T100000",
     "WEEKLY;INTERVAL=2;BYDAY=SU;BYHOUR=10;BYMINUTE=0"),
    ("раз в две недели по понедельникам в 9", "20261130T090000",
     "WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=9;BYMINUTE=0"),
    ("раз в две недели в понедельник в 10", "20261130T100000",
     "WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=10;BYMINUTE=0"),
    ("каждые две недели по пятницам в 18:00", "20261127T180000",
     "WEEKLY;INTERVAL=2;BYDAY=FR;BYHOUR=18;BYMINUTE=0"),
    ("every two weeks on weekdays at 9", "20261126T090000",
     "WEEKLY;INTERVAL=2;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9;BYMINUTE=0"),
    ("every other weekend at 10", "20261128T100000",
     "WEEKLY;INTERVAL=2;BYDAY=SA,SU;BYHOUR=10;BYMINUTE=0"),
    ("каждые вторые выходные в 10", "20261128T100000",
     "WEEKLY;INTERVAL=2;BYDAY=SA,SU;BYHOUR=10;BYMINUTE=0"),
    ("every 3 days at 8", "20261126T080000", "DAILY;INTERVAL=3;BYHOUR=8;BYMINUTE=0"),
    ("через день в 7", "20261126T070000",
     "DAILY;INTERVAL=2;BYHOUR=7;BYMINUTE=0"),
]  # fmt: skip

#: Schedules that name how often but not all that is needed: the question says what is missing.
MISSING = [
    ("every fortnight", "on which day of the week"),
    ("каждые две недели", "on which day of the week"),
    ("every other week at 9", "on which day of the week"),
    ("twice a day", "at which 2 times"),
    ("два раза в день в 9", "at which 2 times"),
    ("twice a week", "on which days"),
    ("два раза в неделю в 10", "on which days"),
    ("every other month on the 1st", "every few months"),
    ("раз в два месяца", "every few months"),
    ("every day at 9 and 21:30", "different minutes"),
    ("every 20 weeks on monday", "every 2 to 12 weeks"),
    ("every week", "on which day of the week"),
    ("biweekly on monday", "every two weeks, or twice a week"),
    ("every other day on monday", "every 2 days, or every monday"),
    ("at 8 and 9 pm every day", "same part of the day"),
    ("каждый день в 8 и 9 вечера", "same part of the day"),
    ("every first Monday of the month at 9", "counted within the month"),
    ("the last friday of every month at 17", "counted within the month"),
    ("каждый второй вторник месяца в 8", "counted within the month"),
    ("в последнюю пятницу каждого месяца в 17", "counted within the month"),
    ("every weekday except friday at 9", "leaves days out"),
    ("по будням кроме пятницы в 9", "leaves days out"),
]

REFUSED = [m for m, _ in MISSING] + [
    "every day at 3",  # 03:00 or 15:00?
    "каждый день в 5",
    "every day 4",
    "monday at 9",  # every week, or once?
    "every 7 minutes",
    "every 5 hours",
    "sometimes",
    "иногда",
    "every day at 9 or 10",
    "every month on the 32nd",
    "61 9 * * *",
    "every day at 25:00",
]


@pytest.mark.parametrize(("text", "cron"), EXPECTED)
def test_a_recurrence_becomes_its_cron_expression(text: str, cron: str) -> None:
    assert parse_recurrence(text).cron == cron


@pytest.mark.parametrize("text", REFUSED)
def test_an_unclear_recurrence_is_refused(text: str) -> None:
    with pytest.raises(ToolError):
        parse_recurrence(text)


@pytest.mark.parametrize(("text", "start", "rule"), RULES)
def test_every_few_weeks_is_a_rule_from_its_first_occurrence(
    text: str, start: str, rule: str
) -> None:
    recurrence = parse_recurrence(text, None, MOSCOW, NOW)
    assert recurrence.cron == f"DTSTART:{start} RRULE:FREQ={rule}"
    first = recurrence.first_after(NOW)
    assert f"{first:%Y%m%dT%H%M%S}" == start


def test_the_anchor_may_come_from_when() -> None:
    later = parse_recurrence("every other Tuesday at 8", "next Tuesday", MOSCOW, NOW)
    assert later.cron.startswith("DTSTART:20261201T080000 ")
    week_after = parse_recurrence("every other Tuesday", "2026-12-08T08:00", MOSCOW, NOW)
    assert week_after.cron.startswith("DTSTART:20261208T080000 ")


@pytest.mark.parametrize(("text", "missing"), MISSING)
def test_a_schedule_that_cannot_be_kept_says_what_is_missing(text: str, missing: str) -> None:
    with pytest.raises(ToolError) as refused:
        parse_recurrence(text, None, MOSCOW, NOW)
    assert missing in str(refused.value)
    assert "not understood" not in str(refused.value)


def test_an_unclear_time_of_day_is_a_question() -> None:
    with pytest.raises(UnclearTime, match=r"ask the user: .*15:00"):
        parse_recurrence("every day at 3")


def test_the_time_may_come_from_when() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    assert parse_recurrence("every Monday", "09:30").cron == "30 9 * * 1"
    assert parse_recurrence("каждый понедельник", "2030-01-07T18:00").cron == "0 18 * * 1"
    assert parse_recurrence("every day", "tomorrow at 9am", tokyo).cron == "0 9 * * *"
    # An instant with an offset is the user's local time of day, not UTC's.
    assert parse_recurrence("every day", "2030-01-07T00:30:00Z", tokyo).cron == "30 9 * * *"
    assert parse_recurrence("every day", "tomorrow", tokyo).time_assumed
    assert parse_recurrence("every day", "2020-01-07T07:15", tokyo).cron == "15 7 * * *"


def test_no_time_of_day_takes_nine_and_says_so() -> None:
    rule = parse_recurrence("every month on the 1st")
    assert (rule.cron, rule.time_assumed) == ("0 9 1 * *", True)
    assert not parse_recurrence("every day at 8").time_assumed


def test_the_first_fire_is_common_schedules() -> None:
    tz = ZoneInfo("America/New_York")
    # The night of the spring change: 02:30 does not exist, the fire is when the gap ends.
    first = parse_recurrence("30 2 * * *").first_after(datetime(2025, 3, 9, 1, tzinfo=tz))
    assert first.isoformat() == "2025-03-09T03:00:00-04:00"
    weekly = parse_recurrence("every weekday at 9").first_after(datetime(2025, 6, 14, tzinfo=tz))
    assert weekly.isoformat() == "2025-06-16T09:00:00-04:00"  # Saturday -> Monday


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_is_a_valid_schedule_or_a_tool_error(text: str) -> None:
    valid_or_tool_error(text)


def valid_or_tool_error(text: str) -> None:
    try:
        rule = parse_recurrence(text)
    except ToolError:
        return
    repeating(rule.cron)


WORDS = st.sampled_from(
    ["every", "day", "at", "9", "monday", "and", "friday", "каждый", "понедельник", "в", "10",
     "утра", "вечера", "по", "будням", "month", "on", "the", "1st", "числа", "15", "minutes",
     "hours", "ежедневно", "weekday", "выходным", "pm", "noon", "*", "1-5", "morning",
     "other", "second", "weeks", "two", "twice", "a", "раз", "раза", "две", "недели", "21",
     "15th", "fortnight", "через", "день", "вторую", "среду", "weekdays", "weekly", "9pm",
     "неделю", "week", "except", "кроме", "first", "last", "месяца", "выходные"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(WORDS, min_size=1, max_size=7))
def test_any_mix_of_recurrence_words_is_a_valid_schedule_or_a_tool_error(
    words: list[str],
) -> None:
    valid_or_tool_error(" ".join(words))
