"""Reminder jobs with a controlled clock: lead times per frequency, the overdue taper, dedupe, preferences
(on/off and hour of day), residence timezones and warranty expiry. Runs on the suite's database backend
(PostgreSQL or SQLite).

The jobs run hourly; a member is reminded in the run whose residence-local hour is their preference hour
(20 when unset). Most tests use a UTC residence and the 20:00 UTC run, which is 20:00 local there."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

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

NOW = datetime(2025, 3, 10, 20, 0, tzinfo=UTC)  # the run at 20:00, the default hour, in a UTC residence
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


Job = Callable[[datetime, Sequence[reminders.Channel]], Awaitable[reminders.ReminderReport]]


async def sweep(start: datetime, hours: int, *jobs: Job) -> dict[tuple[uuid.UUID, uuid.UUID, str], datetime]:
    """Run ``jobs`` at the top of every hour from ``start``, as the hourly cron does.

    Returns {(subject id, user id, stage): the run that sent it}; each reminder appears once because the
    log's unique key would refuse a second one.
    """
    sent: dict[tuple[uuid.UUID, uuid.UUID, str], datetime] = {}
    start = start.astimezone(UTC)  # hours of elapsed time: aware arithmetic in a local zone is wall-clock
    for hour in range(hours):
        now = start + timedelta(hours=hour)
        for job in jobs:
            await job(now, [])
        for row in await ReminderLog.all():
            sent.setdefault((row.subject_id, row.user_id, row.stage), now)
    assert await Notification.all().count() == len(sent)
    return sent


def local(day: date, hour: int, tz: str) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(tz))


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


async def test_a_snoozed_task_is_reminded_when_its_snooze_ends_then_the_taper_resumes(settings) -> None:
    user = await make_user()
    home = await make_residence((user, ResidenceRole.OWNER))
    # Due today; snoozed until day 7 (not a taper day): days 1, 2, 3 and 6 are held back, day 7 reminds.
    task = await make_task(home, TODAY, TaskFrequency.MONTHLY, snoozed_until=TODAY + timedelta(days=7))
    unsnoozed = await make_task(home, TODAY, TaskFrequency.MONTHLY)
    sent_on: dict[str, list[int]] = {"snoozed": [], "plain": []}
    for day in range(0, 16):
        await reminders.send_overdue_reminders(NOW + timedelta(days=day), [])
        for name, subject in (("snoozed", task), ("plain", unsnoozed)):
            stages = await ReminderLog.filter(subject_id=subject.id).values_list("stage", flat=True)
            if f"overdue-{day}" in stages:
                sent_on[name].append(day)
    assert sent_on == {"snoozed": [7, 9, 12], "plain": [1, 2, 3, 6, 9, 12]}


async def test_a_snooze_past_the_taper_still_ends_with_a_reminder(settings) -> None:
    user = await make_user()
    home = await make_residence((user, ResidenceRole.OWNER))
    task = await make_task(home, TODAY - timedelta(days=40), TaskFrequency.WEEKLY, snoozed_until=TODAY)
    await reminders.send_overdue_reminders(NOW - timedelta(days=1), [])
    assert await ReminderLog.filter(subject_id=task.id).count() == 0
    report = await reminders.send_overdue_reminders(NOW, [])
    assert report.sent == 1
    assert await ReminderLog.filter(subject_id=task.id).values_list("stage", flat=True) == ["overdue-40"]
    notification = await Notification.get(task_id=task.id)
    assert notification.title.endswith("is 40 days overdue")


async def test_snooze_holds_due_soon_reminders_until_its_date(settings) -> None:
    user = await make_user()
    home = await make_residence((user, ResidenceRole.OWNER))
    # ANNUAL lead days are 30, 14, 7 and 0; a snooze until 10 days from now holds back the 30-day one only.
    task = await make_task(home, TODAY + timedelta(days=30), TaskFrequency.ANNUAL,
                           snoozed_until=TODAY + timedelta(days=10))
    for day in range(0, 31):
        await reminders.send_due_reminders(NOW + timedelta(days=day), [])
    stages = await ReminderLog.filter(subject_id=task.id).values_list("stage", flat=True)
    assert sorted(stages) == ["due-0", "due-14", "due-7"]


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
    again = await reminders.send_due_reminders(NOW + timedelta(minutes=40), [channel])  # same hour, run twice
    assert (again.sent, again.already_sent) == (0, 2)
    next_hour = await reminders.send_due_reminders(NOW + timedelta(hours=1), [channel])  # nobody's hour
    assert (next_hour.sent, next_hour.already_sent) == (0, 0)
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


async def test_auckland_and_los_angeles_are_reminded_at_their_own_8pm(settings) -> None:
    # Auckland is UTC+13 (NZDT) and Los Angeles UTC-7 (PDT) in March 2025. The old fixed 20:00 UTC run was
    # 09:00 the next morning in Auckland and 13:00 in Los Angeles.
    akl, la = "Pacific/Auckland", "America/Los_Angeles"
    kiwi, angeleno = await make_user("kiwi"), await make_user("angeleno")
    auckland = await make_residence((kiwi, ResidenceRole.OWNER), tz=akl)
    los_angeles = await make_residence((angeleno, ResidenceRole.OWNER), tz=la)
    march_10, march_11, march_12 = date(2025, 3, 10), date(2025, 3, 11), date(2025, 3, 12)
    akl_10, akl_11 = await make_task(auckland, march_10), await make_task(auckland, march_11)
    la_10, la_11 = await make_task(los_angeles, march_10), await make_task(los_angeles, march_11)

    sent = await sweep(datetime(2025, 3, 10, 0, tzinfo=UTC), 60,
                       reminders.send_due_reminders, reminders.send_overdue_reminders)

    assert sent == {
        (akl_10.id, kiwi.id, "due-0"): local(march_10, 20, akl),  # 07:00 UTC March 10
        (akl_11.id, kiwi.id, "due-0"): local(march_11, 20, akl),  # 07:00 UTC March 11
        (akl_10.id, kiwi.id, "overdue-1"): local(march_11, 20, akl),
        (akl_11.id, kiwi.id, "overdue-1"): local(march_12, 20, akl),  # 07:00 UTC March 12
        (akl_10.id, kiwi.id, "overdue-2"): local(march_12, 20, akl),
        (la_10.id, angeleno.id, "due-0"): local(march_10, 20, la),  # 03:00 UTC March 11
        (la_11.id, angeleno.id, "due-0"): local(march_11, 20, la),  # 03:00 UTC March 12
        (la_10.id, angeleno.id, "overdue-1"): local(march_11, 20, la),
    }
    assert sent[(akl_10.id, kiwi.id, "due-0")] == datetime(2025, 3, 10, 7, tzinfo=UTC)
    assert sent[(la_10.id, angeleno.id, "due-0")] == datetime(2025, 3, 11, 3, tzinfo=UTC)


async def test_preference_hour_7_is_reminded_at_7_local_not_at_20(settings) -> None:
    sgt = "Asia/Singapore"
    early = await make_user("early")
    home = await make_residence((early, ResidenceRole.OWNER), tz=sgt)
    await NotificationPreference.create(user=early, type=NotificationType.TASK_DUE_SOON, enabled=True,
                                        hour_of_day=7)
    day = date(2025, 3, 10)
    task = await make_task(home, day)

    at_20 = await reminders.send_due_reminders(local(day, 20, sgt), [])
    assert (at_20.sent, at_20.already_sent) == (0, 0)  # not "already sent": not this member's hour

    sent = await sweep(local(day, 0, sgt), 24, reminders.send_due_reminders)
    assert sent == {(task.id, early.id, "due-0"): local(day, 7, sgt)}  # 23:00 UTC the day before


async def test_members_of_one_residence_are_each_reminded_once_at_their_own_hour(settings) -> None:
    berlin = "Europe/Berlin"
    early, late, unset = await make_user("early"), await make_user("late"), await make_user("unset")
    home = await make_residence((early, ResidenceRole.OWNER), (late, ResidenceRole.EDITOR),
                                (unset, ResidenceRole.VIEWER), tz=berlin)
    await NotificationPreference.create(user=early, type=NotificationType.TASK_DUE_SOON, hour_of_day=6)
    await NotificationPreference.create(user=late, type=NotificationType.TASK_DUE_SOON, hour_of_day=22)
    await NotificationPreference.create(user=late, type=NotificationType.TASK_OVERDUE, hour_of_day=9)
    day = date(2025, 3, 10)
    due_today = await make_task(home, day)
    overdue = await make_task(home, day - timedelta(days=1))

    sent = await sweep(local(day, 0, berlin), 24,
                       reminders.send_due_reminders, reminders.send_overdue_reminders)

    assert sent == {
        (due_today.id, early.id, "due-0"): local(day, 6, berlin),
        (due_today.id, late.id, "due-0"): local(day, 22, berlin),
        (due_today.id, unset.id, "due-0"): local(day, 20, berlin),
        # The hour is per type: early chose 6 for due-soon only, so overdue comes at the default 20.
        (overdue.id, early.id, "overdue-1"): local(day, 20, berlin),
        (overdue.id, late.id, "overdue-1"): local(day, 9, berlin),
        (overdue.id, unset.id, "overdue-1"): local(day, 20, berlin),
    }


async def test_an_hour_skipped_by_daylight_saving_is_served_by_the_next_run(settings) -> None:
    la = "America/Los_Angeles"  # 2025-03-09: 02:00 PST jumps to 03:00 PDT; 2025-11-02: 02:00 PDT back to 01:00 PST
    night_owl = await make_user("owl")
    home = await make_residence((night_owl, ResidenceRole.OWNER), tz=la)
    await NotificationPreference.create(user=night_owl, type=NotificationType.TASK_DUE_SOON, hour_of_day=2)
    await NotificationPreference.create(user=night_owl, type=NotificationType.TASK_OVERDUE, hour_of_day=1)
    spring, autumn = date(2025, 3, 9), date(2025, 11, 2)
    spring_task = await make_task(home, spring)
    autumn_task = await make_task(home, autumn - timedelta(days=1))

    spring_sent = await sweep(local(spring, 0, la), 23, reminders.send_due_reminders)
    assert spring_sent == {(spring_task.id, night_owl.id, "due-0"): local(spring, 3, la)}  # 10:00 UTC

    # 01:00 happens twice: the first run sends, the repeat finds it already sent.
    autumn_sent = await sweep(local(autumn, 0, la), 25, reminders.send_overdue_reminders)
    first_1am = datetime(2025, 11, 2, 8, tzinfo=UTC)
    assert autumn_sent[(autumn_task.id, night_owl.id, "overdue-1")] == first_1am
    repeat = await reminders.send_overdue_reminders(first_1am + timedelta(hours=1), [])
    assert (repeat.sent, repeat.already_sent) == (0, 1)


@pytest.mark.parametrize(("tz", "now", "hours"), [
    ("UTC", datetime(2025, 3, 10, 20, 0, tzinfo=UTC), {20}),
    ("UTC", datetime(2025, 3, 10, 20, 59, tzinfo=UTC), {20}),
    ("Asia/Singapore", datetime(2025, 3, 10, 12, 0, tzinfo=UTC), {20}),
    ("Asia/Kolkata", datetime(2025, 3, 10, 15, 0, tzinfo=UTC), {20}),  # 20:30 local: the half hour runs
    ("Pacific/Auckland", datetime(2025, 3, 10, 11, 0, tzinfo=UTC), {0}),  # midnight, a new local date
    ("America/Los_Angeles", datetime(2025, 3, 9, 10, 0, tzinfo=UTC), {2, 3}),  # 02:00 did not exist
    ("America/Los_Angeles", datetime(2025, 11, 2, 9, 0, tzinfo=UTC), {1}),  # the second 01:00
    ("America/Havana", datetime(2025, 3, 9, 5, 0, tzinfo=UTC), {0, 1}),  # Cuba skips midnight to 01:00
])
def test_reminder_hours(tz: str, now: datetime, hours: set[int]) -> None:
    assert reminders.reminder_hours(tz, now) == hours


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


async def test_warranty_reminders_follow_each_owners_hour(settings) -> None:
    sgt = "Asia/Singapore"
    morning, default, editor = await make_user("morning"), await make_user("default"), await make_user("editor")
    home = await make_residence((morning, ResidenceRole.OWNER), (default, ResidenceRole.OWNER),
                                (editor, ResidenceRole.EDITOR), tz=sgt)
    await NotificationPreference.create(user=morning, type=NotificationType.WARRANTY_EXPIRING, hour_of_day=9)
    await NotificationPreference.create(user=editor, type=NotificationType.WARRANTY_EXPIRING, hour_of_day=9)
    day = date(2025, 3, 10)
    doc = await Document.create(residence=home, title="boiler", expires_at=day + timedelta(days=7))

    sent = await sweep(local(day, 0, sgt), 24, reminders.send_warranty_reminders)

    assert sent == {(doc.id, morning.id, "warranty-7"): local(day, 9, sgt),
                    (doc.id, default.id, "warranty-7"): local(day, 20, sgt)}


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
