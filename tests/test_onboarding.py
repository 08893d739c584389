"""The daily onboarding emails: who gets welcome, add_home and add_first_task, once each, and the CLI run."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from honeydue.models import (
    EmailDelivery,
    Membership,
    NotificationPreference,
    NotificationType,
    Residence,
    ResidenceRole,
    Task,
    User,
)
from honeydue.passwords import DUMMY_HASH
from honeydue.settings import Settings
from tests.plugins.mail import SmtpServer, drain, mail_jobs
from workers import onboarding

NOW = datetime.now(UTC).replace(microsecond=0)


async def person(name: str, *, age: timedelta, verified: bool = True, home: bool = False,
                 task: bool = False) -> User:
    """A user who signed up ``age`` ago (and verified then), optionally with a home and a task in it."""
    user = await User.create(email=f"{name}-{uuid.uuid4().hex[:6]}@example.test", password_hash=DUMMY_HASH,
                             display_name=name.title(), email_verified=verified,
                             email_verified_at=NOW - age if verified else None)
    await User.filter(id=user.id).update(created_at=NOW - age)
    if home:
        residence = await Residence.create(name=f"{name}'s home")
        await Membership.create(residence=residence, user=user, role=ResidenceRole.OWNER)
        if task:
            await Task.create(residence=residence, title="Test the smoke alarms")
    return user


async def sent() -> dict[str, set[str]]:
    """{display name: kinds queued for them}."""
    out: dict[str, set[str]] = {}
    for row in await EmailDelivery.all().prefetch_related("user"):
        out.setdefault(row.user.display_name, set()).add(row.kind)
    return out


async def test_who_gets_which_onboarding_email_and_only_once(settings: Settings) -> None:
    await person("fresh", age=timedelta(hours=1))                     # verified today: welcome
    await person("day1", age=timedelta(days=1, hours=1))              # too early for add_home
    await person("day3", age=timedelta(days=3))                       # no home after 2 days
    await person("housed", age=timedelta(days=3), home=True)          # has a home: no add_home
    await person("idle", age=timedelta(days=6), home=True)            # a home but no task after 5 days
    await person("busy", age=timedelta(days=6), home=True, task=True)  # has a task
    await person("nothing", age=timedelta(days=6))                    # neither: both reminders
    await person("unverified", age=timedelta(days=6), verified=False)  # gets none of them
    muted = await person("muted", age=timedelta(days=3))
    await NotificationPreference.create(user=muted, type=NotificationType.ONBOARDING, enabled=False)
    await person("veteran", age=timedelta(days=90))                   # qualified long before: left alone
    joiner = await person("joiner", age=timedelta(days=6))             # joined someone's home with tasks
    residence = await Residence.filter(name="busy's home").first()
    assert residence is not None
    await Membership.create(residence=residence, user=joiner, role=ResidenceRole.EDITOR)

    await onboarding.send_onboarding_emails(NOW)
    expected = {
        "Fresh": {"welcome"}, "Day1": {"welcome"}, "Day3": {"welcome", "add_home"}, "Housed": {"welcome"},
        "Idle": {"welcome", "add_first_task"}, "Busy": {"welcome"},
        "Nothing": {"welcome", "add_home", "add_first_task"}, "Joiner": {"welcome"},
    }
    assert await sent() == expected

    # The next day's run, and two racing runs, add nothing: each kind at most once per user.
    await onboarding.send_onboarding_emails(NOW + timedelta(days=1))
    await asyncio.gather(*(onboarding.send_onboarding_emails(NOW + timedelta(days=1)) for _ in range(3)))
    assert await sent() == {**expected, "Day1": {"welcome", "add_home"}}
    assert await EmailDelivery.all().count() == 13
    assert {row.notification_type for row in await EmailDelivery.all()} == {NotificationType.ONBOARDING}


async def test_a_missed_day_is_caught_up_within_the_week(settings: Settings) -> None:
    await person("late", age=timedelta(days=8))  # add_home was due 6 days ago, add_first_task 3 days ago
    await person("later", age=timedelta(days=10))  # add_home 8 days ago: past the week
    await onboarding.send_onboarding_emails(NOW)
    assert await sent() == {"Late": {"add_home", "add_first_task"}, "Later": {"add_first_task"}}


async def test_onboarding_mail_arrives_and_its_unsubscribe_link_stops_the_rest(
    mail_settings: Settings, smtp_server: SmtpServer, api_app
) -> None:
    user = await person("dana", age=timedelta(days=2, hours=1))
    async with mail_jobs(mail_settings) as services:
        await onboarding.send_onboarding_emails(NOW)
        await drain(services)

    mails = {m["Subject"]: m for m in smtp_server.mailbox.messages()}
    assert set(mails) == {"Welcome to honeydue", "Add your home to honeydue"}
    welcome = mails["Welcome to honeydue"]
    assert welcome["To"] == user.email and welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Hi Dana," in welcome.get_body(("plain",)).get_content()
    link = urlsplit(welcome["List-Unsubscribe"].strip("<>"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api_app), base_url="http://testserver") as http:
        answer = await http.post(f"{link.path}?{link.query}", content="List-Unsubscribe=One-Click",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 200
    assert (await NotificationPreference.get(user_id=user.id, type=NotificationType.ONBOARDING)).enabled is False

    await onboarding.send_onboarding_emails(NOW + timedelta(days=3))  # add_first_task would be due now
    assert {row.kind for row in await EmailDelivery.filter(user_id=user.id)} == {"welcome", "add_home"}


@pytest.mark.e2e
def test_jobs_list_shows_it_and_jobs_run_sends_it_without_redis(tmp_path: Path) -> None:
    """`honeydue jobs run send_onboarding_emails` with neither Redis nor SMTP: the emails land in var/mail/."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("B2_", "DATABASE_URL", "REDIS_URL", "SMTP_"))}
    env.update({"HONEYDUE_VAR_DIR": str(tmp_path / "var"), "LOG_FORMAT": "text",
                "PUBLIC_APP_URL": "https://app.example.test"})

    def honeydue(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "honeydue.cli", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout + done.stderr

    listed = honeydue("jobs", "list")
    assert any(line.startswith("send_onboarding_emails") and "0 16 * * * (UTC)" in line
               for line in listed.splitlines()), listed
    honeydue("migrate")
    created = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S.%f+00:00")
    with sqlite3.connect(tmp_path / "var" / "honeydue.sqlite3") as db:
        db.execute("INSERT INTO users (id, created_at, email, password_hash, display_name, is_admin, "
                   "email_verified, email_verified_at) VALUES (?, ?, 'eve@example.test', 'x', 'Eve', 0, 1, ?)",
                   (str(uuid.uuid4()), created, created))
    db.close()
    out = honeydue("jobs", "run", "send_onboarding_emails")
    assert "ran send_onboarding_emails in this process" in out
    files = sorted((tmp_path / "var" / "mail").glob("*.eml"))
    subjects = {message_from_bytes(f.read_bytes(), policy=policy.default)["Subject"] for f in files}
    assert subjects == {"Welcome to honeydue", "Add your home to honeydue"}
    mail = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert mail["List-Unsubscribe"].startswith("<https://app.example.test/email/unsubscribe?token=")
    assert out.count("email to eve@example.test") == 2  # each one logged
