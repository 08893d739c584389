"""Due-soon, overdue and warranty reminders.

Each reminder is a (subject, user, due date, stage) tuple: the ``ReminderLog`` row for it is inserted in the
same transaction as the ``Notification`` row, and the table's unique key turns a second attempt (the job run
twice, a retried message, two workers racing) into an IntegrityError that is skipped. External channels
(email) are tried after the commit, at most once per reminder: a failed email is logged, the in-app
notification already exists. Dates are residence-local (``honeydue.schedule.local_today``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from tortoise.exceptions import IntegrityError
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from honeydue.models import (
    Document,
    Membership,
    Notification,
    NotificationPreference,
    NotificationType,
    ReminderLog,
    ResidenceRole,
    Task,
    User,
)
from honeydue.reminder_policy import (
    DUE_SOON_LEAD_DAYS,
    OVERDUE_DAYS,
    due_soon_stage,
    overdue_stage,
    warranty_stage,
)
from honeydue.schedule import local_today

log = logging.getLogger(__name__)

PAGE_SIZE = 500
# Residence-local dates are within one day of the UTC date (UTC-12 .. UTC+14), so widening each
# candidate window by a day on both sides never misses a residence.
TZ_SLACK = timedelta(days=1)


class Channel(Protocol):
    """One way of reaching a person (email, console, push); see ``honeydue.notify``."""

    async def send(self, user: User, notification: Notification) -> None: ...


@dataclass
class ReminderReport:
    sent: int = 0
    already_sent: int = 0


def _days_word(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


async def _pages(query: QuerySet, size: int = PAGE_SIZE) -> AsyncIterator[list]:
    """Rows of ``query`` in id order, a page at a time, so a large table never sits in memory at once."""
    last: uuid.UUID | None = None
    while True:
        page_query = query.order_by("id").limit(size)
        if last is not None:
            page_query = page_query.filter(id__gt=last)
        page = await page_query
        if not page:
            return
        yield page
        last = page[-1].id


class _Recipients:
    """Members of a residence who want a notification type, cached for one job run."""

    def __init__(self, ntype: NotificationType, roles: Sequence[ResidenceRole] | None = None) -> None:
        self.ntype = ntype
        self.roles = roles
        self._cache: dict[uuid.UUID, list[User]] = {}

    async def of(self, residence_id: uuid.UUID) -> list[User]:
        if residence_id not in self._cache:
            query = Membership.filter(residence_id=residence_id)
            if self.roles:
                query = query.filter(role__in=list(self.roles))
            users = [m.user for m in await query.prefetch_related("user")]
            # A missing preference row means "on": only explicit opt-outs are looked up.
            off = set(
                await NotificationPreference.filter(
                    user_id__in=[u.id for u in users], type=self.ntype, enabled=False
                ).values_list("user_id", flat=True)
            )
            self._cache[residence_id] = [u for u in users if u.id not in off]
        return self._cache[residence_id]


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


def _active_tasks(first_due: date, last_due: date) -> QuerySet:
    return Task.filter(
        cancelled=False, archived=False, completed=False, due_date__gte=first_due, due_date__lte=last_due
    ).select_related("residence")


async def send_due_reminders(now: datetime, channels: Sequence[Channel]) -> ReminderReport:
    """Remind members of tasks due on one of their schedule's lead days (e.g. ANNUAL: 30, 14, 7, 0 days)."""
    report = ReminderReport()
    recipients = _Recipients(NotificationType.TASK_DUE_SOON)
    utc_today = now.date()
    longest = max(max(days) for days in DUE_SOON_LEAD_DAYS.values())
    async for page in _pages(_active_tasks(utc_today - TZ_SLACK, utc_today + timedelta(days=longest) + TZ_SLACK)):
        for task in page:
            today = local_today(task.residence.timezone, now)
            stage = due_soon_stage(task.frequency, task.due_date, today, interval_days=task.interval_days)
            if stage is None:
                continue
            days = (task.due_date - today).days
            title = f"{task.title} is due today" if days == 0 else f"{task.title} is due in {_days_word(days)}"
            body = f"{task.residence.name}: due {task.due_date.isoformat()}."
            await _send_to_all(report, recipients, task.residence_id, channels, subject_id=task.id,
                               due_date=task.due_date, stage=stage, ntype=NotificationType.TASK_DUE_SOON,
                               title=title, body=body, task=task)
    log.info("due-soon reminders: %d sent, %d already sent", report.sent, report.already_sent)
    return report


async def send_overdue_reminders(now: datetime, channels: Sequence[Channel]) -> ReminderReport:
    """Remind members of overdue tasks on the taper's days (1, 2, 3, then every 3 days, stopping after 14)."""
    report = ReminderReport()
    recipients = _Recipients(NotificationType.TASK_OVERDUE)
    utc_today = now.date()
    window = _active_tasks(utc_today - timedelta(days=max(OVERDUE_DAYS)) - TZ_SLACK, utc_today + TZ_SLACK)
    async for page in _pages(window):
        for task in page:
            today = local_today(task.residence.timezone, now)
            stage = overdue_stage(task.due_date, today)
            if stage is None:
                continue
            days = (today - task.due_date).days
            await _send_to_all(report, recipients, task.residence_id, channels, subject_id=task.id,
                               due_date=task.due_date, stage=stage, ntype=NotificationType.TASK_OVERDUE,
                               title=f"{task.title} is {_days_word(days)} overdue",
                               body=f"{task.residence.name}: was due {task.due_date.isoformat()}.", task=task)
    log.info("overdue reminders: %d sent, %d already sent", report.sent, report.already_sent)
    return report


async def send_warranty_reminders(now: datetime, channels: Sequence[Channel]) -> ReminderReport:
    """Tell a residence's owners about documents expiring in 30 and in 7 days."""
    report = ReminderReport()
    recipients = _Recipients(NotificationType.WARRANTY_EXPIRING, roles=[ResidenceRole.OWNER])
    utc_today = now.date()
    window = Document.filter(
        expires_at__gte=utc_today - TZ_SLACK, expires_at__lte=utc_today + timedelta(days=30) + TZ_SLACK
    ).select_related("residence")
    async for page in _pages(window):
        for doc in page:
            today = local_today(doc.residence.timezone, now)
            stage = warranty_stage(doc.expires_at, today)
            if stage is None:
                continue
            days = (doc.expires_at - today).days
            await _send_to_all(report, recipients, doc.residence_id, channels, subject_id=doc.id,
                               due_date=doc.expires_at, stage=stage, ntype=NotificationType.WARRANTY_EXPIRING,
                               title=f"{doc.title} expires in {_days_word(days)}",
                               body=f"{doc.residence.name}: expires {doc.expires_at.isoformat()}.", document=doc)
    log.info("warranty reminders: %d sent, %d already sent", report.sent, report.already_sent)
    return report


async def _send_to_all(
    report: ReminderReport,
    recipients: _Recipients,
    residence_id: uuid.UUID,
    channels: Sequence[Channel],
    **reminder: object,
) -> None:
    for user in await recipients.of(residence_id):
        if await deliver(user=user, channels=channels, **reminder):  # type: ignore[arg-type]
            report.sent += 1
        else:
            report.already_sent += 1
