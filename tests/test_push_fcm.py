"""FCM HTTP v1 against a local FCM that is also the OAuth2 token endpoint of a test service account: it checks
the RS256 JWT assertion google-auth signs and the bearer token it then sends (tests/fakes/fcm.py); and end to
end from the reminder job, on the suite's database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from honeydue import clock
from honeydue.delivery.devices import fcm_transport
from honeydue.delivery.fcm import FCMTransport
from honeydue.delivery.message import Action, OutboundMessage, TaskRef
from honeydue.delivery.transport import PermanentDeliveryError, RetryableDeliveryError
from honeydue.models import (
    DeliveryKind,
    DeliveryStatus,
    Device,
    DevicePlatform,
    NotificationDelivery,
    ResidenceRole,
)
from honeydue.settings import Settings
from tests.fakes.fcm import FCMService
from tests.fakes.servers import running
from tests.plugins.mail import drain, mail_jobs
from tests.push_household import household_due_today, transport_in_registry
from workers import reminders

PROJECT = "honeydue-test"
PHONE, OLD_PHONE = "fcm-token-1:APA91b-phone", "fcm-token-2:APA91b-old"
MESSAGE = OutboundMessage(
    event="notification.created", delivery_id="5d0c3b4e-8f7e-4c39-9a38-1f0b7f1c2a11", notification_type="TASK_OVERDUE",
    title="Clean the gutters is overdue", body="Lake house", task=TaskRef(id="t-1", title="Clean the gutters"),
    actions=(Action("done", "Done", "https://app.example.com/actions/aaa"),
             Action("snooze", "Snooze 1 day", "https://app.example.com/actions/bbb")))
OPEN: list[FCMTransport] = []


@pytest.fixture
async def fcm(tmp_path: Path) -> AsyncIterator[FCMService]:
    fake = FCMService(PROJECT, devices={PHONE, OLD_PHONE})
    async with running(fake.app()) as base_url:
        fake.base_url = base_url
        yield fake
        while OPEN:
            await OPEN.pop().aclose()


@pytest.fixture
def credentials_file(fcm: FCMService, tmp_path: Path) -> Path:
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps(fcm.service_account_info()))
    return path


def sender(fcm: FCMService, credentials_file: Path, settings: Settings) -> FCMTransport:
    """The transport as the settings make it, pointed at the fake instead of fcm.googleapis.com."""
    configured = settings.model_copy(update={"fcm_project_id": PROJECT, "fcm_credentials_file": credentials_file})
    made = FCMTransport.from_settings(configured)
    assert made is not None
    made.url = made.url.replace("https://fcm.googleapis.com", fcm.base_url)
    OPEN.append(made)
    return made


def phone(token: str = PHONE) -> Device:
    return Device(platform=DevicePlatform.ANDROID, token=token)


async def test_a_message_with_a_token_minted_from_the_service_account(fcm: FCMService, credentials_file: Path,
                                                                      settings: Settings) -> None:
    transport = sender(fcm, credentials_file, settings)
    await transport.deliver(phone(), MESSAGE)
    await transport.deliver(phone(), MESSAGE)
    assert fcm.refused == [] and fcm.tokens_minted == 1  # the access token is cached
    [message, _] = fcm.received
    assert message["token"] == PHONE
    assert message["notification"] == {"title": "Clean the gutters is overdue", "body": "Lake house"}
    assert message["android"] == {"priority": "HIGH", "ttl": "86400s",
                                  "notification": {"tag": "t-1", "click_action": "HONEYDUE_TASK"}}
    data = message["data"]
    assert (data["deliveryId"], data["notificationType"]) == (MESSAGE.delivery_id, "TASK_OVERDUE")
    assert (data["taskId"], data["taskTitle"]) == ("t-1", "Clean the gutters")
    assert [a["url"] for a in json.loads(data["actions"])] == ["https://app.example.com/actions/aaa",
                                                               "https://app.example.com/actions/bbb"]


async def test_a_token_close_to_expiry_is_minted_again(fcm: FCMService, credentials_file: Path,
                                                       settings: Settings) -> None:
    fcm.token_lifetime = 60  # google-auth refreshes tokens within minutes of expiry
    transport = sender(fcm, credentials_file, settings)
    await transport.deliver(phone(), MESSAGE)
    await transport.deliver(phone(), MESSAGE)
    assert fcm.tokens_minted == 2 and len(fcm.received) == 2


async def test_a_revoked_access_token_is_dropped_and_the_retry_mints_another(fcm: FCMService, credentials_file: Path,
                                                                             settings: Settings) -> None:
    transport = sender(fcm, credentials_file, settings)
    await transport.deliver(phone(), MESSAGE)
    fcm.access_tokens.clear()  # revoked server-side
    with pytest.raises(RetryableDeliveryError, match="401"):
        await transport.deliver(phone(), MESSAGE)
    await transport.deliver(phone(), MESSAGE)
    assert fcm.tokens_minted == 2 and len(fcm.received) == 2


async def test_a_key_google_does_not_know_is_a_permanent_failure(fcm: FCMService, credentials_file: Path,
                                                                 settings: Settings, tmp_path: Path) -> None:
    impostor = FCMService(PROJECT, base_url=fcm.base_url)  # another key, claiming the same account
    forged = json.dumps(impostor.service_account_info() | {"private_key_id": fcm.key_id})
    await asyncio.to_thread(credentials_file.write_text, forged)
    with pytest.raises(PermanentDeliveryError, match="FCM token refused"):
        await sender(fcm, credentials_file, settings).deliver(phone(), MESSAGE)
    assert fcm.received == [] and fcm.refused[0][1].startswith("invalid_grant")


async def test_unregistered_is_gone_other_refusals_are_not(fcm: FCMService, credentials_file: Path,
                                                           settings: Settings) -> None:
    fcm.unregistered.add(OLD_PHONE)
    transport = sender(fcm, credentials_file, settings)
    with pytest.raises(PermanentDeliveryError, match="UNREGISTERED") as gone:
        await transport.deliver(phone(OLD_PHONE), MESSAGE)
    assert gone.value.target_gone
    with pytest.raises(PermanentDeliveryError, match="INVALID_ARGUMENT") as invalid:
        await transport.deliver(phone("never-registered"), MESSAGE)
    assert not invalid.value.target_gone


async def test_quota_and_unavailable_are_retried_honouring_retry_after(fcm: FCMService, credentials_file: Path,
                                                                       settings: Settings) -> None:
    fcm.answers[PHONE] = [(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", {"Retry-After": "60"}),
                          (503, "UNAVAILABLE", "UNAVAILABLE", {})]
    transport = sender(fcm, credentials_file, settings)
    with pytest.raises(RetryableDeliveryError, match="QUOTA_EXCEEDED") as quota:
        await transport.deliver(phone(), MESSAGE)
    with pytest.raises(RetryableDeliveryError, match="503") as unavailable:
        await transport.deliver(phone(), MESSAGE)
    assert (quota.value.retry_after, unavailable.value.retry_after) == (60, None)


def test_the_registry_makes_the_transport_only_when_configured(settings: Settings, tmp_path: Path) -> None:
    assert fcm_transport(settings) is None
    path = tmp_path / "sa.json"
    path.write_text(json.dumps(FCMService(PROJECT, base_url="http://127.0.0.1:9").service_account_info()))
    configured = settings.model_copy(update={"fcm_project_id": PROJECT, "fcm_credentials_file": path})
    made = fcm_transport(configured)
    assert isinstance(made, FCMTransport) and fcm_transport(configured) is made
    assert made.url == f"https://fcm.googleapis.com/v1/projects/{PROJECT}/messages:send"


# --- end to end ------------------------------------------------------------------------------------------------


@pytest.fixture
def android_transport(fcm: FCMService, credentials_file: Path, settings: Settings) -> Iterator[None]:
    with transport_in_registry(DeliveryKind.ANDROID, sender(fcm, credentials_file, settings), fcm_transport):
        yield


async def test_a_reminder_reaches_the_android_phone_and_an_unregistered_one_is_not_used_again(
        settings: Settings, fcm: FCMService, android_transport: None) -> None:
    settings = settings.model_copy(update={"delivery_retry_backoff_seconds": 0.01})
    now = clock.utc_now()
    user, task = await household_due_today("droid@example.com", "Dora", now, ResidenceRole.EDITOR)
    current = await Device.create(user=user, platform=DevicePlatform.ANDROID, token=PHONE, token_hash="e" * 64,
                                  last_seen_at=now)
    old = await Device.create(user=user, platform=DevicePlatform.ANDROID, token=OLD_PHONE, token_hash="f" * 64,
                              last_seen_at=now)
    fcm.unregistered.add(OLD_PHONE)

    async with mail_jobs(settings) as services:
        await reminders.send_due_reminders(now, services.channels)
        await drain(services)
        [message] = fcm.received
        assert message["token"] == PHONE and message["data"]["taskId"] == str(task.id)
        assert [a["id"] for a in json.loads(message["data"]["actions"])] == ["done", "snooze"]  # an editor acts
        assert message["android"]["notification"]["click_action"] == "HONEYDUE_TASK"
        rows = {r.target_id: r for r in await NotificationDelivery.filter(kind=DeliveryKind.ANDROID)}
        assert rows[current.id].status is DeliveryStatus.SENT
        assert message["data"]["deliveryId"] == str(rows[current.id].id)
        assert rows[old.id].status is DeliveryStatus.FAILED and "UNREGISTERED" in (rows[old.id].last_error or "")
        assert (await Device.get(id=old.id)).dead_at is not None

        await reminders.send_overdue_reminders(now + timedelta(days=2), services.channels)
        await drain(services)
    assert [m["token"] for m in fcm.received] == [PHONE, PHONE]
    assert await NotificationDelivery.filter(target_id=old.id).count() == 1
