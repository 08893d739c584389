"""Reminder jobs with a controlled clock: lead times per frequency, the overdue taper, dedupe, preferences,
residence timezones and warranty expiry. Runs on the suite's database backend (PostgreSQL or SQLite)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

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
    TaskFrequency,
    User,
)
from workers import reminders

NOW = datetime(2025, 3, 10, 20, 0, tzinfo=UTC)  # the default 20:00 UTC run
TODAY = NOW.date()


class RecordingChannel:
    """A delivery channel that remembers what it was asked to send (the email/push stand-in)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, user: User, notification: Notification) -> None:
        self.sent.append((user.email, notification.title))


class BrokenChannel:
    async def send(self, user: User, notification: Notification) -> None:
        raise ConnectionError("smtp down")


async def make_user(name: str = "member") -> User:
    return await User.create(email=f"{name}-{uuid.uuid4().hex[:8]}@example.com", password_hash="x",
                             display_name=name)


async def make_residence(*members: tuple[User, ResidenceRole], tz: str = "UTC") -> Residence:
    residence = await Residence.create(name=f"Home {uuid.uuid4().hex[:4]}", timezone=tz)
    for user, role in members:
        await Membership.create(residence=residence, user=user, role=role)
    return residence


async def make_task(residence: Residence, due: date, frequency: TaskFrequency = TaskFrequency.ONCE,
                    interval_days: int | None = None, **extra: object) -> Task:
    return await Task.create(residence=residence, title=f"task due {due}", frequency=frequency,
                             interval_days=interval_days, due_date=due, anchor_date=due, **extra)


async def stages_by_offset(tasks: dict[int, Task]) -> dict[int, str]:
    """{days offset of the task's due date: stage logged} for the tasks that got a reminder."""
    by_id = {t.id: offset for offset, t in tasks.items()}
    rows = await ReminderLog.filter(subject_id__in=list(by_id))
    return {by_id[row.subject_id]: row.stage for row in rows}


EXPECTED_LEAD_DAYS = {  # straight from the issue text, not from the policy module
    TaskFrequency.ANNUAL: {30, 14, 7, 0},
    TaskFrequency.QUARTERLY: {7, 3},
    TaskFrequency.MONTHLY: {3},
    TaskFrequency.BIWEEKLY: {1},
    TaskFrequency.WEEKLY: {0},
    TaskFrequency.DAILY: {0},
    TaskFrequency.ONCE: {0},
}


@pytest.mark.parametrize("frequency", list(EXPECTED_LEAD_DAYS))
async def test_due_soon_lead_times_per_frequency(settings, frequency: TaskFrequency) -> None:
    user = await make_user()
    home = await make_residence((user, ResidenceRole.OWNER))
    tasks = {offset: await make_task(home, TODAY + timedelta(days=offset), frequency) for offset in range(-2, 35)}

    channel = RecordingChannel()
    report = await reminders.send_due_reminders(NOW, [channel])

    assert await stages_by_offset(tasks) == {d: f"due-{d}" for d in EXPECTED_LEAD_DAYS[frequency]}
    assert report.sent == len(EXPECTED_LEAD_DAYS[frequency]) == len(channel.sent)
    assert await Notification.filter(user=user, type=NotificationType.TASK_DUE_SOON).count() == report.sent


async def test_custom_interval_is_reminded_like_the_nearest_named_frequency(settings) -> None:
    user = await make_user()
    home = await make_residence((user, ResidenceRole.OWNER))
    tasks = {offset: await make_task(home, TODAY + timedelta(days=offset), TaskFrequency.CUSTOM, 180)
             for offset in range(0, 10)}
    await reminders.send_due_reminders(NOW, [])
    assert await stages_by_offset(tasks) == {7: "due-7", 3: "due-3"}


async def test_overdue_reminders_taper_and_stop(settings) -> None:
    user = await make_user()
    home = await make_residence((user, ResidenceRole.EDITOR))
    tasks = {days: await make_task(home, TODAY - timedelta(days=days), TaskFrequency.WEEKLY)
             for days in range(0, 21)}
    await reminders.send_overdue_reminders(NOW, [])
    assert await stages_by_offset(tasks) == {d: f"overdue-{d}" for d in (1, 2, 3, 6, 9, 12)}


async def test_overdue_taper_over_consecutive_days(settings) -> None:
    user = await make_user()
    home = await make_residence((user, ResidenceRole.OWNER))
    task = await make_task(home, TODAY, TaskFrequency.MONTHLY)
    sent_on = []
    for day in range(0, 20):
        report = await reminders.send_overdue_reminders(NOW + timedelta(days=day), [])
        if report.sent:
            sent_on.append(day)
    assert sent_on == [1, 2, 3, 6, 9, 12]
    assert await ReminderLog.filter(subject_id=task.id).count() == 6


async def test_skips_cancelled_archived_and_completed_tasks(settings) -> None:
    user = await make_user()
    home = await make_residence((user, ResidenceRole.OWNER))
    await make_task(home, TODAY, cancelled=True)
    await make_task(home, TODAY, archived=True)
    await make_task(home, TODAY, completed=True)
    live = await make_task(home, TODAY)
    report = await reminders.send_due_reminders(NOW, [])
    assert report.sent == 1
    assert [r.subject_id for r in await ReminderLog.all()] == [live.id]


