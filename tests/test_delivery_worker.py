"""A webhook delivery through a real ``honeydue worker`` on Redis: the retry is a delayed Redis message.

The API's way: the fan-out in this process writes the delivery row and sends ``send_notification_delivery``
through a Redis broker; a ``honeydue worker`` process takes it, the receiver answers 503 with Retry-After
once, and the worker's delayed message delivers it. The waits are deadlines for something to happen, not
measurements.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import dramatiq
import pytest

from honeydue.delivery import sealing
from honeydue.delivery.fanout import OutboundChannel
from honeydue.models import (
    DeliveryStatus,
    Notification,
    NotificationChannel,
    NotificationChannelKind,
    NotificationDelivery,
    NotificationType,
    User,
)
from honeydue.passwords import DUMMY_HASH
from honeydue.settings import Settings, load_settings
from tests.conftest import REPO, flushed_redis
from tests.plugins.webhook_receiver import Receiver
from tests.test_mail_worker import REDIS_URL, start_worker
from workers.broker import create_broker

pytestmark = [pytest.mark.e2e, pytest.mark.redis]


@pytest.fixture
def worker_redis() -> Iterator[object]:
    with flushed_redis(REDIS_URL) as client:
        yield client


async def test_a_worker_retries_a_503_after_its_retry_after_and_delivers(
    settings: Settings, webhook_receiver: Receiver, worker_redis: object, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("B2_", "PROMETHEUS_", "dramatiq_", "SMTP_"))}
    env.update({"DATABASE_URL": settings.database_url, "REDIS_URL": REDIS_URL, "HONEYDUE_VAR_DIR": str(tmp_path),
                "MEDIA_SIGNING_KEY": settings.media_signing_key or "", "LOG_FORMAT": "text",
                "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "ALLOW_PRIVATE_WEBHOOKS": "true",
                "DELIVERY_RETRY_BACKOFF_SECONDS": "0.2"})
    user = await User.create(email=f"w-{uuid.uuid4().hex[:6]}@example.test", password_hash=DUMMY_HASH,
                             display_name="Wendy")
    channel_id, keys = uuid.uuid4(), settings.signing_keys()
    await NotificationChannel.create(
        id=channel_id, user=user, kind=NotificationChannelKind.WEBHOOK, name="hook", url_hint="x",
        url_sealed=sealing.seal(keys, webhook_receiver.url, str(channel_id)),
        secret_sealed=sealing.seal(keys, "whsec_worker", str(channel_id)))
    webhook_receiver.secret = "whsec_worker"
    webhook_receiver.answer_next(503, {"Retry-After": "1"})
    notice = await Notification.create(user=user, type=NotificationType.TASK_OVERDUE, title="Gutters", body="b")

    log = tmp_path / "worker.log"
    worker = start_worker(env, tmp_path, log)
    previous = dramatiq.broker.global_broker
    broker = create_broker(load_settings(env))
    dramatiq.set_broker(broker)  # what the API process installs at start
    try:
        await OutboundChannel().send(user, notice)
        deadline = time.monotonic() + 60
        row = await NotificationDelivery.get(notification_id=notice.id)
        while row.status is DeliveryStatus.QUEUED and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            row = await NotificationDelivery.get(id=row.id)
        assert row.status is DeliveryStatus.SENT, log.read_text(errors="replace")[-3000:]
    finally:
        dramatiq.broker.global_broker = previous
        broker.close()
        os.killpg(worker.pid, signal.SIGTERM)
        await asyncio.to_thread(worker.wait, 60)

    assert [e["error"] for e in row.attempt_log] == ["503 Service Unavailable", None]
    [hook] = webhook_receiver.hooks()
    assert hook.body["deliveryId"] == str(row.id) and hook.body["notification"]["title"] == "Gutters"
    assert "attempt 1: retry (503 Service Unavailable)" in log.read_text()
