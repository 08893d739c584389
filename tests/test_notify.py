"""SMTP transport and the email channel against a real SMTP server (aiosmtpd) on a free local port.

Test dependencies: aiosmtpd (the SMTP receiver) and trustme (a throwaway CA for the STARTTLS case).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from honeydue.delivery.fanout import OutboundChannel
from honeydue.mail.compose import compose, new_message_id
from honeydue.mail.render import RenderedEmail, render
from honeydue.mail.transport import (
    FileTransport,
    PermanentMailError,
    SmtpTransport,
    TransientMailError,
    transport_from_settings,
)
from honeydue.settings import load_settings
from tests.plugins.mail import Mailbox
from workers.notify import EmailChannel, channels_from_settings

SMTP_USER = "mailer"
SMTP_PASSWORD = "s3cret-pass"
SENDER = "honeydue <no-reply@honeydue.test>"
ALICE = "alice@example.test"


def a_message(subject: str = "Replace the furnace filter is due in 3 days", to: str = ALICE) -> EmailMessage:
    rendered = RenderedEmail(subject=subject, text="Due on 2025-03-31 at Home.\nCheck the size first.\n",
                             html="<p>Due on 2025-03-31 at Home.</p>")
    return compose(rendered, sender=SENDER, to=to, message_id=new_message_id(SENDER))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _check_login(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        SMTP_USER.encode(), SMTP_PASSWORD.encode())
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture
def plain_server() -> Iterator[tuple[Controller, Mailbox]]:
    """SMTP without TLS or AUTH, like a local relay."""
    inbox = Mailbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server(ca: trustme.CA) -> Iterator[tuple[Controller, Mailbox]]:
    """SMTP that requires STARTTLS before anything and AUTH before mail, like a submission port."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    inbox = Mailbox()
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


async def test_plain_smtp_delivers_subject_body_and_addresses(plain_server: tuple[Controller, Mailbox]) -> None:
    controller, inbox = plain_server
    transport = SmtpTransport(host="127.0.0.1", port=controller.port, starttls=False)
    message = a_message()
    assert await transport.send(message) == f"accepted by 127.0.0.1:{controller.port}"

    assert [e.rcpt_tos for e in inbox.envelopes] == [[ALICE]]
    assert inbox.envelopes[0].mail_from == "no-reply@honeydue.test"
    [mail] = inbox.messages()
    assert mail["Subject"] == message["Subject"] and mail["To"] == ALICE and mail["From"] == SENDER
    assert mail["Message-ID"] == message["Message-ID"] and mail["Date"]
    assert mail.get_body(("plain",)).get_content().splitlines() == ["Due on 2025-03-31 at Home.",
                                                                   "Check the size first."]


async def test_starttls_and_login_deliver(tls_server: tuple[Controller, Mailbox], ca: trustme.CA) -> None:
    controller, inbox = tls_server
    transport = SmtpTransport(host="127.0.0.1", port=controller.port, username=SMTP_USER, password=SMTP_PASSWORD,
                              starttls=True, tls_context=_client_context(ca))
    await transport.send(a_message())
    [mail] = inbox.messages()
    assert "Check the size first." in mail.get_body(("plain",)).get_content()


async def test_wrong_password_is_a_permanent_failure(tls_server: tuple[Controller, Mailbox], ca: trustme.CA) -> None:
    controller, inbox = tls_server
    transport = SmtpTransport(host="127.0.0.1", port=controller.port, username=SMTP_USER, password="wrong",
                              starttls=True, tls_context=_client_context(ca))
    with pytest.raises(PermanentMailError, match="^535 "):
        await transport.send(a_message())
    assert inbox.envelopes == []


async def test_untrusted_server_certificate_is_refused(tls_server: tuple[Controller, Mailbox]) -> None:
    controller, inbox = tls_server
    transport = SmtpTransport(host="127.0.0.1", port=controller.port, username=SMTP_USER, password=SMTP_PASSWORD,
                              starttls=True)  # system trust store only
    with pytest.raises(TransientMailError, match="certificate") as caught:
        await transport.send(a_message())
    assert isinstance(caught.value.__cause__, ssl.SSLCertVerificationError)
    assert inbox.envelopes == []


async def test_starttls_required_but_missing_refuses_to_send_in_clear(
    plain_server: tuple[Controller, Mailbox],
) -> None:
    controller, inbox = plain_server
    transport = SmtpTransport(host="127.0.0.1", port=controller.port, username=SMTP_USER, password=SMTP_PASSWORD,
                              starttls=True)
    with pytest.raises(PermanentMailError, match="STARTTLS"):
        await transport.send(a_message())
    assert inbox.envelopes == []


async def test_a_4xx_answer_is_transient_and_a_5xx_answer_permanent(plain_server: tuple[Controller, Mailbox]) -> None:
    controller, inbox = plain_server
    inbox.answer_next("452 4.2.2 Mailbox full", "554 5.7.1 Message rejected")
    transport = SmtpTransport(host="127.0.0.1", port=controller.port, starttls=False)
    with pytest.raises(TransientMailError, match="^452 4.2.2 Mailbox full$"):
        await transport.send(a_message())
    with pytest.raises(PermanentMailError, match="^554 5.7.1 Message rejected$"):
        await transport.send(a_message())
    await transport.send(a_message())
    assert len(inbox.envelopes) == 1


def test_line_breaks_in_a_title_cannot_inject_headers() -> None:
    rendered = render("notification", {"display_name": "Alice", "title": "Clean gutters\r\nBcc: mallory@evil.test",
                                   "body": "", "app_url": "https://a.test"})
    message = compose(rendered, sender=SENDER, to=ALICE, message_id=new_message_id(SENDER))
    assert message["Subject"] == "Clean gutters Bcc: mallory@evil.test"
    assert message["Bcc"] is None
    with pytest.raises(ValueError):
        compose(rendered, sender=SENDER, to=f"{ALICE}\r\nBcc: mallory@evil.test", message_id=new_message_id(SENDER))


async def test_unreachable_server_is_transient() -> None:
    transport = SmtpTransport(host="127.0.0.1", port=_free_port(), starttls=False, timeout=5)
    with pytest.raises(TransientMailError, match="ConnectionRefusedError"):
        await transport.send(a_message())


def test_transport_from_settings_picks_smtp_when_configured(tmp_path) -> None:
    settings = load_settings({
        "SMTP_HOST": "mail.example.test", "SMTP_PORT": "2525", "SMTP_USERNAME": "u", "SMTP_PASSWORD": "p",
        "SMTP_FROM": "Home <home@example.test>", "SMTP_STARTTLS": "false", "SMTP_TIMEOUT_SECONDS": "7.5",
    })
    transport = transport_from_settings(settings)
    assert isinstance(transport, SmtpTransport)
    assert (transport.host, transport.port, transport.username, transport.password, transport.starttls,
            transport.timeout) == ("mail.example.test", 2525, "u", "p", False, 7.5)
    without = transport_from_settings(load_settings({"HONEYDUE_VAR_DIR": str(tmp_path)}))
    assert isinstance(without, FileTransport) and without.directory == tmp_path / "mail"


def test_every_notification_goes_out_by_email() -> None:
    for env in ({}, {"SMTP_HOST": "mail.example.test"}):
        email, outbound = channels_from_settings(load_settings(env))
        assert isinstance(email, EmailChannel) and isinstance(outbound, OutboundChannel)
