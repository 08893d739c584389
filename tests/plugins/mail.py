"""A real SMTP server in the test process (aiosmtpd) and the in-process job worker that delivers to it.

``smtp_server`` is one plain SMTP server per test (no TLS, no AUTH: a local relay) whose answers a test can
script: ``smtp_server.mailbox.answer_next("451 4.3.0 Try later", ...)`` makes the next DATA commands fail that
way before it accepts again. ``mail_settings`` are the test's settings pointed at it, with a back-off short
enough to watch retries happen. ``mail_jobs(settings)`` runs the jobs like ``honeydue serve`` does (an
in-process broker and worker on this loop) and ``drain`` waits until every job sent so far, retries included,
is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from honeydue.jobs import QUEUE
from honeydue.services import Services, open_services
from honeydue.settings import Settings

__all__ = ["Mailbox", "SmtpServer", "drain", "mail_jobs", "mail_settings", "smtp_server"]


class Mailbox:
    """aiosmtpd handler: keeps every message it accepts; answers DATA with the scripted replies first."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.refused: list[str] = []  # the replies it gave instead of accepting
        self._script: list[str] = []

    def answer_next(self, *replies: str) -> None:
        self._script.extend(replies)

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        if self._script:
            reply = self._script.pop(0)
            self.refused.append(reply)
            return reply
        self.envelopes.append(envelope)
        return "250 2.0.0 OK"

    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(e.original_content or b"", policy=policy.default)  # type: ignore[misc]
                for e in self.envelopes]


@dataclass
class SmtpServer:
    controller: Controller
    mailbox: Mailbox

    @property
    def port(self) -> int:
        return int(self.controller.port)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield SmtpServer(controller, mailbox)
    finally:
        controller.stop()


@pytest.fixture
def mail_settings(settings: Settings, smtp_server: SmtpServer) -> Settings:
    """The test's settings, sending through ``smtp_server`` in plain SMTP, retrying after 10 ms, 20 ms, ..."""
    return settings.model_copy(update={
        "smtp_host": "127.0.0.1", "smtp_port": smtp_server.port, "smtp_starttls": False,
        "smtp_timeout_seconds": 10.0, "email_retry_backoff_seconds": 0.01, "email_max_attempts": 5,
        "public_app_url": "https://app.honeydue.test",
    })


@contextlib.asynccontextmanager
async def mail_jobs(settings: Settings) -> AsyncIterator[Services]:
    """The in-process broker and worker of ``honeydue serve``, on this loop, over the test's database."""
    from workers.embedded import embedded_broker, run_embedded_jobs

    broker = embedded_broker(settings)
    try:
        async with open_services(settings, broker=broker, open_db=False) as services, \
                run_embedded_jobs(services, run_scheduler=False):
            yield services
    finally:
        broker.close()


async def drain(services: Services) -> None:
    """Wait until every job sent so far (and every retry they scheduled) has run."""
    assert services.broker is not None
    await asyncio.to_thread(services.broker.join, QUEUE, timeout=60_000, fail_fast=True)
