"""Task schedule rules: when a recurring task is next due, and which Kanban column it sits in.

Pure functions on dates, shared by the GraphQL resolvers (``completeTask``, ``Task.column``) and the
reminder workers, so both agree on what "due" and "overdue" mean. Every date here is a calendar date
in the residence's timezone; turning an instant into such a date is ``to_local_date``'s job.
"""

from __future__ import annotations

import calendar
import functools
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from honeydue.models.enums import TaskFrequency

DUE_SOON_DAYS = 30
# About a century: longer intervals are typos, and unbounded ones overflow date arithmetic.
MAX_INTERVAL_DAYS = 36600
# Dates users may set. The margin below ``date.max`` (9999-12-31) leaves room for centuries of steps,
# and the floor keeps aware datetimes convertible to any timezone (year 1 overflows west of UTC).
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DUE_DATE = date(9000, 12, 31)


class ScheduleOverflow(ValueError):
    """The next due date would fall outside the calendar ``datetime.date`` can represent."""


class TaskColumn(StrEnum):
    """The Kanban column of a task; values equal the GraphQL ``TaskColumn`` names."""

    OVERDUE = "OVERDUE"
    DUE_SOON = "DUE_SOON"
    UPCOMING = "UPCOMING"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


def add_months(d: date, n: int) -> date:
    """``d`` moved by ``n`` calendar months, clamped to the end of a shorter month (Jan 31 + 1 = Feb 28/29).

    Raises ScheduleOverflow past year 9999 (or before year 1).
    """
    month_index = d.year * 12 + (d.month - 1) + n
    year, month = divmod(month_index, 12)
    month += 1
    if not date.min.year <= year <= date.max.year:
        raise ScheduleOverflow(f"{d} + {n} months is outside the calendar")
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Period:
    """One step of a schedule: a number of days or a number of calendar months (never both)."""

    days: int = 0
    months: int = 0

    def after(self, d: date, times: int = 1) -> date:
        """``d`` moved forward by ``times`` steps, computed in one go from ``d`` so month ends do not drift.

        Raises ScheduleOverflow when the result is not a representable date.
        """
        if self.months:
            return add_months(d, self.months * times)
        try:
            return d + timedelta(days=self.days * times)
        except OverflowError:
            raise ScheduleOverflow(f"{d} + {self.days * times} days is outside the calendar") from None


_FIXED_PERIODS: dict[TaskFrequency, Period] = {
    TaskFrequency.DAILY: Period(days=1),
    TaskFrequency.WEEKLY: Period(days=7),
    TaskFrequency.BIWEEKLY: Period(days=14),
    TaskFrequency.MONTHLY: Period(months=1),
    TaskFrequency.QUARTERLY: Period(months=3),
    TaskFrequency.ANNUAL: Period(months=12),
}


def validate_schedule(frequency: TaskFrequency | str, interval_days: int | None) -> str | None:
    """The user-facing error of a frequency/interval pair, or None when it is valid.

    CUSTOM needs ``1 <= interval_days <= MAX_INTERVAL_DAYS``. Other frequencies ignore ``interval_days``
    rather than refuse it: API.md makes it "required only for CUSTOM", and an ``updateTask`` that
    switches a CUSTOM task to WEEKLY should not also have to null the old interval. Store
    ``stored_interval_days(...)`` so the ignored value does not linger in the row.
    """
    try:
        frequency = TaskFrequency(frequency)
    except ValueError:
        return f"Unknown frequency {frequency!r}."
    if frequency is TaskFrequency.CUSTOM and (interval_days is None or not 1 <= interval_days <= MAX_INTERVAL_DAYS):
        return f"A CUSTOM schedule needs intervalDays from 1 to {MAX_INTERVAL_DAYS}."
    return None


def validate_due_date(due: date | None) -> str | None:
    """The user-facing error of a due date a user sets, or None when it is valid (None, "no date", is)."""
    if due is not None and not EARLIEST_DATE <= due <= LATEST_DUE_DATE:
        return f"Due dates must be between {EARLIEST_DATE.isoformat()} and {LATEST_DUE_DATE.isoformat()}."
    return None


