"""Outbound email end to end: queue_email -> the send_email job -> a real SMTP server (aiosmtpd) in this process.

What a recipient sees is checked by parsing what the server received with the standard library's email
package; what an operator sees, in the delivery log (``EmailDelivery``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from honeydue.mail import delivery
from honeydue.mail.outbox import queue_email
from honeydue.mail.render import known_kinds, render
from honeydue.mail.transport import FileTransport
from honeydue.models import EmailDelivery, EmailStatus, NotificationPreference, NotificationType, User
from honeydue.passwords import DUMMY_HASH
from honeydue.settings import Settings
from tests.plugins.mail import SmtpServer, drain, mail_jobs


async def make_user(*, verified: bool = True, name: str = "Ada Lovelace") -> User:
    return await User.create(email=f"u-{uuid.uuid4().hex[:8]}@example.test", password_hash=DUMMY_HASH,
                             display_name=name, email_verified=verified,
                             email_verified_at=datetime.now(UTC) if verified else None)


def parts(message) -> dict[str, str]:
    """The text of each part of a multipart/alternative message, by content type."""
    return {part.get_content_type(): part.get_content() for part in message.iter_parts()}


async def test_a_transactional_email_arrives_as_text_and_html_with_a_message_id(
    mail_settings: Settings, smtp_server: SmtpServer
) -> None:
    user = await make_user()
    async with mail_jobs(mail_settings) as services:
        await queue_email(to=user.email, kind="welcome", context={"display_name": "Ada <Lovelace>"},
                          user_id=user.id)
        await drain(services)

    [envelope] = smtp_server.mailbox.envelopes
    assert envelope.rcpt_tos == [user.email]
    [mail] = smtp_server.mailbox.messages()
    assert mail.get_content_type() == "multipart/alternative"
    assert mail["Subject"] == "Welcome to honeydue"
    assert mail["To"] == user.email and mail["From"] == mail_settings.smtp_from
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["List-Unsubscribe"] is None and mail["List-Unsubscribe-Post"] is None  # transactional
    bodies = parts(mail)
    assert list(bodies) == ["text/plain", "text/html"]
    assert "Hi Ada <Lovelace>," in bodies["text/plain"]
    assert "Hi Ada &lt;Lovelace&gt;," in bodies["text/html"]  # the HTML part is autoescaped
    assert "https://app.honeydue.test" in bodies["text/plain"]

    row = await EmailDelivery.get(user_id=user.id)
    assert (row.kind, row.to, row.status, row.attempts, row.last_error) == (
        "welcome", user.email, EmailStatus.SENT, 1, None)
    assert row.message_id == mail["Message-ID"] and row.message_id.endswith("@honeydue.local>")
    assert row.sent_at is not None and row.context == {}  # the context is dropped once delivered
    assert [entry["outcome"] for entry in row.attempt_log] == ["sent"]


async def test_non_transactional_email_carries_one_click_unsubscribe_that_turns_the_type_off(
    mail_settings: Settings, smtp_server: SmtpServer, api_app
) -> None:
    user = await make_user()
    async with mail_jobs(mail_settings) as services:
        await queue_email(to=user.email, kind="notification", user_id=user.id, transactional=False,
                          notification_type=NotificationType.TASK_OVERDUE,
                          context={"display_name": "Ada", "title": "Clean the gutters is 2 days overdue",
                                   "body": "Home: was due 2026-11-27."})
        await drain(services)

    [mail] = smtp_server.mailbox.messages()
    assert mail["Subject"] == "Clean the gutters is 2 days overdue"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header = mail["List-Unsubscribe"]
    assert header.startswith("<https://app.honeydue.test/email/unsubscribe?token=") and header.endswith(">")
    link = header[1:-1]
    assert link in parts(mail)["text/plain"]  # the footer offers the same link to people

    split = urlsplit(link)
    transport = httpx.ASGITransport(app=api_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        page = await http.get(split.path, params=parse_qs(split.query))
        assert page.status_code == 200 and "<form method=\"post\">" in page.text
        assert "<script" not in page.text
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "unsafe-inline" not in csp and "script-src" not in csp
        assert not await NotificationPreference.exists(user_id=user.id)  # a GET (a link scanner) changes nothing

        # What a mail client's unsubscribe button sends (RFC 8058).
        done = await http.post(split.path, params=parse_qs(split.query),
                               content="List-Unsubscribe=One-Click",
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert done.status_code == 200 and "You are unsubscribed" in done.text
        again = await http.post(split.path, params=parse_qs(split.query), data={"List-Unsubscribe": "One-Click"})
        assert again.status_code == 200

        tampered = link.replace("TASK_OVERDUE", "TASK_DUE_SOON")
        bad = await http.post(urlsplit(tampered).path, params=parse_qs(urlsplit(tampered).query))
        assert bad.status_code == 400 and "does not work" in bad.text
        assert (await http.get(split.path)).status_code == 400  # no token

    [pref] = await NotificationPreference.filter(user_id=user.id)
    assert (pref.type, pref.enabled) == (NotificationType.TASK_OVERDUE, False)

    # Turned off: the next email of that type is not even queued; other types still are.
    await queue_email(to=user.email, kind="notification", user_id=user.id, transactional=False,
                      notification_type=NotificationType.TASK_OVERDUE,
                      context={"display_name": "Ada", "title": "again", "body": ""})
    assert await EmailDelivery.filter(user_id=user.id).count() == 1


async def test_4xx_answers_are_retried_with_back_off_until_delivered(
    mail_settings: Settings, smtp_server: SmtpServer
) -> None:
    smtp_server.mailbox.answer_next("451 4.3.0 Mailbox busy, try later", "421 4.7.0 Too many connections")
    user = await make_user()
    async with mail_jobs(mail_settings) as services:
        await queue_email(to=user.email, kind="welcome", context={"display_name": "Ada"}, user_id=user.id)
        await drain(services)

    assert smtp_server.mailbox.refused == ["451 4.3.0 Mailbox busy, try later", "421 4.7.0 Too many connections"]
    [mail] = smtp_server.mailbox.messages()
    row = await EmailDelivery.get(user_id=user.id)
    assert (row.status, row.attempts) == (EmailStatus.SENT, 3)
    assert [(e["outcome"], e["error"]) for e in row.attempt_log] == [
        ("retry", "451 4.3.0 Mailbox busy, try later"), ("retry", "421 4.7.0 Too many connections"), ("sent", None)]
    assert row.last_error == "421 4.7.0 Too many connections"
    assert mail["Message-ID"] == row.message_id  # one Message-ID across attempts
    times = [datetime.fromisoformat(e["at"]) for e in row.attempt_log]
    assert times == sorted(times)


async def test_a_5xx_answer_is_recorded_and_not_retried(mail_settings: Settings, smtp_server: SmtpServer) -> None:
    smtp_server.mailbox.answer_next("550 5.1.1 No such user here")
    user = await make_user()
    async with mail_jobs(mail_settings) as services:
        await queue_email(to=user.email, kind="welcome", context={"display_name": "Ada"}, user_id=user.id)
        await drain(services)

    assert smtp_server.mailbox.envelopes == [] and smtp_server.mailbox.refused == ["550 5.1.1 No such user here"]
    row = await EmailDelivery.get(user_id=user.id)
    assert (row.status, row.attempts, row.last_error) == (EmailStatus.FAILED, 1, "550 5.1.1 No such user here")
    assert [e["outcome"] for e in row.attempt_log] == ["failed"]
    assert row.context == {}


async def test_an_unreachable_server_is_tried_email_max_attempts_times(mail_settings: Settings) -> None:
    with socket_bound_but_closed() as port:
        settings = mail_settings.model_copy(update={"smtp_port": port, "email_max_attempts": 3})
        user = await make_user()
        async with mail_jobs(settings) as services:
            await queue_email(to=user.email, kind="welcome", context={"display_name": "Ada"}, user_id=user.id)
            await drain(services)

    row = await EmailDelivery.get(user_id=user.id)
    assert (row.status, row.attempts) == (EmailStatus.FAILED, 3)
    assert [e["outcome"] for e in row.attempt_log] == ["retry", "retry", "failed"]
    assert all("ConnectionRefusedError" in e["error"] for e in row.attempt_log)


@contextlib.contextmanager
def socket_bound_but_closed() -> Iterator[int]:
    """A local port held but not listening: connections to it are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def test_back_off_doubles_from_the_setting_and_is_capped(settings: Settings) -> None:
    tuned = settings.model_copy(update={"email_retry_backoff_seconds": 120.0})
    assert [delivery.retry_delay(tuned, n) for n in (1, 2, 3, 4, 5, 6, 7)] == [
        120, 240, 480, 960, 1920, 3600, 3600]


