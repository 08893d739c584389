"""Due-soon, overdue and warranty reminders, each delivered at the hour its recipient chose.

The jobs run hourly (``REMINDER_CRON``, ``0 * * * *`` by default). A run reminds a member about a type only
when the member's ``NotificationPreference.hour_of_day`` for that type is the current hour in the
residence's timezone; no preference row means on, at 20 (20:00 local, not 20:00 UTC: a fixed UTC hour
would be 04:00 in Singapore). ``reminder_hours`` also serves hours a daylight-saving jump skipped, so a
02:00 preference is met at 03:00 on the spring-forward night instead of not at all. The stage ("due-7",
"overdue-3", ...) is computed from the residence-local date at the run's instant, so two members of one
residence with different hours get the same day's stage, each in their own hour.

Each reminder is a (subject, user, due date, stage) tuple: the ``ReminderLog`` row for it is inserted in the
same transaction as the ``Notification`` row, and the table's unique key turns a second attempt (the job run
twice in an hour, a retried message, two workers racing, the repeated hour when clocks fall back) into an
IntegrityError that is skipped. External channels (email) are tried after the commit, at most once per
reminder: a failed email is logged, the in-app notification already exists. A run that does not happen
(an outage) is not caught up later; see ``workers.reminder_policy``.

A snoozed task (``Task.snoozed_until``, snoozeTask) gets no reminder while its residence's today is before
that date. On the date itself an overdue task is reminded whatever the taper says (its "overdue-N" stage of
that day), so a snooze past the taper's end still ends with a nudge; a task not yet due just resumes its
lead stages.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from honeydue.models import (
    Document,
    Membership,
    Notification,
    NotificationPreference,
    NotificationType,
    ReminderLog,
    Residence,
    ResidenceRole,
    Task,
    User,
)
from honeydue.schedule import local_today
from workers.notify import Channel
from workers.paging import pages
from workers.reminder_policy import (
    DUE_SOON_LEAD_DAYS,
    OVERDUE_DAYS,
    due_soon_stage,
    overdue_stage,
    warranty_stage,
)

log = logging.getLogger(__name__)

# Residence-local dates are within one day of the UTC date (UTC-12 .. UTC+14), so widening each
# candidate window by a day on both sides never misses a residence.
TZ_SLACK = timedelta(days=1)
# The hour a member without a preference row is reminded at: the model's own default, so the API's
# "unset" and the worker's cannot disagree.
DEFAULT_HOUR: int = NotificationPreference._meta.fields_map["hour_of_day"].default


@dataclass
class ReminderReport:
    sent: int = 0
    already_sent: int = 0


def _days_word(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def reminder_hours(tz_name: str, now: datetime) -> frozenset[int]:
    """The preference hours the hourly run at ``now`` serves in ``tz_name``.

    Normally just the local hour. When a daylight-saving jump skipped local hours since the run an hour
    earlier (02:00 -> 03:00, or midnight -> 01:00), those hours are served too, or their members would miss
    that day's stage. A repeated hour (clocks going back) is served twice; the reminder log dedupes it.
    """
    zone = ZoneInfo(tz_name)
    current = now.astimezone(zone)
    previous = (now - timedelta(hours=1)).astimezone(zone)
    first = previous.hour + 1 if previous.date() == current.date() else 0
    return frozenset(range(min(first, current.hour), current.hour + 1))


class _Recipients:
    """Members of a residence who want a notification type at this run's local hour, cached for one run."""

    def __init__(self, ntype: NotificationType, now: datetime,
                 roles: Sequence[ResidenceRole] | None = None) -> None:
        self.ntype = ntype
        self.now = now
        self.roles = roles
        self._cache: dict[uuid.UUID, list[User]] = {}

    async def of(self, residence: Residence) -> list[User]:
        if residence.id not in self._cache:
            self._cache[residence.id] = await self._load(residence)
        return self._cache[residence.id]

    async def _load(self, residence: Residence) -> list[User]:
        hours = reminder_hours(residence.timezone, self.now)
        query = Membership.filter(residence_id=residence.id)
        if self.roles:
            query = query.filter(role__in=list(self.roles))
        users = [m.user for m in await query.prefetch_related("user")]
        if not users:
            return []
        # A missing preference row means "on, at DEFAULT_HOUR".
        chosen: dict[uuid.UUID, tuple[bool, int]] = {
            user_id: (enabled, hour)
            for user_id, enabled, hour in await NotificationPreference.filter(
                user_id__in=[u.id for u in users], type=self.ntype
            ).values_list("user_id", "enabled", "hour_of_day")
        }
        wanted = []
        for user in users:
            enabled, hour = chosen.get(user.id, (True, DEFAULT_HOUR))
            if enabled and hour in hours:
                wanted.append(user)
        return wanted


async def deliver(
    *,
    user: User,
    subject_id: uuid.UUID,
    due_date: date,
    stage: str,
    ntype: NotificationType,
    title: str,
    body: str,
    channels: Sequence[Channel],
    task: Task | None = None,
    document: Document | None = None,
) -> bool:
    """Record and send one reminder stage; False when that stage was already sent to this user."""
    try:
        async with in_transaction():
            await ReminderLog.create(subject_id=subject_id, user_id=user.id, due_date=due_date, stage=stage)
            notification = await Notification.create(
                user=user, type=ntype, title=title[:200], body=body, task=task, document=document
            )
    except IntegrityError:
        return False
    for channel in channels:
        try:
            await channel.send(user, notification)
        except Exception:  # one broken channel must not stop the others or the rest of the run
            log.exception("reminder %s for user %s not sent via %s", stage, user.id, type(channel).__name__)
    return True


