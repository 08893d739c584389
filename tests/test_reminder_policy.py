"""Table-driven tests of the reminder policy (workers/reminder_policy.py)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from honeydue.models.enums import TaskFrequency as F
from workers.reminder_policy import due_soon_stage, lead_days, overdue_stage, warranty_stage

DUE = date(2025, 3, 31)

# The product's lead times, written out here independently of the module's table.
EXPECTED_LEADS: dict[tuple[F, int | None], set[int]] = {
    (F.ANNUAL, None): {30, 14, 7, 0},
    (F.QUARTERLY, None): {7, 3},
    (F.MONTHLY, None): {3},
    (F.BIWEEKLY, None): {1},
    (F.WEEKLY, None): {0},
    (F.DAILY, None): {0},
    (F.ONCE, None): {0},
    (F.CUSTOM, None): {0},
    (F.CUSTOM, 1): {0},
    (F.CUSTOM, 13): {0},
    (F.CUSTOM, 14): {1},
    (F.CUSTOM, 45): {3},
    (F.CUSTOM, 180): {7, 3},
    (F.CUSTOM, 730): {30, 14, 7, 0},
}


def _due_soon_cases() -> list:
    cases = []
    for (frequency, interval_days), leads in EXPECTED_LEADS.items():
        name = f"{frequency}" + (f"{interval_days}" if interval_days is not None else "")
        for days_before in range(-2, 33):
            expected = f"due-{days_before}" if days_before in leads else None
            cases.append(pytest.param(frequency, interval_days, days_before, expected,
                                      id=f"{name}-{days_before}d-before"))
    return cases


@pytest.mark.parametrize(("frequency", "interval_days", "days_before", "expected"), _due_soon_cases())
def test_due_soon_stage(frequency: F, interval_days: int | None, days_before: int, expected: str | None) -> None:
    today = DUE - timedelta(days=days_before)
    assert due_soon_stage(frequency, DUE, today, interval_days=interval_days) == expected


@pytest.mark.parametrize(
    ("frequency", "interval_days", "expected"),
    [pytest.param(f, i, tuple(sorted(leads, reverse=True)), id=f"{f}-{i}") for (f, i), leads in
     EXPECTED_LEADS.items()],
)
def test_lead_days(frequency: F, interval_days: int | None, expected: tuple[int, ...]) -> None:
    assert lead_days(frequency, interval_days) == expected


@pytest.mark.parametrize("interval_days", [14, 28, 90, 365], ids=lambda i: f"custom-{i}")
def test_custom_lead_times_never_reach_the_previous_due_date(interval_days: int) -> None:
    assert max(lead_days(F.CUSTOM, interval_days)) < interval_days


def test_due_soon_stage_accepts_plain_string_frequency_and_no_due_date() -> None:
    assert due_soon_stage("ANNUAL", DUE, DUE - timedelta(days=14)) == "due-14"
    assert due_soon_stage(F.ANNUAL, None, DUE) is None


@pytest.mark.parametrize(
    ("days_overdue", "expected"),
    [
        pytest.param(-1, None, id="not-yet-due"),
        pytest.param(0, None, id="due-today-is-not-overdue"),
        pytest.param(1, "overdue-1", id="day-1"),
        pytest.param(2, "overdue-2", id="day-2"),
        pytest.param(3, "overdue-3", id="day-3"),
        pytest.param(4, None, id="day-4-taper"),
        pytest.param(5, None, id="day-5-taper"),
        pytest.param(6, "overdue-6", id="day-6"),
        pytest.param(7, None, id="day-7"),
        pytest.param(8, None, id="day-8"),
        pytest.param(9, "overdue-9", id="day-9"),
        pytest.param(10, None, id="day-10"),
        pytest.param(11, None, id="day-11"),
        pytest.param(12, "overdue-12", id="day-12"),
        pytest.param(13, None, id="day-13"),
        pytest.param(14, None, id="day-14-last-day-nothing-due"),
        pytest.param(15, None, id="day-15-stopped"),
        pytest.param(16, None, id="day-16-stopped"),
        pytest.param(400, None, id="long-stopped"),
    ],
)
def test_overdue_stage(days_overdue: int, expected: str | None) -> None:
    assert overdue_stage(DUE, DUE + timedelta(days=days_overdue)) == expected


def test_overdue_stage_without_due_date() -> None:
    assert overdue_stage(None, DUE) is None


def test_a_task_is_never_due_soon_and_overdue_on_the_same_day() -> None:
    for frequency in F:
        for offset in range(-40, 40):
            today = DUE + timedelta(days=offset)
            assert not (due_soon_stage(frequency, DUE, today) and overdue_stage(DUE, today))


@pytest.mark.parametrize(
    ("days_before", "expected"),
    [
        pytest.param(31, None, id="31-days"),
        pytest.param(30, "warranty-30", id="30-days"),
        pytest.param(29, None, id="29-days"),
        pytest.param(8, None, id="8-days"),
        pytest.param(7, "warranty-7", id="7-days"),
        pytest.param(6, None, id="6-days"),
        pytest.param(0, None, id="expires-today"),
        pytest.param(-7, None, id="expired"),
    ],
)
def test_warranty_stage(days_before: int, expected: str | None) -> None:
    assert warranty_stage(DUE, DUE - timedelta(days=days_before)) == expected


def test_warranty_stage_across_a_year_end() -> None:
    assert warranty_stage(date(2026, 1, 5), date(2025, 12, 6)) == "warranty-30"
    assert warranty_stage(None, date(2025, 12, 6)) is None


# Snooze (snoozeTask): (days overdue today, snoozed until (days from today), expected stage)
@pytest.mark.parametrize(
    ("days_overdue", "until", "expected"),
    [
        pytest.param(2, 3, None, id="taper-day-held-back"),
        pytest.param(7, 0, "overdue-7", id="snooze-ends-today-off-the-taper"),
        pytest.param(40, 0, "overdue-40", id="snooze-ends-past-the-taper"),
        pytest.param(9, -2, "overdue-9", id="after-the-snooze-the-taper"),
        pytest.param(7, -2, None, id="after-the-snooze-off-the-taper"),
        pytest.param(0, 0, None, id="due-today-is-not-overdue"),
    ],
)
def test_overdue_stage_with_a_snooze(days_overdue: int, until: int, expected: str | None) -> None:
    today = date(2025, 6, 15)
    due = today - timedelta(days=days_overdue)
    assert overdue_stage(due, today, snoozed_until=today + timedelta(days=until)) == expected


def test_due_soon_stage_is_held_back_while_snoozed() -> None:
    today = date(2025, 6, 15)
    due = today + timedelta(days=14)
    assert due_soon_stage(F.ANNUAL, due, today, snoozed_until=today + timedelta(days=1)) is None
    assert due_soon_stage(F.ANNUAL, due, today, snoozed_until=today) == "due-14"
