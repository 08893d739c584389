"""Delivery channels against a real SMTP server (aiosmtpd) on a free local port.

Test dependencies: aiosmtpd (the SMTP receiver) and trustme (a throwaway CA for the STARTTLS case).
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword

from honeydue.settings import load_settings
from workers.notify import ConsoleChannel, SmtpChannel, channels_from_settings

SMTP_USER = "mailer"
SMTP_PASSWORD = "s3cret-pass"


@dataclass
class Person:
    email: str
    display_name: str


@dataclass
class Note:
    title: str
    body: str


ALICE = Person("alice@example.test", "Alice Liddell")
REMINDER = Note("Replace the furnace filter is due in 3 days", "Due on 2025-03-31 at Home.\nCheck the size first.")


class Inbox:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(e.original_content or b"", policy=policy.default) for e in self.envelopes]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _check_login(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        SMTP_USER.encode(), SMTP_PASSWORD.encode())
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture
def plain_server() -> Iterator[tuple[Controller, Inbox]]:
    """SMTP without TLS or AUTH, like a local relay."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server(ca: trustme.CA) -> Iterator[tuple[Controller, Inbox]]:
    """SMTP that requires STARTTLS before anything and AUTH before mail, like a submission port."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    inbox = Inbox()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=_free_port(), tls_context=server_context, require_starttls=True,
        authenticator=_check_login, auth_require_tls=True, auth_required=True,
    )
    controller.start()
    yield controller, inbox
    controller.stop()


def _client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


async def test_plain_smtp_delivers_subject_body_and_addresses(plain_server: tuple[Controller, Inbox]) -> None:
    controller, inbox = plain_server
    channel = SmtpChannel(host="127.0.0.1", port=controller.port, sender="honeydue <no-reply@honeydue.test>",
                          starttls=False)
    await channel.send(ALICE, REMINDER)

    assert [e.rcpt_tos for e in inbox.envelopes] == [[ALICE.email]]
    assert inbox.envelopes[0].mail_from == "no-reply@honeydue.test"
    [mail] = inbox.messages()
    assert mail["Subject"] == REMINDER.title
    assert mail["To"] == "Alice Liddell <alice@example.test>"
    assert mail["From"] == "honeydue <no-reply@honeydue.test>"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["Message-ID"] and mail["Date"]
    assert mail.get_content().splitlines() == REMINDER.body.splitlines()


async def test_starttls_and_login_deliver(tls_server: tuple[Controller, Inbox], ca: trustme.CA) -> None:
    controller, inbox = tls_server
    channel = SmtpChannel(host="127.0.0.1", port=controller.port, username=SMTP_USER, password=SMTP_PASSWORD,
                          sender="no-reply@honeydue.test", starttls=True, tls_context=_client_context(ca))
    await channel.send(ALICE, REMINDER)

    [mail] = inbox.messages()
    assert mail["Subject"] == REMINDER.title
    assert REMINDER.body.splitlines()[1] in mail.get_content()


async def test_wrong_password_raises_so_the_job_is_retried(
    tls_server: tuple[Controller, Inbox], ca: trustme.CA
) -> None:
    controller, inbox = tls_server
    channel = SmtpChannel(host="127.0.0.1", port=controller.port, username=SMTP_USER, password="wrong",
                          sender="no-reply@honeydue.test", starttls=True, tls_context=_client_context(ca))
    with pytest.raises(smtplib.SMTPAuthenticationError):
        await channel.send(ALICE, REMINDER)
    assert inbox.envelopes == []


async def test_untrusted_server_certificate_is_refused(tls_server: tuple[Controller, Inbox]) -> None:
    controller, inbox = tls_server
    channel = SmtpChannel(host="127.0.0.1", port=controller.port, username=SMTP_USER, password=SMTP_PASSWORD,
                          sender="no-reply@honeydue.test", starttls=True)  # system trust store only
    with pytest.raises(ssl.SSLCertVerificationError):
        await channel.send(ALICE, REMINDER)
    assert inbox.envelopes == []


async def test_starttls_required_but_missing_refuses_to_send_in_clear(
    plain_server: tuple[Controller, Inbox],
) -> None:
    controller, inbox = plain_server
    channel = SmtpChannel(host="127.0.0.1", port=controller.port, username=SMTP_USER, password=SMTP_PASSWORD,
                          sender="no-reply@honeydue.test", starttls=True)
    with pytest.raises(smtplib.SMTPNotSupportedError):
        await channel.send(ALICE, REMINDER)
    assert inbox.envelopes == []


async def test_line_breaks_in_a_title_cannot_inject_headers(plain_server: tuple[Controller, Inbox]) -> None:
    controller, inbox = plain_server
    channel = SmtpChannel(host="127.0.0.1", port=controller.port, sender="no-reply@honeydue.test",
                          starttls=False)
    await channel.send(Person(ALICE.email, "Alice\r\nCc: x@evil.test"),
                       Note("Clean gutters\r\nBcc: mallory@evil.test", "body"))

    assert [e.rcpt_tos for e in inbox.envelopes] == [[ALICE.email]]
    [mail] = inbox.messages()
    assert mail["Subject"] == "Clean gutters Bcc: mallory@evil.test"
    assert mail["Bcc"] is None and mail["Cc"] is None


async def test_unreachable_server_raises() -> None:
    channel = SmtpChannel(host="127.0.0.1", port=_free_port(), sender="no-reply@honeydue.test",
                          starttls=False, timeout=5)
    with pytest.raises(OSError):
        await channel.send(ALICE, REMINDER)


async def test_console_channel_logs_the_notification(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("honeydue.test_notify")
    with caplog.at_level(logging.INFO, logger=logger.name):
        await ConsoleChannel(logger).send(ALICE, REMINDER)
    [record] = caplog.records
    assert ALICE.email in record.getMessage() and REMINDER.title in record.getMessage()
    assert record.__dict__["body"] == REMINDER.body


def test_channels_from_settings_picks_smtp_when_configured() -> None:
    settings = load_settings({
        "SMTP_HOST": "mail.example.test", "SMTP_PORT": "2525", "SMTP_USERNAME": "u", "SMTP_PASSWORD": "p",
        "SMTP_FROM": "Home <home@example.test>", "SMTP_STARTTLS": "false",
    })
    [channel] = channels_from_settings(settings)
    assert isinstance(channel, SmtpChannel)
    assert (channel.host, channel.port, channel.username, channel.password, channel.sender, channel.starttls) == (
        "mail.example.test", 2525, "u", "p", "Home <home@example.test>", False)


def test_channels_from_settings_falls_back_to_console() -> None:
    [channel] = channels_from_settings(load_settings({}))
    assert isinstance(channel, ConsoleChannel)