def _active_tasks(first_due: date, last_due: date, snooze_ending: tuple[date, date] | None = None) -> QuerySet:
    """Open tasks due within the window (or, with ``snooze_ending``, whose snooze ends within that one)."""
    due = Q(due_date__gte=first_due, due_date__lte=last_due)
    if snooze_ending is not None:
        due = due | Q(snoozed_until__gte=snooze_ending[0], snoozed_until__lte=snooze_ending[1],
                      due_date__isnull=False)
    return Task.filter(due, cancelled=False, archived=False, completed=False).select_related("residence")


def _due_date(subject: Task | Document) -> date:
    """The date a subject's reminder stages count from: a task's due date, a document's expiry."""
    due = subject.due_date if isinstance(subject, Task) else subject.expires_at
    assert due is not None  # every window filters on it
    return due


async def _remind(
    label: str,
    ntype: NotificationType,
    now: datetime,
    channels: Sequence[Channel],
    window: QuerySet,
    stage_of: Callable[[Any, date], str | None],
    says: Callable[[Any, date, int], tuple[str, str]],
    roles: Sequence[ResidenceRole] | None = None,
) -> ReminderReport:
    """One run of a reminder job: each subject (task or document) in ``window`` with a stage on its residence's
    local today is sent to the residence's members (of ``roles``) who want ``ntype`` at this hour, with the
    title and body ``says`` gives for its due date and the days from that today to it (negative: overdue)."""
    report = ReminderReport()
    recipients = _Recipients(ntype, now, roles=roles)
    async for page in pages(window):
        for subject in page:
            today = local_today(subject.residence.timezone, now)
            stage = stage_of(subject, today)
            if stage is None:
                continue
            due_date = _due_date(subject)
            title, body = says(subject, due_date, (due_date - today).days)
            for user in await recipients.of(subject.residence):
                sent = await deliver(
                    user=user, subject_id=subject.id, due_date=due_date, stage=stage, ntype=ntype, title=title,
                    body=body, channels=channels, task=subject if isinstance(subject, Task) else None,
                    document=subject if isinstance(subject, Document) else None,
                )
                if sent:
                    report.sent += 1
                else:
                    report.already_sent += 1
    log.info("%s reminders: %d sent, %d already sent", label, report.sent, report.already_sent)
    return report


def _due_soon_says(task: Task, due_date: date, days: int) -> tuple[str, str]:
    title = f"{task.title} is due today" if days == 0 else f"{task.title} is due in {_days_word(days)}"
    return title, f"{task.residence.name}: due {due_date.isoformat()}."


def _overdue_says(task: Task, due_date: date, days: int) -> tuple[str, str]:
    return f"{task.title} is {_days_word(-days)} overdue", f"{task.residence.name}: was due {due_date.isoformat()}."


def _expiring_says(doc: Document, due_date: date, days: int) -> tuple[str, str]:
    return f"{doc.title} expires in {_days_word(days)}", f"{doc.residence.name}: expires {due_date.isoformat()}."


async def send_due_reminders(now: datetime, channels: Sequence[Channel]) -> ReminderReport:
    """Remind members, at their hour, of tasks due on a lead day of their schedule (ANNUAL: 30, 14, 7, 0 days)."""
    utc_today = now.date()
    longest = max(max(days) for days in DUE_SOON_LEAD_DAYS.values())
    return await _remind(
        "due-soon", NotificationType.TASK_DUE_SOON, now, channels,
        _active_tasks(utc_today - TZ_SLACK, utc_today + timedelta(days=longest) + TZ_SLACK),
        lambda task, today: due_soon_stage(task.frequency, task.due_date, today, interval_days=task.interval_days,
                                           snoozed_until=task.snoozed_until),
        _due_soon_says)


async def send_overdue_reminders(now: datetime, channels: Sequence[Channel]) -> ReminderReport:
    """Remind members, at their hour, of overdue tasks on the taper's days (1, 2, 3, then every 3, until 14)."""
    utc_today = now.date()
    return await _remind(
        "overdue", NotificationType.TASK_OVERDUE, now, channels,
        _active_tasks(utc_today - timedelta(days=max(OVERDUE_DAYS)) - TZ_SLACK, utc_today + TZ_SLACK,
                      snooze_ending=(utc_today - TZ_SLACK, utc_today + TZ_SLACK)),
        lambda task, today: overdue_stage(task.due_date, today, snoozed_until=task.snoozed_until), _overdue_says)


async def send_warranty_reminders(now: datetime, channels: Sequence[Channel]) -> ReminderReport:
    """Tell a residence's owners, at their hour, about documents expiring in 30 and in 7 days."""
    utc_today = now.date()
    window = Document.filter(
        expires_at__gte=utc_today - TZ_SLACK, expires_at__lte=utc_today + timedelta(days=30) + TZ_SLACK
    ).select_related("residence")
    return await _remind("warranty", NotificationType.WARRANTY_EXPIRING, now, channels, window,
                         lambda doc, today: warranty_stage(doc.expires_at, today), _expiring_says,
                         roles=[ResidenceRole.OWNER])