async def test_repeated_and_concurrent_runs_never_send_a_stage_twice(settings) -> None:
    owner, editor = await make_user("owner"), await make_user("editor")
    home = await make_residence((owner, ResidenceRole.OWNER), (editor, ResidenceRole.EDITOR))
    await make_task(home, TODAY + timedelta(days=30), TaskFrequency.ANNUAL)
    await make_task(home, TODAY - timedelta(days=2), TaskFrequency.WEEKLY)
    channel = RecordingChannel()

    first = await reminders.send_due_reminders(NOW, [channel])
    assert (first.sent, first.already_sent) == (2, 0)
    again = await reminders.send_due_reminders(NOW + timedelta(hours=1), [channel])
    assert (again.sent, again.already_sent) == (0, 2)
    racing = await asyncio.gather(*(reminders.send_overdue_reminders(NOW, [channel]) for _ in range(3)))
    assert sum(r.sent for r in racing) == 2
    assert sum(r.already_sent for r in racing) == 4

    assert len(channel.sent) == 4
    assert await Notification.all().count() == 4
    # The next day is a different stage of the same due date: it is sent.
    next_day = await reminders.send_overdue_reminders(NOW + timedelta(days=1), [channel])
    assert next_day.sent == 2


async def test_preference_off_skips_that_member_for_that_type_only(settings) -> None:
    keen, quiet = await make_user("keen"), await make_user("quiet")
    home = await make_residence((keen, ResidenceRole.OWNER), (quiet, ResidenceRole.VIEWER))
    await NotificationPreference.create(user=quiet, type=NotificationType.TASK_DUE_SOON, enabled=False)
    await NotificationPreference.create(user=keen, type=NotificationType.TASK_DUE_SOON, enabled=True)
    await make_task(home, TODAY)
    await make_task(home, TODAY - timedelta(days=1))

    await reminders.send_due_reminders(NOW, [])
    await reminders.send_overdue_reminders(NOW, [])

    due = await Notification.filter(type=NotificationType.TASK_DUE_SOON).values_list("user_id", flat=True)
    overdue = await Notification.filter(type=NotificationType.TASK_OVERDUE).values_list("user_id", flat=True)
    assert due == [keen.id]
    assert sorted(overdue) == sorted([keen.id, quiet.id])


async def test_dates_are_residence_local(settings) -> None:
    # 2025-03-10 20:00 UTC is 2025-03-11 09:00 in Auckland and 2025-03-10 13:00 in Los Angeles.
    kiwi, angeleno = await make_user("kiwi"), await make_user("angeleno")
    auckland = await make_residence((kiwi, ResidenceRole.OWNER), tz="Pacific/Auckland")
    los_angeles = await make_residence((angeleno, ResidenceRole.OWNER), tz="America/Los_Angeles")
    march_11 = date(2025, 3, 11)
    akl_task = await make_task(auckland, march_11)
    la_task = await make_task(los_angeles, march_11)
    akl_yesterday = await make_task(auckland, TODAY)

    await reminders.send_due_reminders(NOW, [])
    await reminders.send_overdue_reminders(NOW, [])

    logged = {(r.subject_id, r.stage) for r in await ReminderLog.all()}
    assert logged == {(akl_task.id, "due-0"), (akl_yesterday.id, "overdue-1")}
    # Later that UTC day it is March 11 in Los Angeles too.
    await reminders.send_due_reminders(datetime(2025, 3, 11, 20, 0, tzinfo=UTC), [])
    assert await ReminderLog.filter(subject_id=la_task.id).values_list("stage", flat=True) == ["due-0"]


async def test_warranty_expiry_notifies_owners_only(settings) -> None:
    owner, editor, co_owner = await make_user("owner"), await make_user("editor"), await make_user("co")
    home = await make_residence((owner, ResidenceRole.OWNER), (editor, ResidenceRole.EDITOR),
                                (co_owner, ResidenceRole.OWNER))
    await NotificationPreference.create(user=co_owner, type=NotificationType.WARRANTY_EXPIRING, enabled=False)
    docs = {days: await Document.create(residence=home, title=f"warranty {days}",
                                        expires_at=TODAY + timedelta(days=days))
            for days in (45, 30, 10, 7, 0, -3)}
    channel = RecordingChannel()

    report = await reminders.send_warranty_reminders(NOW, [channel])
    again = await reminders.send_warranty_reminders(NOW, [channel])

    assert report.sent == 2 and again.sent == 0
    rows = await Notification.filter(type=NotificationType.WARRANTY_EXPIRING)
    assert {(n.user_id, n.document_id) for n in rows} == {(owner.id, docs[30].id), (owner.id, docs[7].id)}
    assert sorted(title for _, title in channel.sent) == ["warranty 30 expires in 30 days",
                                                          "warranty 7 expires in 7 days"]


async def test_a_failing_channel_does_not_stop_the_run(settings) -> None:
    user = await make_user()
    home = await make_residence((user, ResidenceRole.OWNER))
    await make_task(home, TODAY)
    await make_task(home, TODAY + timedelta(days=1), TaskFrequency.BIWEEKLY)
    working = RecordingChannel()
    report = await reminders.send_due_reminders(NOW, [BrokenChannel(), working])
    assert report.sent == 2
    assert len(working.sent) == 2
    assert await Notification.filter(user=user).count() == 2
