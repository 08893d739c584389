"""The reminder email's "Done" and "Snooze 1 day" buttons: sent by the real reminder job through the outbox to a
real SMTP server (aiosmtpd), then followed as a person would: the link opens the confirmation page, its button
acts. The route itself is tested in ``tests/test_action_pages.py``; the browser in
``tests/test_action_pages_browser.py``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import httpx
import pytest

from honeydue import clock
from honeydue.models import (
    Document,
    Membership,
    NotificationPreference,
    NotificationType,
    Residence,
    ResidenceRole,
    Task,
    TaskCompletion,
    TaskFrequency,
    User,
)
from honeydue.passwords import DUMMY_HASH
from honeydue.services import Services
from honeydue.settings import Settings
from tests.plugins.mail import SmtpServer, drain, mail_jobs
from workers import reminders

APP_URL = "https://app.honeydue.test"  # mail_settings' PUBLIC_APP_URL
ACTION_LINK = re.compile(re.escape(APP_URL) + r"/actions/[A-Za-z0-9_-]{43}")


async def _member(home: Residence, role: ResidenceRole, name: str, hour: int) -> User:
    user = await User.create(email=f"{name.lower()}-{uuid.uuid4().hex[:6]}@example.test", password_hash=DUMMY_HASH,
                             display_name=name, email_verified=True, email_verified_at=datetime.now(UTC))
    await Membership.create(residence=home, user=user, role=role)
    for ntype in (NotificationType.TASK_DUE_SOON, NotificationType.WARRANTY_EXPIRING):
        await NotificationPreference.create(user=user, type=ntype, hour_of_day=hour)
    return user


def _parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def buttons(message: EmailMessage) -> dict[str, str]:
    """The action links of a reminder, by title; the text part and the HTML part carry the same ones."""
    text, html = _parts(message)
    in_text = dict(re.findall(r"^(Done|Snooze 1 day): (\S+)\r?$", text, re.MULTILINE))
    in_html = {title: url for url, title in re.findall(r'<a href="(\S+/actions/\S+)"[^>]*>([^<]+)</a>', html)}
    assert in_text == in_html, (in_text, in_html)
    return in_text


@pytest.fixture
async def services(mail_settings: Settings) -> AsyncIterator[Services]:
    async with mail_jobs(mail_settings) as opened:
        yield opened


@pytest.fixture
async def http(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    from gateway.state import attach_gateway
    from honeydue.app import create_embedded_app

    app = create_embedded_app(services.settings)
    attach_gateway(app, services)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.31", 5000))
    async with httpx.AsyncClient(transport=transport, base_url=APP_URL) as client:
        yield client


async def test_a_task_reminder_email_has_done_and_snooze_buttons_that_work(
        services: Services, smtp_server: SmtpServer, http: httpx.AsyncClient) -> None:
    now = clock.utc_now()
    home = await Residence.create(name="Lake house", timezone="UTC")
    editor = await _member(home, ResidenceRole.EDITOR, "Eve", now.hour)
    viewer = await _member(home, ResidenceRole.VIEWER, "Vic", now.hour)
    task = await Task.create(residence=home, title="Water the plants", frequency=TaskFrequency.WEEKLY,
                             due_date=now.date(), anchor_date=now.date())

    report = await reminders.send_due_reminders(now, services.channels)
    await drain(services)
    assert report.sent == 2
    mail = {m["To"]: m for m in smtp_server.mailbox.messages()}
    links = buttons(mail[editor.email])
    assert set(links) == {"Done", "Snooze 1 day"} and all(ACTION_LINK.fullmatch(url) for url in links.values())
    assert links["Done"] != links["Snooze 1 day"]
    # A viewer may not complete the task: their reminder has no buttons.
    assert buttons(mail[viewer.email]) == {}
    assert "/actions/" not in "".join(_parts(mail[viewer.email]))

    # Following "Done": the link opens the confirmation page, which changes nothing...
    path = httpx.URL(links["Done"]).path
    page = await http.get(path, headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Mark \u201cWater the plants\u201d in Lake house as done?" in page.text
    action = re.search(r'<form method="post" action="([^"]+)">', page.text)
    assert action is not None and action.group(1) == path
    assert await TaskCompletion.filter(task_id=task.id).count() == 0
    # ... and its button does it.
    done = await http.post(action.group(1), headers={"Accept": "text/html",
                                                     "Content-Type": "application/x-www-form-urlencoded"})
    assert done.status_code == 200 and "\u201cWater the plants\u201d is done." in done.text
    completion = await TaskCompletion.get(task_id=task.id)
    assert completion.completed_by_id == editor.id
    assert (await Task.get(id=task.id)).due_date == now.date() + timedelta(days=7)
    # The email's snooze link was for the occurrence just done.
    assert (await http.post(httpx.URL(links["Snooze 1 day"]).path)).status_code == 410


async def test_the_snooze_button_snoozes(services: Services, smtp_server: SmtpServer,
                                         http: httpx.AsyncClient) -> None:
    now = clock.utc_now()
    home = await Residence.create(name="Flat", timezone="UTC")
    owner = await _member(home, ResidenceRole.OWNER, "Olga", now.hour)
    task = await Task.create(residence=home, title="Descale the kettle", frequency=TaskFrequency.ONCE,
                             due_date=now.date(), anchor_date=now.date())
    await reminders.send_due_reminders(now, services.channels)
    await drain(services)
    [message] = smtp_server.mailbox.messages()
    assert message["To"] == owner.email
    path = httpx.URL(buttons(message)["Snooze 1 day"]).path
    assert "for 1 day?" in (await http.get(path, headers={"Accept": "text/html"})).text
    answer = await http.post(path, headers={"Accept": "application/json"})
    assert answer.status_code == 200 and answer.json()["action"] == "snooze"
    fresh = await Task.get(id=task.id)
    assert fresh.snoozed_until == now.date() + timedelta(days=1) and fresh.due_date == now.date()


async def test_a_warranty_reminder_has_no_buttons(services: Services, smtp_server: SmtpServer) -> None:
    now = clock.utc_now()
    home = await Residence.create(name="Cabin", timezone="UTC")
    owner = await _member(home, ResidenceRole.OWNER, "Otto", now.hour)
    await Document.create(residence=home, title="Boiler warranty", expires_at=now.date() + timedelta(days=30))
    report = await reminders.send_warranty_reminders(now, services.channels)
    await drain(services)
    assert report.sent == 1
    [message] = smtp_server.mailbox.messages()
    assert message["To"] == owner.email and buttons(message) == {}
