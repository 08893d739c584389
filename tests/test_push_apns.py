"""APNs against a local provider API over TLS and HTTP/2 that verifies the provider JWT's ES256 signature with
the key's public half, the topic and the payload, and answers 410 for an unregistered token
(tests/fakes/apns.py); and end to end from the reminder job, on the suite's database."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import jwt
import pytest
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.state import attach_gateway
from honeydue import clock
from honeydue.app import create_embedded_app
from honeydue.delivery.apns import CATEGORY, HOSTS, APNsTransport
from honeydue.delivery.devices import apns_transport
from honeydue.delivery.message import Action, OutboundMessage, TaskRef
from honeydue.delivery.transport import PermanentDeliveryError, RetryableDeliveryError
from honeydue.models import (
    DeliveryKind,
    DeliveryStatus,
    Device,
    DevicePlatform,
    NotificationDelivery,
    TaskCompletion,
)
from honeydue.settings import Settings
from tests.fakes.apns import APNsService
from tests.fakes.servers import client_context, running
from tests.plugins.mail import drain, mail_jobs
from tests.push_household import household_due_today, transport_in_registry
from workers import reminders

KEY = ec.generate_private_key(ec.SECP256R1())
KEY_ID, TEAM_ID, TOPIC = "ABC123DEFG", "DEF123GHIJ", "com.example.honeydue"
PHONE, OLD_PHONE = "a1" * 32, "b2" * 32
MESSAGE = OutboundMessage(
    event="notification.created", delivery_id="5d0c3b4e-8f7e-4c39-9a38-1f0b7f1c2a11", notification_type="TASK_DUE_SOON",
    title="Clean the gutters is due today", body="Lake house", task=TaskRef(id="t-1", title="Clean the gutters"),
    actions=(Action("done", "Done", "https://app.example.com/actions/aaa"),
             Action("snooze", "Snooze 1 day", "https://app.example.com/actions/bbb")))
OPEN: list[APNsTransport] = []


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def apns(ca: trustme.CA, tmp_path: Path) -> AsyncIterator[APNsService]:
    fake = APNsService(KEY_ID, TEAM_ID, KEY.public_key(), TOPIC, devices={PHONE, OLD_PHONE})
    async with running(fake.app(), ca=ca, tmp=tmp_path) as base_url:
        fake.base_url = base_url  # type: ignore[attr-defined]
        yield fake
        while OPEN:  # close the clients first: an open HTTP/2 connection holds the server up
            await OPEN.pop().aclose()


def sender(apns: APNsService, ca: trustme.CA, *, key: ec.EllipticCurvePrivateKey = KEY,
           topic: str = TOPIC) -> APNsTransport:
    made = APNsTransport(KEY_ID, TEAM_ID, key, topic, base_url=apns.base_url,  # type: ignore[attr-defined]
                         verify=client_context(ca))
    OPEN.append(made)
    return made


def phone(token: str = PHONE) -> Device:
    return Device(platform=DevicePlatform.IOS, token=token)


async def test_an_alert_with_the_task_category_and_action_urls_over_http2(apns: APNsService, ca: trustme.CA) -> None:
    transport = sender(apns, ca)
    await transport.deliver(phone(), MESSAGE)
    await transport.deliver(phone(), MESSAGE)
    assert apns.refused == [] and apns.http_versions == {"2"}
    assert len(apns.provider_tokens) == 1  # one JWT, reused
    [(token, headers, payload), _] = apns.received
    assert token == PHONE
    assert (headers["apns-topic"], headers["apns-push-type"], headers["apns-priority"]) == (TOPIC, "alert", "10")
    assert headers["apns-id"] == headers["apns-collapse-id"] == MESSAGE.delivery_id
    assert int(headers["apns-expiration"]) > time.time() + 3600
    assert payload["aps"] == {"alert": {"title": MESSAGE.title, "body": "Lake house"}, "sound": "default",
                              "thread-id": "t-1", "category": CATEGORY}
    assert payload["actions"] == [{"id": "done", "title": "Done", "url": "https://app.example.com/actions/aaa"},
                                  {"id": "snooze", "title": "Snooze 1 day",
                                   "url": "https://app.example.com/actions/bbb"}]
    assert payload["deliveryId"] == MESSAGE.delivery_id
    assert payload["task"] == {"id": "t-1", "title": "Clean the gutters"}


async def test_a_message_without_actions_has_no_category(apns: APNsService, ca: trustme.CA) -> None:
    plain = OutboundMessage(event="notification.created", delivery_id="d-2", notification_type="RESIDENCE_SHARED",
                            title="Ada joined Lake house", body="")
    await sender(apns, ca).deliver(phone(), plain)
    [(_, headers, payload)] = apns.received
    assert "category" not in payload["aps"] and payload["actions"] == [] and "apns-id" not in headers


async def test_the_provider_token_is_minted_again_before_it_is_an_hour_old(apns: APNsService, ca: trustme.CA) -> None:
    transport = sender(apns, ca)
    await transport.deliver(phone(), MESSAGE)
    first = transport.provider_token()
    transport._jwt = (first, time.time() - 51 * 60)  # minted 51 minutes ago
    await transport.deliver(phone(), MESSAGE)
    assert transport.provider_token() != first and len(apns.provider_tokens) == 2 and apns.refused == []


async def test_an_expired_provider_token_is_retried_with_a_new_one(apns: APNsService, ca: trustme.CA) -> None:
    transport = sender(apns, ca)
    stale = jwt.encode({"iss": TEAM_ID, "iat": int(time.time()) - 7200}, KEY, algorithm="ES256",
                       headers={"kid": KEY_ID})
    transport._jwt = (stale, time.time())  # a JWT that aged out behind the cache's back (a clock jump)
    with pytest.raises(RetryableDeliveryError, match="ExpiredProviderToken"):
        await transport.deliver(phone(), MESSAGE)
    await transport.deliver(phone(), MESSAGE)
    assert len(apns.received) == 1


async def test_a_token_signed_with_another_key_or_for_another_topic_is_refused(apns: APNsService,
                                                                              ca: trustme.CA) -> None:
    with pytest.raises(PermanentDeliveryError, match="403: InvalidProviderToken") as wrong_key:
        await sender(apns, ca, key=ec.generate_private_key(ec.SECP256R1())).deliver(phone(), MESSAGE)
    with pytest.raises(PermanentDeliveryError, match="DeviceTokenNotForTopic") as wrong_topic:
        await sender(apns, ca, topic="com.example.other").deliver(phone(), MESSAGE)
    assert not wrong_key.value.target_gone and not wrong_topic.value.target_gone
    assert apns.received == []


async def test_410_unregistered_means_the_device_is_gone_bad_device_token_does_not(apns: APNsService,
                                                                                    ca: trustme.CA) -> None:
    apns.unregistered.add(OLD_PHONE)
    with pytest.raises(PermanentDeliveryError, match="410: Unregistered") as gone:
        await sender(apns, ca).deliver(phone(OLD_PHONE), MESSAGE)
    assert gone.value.target_gone
    with pytest.raises(PermanentDeliveryError, match="BadDeviceToken") as bad:
        await sender(apns, ca).deliver(phone("c3" * 32), MESSAGE)  # e.g. a sandbox token sent to production
    assert not bad.value.target_gone


async def test_429_and_503_are_retried_honouring_retry_after(apns: APNsService, ca: trustme.CA) -> None:
    apns.answers[PHONE] = [(429, "TooManyRequests", {}), (503, "ServiceUnavailable", {"Retry-After": "120"})]
    transport = sender(apns, ca)
    with pytest.raises(RetryableDeliveryError, match="429: TooManyRequests") as first:
        await transport.deliver(phone(), MESSAGE)
    with pytest.raises(RetryableDeliveryError) as second:
        await transport.deliver(phone(), MESSAGE)
    assert (first.value.retry_after, second.value.retry_after) == (None, 120)


async def test_the_fake_refuses_http1_as_apns_does(apns: APNsService, ca: trustme.CA) -> None:
    async with httpx.AsyncClient(verify=client_context(ca)) as http1:
        answer = await http1.post(f"{apns.base_url}/3/device/{PHONE}", content=b"{}")  # type: ignore[attr-defined]
    assert answer.status_code == 505


def test_settings_make_the_transport_from_a_p8_file(tmp_path: Path, settings: Settings) -> None:
    p8 = tmp_path / f"AuthKey_{KEY_ID}.p8"
    p8.write_bytes(KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
    assert apns_transport(settings) is None
    configured = settings.model_copy(update={"apns_key_id": KEY_ID, "apns_team_id": TEAM_ID,
                                             "apns_private_key": str(p8), "apns_topic": TOPIC,
                                             "apns_environment": "sandbox"})
    made = apns_transport(configured)
    assert isinstance(made, APNsTransport) and made.base_url == HOSTS["sandbox"]
    assert apns_transport(configured) is made
    token = made.provider_token()
    assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": KEY_ID, "typ": "JWT"}
    assert jwt.decode(token, KEY.public_key(), algorithms=["ES256"])["iss"] == TEAM_ID
    pem_text = settings.model_copy(update={**configured.model_dump(include={"apns_key_id", "apns_team_id",
                                                                            "apns_topic"}),
                                           "apns_private_key": p8.read_text().replace("\n", "\\n")})
    assert isinstance(apns_transport(pem_text), APNsTransport)  # the PEM in one env line, literal \n


# --- end to end ------------------------------------------------------------------------------------------------


@pytest.fixture
def ios_transport(apns: APNsService, ca: trustme.CA) -> Iterator[None]:
    with transport_in_registry(DeliveryKind.IOS, sender(apns, ca), apns_transport):
        yield


async def test_a_reminder_reaches_the_phone_and_an_unregistered_one_is_not_used_again(
        settings: Settings, apns: APNsService, ios_transport: None) -> None:
    settings = settings.model_copy(update={"delivery_retry_backoff_seconds": 0.01})
    now = clock.utc_now()
    user, task = await household_due_today("ios@example.com", "Ida", now)
    current = await Device.create(user=user, platform=DevicePlatform.IOS, token=PHONE, token_hash="c" * 64,
                                  last_seen_at=now)
    old = await Device.create(user=user, platform=DevicePlatform.IOS, token=OLD_PHONE, token_hash="d" * 64,
                              last_seen_at=now)
    apns.unregistered.add(OLD_PHONE)  # the app was deleted from the old phone

    async with mail_jobs(settings) as services:
        await reminders.send_due_reminders(now, services.channels)
        await drain(services)
        [(token, _, payload)] = apns.received
        assert token == PHONE
        assert payload["aps"]["alert"]["title"] and payload["notificationType"] == "TASK_DUE_SOON"
        assert payload["task"] == {"id": str(task.id), "title": "Clean the gutters"}
        rows = {r.target_id: r for r in await NotificationDelivery.filter(kind=DeliveryKind.IOS)}
        assert rows[current.id].status is DeliveryStatus.SENT and payload["deliveryId"] == str(rows[current.id].id)
        assert rows[old.id].status is DeliveryStatus.FAILED and "Unregistered" in (rows[old.id].last_error or "")
        assert (await Device.get(id=old.id)).dead_at is not None

        # The lock-screen "Done" button: the app POSTs to the action's URL, bare, without a session.
        assert payload["aps"]["category"] == CATEGORY
        actions = {a["id"]: a["url"] for a in payload["actions"]}
        assert set(actions) == {"done", "snooze"}
        app = create_embedded_app(services.settings)
        attach_gateway(app, services)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app.test") as http:
            done = await http.post(httpx.URL(actions["done"]).path, headers={"Accept": "application/json"})
        assert done.status_code in (200, 204, 303), done.text
        assert await TaskCompletion.filter(task_id=task.id, completed_by_id=user.id).count() == 1

        await reminders.send_overdue_reminders(now + timedelta(days=9), services.channels)
        await drain(services)
    assert [t for t, _, _ in apns.received] == [PHONE, PHONE]
    assert await NotificationDelivery.filter(target_id=old.id).count() == 1