def stored_interval_days(frequency: TaskFrequency | str, interval_days: int | None) -> int | None:
    """The interval worth storing: only CUSTOM schedules keep one (see ``validate_schedule``)."""
    return interval_days if TaskFrequency(frequency) is TaskFrequency.CUSTOM else None


def period_step(frequency: TaskFrequency | str, interval_days: int | None) -> Period | None:
    """The step between two due dates of ``frequency``; None for ONCE, which does not recur.

    Raises ValueError for a CUSTOM schedule without a valid interval (``validate_schedule`` keeps those
    out of the database, so meeting one here is a bug, not a user error).
    """
    frequency = TaskFrequency(frequency)
    if frequency is TaskFrequency.ONCE:
        return None
    if frequency is TaskFrequency.CUSTOM:
        if interval_days is None or interval_days < 1:
            raise ValueError(f"CUSTOM schedule with invalid interval_days={interval_days!r}")
        return Period(days=interval_days)
    return _FIXED_PERIODS[frequency]


def _first_slot_after(anchor: date, step: Period, threshold: date) -> date:
    """The earliest ``anchor + k * step`` (any integer k) that is strictly after ``threshold``.

    Slots are always counted from the anchor, never from the previous slot, so a schedule anchored on
    the 31st comes back to the 31st after passing through February.
    """
    if step.months:
        months_apart = (threshold.year - anchor.year) * 12 + (threshold.month - anchor.month)
        # One step below the estimate is certain to be in an earlier month than the threshold.
        k = months_apart // step.months - 1
    else:
        k = (threshold - anchor).days // step.days
    while step.after(anchor, k) <= threshold:
        k += 1
    return step.after(anchor, k)


def next_due_date(
    frequency: TaskFrequency | str,
    interval_days: int | None,
    rolling: bool,
    anchor: date,
    current_due: date | None,
    completed_on: date,
    *,
    today: date,
) -> date | None:
    """The due date a task gets when it is completed on ``completed_on`` (residence-local dates).

    * ONCE: None, the task is done.
    * rolling: one period after the completion, however early or late it was.
    * fixed: the first occurrence of the schedule anchored at ``anchor`` strictly after both the completion
      and the current due date. A task three periods late therefore moves to the first occurrence after the
      completion (one completion, not three catch-ups: the missed cycles were shown as one overdue task), and
      a task done early moves past its current due date instead of staying due on the day it was done for.
    * never in the past: when that date is before ``today`` (a completion recorded days after it happened),
      it is the first occurrence on or after ``today`` instead: for fixed schedules the first slot from
      today on, for rolling ones today itself (a period has already passed since it was done).

    Raises ScheduleOverflow when that date would be past year 9999 (a user error: the schedule has run
    off the calendar, which bounded due dates and intervals make take centuries of completions).
    """
    step = period_step(frequency, interval_days)
    if step is None:
        return None
    if rolling:
        return max(step.after(completed_on), today)
    threshold = completed_on if current_due is None else max(completed_on, current_due)
    # "Strictly after the day before today" is "on or after today".
    return _first_slot_after(anchor, step, max(threshold, today - timedelta(days=1)))


def skipped_due_date(
    frequency: TaskFrequency | str,
    interval_days: int | None,
    rolling: bool,
    anchor: date,
    current_due: date | None,
    *,
    today: date,
) -> date | None:
    """The due date a task gets when its current occurrence is skipped on ``today`` (skipTaskOccurrence).

    The schedule moves on as if the occurrence had been done on its due date, or today when that is later
    (an overdue task skips every missed cycle at once): fixed schedules go to the first slot after it,
    rolling ones one period after it. A task without a due date skips today's occurrence. None for ONCE,
    which has no next occurrence (callers refuse to skip it).
    """
    skipped_on = today if current_due is None else max(current_due, today)
    return next_due_date(frequency, interval_days, rolling, anchor, current_due, skipped_on, today=today)


