"""End to end: the reminder job to a webhook receiver that verifies the signature, and back through an action.

Once in process (the embedded worker of ``honeydue serve``), once as ``honeydue jobs run send_due_reminders``
without Redis, which must run the reminders and the deliveries they cause, their retries included, before it
exits. The receiver (tests/plugins/webhook_receiver.py) answers 200 only to a correctly signed request.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest

from honeydue.models import (
    DeliveryStatus,
    Membership,
    NotificationDelivery,
    NotificationPreference,
    NotificationType,
    Residence,
    ResidenceRole,
    Task,
    TaskFrequency,
    User,
)
from honeydue.settings import Settings
from tests.conftest import REPO
from tests.plugins.mail import drain, mail_jobs
from tests.plugins.webhook_receiver import Receiver
from tests.wall_clock import HOUR, JOBS_RUN_TIMEOUT, await_clear_of_edge
from workers import reminders

ADD = """
mutation($input: AddNotificationChannelInput!) {
  addNotificationChannel(input: $input) { channel { id } secret userErrors { message } }
}"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"allow_private_webhooks": True, "delivery_retry_backoff_seconds": 0.01,
                                       "public_app_url": "http://testserver"})


async def home_with_task(user_id: str, due: datetime) -> Task:
    home = await Residence.create(name="Lake house", timezone="UTC")
    await Membership.create(residence=home, user_id=user_id, role=ResidenceRole.OWNER)
    return await Task.create(residence=home, title="Replace filter", frequency=TaskFrequency.ONCE,
                             due_date=due.date(), anchor_date=due.date())


async def add_webhook(api: Any, token: str, receiver: Receiver) -> None:
    data = await api.execute(ADD, {"input": {"kind": "WEBHOOK", "url": receiver.url, "name": "hook"}}, token=token)
    payload = data["data"]["addNotificationChannel"]
    assert payload["userErrors"] == [], payload
    receiver.secret = payload["secret"]


async def test_a_reminder_reaches_the_webhook_signed_and_its_done_action_completes_the_task(
    api: Any, make_user: Any, settings: Settings, webhook_receiver: Receiver
) -> None:
    token, me = await make_user()
    now = datetime.now(UTC).replace(hour=20, minute=0, second=0, microsecond=0)  # the default reminder hour
    task = await home_with_task(me["id"], now)
    await add_webhook(api, token, webhook_receiver)
    webhook_receiver.answer_next(503, {"Retry-After": "0"})  # the receiver is briefly down

    async with mail_jobs(settings) as services:
        report = await reminders.send_due_reminders(now, services.channels)
        await drain(services)
        assert report.sent == 1
        again = await reminders.send_due_reminders(now, services.channels)  # the job ran twice this hour
        await drain(services)
        assert again.already_sent == 1

    [hook] = webhook_receiver.hooks()
    [row] = await NotificationDelivery.all()
    assert (row.status, row.attempts) == (DeliveryStatus.SENT, 2)
    body = hook.body
    assert body["event"] == "notification.created" and body["deliveryId"] == str(row.id)
    assert body["notification"] == {"type": "TASK_DUE_SOON", "title": "Replace filter is due today",
                                    "body": f"Lake house: due {now.date().isoformat()}."}
    assert body["task"] == {"id": str(task.id), "title": "Replace filter"}
    assert [(a["id"], a["title"]) for a in body["actions"]] == [("done", "Done"), ("snooze", "Snooze 1 day")]
    assert all(a["url"].startswith("http://testserver/actions/") for a in body["actions"])

    # The webhook's consumer presses Done: a bare, empty POST, no session.
    done = body["actions"][0]["url"]
    answer = await api.http.post(urlsplit(done).path)
    assert answer.status_code in (200, 204, 303), answer.text
    assert (await Task.get(id=task.id)).completed is True


@pytest.mark.e2e  # starts `honeydue` processes
async def test_jobs_run_without_redis_delivers_and_retries_before_it_exits(
    api: Any, make_user: Any, settings: Settings, webhook_receiver: Receiver, tmp_path: Any
) -> None:
    token, me = await make_user()
    # The command reads the wall clock and must run in the hour the preference names (and on the due date):
    # start clear of the hour's end by more than the command may take.
    now = await await_clear_of_edge(HOUR, needed=JOBS_RUN_TIMEOUT + 10)
    await home_with_task(me["id"], now)
    user = await User.get(id=me["id"])
    # Reminded at the current UTC hour, so the job run now (no scheduler instant) serves it.
    await NotificationPreference.create(user=user, type=NotificationType.TASK_DUE_SOON, enabled=True,
                                        hour_of_day=now.hour)
    await add_webhook(api, token, webhook_receiver)
    webhook_receiver.answer_next(429, {"Retry-After": "1"})

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("B2_", "DATABASE_URL", "REDIS_URL", "SMTP_", "PROMETHEUS_", "dramatiq_"))}
    env.update({"PYTHONPATH": str(REPO), "LOG_FORMAT": "text", "DATABASE_URL": settings.database_url,
                "HONEYDUE_VAR_DIR": str(tmp_path / "var"), "MEDIA_SIGNING_KEY": settings.media_signing_key or "",
                "ALLOW_PRIVATE_WEBHOOKS": "true", "DELIVERY_RETRY_BACKOFF_SECONDS": "0.2",
                "PUBLIC_APP_URL": "https://app.honeydue.test"})
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "honeydue.cli", "jobs", "run", "send_due_reminders"], env=env,
        capture_output=True, timeout=JOBS_RUN_TIMEOUT)
    output = done.stdout.decode() + done.stderr.decode()
    assert done.returncode == 0, output
    assert "ran send_due_reminders in this process" in output

    # Delivered, after the receiver's Retry-After, before the command exited.
    [hook] = webhook_receiver.hooks()
    [row] = await NotificationDelivery.all()
    assert (row.status, row.attempts) == (DeliveryStatus.SENT, 2), output
    assert [e["error"] for e in row.attempt_log] == ["429 Too Many Requests", None]
    assert hook.body["deliveryId"] == str(row.id)
    assert [a["url"].startswith("https://app.honeydue.test/actions/") for a in hook.body["actions"]] == [True, True]
    assert uuid.UUID(hook.body["task"]["id"])
