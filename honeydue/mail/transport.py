"""How a composed message leaves: SMTP when ``SMTP_HOST`` is set, ``.eml`` files under ``var/mail/`` otherwise.

A transport either returns (delivered: a short detail for the log) or raises ``TransientMailError`` (worth
another attempt later: no connection, a timeout, a 4xx answer) or ``PermanentMailError`` (a 5xx answer,
or a configuration the server refuses: trying again cannot help).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from honeydue.clock import utc_now
from honeydue.settings import Settings

log = logging.getLogger(__name__)


class MailError(Exception):
    """Delivery failed; ``str(error)`` is what the delivery log records."""


class TransientMailError(MailError):
    """Another attempt may succeed (connection refused or lost, timeout, 4xx)."""


class PermanentMailError(MailError):
    """Another attempt will fail the same way (5xx, STARTTLS refused)."""


class MailTransport(Protocol):
    async def send(self, message: EmailMessage) -> str:
        """Deliver ``message``; return a detail for the log, or raise a ``MailError``."""
        ...


def _by_code(code: int, text: str) -> MailError:
    return PermanentMailError(text) if 500 <= code < 600 else TransientMailError(text)


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {' '.join(text.split())}"


def classify(exc: BaseException) -> MailError:
    """The delivery outcome an smtplib/socket exception stands for."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = {rcpt: code for rcpt, (code, _) in exc.recipients.items()}
        text = "; ".join(f"{rcpt}: {_reply(code, msg)}" for rcpt, (code, msg) in exc.recipients.items())
        permanent = all(500 <= code < 600 for code in codes.values())
        return PermanentMailError(text) if permanent else TransientMailError(text)
    if isinstance(exc, smtplib.SMTPResponseException):  # sender refused, data refused, auth, bad greeting
        return _by_code(exc.smtp_code, _reply(exc.smtp_code, exc.smtp_error))
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        # SMTP_STARTTLS=true but the server offers no STARTTLS: refusing beats sending the password in clear.
        return PermanentMailError(f"server does not support it: {exc}")
    if isinstance(exc, TimeoutError):
        return TransientMailError("timed out")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return TransientMailError(f"disconnected: {exc}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return TransientMailError(f"TLS certificate not trusted: {exc.verify_message}")
    if isinstance(exc, OSError):
        return TransientMailError(f"{exc.__class__.__name__}: {exc.strerror or exc}")
    return TransientMailError(f"{exc.__class__.__name__}: {exc}")


@dataclass(kw_only=True, eq=False)
class SmtpTransport:
    """One SMTP connection per message (email is a trickle; a fresh connection never finds a timed-out one).

    smtplib is blocking, so the conversation runs in a worker thread to keep the event loop free.
    """

    host: str
    port: int = 587
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = True
    timeout: float = 30.0
    # The system's trust store unless told otherwise (a private CA, or a test's own certificate).
    tls_context: ssl.SSLContext | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpTransport:
        if not settings.smtp_host:
            raise ValueError("SMTP_HOST is not set")
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )

    async def send(self, message: EmailMessage) -> str:
        try:
            return await asyncio.to_thread(self._deliver, message)
        except Exception as exc:
            raise classify(exc) from exc

    def _deliver(self, message: EmailMessage) -> str:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                # Refuses (SMTPNotSupportedError) a server without STARTTLS rather than falling back
                # to sending the password and the mail in clear.
                smtp.starttls(context=self.tls_context or ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)
            return f"accepted by {self.host}:{self.port}"


class FileTransport:
    """Development without a mail server: each message is logged and written to ``<directory>/*.eml``.

    Any mail program opens the file, so a developer can follow the links in it (a password reset, say).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: EmailMessage) -> str:
        path = await asyncio.to_thread(self._write, message)
        log.info("email to %s: %s (SMTP_HOST unset; written to %s)", message["To"], message["Subject"], path,
                 extra={"to": str(message["To"]), "subject": str(message["Subject"]), "path": str(path)})
        return f"written to {path}"

    def _write(self, message: EmailMessage) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = utc_now().strftime("%Y%m%dT%H%M%S")
        path = self.directory / f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(message.as_bytes())
        tmp.replace(path)  # a reader never sees half a message
        return path


def transport_from_settings(settings: Settings) -> MailTransport:
    """SMTP when ``SMTP_HOST`` is configured, ``.eml`` files under ``HONEYDUE_VAR_DIR/mail/`` otherwise."""
    if settings.smtp_host:
        return SmtpTransport.from_settings(settings)
    return FileTransport(settings.mail_dir)
