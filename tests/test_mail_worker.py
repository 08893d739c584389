"""Email through a real ``honeydue worker`` on Redis: the retry is a delayed Redis message, not an in-process one.

The API's way: ``queue_email`` in this process sends ``send_email`` through a Redis broker; a ``honeydue
worker`` process takes it, the SMTP server (aiosmtpd, in this process) answers 451 once, and the worker's
delayed retry delivers it. The waits are deadlines for something to happen, not measurements.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import dramatiq
import pytest

from honeydue.mail.outbox import queue_email
from honeydue.models import EmailDelivery, EmailStatus, User
from honeydue.passwords import DUMMY_HASH
from honeydue.settings import Settings, load_settings
from tests.conftest import REPO, flushed_redis
from tests.plugins.mail import SmtpServer
from workers.broker import create_broker

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

REDIS_URL = os.environ.get("TEST_WORKER_REDIS_URL", "redis://127.0.0.1:6379/12")


@pytest.fixture
def worker_redis() -> Iterator[object]:
    with flushed_redis(REDIS_URL) as client:
        yield client


def start_worker(env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "honeydue.cli", "worker", "--processes", "1", "--threads", "2"],
                            cwd=cwd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)


async def test_a_worker_retries_a_451_after_its_back_off_and_delivers(
    settings: Settings, smtp_server: SmtpServer, worker_redis: object, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("B2_", "PROMETHEUS_", "dramatiq_", "SMTP_"))}
    env.update({"DATABASE_URL": settings.database_url, "REDIS_URL": REDIS_URL, "HONEYDUE_VAR_DIR": str(tmp_path),
                "MEDIA_SIGNING_KEY": "k" * 40, "LOG_FORMAT": "text", "PYTHONPATH": str(REPO),
                "PYTHONUNBUFFERED": "1", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_server.port),
                "SMTP_STARTTLS": "false", "EMAIL_RETRY_BACKOFF_SECONDS": "0.5"})
    smtp_server.mailbox.answer_next("451 4.3.0 Greylisted, try again")
    user = await User.create(email=f"w-{uuid.uuid4().hex[:6]}@example.test", password_hash=DUMMY_HASH,
                             display_name="Wendy", email_verified=True)
    log = tmp_path / "worker.log"
    worker = start_worker(env, tmp_path, log)
    previous = dramatiq.broker.global_broker
    broker = create_broker(load_settings(env))
    dramatiq.set_broker(broker)  # what the API process installs at start
    try:
        await queue_email(to=user.email, kind="welcome", context={"display_name": "Wendy"}, user_id=user.id)
        deadline = time.monotonic() + 60
        row = await EmailDelivery.get(user_id=user.id)
        while row.status is EmailStatus.QUEUED and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            row = await EmailDelivery.get(user_id=user.id)
        assert row.status is EmailStatus.SENT, log.read_text(errors="replace")[-3000:]
    finally:
        dramatiq.broker.global_broker = previous
        broker.close()
        os.killpg(worker.pid, signal.SIGTERM)
        await asyncio.to_thread(worker.wait, 60)

    assert (row.attempts, [e["outcome"] for e in row.attempt_log]) == (2, ["retry", "sent"])
    assert smtp_server.mailbox.refused == ["451 4.3.0 Greylisted, try again"]
    [mail] = smtp_server.mailbox.messages()
    assert mail["Subject"] == "Welcome to honeydue" and mail["Message-ID"] == row.message_id
    assert "attempt 1: retry (451 4.3.0 Greylisted, try again)" in log.read_text()
