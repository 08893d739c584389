"""The calendar feed's body: an RFC 5545 ``VCALENDAR`` of a user's open tasks, built with ``icalendar``.

Pure: rows in, bytes out, nothing read from the clock, so the same data renders the same bytes and the
body's hash is a sound ETag (honeydue.calendar_route). Per task, one all-day ``VEVENT``:

* ``DTSTART`` (a DATE) is the task's due date as the schedule keeps it; ``DTEND`` the day after.
* Fixed schedules recur (``RRULE``) the way ``honeydue.schedule`` counts slots: DAILY, WEEKLY, BIWEEKLY
  (``WEEKLY;INTERVAL=2``), MONTHLY, QUARTERLY (``MONTHLY;INTERVAL=3``), ANNUAL (``YEARLY``) and CUSTOM
  (``DAILY;INTERVAL=n``). Month-based schedules anchored past the 28th clamp to shorter months as the
  schedule does (Jan 31 -> Feb 28 -> Mar 31): ``BYMONTHDAY=28,...,<anchor day>;BYSETPOS=-1``, the last
  existing day of that set. Rolling schedules and ONCE tasks get no rule: their next date depends on when
  they are done.
* ``UID`` is ``task-<id>@honeydue``, stable across renders and rotations, so calendar apps update the
  event in place.
* ``DTSTAMP`` and ``LAST-MODIFIED`` are the task's ``updated_at``: a feed without ``METHOD`` uses DTSTAMP for
  when the information was last revised (RFC 5545 3.8.7.2), and keeping it off the clock keeps the body stable.
* The alarm: at the member's due-soon hour (``NotificationPreference.hour_of_day``, default 20) on the day
  before, as a trigger relative to the start (``-PT4H`` for 20:00). A relative trigger is the only kind every
  occurrence of a recurring event gets; on an all-day (floating) event it fires at that hour in the calendar
  app's timezone, which is the residence's for a member at home. No alarm when the member turned due-soon
  reminders off.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from icalendar import Alarm, Calendar, Event, vDuration

from honeydue.models.enums import TaskFrequency

PRODID = "-//honeydue//calendar feed 1//EN"
# RFC 7986 REFRESH-INTERVAL (and the older X-PUBLISHED-TTL): how often a subscribed calendar should poll.
REFRESH_INTERVAL = timedelta(hours=1)
# Text values lose every control character but tab and newline (icalendar escapes newlines as \n); CR LF and
# lone CR become LF. RFC 5545 TEXT allows no other control character, and a stray one can end a line early.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

# frequency -> (RRULE FREQ, INTERVAL, months per step or 0 for day-based steps)
_RULES: dict[TaskFrequency, tuple[str, int, int]] = {
    TaskFrequency.DAILY: ("DAILY", 1, 0),
    TaskFrequency.WEEKLY: ("WEEKLY", 1, 0),
    TaskFrequency.BIWEEKLY: ("WEEKLY", 2, 0),
    TaskFrequency.MONTHLY: ("MONTHLY", 1, 1),
    TaskFrequency.QUARTERLY: ("MONTHLY", 3, 3),
    TaskFrequency.ANNUAL: ("YEARLY", 1, 12),
}


@dataclass(frozen=True)
class FeedResidence:
    id: uuid.UUID
    name: str
    address: str


@dataclass(frozen=True)
class FeedTask:
    id: uuid.UUID
    residence_id: uuid.UUID
    title: str
    description: str
    frequency: TaskFrequency
    interval_days: int | None
    rolling: bool
    anchor_date: date | None
    due_date: date
    created_at: datetime
    updated_at: datetime
    link: str  # the app link back to the task


def clean_text(value: str) -> str:
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def recurrence(task: FeedTask) -> dict[str, Any] | None:
    """The task's RRULE as icalendar's ``vRecur`` parts, or None when it does not recur on a fixed schedule."""
    frequency = TaskFrequency(task.frequency)
    if task.rolling or frequency is TaskFrequency.ONCE:
        return None
    if frequency is TaskFrequency.CUSTOM:
        if not task.interval_days or task.interval_days < 1:
            return None
        return {"FREQ": "DAILY", "INTERVAL": task.interval_days}
    freq, interval, months = _RULES[frequency]
    rule: dict[str, Any] = {"FREQ": freq}
    if interval > 1:
        rule["INTERVAL"] = interval
    anchor_day = (task.anchor_date or task.due_date).day
    if months and anchor_day > 28:
        if freq == "YEARLY":
            anchor_month = (task.anchor_date or task.due_date).month
            if anchor_month == 2:  # Feb 29: Feb 28 in common years, as the schedule clamps it
                rule.update(BYMONTH=2, BYMONTHDAY=[28, 29], BYSETPOS=-1)
        else:
            rule.update(BYMONTHDAY=list(range(28, anchor_day + 1)), BYSETPOS=-1)
    return rule


def alarm_trigger(hour_of_day: int) -> timedelta:
    """The alarm's offset from the start of an all-day event: ``hour_of_day`` o'clock on the day before."""
    return -timedelta(hours=24 - hour_of_day)


def _event(task: FeedTask, residence: FeedResidence, reminder_hour: int | None) -> Event:
    event = Event()
    event.add("uid", f"task-{task.id}@honeydue")
    event.add("dtstamp", task.updated_at)
    event.add("last-modified", task.updated_at)
    event.add("created", task.created_at)
    event.add("summary", clean_text(task.title))
    event.add("dtstart", task.due_date)
    event.add("dtend", task.due_date + timedelta(days=1))
    event.add("transp", "TRANSPARENT")  # a chore's day is not a busy day
    location = clean_text(residence.name)
    if residence.address.strip():
        location = f"{location}, {clean_text(residence.address).strip()}"
    event.add("location", location)
    event.add("url", task.link)
    description = clean_text(task.description).strip()
    event.add("description", f"{description}\n\n{task.link}" if description else task.link)
    rule = recurrence(task)
    if rule is not None:
        event.add("rrule", rule)
    if reminder_hour is not None:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", clean_text(task.title))
        alarm.add("trigger", alarm_trigger(reminder_hour), parameters={"RELATED": "START"})
        event.add_component(alarm)
    return event


def render_feed(name: str, tasks: Sequence[FeedTask], residences: Mapping[uuid.UUID, FeedResidence],
                reminder_hour: int | None) -> bytes:
    """The feed's bytes: one event per task (in the order given), an alarm on each unless ``reminder_hour``
    is None."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("name", clean_text(name))
    calendar.add("x-wr-calname", clean_text(name))
    calendar.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH_INTERVAL))
    for task in tasks:
        calendar.add_component(_event(task, residences[task.residence_id], reminder_hour))
    return calendar.to_ical()
