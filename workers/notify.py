"""Delivery channels: how a notification record reaches a person outside the app.

The workers create the ``Notification`` row (what the ``notifications`` query shows), commit it, and
then hand it to every configured channel (``Services.channels``). ``Channel`` is the one interface
every way of reaching a person implements (email and the log here; push, webhooks and Apprise later),
so a new channel needs no change to the jobs.

Delivery is best effort and at most once: ``send`` raises when it could not deliver, and the caller
(``workers.reminders.deliver``) logs that and goes on with the other channels and recipients. Nothing
retries a failed send: the in-app notification already exists, and the reminder log that keeps a stage
from being sent twice was written with it.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Protocol

from honeydue.settings import Settings

log = logging.getLogger(__name__)


class Recipient(Protocol):
    """What a channel needs of a user (``honeydue.models.User`` fits)."""

    @property
    def email(self) -> str: ...

    @property
    def display_name(self) -> str: ...


class Notice(Protocol):
    """What a channel needs of a notification (``honeydue.models.Notification`` fits)."""

    @property
    def title(self) -> str: ...

    @property
    def body(self) -> str: ...


class Channel(Protocol):
    """One way of reaching a person outside the app; keeps no state between calls."""

    async def send(self, user: Recipient, notification: Notice) -> None:
        """Deliver ``notification`` to ``user`` once; raise when it could not be delivered (nobody retries)."""
        ...


class ConsoleChannel:
    """Writes notifications to the log: the channel of development and of installs without SMTP."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._log = logger or log

    async def send(self, user: Recipient, notification: Notice) -> None:
        self._log.info(
            "notification to %s: %s",
            user.email,
            notification.title,
            extra={"to": user.email, "title": notification.title, "body": notification.body},
        )


def _one_line(text: str) -> str:
    # Titles come from user-written task names; a header must not carry line breaks (header injection).
    return " ".join(text.split())


class SmtpChannel:
    """Sends each notification as a plain-text email through one SMTP server.

    smtplib is blocking, so each message is sent in a worker thread (``asyncio.to_thread``) to keep the
    actor's event loop free. One connection per message: reminders are a daily trickle, and a fresh
    connection never finds a server that timed out an idle one.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int = 587,
        username: str | None = None,
        password: str | None = None,
        sender: str,
        starttls: bool = True,
        timeout: float = 30.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.sender = sender
        self.starttls = starttls
        self.timeout = timeout
        # The system's trust store unless told otherwise (a private CA, or a test's own certificate).
        self.tls_context = tls_context

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpChannel:
        if not settings.smtp_host:
            raise ValueError("SMTP_HOST is not set")
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            sender=settings.smtp_from,
            starttls=settings.smtp_starttls,
        )

    def build_message(self, user: Recipient, notification: Notice) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = formataddr((_one_line(user.display_name), user.email))
        message["Subject"] = _one_line(notification.title)
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="honeydue")
        # RFC 3834: tells mail servers not to send vacation auto-replies to a robot.
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(notification.body or notification.title)
        return message

    async def send(self, user: Recipient, notification: Notice) -> None:
        message = self.build_message(user, notification)
        await asyncio.to_thread(self._deliver, message)

    def _deliver(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                # Refuses (SMTPNotSupportedError) a server without STARTTLS rather than falling back
                # to sending the password and the mail in clear.
                smtp.starttls(context=self.tls_context or ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


def channels_from_settings(settings: Settings) -> list[Channel]:
    """Email when ``SMTP_HOST`` is configured, the log otherwise (so development needs no mail server)."""
    if settings.smtp_host:
        return [SmtpChannel.from_settings(settings)]
    return [ConsoleChannel()]
