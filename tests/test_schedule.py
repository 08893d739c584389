"""Table-driven tests of the schedule rules (honeydue/schedule.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from honeydue.models.enums import TaskFrequency as F
from honeydue.schedule import (
    EARLIEST_DATE,
    LATEST_DUE_DATE,
    MAX_INTERVAL_DAYS,
    MAX_SNOOZE_DAYS,
    Period,
    ScheduleOverflow,
    TaskColumn,
    add_months,
    local_today,
    missed_occurrences,
    next_due_date,
    period_step,
    reminders_snoozed,
    skipped_due_date,
    stored_interval_days,
    task_column,
    to_local_date,
    validate_due_date,
    validate_schedule,
    validate_snooze,
    validate_timezone,
)

D = date


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        pytest.param(D(2025, 1, 15), 1, D(2025, 2, 15), id="mid-month"),
        pytest.param(D(2025, 1, 31), 1, D(2025, 2, 28), id="jan31-to-feb-common-year"),
        pytest.param(D(2024, 1, 31), 1, D(2024, 2, 29), id="jan31-to-feb-leap-year"),
        pytest.param(D(2025, 3, 31), 1, D(2025, 4, 30), id="31st-to-30-day-month"),
        pytest.param(D(2025, 1, 31), 2, D(2025, 3, 31), id="two-months-keeps-31st"),
        pytest.param(D(2025, 11, 30), 3, D(2026, 2, 28), id="across-year-end-clamped"),
        pytest.param(D(2025, 12, 15), 1, D(2026, 1, 15), id="december-to-january"),
        pytest.param(D(2024, 2, 29), 12, D(2025, 2, 28), id="leap-day-plus-year"),
        pytest.param(D(2024, 2, 29), 48, D(2028, 2, 29), id="leap-day-plus-four-years"),
        pytest.param(D(2025, 3, 31), -1, D(2025, 2, 28), id="backwards-clamped"),
        pytest.param(D(2025, 1, 10), -1, D(2024, 12, 10), id="backwards-across-year"),
        pytest.param(D(2025, 5, 5), 0, D(2025, 5, 5), id="zero"),
    ],
)
def test_add_months(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("frequency", "interval_days", "expected"),
    [
        pytest.param(F.ONCE, None, None, id="once"),
        pytest.param(F.DAILY, None, Period(days=1), id="daily"),
        pytest.param(F.WEEKLY, None, Period(days=7), id="weekly"),
        pytest.param(F.BIWEEKLY, None, Period(days=14), id="biweekly"),
        pytest.param(F.MONTHLY, None, Period(months=1), id="monthly"),
        pytest.param(F.QUARTERLY, None, Period(months=3), id="quarterly"),
        pytest.param(F.ANNUAL, None, Period(months=12), id="annual"),
        pytest.param(F.CUSTOM, 10, Period(days=10), id="custom-10"),
        pytest.param(F.WEEKLY, 10, Period(days=7), id="non-custom-ignores-interval"),
        pytest.param("MONTHLY", None, Period(months=1), id="plain-string-frequency"),
    ],
)
def test_period_step(frequency: F | str, interval_days: int | None, expected: Period | None) -> None:
    assert period_step(frequency, interval_days) == expected


@pytest.mark.parametrize("interval_days", [None, 0, -3], ids=["missing", "zero", "negative"])
def test_period_step_refuses_custom_without_interval(interval_days: int | None) -> None:
    with pytest.raises(ValueError, match="CUSTOM"):
        period_step(F.CUSTOM, interval_days)


@pytest.mark.parametrize(
    ("frequency", "interval_days", "error"),
    [
        pytest.param(F.CUSTOM, None, "intervalDays", id="custom-missing"),
        pytest.param(F.CUSTOM, 0, "intervalDays", id="custom-zero"),
        pytest.param(F.CUSTOM, -1, "intervalDays", id="custom-negative"),
        pytest.param(F.CUSTOM, 1, None, id="custom-one"),
        pytest.param(F.CUSTOM, 400, None, id="custom-long"),
        pytest.param(F.CUSTOM, MAX_INTERVAL_DAYS, None, id="custom-a-century"),
        pytest.param(F.CUSTOM, MAX_INTERVAL_DAYS + 1, "intervalDays", id="custom-too-long"),
        pytest.param(F.CUSTOM, 2**31 - 1, "intervalDays", id="custom-int-max"),
        pytest.param(F.ONCE, None, None, id="once"),
        pytest.param(F.WEEKLY, None, None, id="weekly"),
        pytest.param(F.WEEKLY, 5, None, id="weekly-with-interval-ignored"),
        pytest.param(F.ANNUAL, 0, None, id="annual-with-zero-interval-ignored"),
        pytest.param("HOURLY", None, "Unknown frequency", id="unknown-frequency"),
    ],
)
def test_validate_schedule(frequency: F | str, interval_days: int | None, error: str | None) -> None:
    message = validate_schedule(frequency, interval_days)
    if error is None:
        assert message is None
    else:
        assert message is not None and error in message


@pytest.mark.parametrize(
    ("due", "valid"),
    [
        pytest.param(None, True, id="no-date"),
        pytest.param(D(2025, 6, 1), True, id="ordinary"),
        pytest.param(EARLIEST_DATE, True, id="earliest"),
        pytest.param(LATEST_DUE_DATE, True, id="latest"),
        pytest.param(EARLIEST_DATE - timedelta(days=1), False, id="too-early"),
        pytest.param(LATEST_DUE_DATE + timedelta(days=1), False, id="too-late"),
        pytest.param(date.max, False, id="date-max"),
        pytest.param(date.min, False, id="date-min"),
    ],
)
def test_validate_due_date(due: date | None, valid: bool) -> None:
    assert (validate_due_date(due) is None) is valid


@pytest.mark.parametrize(
    ("frequency", "interval_days", "rolling", "due"),
    [
        pytest.param(F.ANNUAL, None, False, date.max, id="annual-fixed-at-date-max"),
        pytest.param(F.ANNUAL, None, True, date.max, id="annual-rolling-at-date-max"),
        pytest.param(F.MONTHLY, None, False, D(9999, 12, 1), id="monthly-in-last-month"),
        pytest.param(F.DAILY, None, True, date.max, id="daily-at-date-max"),
        pytest.param(F.CUSTOM, 2**31 - 1, True, D(2025, 1, 1), id="custom-int-max-rolling"),
        pytest.param(F.CUSTOM, 2**31 - 1, False, D(2025, 1, 1), id="custom-int-max-fixed"),
        pytest.param(F.CUSTOM, MAX_INTERVAL_DAYS, False, D(9950, 1, 1), id="custom-century-past-9999"),
    ],
)
def test_next_due_date_past_the_calendar_is_schedule_overflow(
    frequency: F, interval_days: int | None, rolling: bool, due: date
) -> None:
    with pytest.raises(ScheduleOverflow):
        next_due_date(frequency, interval_days, rolling, due, due, due, today=due)


def test_largest_interval_from_the_latest_due_date_still_fits() -> None:
    # Bounded inputs leave room: a century step from the latest allowed date is still a date.
    assert next_due_date(F.CUSTOM, MAX_INTERVAL_DAYS, False, LATEST_DUE_DATE, LATEST_DUE_DATE,
                         LATEST_DUE_DATE, today=LATEST_DUE_DATE) == LATEST_DUE_DATE + timedelta(days=MAX_INTERVAL_DAYS)


@pytest.mark.parametrize(
    ("frequency", "interval_days", "expected"),
    [
        pytest.param(F.CUSTOM, 9, 9, id="custom-keeps"),
        pytest.param(F.WEEKLY, 9, None, id="weekly-drops"),
        pytest.param(F.ONCE, None, None, id="once-none"),
    ],
)
def test_stored_interval_days(frequency: F, interval_days: int | None, expected: int | None) -> None:
    assert stored_interval_days(frequency, interval_days) == expected


# (frequency, interval_days, rolling, anchor, current_due, completed_on, expected), each completion recorded on
# the day it happened (today = completed_on); back-dated ones are in BACKDATED_CASES.
NEXT_DUE_CASES = [
    # ONCE never recurs, rolling or not.
    pytest.param(F.ONCE, None, False, D(2025, 3, 1), D(2025, 3, 1), D(2025, 3, 1), None, id="once-fixed"),
    pytest.param(F.ONCE, None, True, D(2025, 3, 1), D(2025, 3, 1), D(2025, 3, 5), None, id="once-rolling"),
    # Every frequency, fixed, completed on its due date: the next slot.
    pytest.param(F.DAILY, None, False, D(2025, 3, 1), D(2025, 3, 4), D(2025, 3, 4), D(2025, 3, 5),
                 id="daily-fixed-on-time"),
    pytest.param(F.WEEKLY, None, False, D(2025, 3, 3), D(2025, 3, 10), D(2025, 3, 10), D(2025, 3, 17),
                 id="weekly-fixed-on-time"),
    pytest.param(F.BIWEEKLY, None, False, D(2025, 3, 3), D(2025, 3, 17), D(2025, 3, 17), D(2025, 3, 31),
                 id="biweekly-fixed-on-time"),
    pytest.param(F.MONTHLY, None, False, D(2025, 1, 15), D(2025, 3, 15), D(2025, 3, 15), D(2025, 4, 15),
                 id="monthly-fixed-on-time"),
    pytest.param(F.QUARTERLY, None, False, D(2025, 1, 15), D(2025, 4, 15), D(2025, 4, 15), D(2025, 7, 15),
                 id="quarterly-fixed-on-time"),
    pytest.param(F.ANNUAL, None, False, D(2023, 6, 1), D(2025, 6, 1), D(2025, 6, 1), D(2026, 6, 1),
                 id="annual-fixed-on-time"),
    pytest.param(F.CUSTOM, 10, False, D(2025, 3, 1), D(2025, 3, 11), D(2025, 3, 11), D(2025, 3, 21),
                 id="custom-10-fixed-on-time"),
    pytest.param(F.CUSTOM, 1, False, D(2025, 3, 1), D(2025, 3, 2), D(2025, 3, 2), D(2025, 3, 3),
                 id="custom-1-fixed-on-time"),
    # Every frequency, rolling: one period after the completion, whatever the schedule said.
    pytest.param(F.DAILY, None, True, D(2025, 3, 1), D(2025, 3, 4), D(2025, 3, 9), D(2025, 3, 10),
                 id="daily-rolling-late"),
    pytest.param(F.WEEKLY, None, True, D(2025, 3, 3), D(2025, 3, 10), D(2025, 3, 12), D(2025, 3, 19),
                 id="weekly-rolling-late"),
    pytest.param(F.BIWEEKLY, None, True, D(2025, 3, 3), D(2025, 3, 17), D(2025, 3, 14), D(2025, 3, 28),
                 id="biweekly-rolling-early"),
    pytest.param(F.MONTHLY, None, True, D(2025, 1, 15), D(2025, 3, 15), D(2025, 3, 20), D(2025, 4, 20),
                 id="monthly-rolling-late"),
    pytest.param(F.MONTHLY, None, True, D(2025, 1, 1), D(2025, 1, 31), D(2025, 1, 31), D(2025, 2, 28),
                 id="monthly-rolling-clamps-to-feb-end"),
    pytest.param(F.QUARTERLY, None, True, D(2025, 1, 15), D(2025, 4, 15), D(2025, 11, 30), D(2026, 2, 28),
                 id="quarterly-rolling-clamps-across-year"),
    pytest.param(F.ANNUAL, None, True, D(2023, 6, 1), D(2025, 6, 1), D(2025, 7, 4), D(2026, 7, 4),
                 id="annual-rolling-late"),
    pytest.param(F.ANNUAL, None, True, D(2024, 2, 29), D(2024, 2, 29), D(2024, 2, 29), D(2025, 2, 28),
                 id="annual-rolling-from-leap-day"),
    pytest.param(F.CUSTOM, 45, True, D(2025, 1, 1), D(2025, 2, 15), D(2025, 2, 20), D(2025, 4, 6),
                 id="custom-45-rolling"),
    # Fixed schedule, three periods late: one step to the next future slot, not three catch-ups.
    pytest.param(F.WEEKLY, None, False, D(2025, 1, 1), D(2025, 1, 1), D(2025, 1, 23), D(2025, 1, 29),
                 id="weekly-three-periods-late"),
    pytest.param(F.WEEKLY, None, False, D(2025, 1, 1), D(2025, 1, 1), D(2025, 1, 22), D(2025, 1, 29),
                 id="weekly-late-on-a-slot-day-moves-past-it"),
    pytest.param(F.MONTHLY, None, False, D(2025, 1, 10), D(2025, 1, 10), D(2025, 4, 20), D(2025, 5, 10),
                 id="monthly-three-periods-late"),
    pytest.param(F.QUARTERLY, None, False, D(2024, 1, 5), D(2024, 1, 5), D(2024, 10, 6), D(2025, 1, 5),
                 id="quarterly-three-periods-late"),
    pytest.param(F.ANNUAL, None, False, D(2020, 9, 1), D(2022, 9, 1), D(2025, 10, 1), D(2026, 9, 1),
                 id="annual-three-periods-late"),
    pytest.param(F.CUSTOM, 10, False, D(2025, 1, 1), D(2025, 1, 1), D(2025, 1, 31), D(2025, 2, 10),
                 id="custom-three-periods-late"),
    pytest.param(F.DAILY, None, False, D(2025, 1, 1), D(2025, 1, 1), D(2025, 1, 4), D(2025, 1, 5),
                 id="daily-three-periods-late"),
    # Fixed schedule, done early: moves to the slot after the current due date.
    pytest.param(F.WEEKLY, None, False, D(2025, 1, 1), D(2025, 1, 8), D(2025, 1, 5), D(2025, 1, 15),
                 id="weekly-early"),
    pytest.param(F.MONTHLY, None, False, D(2025, 1, 15), D(2025, 2, 15), D(2025, 2, 1), D(2025, 3, 15),
                 id="monthly-early"),
    pytest.param(F.ANNUAL, None, False, D(2024, 4, 1), D(2025, 4, 1), D(2025, 1, 2), D(2026, 4, 1),
                 id="annual-early"),
    pytest.param(F.CUSTOM, 3, False, D(2025, 1, 1), D(2025, 1, 7), D(2025, 1, 5), D(2025, 1, 10),
                 id="custom-early"),
    # Fixed month slots are counted from the anchor, so the 31st returns after a short month.
    pytest.param(F.MONTHLY, None, False, D(2025, 1, 31), D(2025, 1, 31), D(2025, 1, 31), D(2025, 2, 28),
                 id="monthly-fixed-31st-to-feb-28"),
    pytest.param(F.MONTHLY, None, False, D(2025, 1, 31), D(2025, 2, 28), D(2025, 2, 28), D(2025, 3, 31),
                 id="monthly-fixed-back-to-31st-after-feb"),
    pytest.param(F.MONTHLY, None, False, D(2024, 1, 31), D(2024, 1, 31), D(2024, 2, 1), D(2024, 2, 29),
                 id="monthly-fixed-31st-to-leap-feb-29"),
    pytest.param(F.MONTHLY, None, False, D(2025, 1, 31), D(2025, 4, 30), D(2025, 4, 30), D(2025, 5, 31),
                 id="monthly-fixed-30-day-month-then-31st"),
    pytest.param(F.QUARTERLY, None, False, D(2024, 11, 30), D(2024, 11, 30), D(2024, 11, 30), D(2025, 2, 28),
                 id="quarterly-fixed-clamps-feb"),
    pytest.param(F.QUARTERLY, None, False, D(2024, 11, 30), D(2025, 2, 28), D(2025, 2, 28), D(2025, 5, 30),
                 id="quarterly-fixed-returns-to-30th"),
    # Leap years with an annual schedule anchored on Feb 29.
    pytest.param(F.ANNUAL, None, False, D(2024, 2, 29), D(2024, 2, 29), D(2024, 2, 29), D(2025, 2, 28),
                 id="annual-leap-anchor-to-common-year"),
    pytest.param(F.ANNUAL, None, False, D(2024, 2, 29), D(2027, 2, 28), D(2027, 3, 1), D(2028, 2, 29),
                 id="annual-leap-anchor-back-to-feb-29"),
    pytest.param(F.ANNUAL, None, False, D(2024, 2, 29), D(2025, 2, 28), D(2025, 2, 28), D(2026, 2, 28),
                 id="annual-leap-anchor-stays-feb-28-in-common-years"),
    # No current due date: the slot after the completion.
    pytest.param(F.WEEKLY, None, False, D(2025, 1, 1), None, D(2025, 1, 10), D(2025, 1, 15),
                 id="fixed-without-current-due"),
    # Slots before the anchor exist too (the anchor is a phase, not a start).
    pytest.param(F.WEEKLY, None, False, D(2025, 3, 1), D(2025, 1, 4), D(2025, 1, 4), D(2025, 1, 11),
                 id="weekly-before-anchor"),
    pytest.param(F.MONTHLY, None, False, D(2025, 6, 30), D(2025, 1, 30), D(2025, 1, 30), D(2025, 2, 28),
                 id="monthly-before-anchor"),
]


@pytest.mark.parametrize(
    ("frequency", "interval_days", "rolling", "anchor", "current_due", "completed_on", "expected"),
    NEXT_DUE_CASES,
)
def test_next_due_date(
    frequency: F,
    interval_days: int | None,
    rolling: bool,
    anchor: date,
    current_due: date | None,
    completed_on: date,
    expected: date | None,
) -> None:
    assert next_due_date(frequency, interval_days, rolling, anchor, current_due, completed_on,
                         today=completed_on) == expected


# Never in the past: a completion recorded after the day it happened (completedAt in the past).
# (frequency, interval_days, rolling, anchor, current_due, completed_on, today, expected)
BACKDATED_CASES = [
    # Donetick #834: weekly on Mondays, missed from Sep 14 on, done Sep 30 -> the next Monday, not Sep 21.
    pytest.param(F.WEEKLY, None, False, D(2026, 9, 14), D(2026, 9, 14), D(2026, 9, 30), D(2026, 9, 30),
                 D(2026, 10, 5), id="donetick-834-weekly-missed-cycles"),
    # Done three weeks ago, recorded today: the slot after the completion has passed; the first from today.
    pytest.param(F.WEEKLY, None, False, D(2026, 9, 14), D(2026, 9, 14), D(2026, 9, 15), D(2026, 10, 7),
                 D(2026, 10, 12), id="weekly-backdated-first-slot-after-today"),
    pytest.param(F.WEEKLY, None, False, D(2026, 9, 14), D(2026, 9, 14), D(2026, 9, 15), D(2026, 10, 12),
                 D(2026, 10, 12), id="weekly-backdated-slot-today-is-due-today"),
    pytest.param(F.MONTHLY, None, False, D(2025, 1, 31), D(2025, 1, 31), D(2025, 2, 1), D(2025, 4, 10),
                 D(2025, 4, 30), id="monthly-31st-backdated-clamped-april"),
    pytest.param(F.ANNUAL, None, False, D(2024, 2, 29), D(2024, 2, 29), D(2024, 3, 1), D(2027, 6, 1),
                 D(2028, 2, 29), id="annual-leap-anchor-backdated-to-next-leap-day"),
    pytest.param(F.CUSTOM, 10, False, D(2025, 1, 1), D(2025, 1, 1), D(2025, 1, 2), D(2025, 2, 5),
                 D(2025, 2, 10), id="custom-10-backdated"),
    pytest.param(F.DAILY, None, False, D(2025, 1, 1), D(2025, 1, 1), D(2025, 1, 2), D(2025, 3, 30),
                 D(2025, 3, 30), id="daily-backdated-due-today"),
    # Rolling: one period after the completion, or today when that has passed already.
    pytest.param(F.WEEKLY, None, True, D(2025, 1, 1), D(2025, 1, 1), D(2025, 1, 20), D(2025, 3, 1),
                 D(2025, 3, 1), id="rolling-backdated-due-today"),
    pytest.param(F.WEEKLY, None, True, D(2025, 1, 1), D(2025, 1, 1), D(2025, 2, 27), D(2025, 3, 1),
                 D(2025, 3, 6), id="rolling-backdated-within-a-period"),
    pytest.param(F.MONTHLY, None, True, D(2025, 1, 1), D(2025, 1, 1), D(2025, 1, 31), D(2025, 2, 10),
                 D(2025, 2, 28), id="rolling-monthly-backdated-feb-end"),
    # Clocks: a completion at 23:30 on the last day of DST is still a plain date; dates carry no time.
    pytest.param(F.DAILY, None, False, D(2025, 3, 1), D(2025, 3, 29), D(2025, 3, 30), D(2025, 3, 30),
                 D(2025, 3, 31), id="daily-across-dst-night"),
]


@pytest.mark.parametrize(
    ("frequency", "interval_days", "rolling", "anchor", "current_due", "completed_on", "today", "expected"),
    BACKDATED_CASES,
)
def test_next_due_date_is_never_in_the_past(
    frequency: F, interval_days: int | None, rolling: bool, anchor: date, current_due: date | None,
    completed_on: date, today: date, expected: date,
) -> None:
    following = next_due_date(frequency, interval_days, rolling, anchor, current_due, completed_on, today=today)
    assert following == expected
    assert following is not None and following >= today


@pytest.mark.parametrize(("frequency", "interval_days"), [(F.DAILY, None), (F.WEEKLY, None), (F.BIWEEKLY, None),
                                                          (F.MONTHLY, None), (F.QUARTERLY, None), (F.ANNUAL, None),
                                                          (F.CUSTOM, 3), (F.CUSTOM, 45)])
@pytest.mark.parametrize("rolling", [False, True], ids=["fixed", "rolling"])
def test_no_completion_date_gives_a_past_due_date(frequency: F, interval_days: int | None, rolling: bool) -> None:
    """Every completion day in a 400-day window, recorded on every later day: never before that later day."""
    anchor = D(2024, 1, 31)
    for offset in range(0, 400, 7):
        completed_on = anchor + timedelta(days=offset)
        for late in (0, 1, 5, 40, 200):
            today = completed_on + timedelta(days=late)
            following = next_due_date(frequency, interval_days, rolling, anchor, anchor, completed_on, today=today)
            assert following is not None and following >= today and following > completed_on


# Skip: (frequency, interval_days, rolling, anchor, current_due, today, expected)
SKIP_CASES = [
    pytest.param(F.WEEKLY, None, False, D(2025, 3, 3), D(2025, 3, 10), D(2025, 3, 5), D(2025, 3, 17),
                 id="weekly-skip-ahead-of-due"),
    pytest.param(F.WEEKLY, None, False, D(2025, 3, 3), D(2025, 3, 10), D(2025, 3, 10), D(2025, 3, 17),
                 id="weekly-skip-on-due-day"),
    pytest.param(F.WEEKLY, None, False, D(2025, 1, 6), D(2025, 1, 6), D(2025, 2, 5), D(2025, 2, 10),
                 id="weekly-skip-overdue-skips-every-missed-cycle"),
    pytest.param(F.WEEKLY, None, False, D(2025, 1, 6), D(2025, 1, 6), D(2025, 2, 3), D(2025, 2, 10),
                 id="weekly-skip-overdue-on-a-slot-day-skips-it-too"),
    pytest.param(F.MONTHLY, None, False, D(2025, 1, 31), D(2025, 1, 31), D(2025, 1, 20), D(2025, 2, 28),
                 id="monthly-31st-skip-to-feb-28"),
    pytest.param(F.MONTHLY, None, False, D(2025, 1, 31), D(2025, 2, 28), D(2025, 2, 1), D(2025, 3, 31),
                 id="monthly-31st-skip-back-to-31st"),
    pytest.param(F.ANNUAL, None, False, D(2024, 2, 29), D(2024, 2, 29), D(2024, 2, 1), D(2025, 2, 28),
                 id="annual-leap-day-skip"),
    pytest.param(F.CUSTOM, 10, False, D(2025, 1, 1), D(2025, 1, 11), D(2025, 1, 5), D(2025, 1, 21),
                 id="custom-10-skip"),
    pytest.param(F.WEEKLY, None, True, D(2025, 3, 3), D(2025, 3, 10), D(2025, 3, 5), D(2025, 3, 17),
                 id="rolling-skip-a-period-after-due"),
    pytest.param(F.WEEKLY, None, True, D(2025, 1, 6), D(2025, 1, 6), D(2025, 2, 5), D(2025, 2, 12),
                 id="rolling-skip-overdue-a-period-after-today"),
    pytest.param(F.DAILY, None, False, D(2025, 1, 1), None, D(2025, 1, 5), D(2025, 1, 6),
                 id="no-due-date-skips-today"),
]


@pytest.mark.parametrize(("frequency", "interval_days", "rolling", "anchor", "current_due", "today", "expected"),
                         SKIP_CASES)
def test_skipped_due_date(frequency: F, interval_days: int | None, rolling: bool, anchor: date,
                          current_due: date | None, today: date, expected: date) -> None:
    following = skipped_due_date(frequency, interval_days, rolling, anchor, current_due, today=today)
    assert following == expected
    assert following is not None and following > today


def test_a_once_task_has_nothing_to_skip_to() -> None:
    assert skipped_due_date(F.ONCE, None, False, D(2025, 1, 1), D(2025, 1, 1), today=D(2025, 1, 1)) is None


# (frequency, interval_days, rolling, anchor, due_date, today, expected)
MISSED_CASES = [
    pytest.param(F.WEEKLY, None, False, D(2025, 1, 6), D(2025, 1, 6), D(2025, 1, 6), 0, id="due-today"),
    pytest.param(F.WEEKLY, None, False, D(2025, 1, 6), D(2025, 1, 6), D(2025, 1, 1), 0, id="not-yet-due"),
    pytest.param(F.WEEKLY, None, False, D(2025, 1, 6), None, D(2025, 1, 1), 0, id="no-due-date"),
    pytest.param(F.WEEKLY, None, False, D(2025, 1, 6), D(2025, 1, 6), D(2025, 1, 7), 1, id="one-day-late"),
    pytest.param(F.WEEKLY, None, False, D(2025, 1, 6), D(2025, 1, 6), D(2025, 1, 13), 1,
                 id="next-slot-today-is-not-missed-yet"),
    pytest.param(F.WEEKLY, None, False, D(2025, 1, 6), D(2025, 1, 6), D(2025, 1, 14), 2, id="two-cycles"),
    pytest.param(F.WEEKLY, None, False, D(2025, 1, 6), D(2025, 1, 6), D(2025, 2, 5), 5, id="five-cycles"),
    pytest.param(F.MONTHLY, None, False, D(2025, 1, 31), D(2025, 1, 31), D(2025, 3, 31), 2,
                 id="monthly-31st-through-feb"),
    pytest.param(F.MONTHLY, None, False, D(2025, 1, 31), D(2025, 1, 31), D(2025, 4, 1), 3,
                 id="monthly-31st-three"),
    pytest.param(F.ANNUAL, None, False, D(2024, 2, 29), D(2024, 2, 29), D(2028, 3, 1), 5, id="annual-leap"),
    pytest.param(F.CUSTOM, 10, False, D(2025, 1, 1), D(2025, 1, 1), D(2025, 1, 31), 3, id="custom-10"),
    pytest.param(F.DAILY, None, False, D(1950, 1, 1), D(1950, 1, 1), D(2025, 1, 1), 27394,
                 id="daily-for-decades-counted-not-walked"),
    pytest.param(F.WEEKLY, None, True, D(2025, 1, 6), D(2025, 1, 6), D(2025, 2, 5), 1, id="rolling-is-one"),
    pytest.param(F.ONCE, None, False, D(2025, 1, 6), D(2025, 1, 6), D(2025, 2, 5), 1, id="once-is-one"),
]


@pytest.mark.parametrize(("frequency", "interval_days", "rolling", "anchor", "due_date", "today", "expected"),
                         MISSED_CASES)
def test_missed_occurrences(frequency: F, interval_days: int | None, rolling: bool, anchor: date,
                            due_date: date | None, today: date, expected: int) -> None:
    assert missed_occurrences(frequency, interval_days, rolling, anchor, due_date, today) == expected


@pytest.mark.parametrize(("frequency", "interval_days"), [(F.WEEKLY, None), (F.MONTHLY, None), (F.CUSTOM, 9),
                                                          (F.ANNUAL, None)])
def test_missed_occurrences_agrees_with_walking_the_slots(frequency: F, interval_days: int | None) -> None:
    anchor = D(2024, 1, 31)
    step = period_step(frequency, interval_days)
    assert step is not None
    for late in range(0, 800, 13):
        today = anchor + timedelta(days=late)
        walked = sum(1 for k in range(0, 200) if step.after(anchor, k) < today)
        assert missed_occurrences(frequency, interval_days, False, anchor, anchor, today) == walked


@pytest.mark.parametrize(
    ("until", "valid"),
    [
        pytest.param(D(2025, 6, 14), False, id="yesterday"),
        pytest.param(D(2025, 6, 15), False, id="today"),
        pytest.param(D(2025, 6, 16), True, id="tomorrow"),
        pytest.param(D(2025, 6, 15) + timedelta(days=MAX_SNOOZE_DAYS), True, id="a-year"),
        pytest.param(D(2025, 6, 15) + timedelta(days=MAX_SNOOZE_DAYS + 1), False, id="over-a-year"),
    ],
)
def test_validate_snooze(until: date, valid: bool) -> None:
    assert (validate_snooze(until, D(2025, 6, 15)) is None) is valid


@pytest.mark.parametrize(
    ("snoozed_until", "today", "snoozed"),
    [
        pytest.param(None, D(2025, 6, 15), False, id="not-snoozed"),
        pytest.param(D(2025, 6, 20), D(2025, 6, 15), True, id="before-the-date"),
        pytest.param(D(2025, 6, 20), D(2025, 6, 19), True, id="the-day-before"),
        pytest.param(D(2025, 6, 20), D(2025, 6, 20), False, id="on-the-date-reminders-resume"),
        pytest.param(D(2025, 6, 20), D(2025, 7, 1), False, id="after"),
    ],
)
def test_reminders_snoozed(snoozed_until: date | None, today: date, snoozed: bool) -> None:
    assert reminders_snoozed(snoozed_until, today) is snoozed


@pytest.mark.parametrize("frequency", [F.MONTHLY, F.QUARTERLY, F.ANNUAL, F.WEEKLY], ids=str)
def test_fixed_schedule_completed_on_time_for_years_walks_the_anchor_slots(frequency: F) -> None:
    """Completing on each due date for years lands exactly on anchor + k steps (no month-end drift)."""
    anchor = D(2024, 1, 31)
    step = period_step(frequency, None)
    assert step is not None
    due = anchor
    for k in range(1, 40):
        following = next_due_date(frequency, None, False, anchor, due, due, today=due)
        assert following == step.after(anchor, k)
        due = following


def test_monthly_on_the_31st_is_back_on_the_31st_in_every_31_day_month() -> None:
    anchor = D(2024, 1, 31)
    due = anchor
    seen = []
    for _ in range(24):
        following = next_due_date(F.MONTHLY, None, False, anchor, due, due, today=due)
        assert following is not None
        due = following
        seen.append(due)
    assert [d for d in seen if d.month in (1, 3, 5, 7, 8, 10, 12) and d.day != 31] == []
    assert D(2024, 2, 29) in seen and D(2025, 2, 28) in seen


@pytest.mark.parametrize(
    ("now", "tz_name", "expected"),
    [
        pytest.param(datetime(2025, 3, 10, 23, 30, tzinfo=UTC), "Pacific/Auckland", D(2025, 3, 11),
                     id="2330utc-next-day-in-auckland"),
        pytest.param(datetime(2025, 3, 10, 23, 30, tzinfo=UTC), "America/Los_Angeles", D(2025, 3, 10),
                     id="2330utc-same-day-in-los-angeles"),
        pytest.param(datetime(2025, 3, 10, 2, 0, tzinfo=UTC), "America/Los_Angeles", D(2025, 3, 9),
                     id="early-utc-previous-day-in-los-angeles"),
        pytest.param(datetime(2025, 3, 10, 23, 30, tzinfo=UTC), "UTC", D(2025, 3, 10), id="utc"),
        pytest.param(datetime(2025, 3, 10, 23, 30, tzinfo=timezone(timedelta(hours=-5))), "UTC",
                     D(2025, 3, 11), id="non-utc-input-offset"),
        pytest.param(datetime(2025, 4, 5, 13, 30, tzinfo=UTC), "Pacific/Auckland", D(2025, 4, 6),
                     id="auckland-dst-ends-night"),
    ],
)
def test_local_dates(now: datetime, tz_name: str, expected: date) -> None:
    assert local_today(tz_name, now) == expected
    assert to_local_date(now, tz_name) == expected


def test_completion_at_2330_utc_schedules_from_the_residence_local_day() -> None:
    """The same instant completes a rolling daily task on different local days, so due dates differ."""
    instant = datetime(2025, 3, 10, 23, 30, tzinfo=UTC)
    in_auckland = to_local_date(instant, "Pacific/Auckland")
    in_la = to_local_date(instant, "America/Los_Angeles")
    assert next_due_date(F.DAILY, None, True, in_auckland, None, in_auckland, today=in_auckland) == D(2025, 3, 12)
    assert next_due_date(F.DAILY, None, True, in_la, None, in_la, today=in_la) == D(2025, 3, 11)


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        to_local_date(datetime(2025, 3, 10, 23, 30), "UTC")


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        pytest.param("UTC", True, id="utc"),
        pytest.param("Pacific/Auckland", True, id="auckland"),
        pytest.param("America/Los_Angeles", True, id="los-angeles"),
        pytest.param("America/Argentina/Buenos_Aires", True, id="three-part"),
        pytest.param("Mars/Olympus_Mons", False, id="unknown"),
        pytest.param("", False, id="empty"),
        pytest.param("utc", False, id="wrong-case"),
        pytest.param("../../etc/passwd", False, id="path-traversal"),
        pytest.param("/usr/share/zoneinfo/UTC", False, id="absolute-path"),
        pytest.param("localtime", False, id="server-localtime"),
        pytest.param("Factory", False, id="factory-placeholder"),
        pytest.param("+05:00", False, id="offset-not-a-zone"),
    ],
)
def test_validate_timezone(name: str, valid: bool) -> None:
    assert validate_timezone(name) is valid


TODAY = D(2025, 6, 15)


@pytest.mark.parametrize(
    ("cancelled", "completed", "in_progress", "due_date", "expected"),
    [
        pytest.param(True, True, True, D(2025, 6, 1), TaskColumn.CANCELLED, id="cancelled-beats-all"),
        pytest.param(True, False, False, None, TaskColumn.CANCELLED, id="cancelled-no-due"),
        pytest.param(False, True, True, D(2025, 6, 1), TaskColumn.COMPLETED, id="completed-beats-progress"),
        pytest.param(False, True, False, None, TaskColumn.COMPLETED, id="completed-once-no-due"),
        pytest.param(False, False, True, D(2025, 6, 1), TaskColumn.IN_PROGRESS,
                     id="in-progress-beats-overdue"),
        pytest.param(False, False, True, None, TaskColumn.IN_PROGRESS, id="in-progress-no-due"),
        pytest.param(False, False, False, D(2025, 6, 14), TaskColumn.OVERDUE, id="overdue-yesterday"),
        pytest.param(False, False, False, D(2024, 1, 1), TaskColumn.OVERDUE, id="overdue-long-ago"),
        pytest.param(False, False, False, D(2025, 6, 15), TaskColumn.DUE_SOON, id="due-today-is-due-soon"),
        pytest.param(False, False, False, D(2025, 7, 15), TaskColumn.DUE_SOON, id="due-in-30-days-inclusive"),
        pytest.param(False, False, False, D(2025, 7, 16), TaskColumn.UPCOMING, id="due-in-31-days"),
        pytest.param(False, False, False, None, TaskColumn.UPCOMING, id="no-due-date-upcoming"),
    ],
)
def test_task_column(
    cancelled: bool, completed: bool, in_progress: bool, due_date: date | None, expected: TaskColumn
) -> None:
    column = task_column(
        cancelled=cancelled, completed=completed, in_progress=in_progress, due_date=due_date, today=TODAY
    )
    assert column is expected
    assert column == expected.name  # plain-string equal to the GraphQL enum name


@pytest.mark.parametrize(
    ("due_soon_days", "due_date", "expected"),
    [
        pytest.param(7, D(2025, 6, 22), TaskColumn.DUE_SOON, id="window-7-edge"),
        pytest.param(7, D(2025, 6, 23), TaskColumn.UPCOMING, id="window-7-past-edge"),
        pytest.param(0, D(2025, 6, 15), TaskColumn.DUE_SOON, id="window-0-today"),
    ],
)
def test_task_column_custom_window(due_soon_days: int, due_date: date, expected: TaskColumn) -> None:
    column = task_column(cancelled=False, completed=False, in_progress=False, due_date=due_date,
                         today=TODAY, due_soon_days=due_soon_days)
    assert column is expected