def missed_occurrences(
    frequency: TaskFrequency | str, interval_days: int | None, rolling: bool, anchor: date,
    due_date: date | None, today: date,
) -> int:
    """How many occurrences of a recurring task are due and not done on ``today``: 0 when it is not overdue.

    An overdue task is shown once, due on its oldest missed date (``due_date`` stays put until it is done or
    skipped); this counts the cycles that one entry stands for. A rolling schedule has no occurrences of its
    own after the missed one, so it counts 1; a fixed one counts its slots from ``due_date`` through today.
    """
    step = period_step(frequency, interval_days)
    if due_date is None or due_date >= today:
        return 0
    if step is None or rolling:
        return 1
    # Slots strictly after the missed date and before today, counted without walking them (a daily task
    # missed for decades is one subtraction).
    first = _first_slot_after(anchor, step, due_date)
    if first >= today:
        return 1
    end = _first_slot_after(anchor, step, today - timedelta(days=1))  # the first slot on or after today
    if step.months:
        return 1 + ((end.year - first.year) * 12 + end.month - first.month) // step.months
    return 1 + (end - first).days // step.days


# At most this far ahead may a task's reminders be snoozed (snoozeTask).
MAX_SNOOZE_DAYS = 365


def validate_snooze(until: date, today: date) -> str | None:
    """The user-facing error of a snooze date, or None: it must be after ``today`` and at most a year ahead."""
    if until <= today:
        return "A snooze must end after today."
    if until > today + timedelta(days=MAX_SNOOZE_DAYS):
        return f"A snooze may last at most {MAX_SNOOZE_DAYS} days."
    return None


def reminders_snoozed(snoozed_until: date | None, today: date) -> bool:
    """Whether a task's reminders are held back on ``today``: until its snooze date, which is itself reminded."""
    return snoozed_until is not None and today < snoozed_until


@functools.cache
def _known_timezones() -> frozenset[str]:
    # "localtime" follows whatever the server is set to and "Factory" is a placeholder zone; neither
    # means a place, so a residence may not use them.
    return frozenset(zoneinfo.available_timezones() - {"localtime", "Factory"})


def validate_timezone(name: str) -> bool:
    """Whether ``name`` is an IANA timezone a residence may use (e.g. "Pacific/Auckland", "UTC")."""
    return name in _known_timezones()


def to_local_date(dt: datetime, tz_name: str) -> date:
    """The calendar date the instant ``dt`` falls on in ``tz_name``.

    Naive datetimes are refused: the ORM runs with ``use_tz``, so a naive value means someone dropped
    the timezone, and guessing one would silently shift completions across midnight.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("to_local_date needs a timezone-aware datetime")
    return dt.astimezone(zoneinfo.ZoneInfo(tz_name)).date()


def local_today(tz_name: str, now: datetime) -> date:
    """Today's date in ``tz_name`` at the instant ``now`` (passed in so callers and tests control the clock)."""
    return to_local_date(now, tz_name)


def task_column(
    *,
    cancelled: bool,
    completed: bool,
    in_progress: bool,
    due_date: date | None,
    today: date,
    due_soon_days: int = DUE_SOON_DAYS,
) -> TaskColumn:
    """The Kanban column of a task; the first matching rule wins, in the order API.md lists them.

    DUE_SOON covers today through ``today + due_soon_days`` inclusive; a task with no due date (a
    recurring task whose date was cleared) is UPCOMING rather than hidden.
    """
    if cancelled:
        return TaskColumn.CANCELLED
    if completed:
        return TaskColumn.COMPLETED
    if in_progress:
        return TaskColumn.IN_PROGRESS
    if due_date is None:
        return TaskColumn.UPCOMING
    if due_date < today:
        return TaskColumn.OVERDUE
    if due_date <= today + timedelta(days=due_soon_days):
        return TaskColumn.DUE_SOON
    return TaskColumn.UPCOMING
