"""When reminders are due: lead times before a task's due date, the overdue taper, warranty expiry.

Pure functions of (due date, today) returning a *stage* name such as ``"due-30"``, ``"overdue-6"`` or
``"warranty-7"``, or None when nothing is due today. The reminder job writes one ``ReminderLog`` row per
(subject, user, due date, stage), so a stage is sent at most once however often the job runs.
``today`` is the residence-local date (``honeydue.schedule.local_today``).

Stages fire on their exact day only; there is no catch-up. If the daily job misses a day (an outage),
that day's stages are skipped rather than sent late: a "due in 3 days" that arrives two days late is
wrong, and after an outage several stages of many tasks would otherwise go out in one burst. Every
schedule has a later stage that still fires (the next lead time, the due day, the overdue taper), so a
missed day costs one nudge, never the only one. Replaying a missed day on purpose is the job's
business: it can pass that day's date as ``today``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from types import MappingProxyType

from honeydue.models.enums import TaskFrequency
from honeydue.schedule import reminders_snoozed

# Days before the due date on which a due-soon reminder goes out (0 = on the day), per frequency.
# Shorter schedules get fewer and shorter lead times so reminders never overlap the previous occurrence.
DUE_SOON_LEAD_DAYS: Mapping[TaskFrequency, tuple[int, ...]] = MappingProxyType({
    TaskFrequency.ANNUAL: (30, 14, 7, 0),
    TaskFrequency.QUARTERLY: (7, 3),
    TaskFrequency.MONTHLY: (3,),
    TaskFrequency.BIWEEKLY: (1,),
    TaskFrequency.WEEKLY: (0,),
    TaskFrequency.DAILY: (0,),
    TaskFrequency.ONCE: (0,),
    TaskFrequency.CUSTOM: (0,),
})

# A CUSTOM task is reminded like the longest named frequency its interval is at least as long as
# (minimum interval in days -> frequency), so a 180-day filter change gets the quarterly heads-up
# instead of only an on-the-day note; by construction no lead time reaches back past the previous due date.
_CUSTOM_LIKE: tuple[tuple[int, TaskFrequency], ...] = (
    (365, TaskFrequency.ANNUAL),
    (90, TaskFrequency.QUARTERLY),
    (28, TaskFrequency.MONTHLY),
    (14, TaskFrequency.BIWEEKLY),
)

# Overdue taper: every day for the first days, then every few days, then silence.
OVERDUE_DAILY_UNTIL = 3
OVERDUE_EVERY = 3
OVERDUE_STOP_AFTER = 14
OVERDUE_DAYS: tuple[int, ...] = (
    *range(1, OVERDUE_DAILY_UNTIL + 1),
    *range(OVERDUE_DAILY_UNTIL + OVERDUE_EVERY, OVERDUE_STOP_AFTER + 1, OVERDUE_EVERY),
)  # (1, 2, 3, 6, 9, 12)

WARRANTY_LEAD_DAYS: tuple[int, ...] = (30, 7)


def lead_days(frequency: TaskFrequency | str, interval_days: int | None = None) -> tuple[int, ...]:
    """The due-soon lead times of a schedule, in days before the due date (0 = on the day).

    ``interval_days`` matters only for CUSTOM (see ``_CUSTOM_LIKE``); without one a CUSTOM task is
    reminded on the day, like the other short schedules.
    """
    frequency = TaskFrequency(frequency)
    if frequency is TaskFrequency.CUSTOM and interval_days is not None:
        for minimum, like in _CUSTOM_LIKE:
            if interval_days >= minimum:
                return DUE_SOON_LEAD_DAYS[like]
    return DUE_SOON_LEAD_DAYS[frequency]


def due_soon_stage(
    frequency: TaskFrequency | str,
    due_date: date | None,
    today: date,
    *,
    interval_days: int | None = None,
    snoozed_until: date | None = None,
) -> str | None:
    """``"due-N"`` when today is exactly one of the schedule's lead times (N days) before the due date.

    None while the task is snoozed (before ``snoozed_until``); the lead stages after it still fire.
    """
    if due_date is None or reminders_snoozed(snoozed_until, today):
        return None
    days_before = (due_date - today).days
    return f"due-{days_before}" if days_before in lead_days(frequency, interval_days) else None


def overdue_stage(due_date: date | None, today: date, *, snoozed_until: date | None = None) -> str | None:
    """``"overdue-N"`` when the task is N days overdue and N is a day of the taper (1, 2, 3, 6, 9, 12).

    A snooze (``snoozed_until``) holds the stages back before its date and adds one on it: an overdue task
    whose snooze ends today is reminded whatever the taper says, so a snooze past the taper's end still ends
    with a nudge.
    """
    if due_date is None or reminders_snoozed(snoozed_until, today):
        return None
    days_overdue = (today - due_date).days
    if days_overdue > 0 and (days_overdue in OVERDUE_DAYS or snoozed_until == today):
        return f"overdue-{days_overdue}"
    return None


def warranty_stage(expires_at: date | None, today: date) -> str | None:
    """``"warranty-N"`` when a document expires in exactly N days, N being 30 or 7."""
    if expires_at is None:
        return None
    days_before = (expires_at - today).days
    return f"warranty-{days_before}" if days_before in WARRANTY_LEAD_DAYS else None