async def test_without_smtp_host_each_email_is_logged_and_written_as_eml(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    assert settings.smtp_host is None
    user = await make_user()
    with caplog.at_level(logging.INFO, logger="honeydue.mail.transport"):
        async with mail_jobs(settings) as services:
            await queue_email(to=user.email, kind="notification", user_id=user.id, transactional=False,
                              notification_type=NotificationType.TASK_DUE_SOON,
                              context={"display_name": "Ada", "title": "Filter due today", "body": ""})
            await drain(services)

    [eml] = await asyncio.to_thread(lambda: list(settings.mail_dir.glob("*.eml")))
    mail = message_from_bytes(await asyncio.to_thread(eml.read_bytes), policy=policy.default)
    assert mail["Subject"] == "Filter due today" and mail["To"] == user.email
    assert mail["List-Unsubscribe"].startswith(f"<{settings.effective_public_app_url}/email/unsubscribe?token=")
    assert [r for r in caplog.records if str(eml) in r.getMessage() and user.email in r.getMessage()]
    row = await EmailDelivery.get(user_id=user.id)
    assert (row.status, row.attempts) == (EmailStatus.SENT, 1)


async def test_unverified_addresses_get_no_reminders_or_onboarding(settings: Settings) -> None:
    user = await make_user(verified=False)
    for kind, ntype in (("notification", NotificationType.TASK_DUE_SOON), ("welcome", NotificationType.ONBOARDING)):
        await queue_email(to=user.email, kind=kind, user_id=user.id, transactional=False, notification_type=ntype,
                          context={"display_name": "Ada", "title": "t", "body": ""})
    await queue_email(to=user.email, kind="welcome", user_id=user.id, context={"display_name": "Ada"})
    assert await EmailDelivery.filter(user_id=user.id).count() == 0


async def test_once_key_makes_a_second_queue_a_no_op(settings: Settings) -> None:
    user = await make_user()
    await asyncio.gather(*(
        queue_email(to=user.email, kind="welcome", context={"display_name": "Ada"}, user_id=user.id,
                    transactional=False, notification_type=NotificationType.ONBOARDING, once_key=f"welcome:{user.id}")
        for _ in range(3)
    ))
    assert await EmailDelivery.filter(user_id=user.id).count() == 1


async def test_queue_email_refuses_unknown_kinds_and_untyped_bulk_mail(settings: Settings) -> None:
    with pytest.raises(ValueError, match="unknown email kind 'nope'"):
        await queue_email(to="a@example.test", kind="nope", context={})
    with pytest.raises(ValueError, match="notification_type"):
        await queue_email(to="a@example.test", kind="welcome", context={}, transactional=False)
    assert await EmailDelivery.all().count() == 0


async def test_a_lost_job_message_is_re_sent_by_the_sweeper_and_sends_once(
    mail_settings: Settings, smtp_server: SmtpServer
) -> None:
    user = await make_user()
    # Queued while no broker took the message (say Redis was down): only the row exists.
    await queue_email(to=user.email, kind="welcome", context={"display_name": "Ada"}, user_id=user.id)
    row = await EmailDelivery.get(user_id=user.id)
    now = datetime.now(UTC)
    assert await delivery.sweep_email_outbox(now, lambda _: None) == []  # not overdue yet: its message may come
    await EmailDelivery.filter(id=row.id).update(next_attempt_at=now - timedelta(minutes=6))

    async with mail_jobs(mail_settings) as services:
        from honeydue.jobs import send_job

        assert services.broker is not None
        resent = await delivery.sweep_email_outbox(now, lambda did: send_job(services.broker, "send_email", did))
        assert resent == [str(row.id)]
        send_job(services.broker, "send_email", str(row.id))  # a duplicate message: a no-op once SENT
        await drain(services)

    assert len(smtp_server.mailbox.envelopes) == 1
    row = await EmailDelivery.get(id=row.id)
    assert (row.status, row.attempts) == (EmailStatus.SENT, 1)


async def test_a_claimed_email_is_not_sent_by_a_second_worker(mail_settings: Settings, smtp_server: SmtpServer) -> None:
    user = await make_user()
    await queue_email(to=user.email, kind="welcome", context={"display_name": "Ada"}, user_id=user.id)
    row = await EmailDelivery.get(user_id=user.id)
    now = datetime.now(UTC)
    await EmailDelivery.filter(id=row.id).update(claimed_until=now + timedelta(minutes=5))
    transport = FileTransport(mail_settings.mail_dir)
    result = await delivery.attempt_delivery(row.id, settings=mail_settings, transport=transport,
                                             signing_keys=[b"k"], now=now)
    assert result.status is None and not mail_settings.mail_dir.exists()
    # Its claim lapsed (the worker died mid-send): the next attempt goes ahead.
    result = await delivery.attempt_delivery(row.id, settings=mail_settings, transport=transport,
                                             signing_keys=[b"k"], now=now + timedelta(minutes=6))
    assert result.status == EmailStatus.SENT


def test_every_kind_renders_a_subject_text_and_escaped_html() -> None:
    context = {"display_name": "<b>Bob</b>", "title": "<i>t</i>", "body": "b", "app_url": "https://a.test",
               "download_url": "https://g.test/media/x.zip", "size": "1.0 MB", "expires_at": "06 December 2026",
               # the account kinds' links (b12-links): a link, how long it works, the addresses involved
               "link": "https://a.test/account/x?token=t", "valid_for": "1 hour", "email": "a@a.test",
               "old_email": "a@a.test", "new_email": "b@a.test",
               # a task reminder's buttons (notification_actions)
               "actions": [{"id": "done", "title": "Done", "url": "https://a.test/actions/t"}]}
    for kind in sorted(known_kinds()):
        rendered = render(kind, context)
        assert rendered.subject.strip() and "\n" not in rendered.subject
        assert "&lt;b&gt;Bob&lt;/b&gt;" in rendered.html and "<b>Bob</b>" not in rendered.html
        assert "<b>Bob</b>" in rendered.text
    with pytest.raises(Exception, match="display_name"):
        render("welcome", {"app_url": "https://a.test"})  # a missing value is an error, not a blank


async def test_reminders_go_out_through_the_outbox_to_verified_members_only(
    mail_settings: Settings, smtp_server: SmtpServer
) -> None:
    from honeydue.models import Membership, Notification, Residence, ResidenceRole, Task, TaskFrequency
    from workers import reminders
    from workers.notify import EmailChannel

    verified, unverified = await make_user(name="Vera"), await make_user(verified=False, name="Una")
    home = await Residence.create(name="Lake house", timezone="UTC")
    for user in (verified, unverified):
        await Membership.create(residence=home, user=user, role=ResidenceRole.OWNER)
    now = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)  # 20:00 local: the default reminder hour
    await Task.create(residence=home, title="Replace <the> filter", frequency=TaskFrequency.ONCE,
                      due_date=now.date(), anchor_date=now.date())

    async with mail_jobs(mail_settings) as services:
        report = await reminders.send_due_reminders(now, [EmailChannel()])
        await drain(services)

    assert report.sent == 2 and await Notification.all().count() == 2  # in-app does not depend on verification
    [mail] = smtp_server.mailbox.messages()
    assert mail["To"] == verified.email and mail["Subject"] == "Replace <the> filter is due today"
    assert "Lake house: due 2026-03-02." in parts(mail)["text/plain"]
    assert "Replace &lt;the&gt; filter" in parts(mail)["text/html"]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    [row] = await EmailDelivery.all()
    assert (row.kind, row.notification_type, row.transactional) == (
        "notification", NotificationType.TASK_DUE_SOON, False)


def test_the_unsubscribe_page_names_every_notification_type() -> None:
    from honeydue.mail.unsubscribe import EMAILS_OF_TYPE

    assert set(EMAILS_OF_TYPE) == set(NotificationType)  # a new type needs its words, or the page would fail
