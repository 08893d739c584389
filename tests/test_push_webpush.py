"""Web Push (RFC 8030/8291/8292) against a local push service that verifies the VAPID JWT and decrypts the
payload with the subscription's keys (tests/fakes/webpush.py); and end to end, from the reminder job through
the delivery job to the browser's decrypted payload, on the suite's database."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from honeydue import clock
from honeydue.delivery import ssrf
from honeydue.delivery.devices import webpush_transport
from honeydue.delivery.keys import b64url, vapid_public_key, vapid_raw_private_key
from honeydue.delivery.message import Action, OutboundMessage, TaskRef
from honeydue.delivery.transport import PermanentDeliveryError, RetryableDeliveryError
from honeydue.delivery.webpush import WebPushTransport
from honeydue.models import (
    DeliveryKind,
    DeliveryStatus,
    Device,
    DevicePlatform,
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
from honeydue.passwords import DUMMY_HASH
from honeydue.settings import Settings
from tests.conftest import REPO
from tests.fakes.servers import client_context, running
from tests.fakes.webpush import Subscription, WebPushService
from tests.plugins.mail import drain, mail_jobs
from tests.push_household import household_due_today, transport_in_registry
from tests.wall_clock import HOUR, JOBS_RUN_TIMEOUT, await_clear_of_edge
from workers import reminders

KEY = ec.generate_private_key(ec.SECP256R1())
SERVER_KEY = vapid_public_key(KEY)
SUBJECT = "mailto:ops@example.com"
MESSAGE = OutboundMessage(
    event="notification.created", delivery_id="5d0c3b4e-8f7e-4c39-9a38-1f0b7f1c2a11", notification_type="TASK_DUE_SOON",
    title="Clean the gutters is due today", body="Lake house", task=TaskRef(id="t-1", title="Clean the gutters"),
    actions=(Action("done", "Done", "https://app.example.com/actions/aaa"),
             Action("snooze", "Snooze 1 day", "https://app.example.com/actions/bbb")))


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def service(ca: trustme.CA, tmp_path: Path) -> AsyncIterator[WebPushService]:
    fake = WebPushService()
    async with running(fake.app(), ca=ca, tmp=tmp_path, names=("push.test",)) as base_url:
        fake.base_url = base_url
        yield fake
        while OPEN:  # close the test's clients first: an open keep-alive connection holds the server up
            await OPEN.pop().aclose()


OPEN: list[WebPushTransport] = []


def transport(ca: trustme.CA, *, allow_private: bool = True, key: ec.EllipticCurvePrivateKey = KEY) -> WebPushTransport:
    made = WebPushTransport(key, SUBJECT, allow_private=allow_private, verify=client_context(ca))
    OPEN.append(made)
    return made


def device_for(service: WebPushService, sub: Subscription) -> Device:
    return Device(platform=DevicePlatform.WEB, token=service.endpoint(sub), web_push_endpoint=service.endpoint(sub),
                  web_push_p256dh=sub.p256dh, web_push_auth=b64url(sub.auth))


async def test_the_browser_decrypts_the_webhook_shaped_payload(service: WebPushService, ca: trustme.CA) -> None:
    sub = service.subscribe(SERVER_KEY)
    sender = transport(ca)
    await sender.deliver(device_for(service, sub), MESSAGE)
    await sender.deliver(device_for(service, sub), MESSAGE)  # the cached VAPID JWT is accepted again
    assert service.refused == []
    assert service.received == [(sub.id, MESSAGE.webhook_body())] * 2
    [(_, payload), _] = service.received
    assert [a["url"] for a in payload["actions"]] == ["https://app.example.com/actions/aaa",
                                                      "https://app.example.com/actions/bbb"]


async def test_a_subscription_made_for_another_server_key_is_refused_not_gone(service: WebPushService,
                                                                            ca: trustme.CA) -> None:
    sub = service.subscribe(vapid_public_key(ec.generate_private_key(ec.SECP256R1())))
    with pytest.raises(PermanentDeliveryError) as caught:
        await transport(ca).deliver(device_for(service, sub), MESSAGE)
    assert not caught.value.target_gone and "403" in str(caught.value)
    assert service.received == [] and service.refused[0][0] == 403


@pytest.mark.parametrize("status", [404, 410])
async def test_404_and_410_mean_the_subscription_is_gone(service: WebPushService, ca: trustme.CA,
                                                         status: int) -> None:
    sub = service.subscribe(SERVER_KEY)
    service.answers[sub.id] = [(status, {})]
    with pytest.raises(PermanentDeliveryError) as caught:
        await transport(ca).deliver(device_for(service, sub), MESSAGE)
    assert caught.value.target_gone and str(status) in str(caught.value)


async def test_429_and_5xx_are_retried_honouring_retry_after(service: WebPushService, ca: trustme.CA) -> None:
    sub = service.subscribe(SERVER_KEY)
    service.answers[sub.id] = [(429, {"Retry-After": "30"}), (503, {})]
    with pytest.raises(RetryableDeliveryError) as first:
        await transport(ca).deliver(device_for(service, sub), MESSAGE)
    assert first.value.retry_after == 30
    with pytest.raises(RetryableDeliveryError) as second:
        await transport(ca).deliver(device_for(service, sub), MESSAGE)
    assert second.value.retry_after is None and "503" in str(second.value)


async def test_a_private_endpoint_is_refused_before_anything_is_sent(service: WebPushService,
                                                                     ca: trustme.CA) -> None:
    sub = service.subscribe(SERVER_KEY)
    with pytest.raises(PermanentDeliveryError) as caught:
        await transport(ca, allow_private=False).deliver(device_for(service, sub), MESSAGE)
    assert "loopback" in str(caught.value) and not caught.value.target_gone
    assert service.received == [] and service.refused == []


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """A resolver table for the send-time check (``honeydue.delivery.ssrf``); unknown names do not resolve."""
    table: dict[str, list[str]] = {}

    async def getaddrinfo(host: str, port: int, **_: object) -> list:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in table[host]]

    monkeypatch.setattr(ssrf, "_getaddrinfo", getaddrinfo)
    return table


async def test_the_send_connects_to_the_checked_address_under_the_endpoints_name(
        service: WebPushService, ca: trustme.CA, dns: dict[str, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    # push.test resolves to the fake's loopback address, let through here as if it were public: the request must
    # go to that address while TLS (SNI, the certificate) and Host still name push.test.
    monkeypatch.setattr(ssrf, "address_problem", lambda address: None)
    dns["push.test"] = ["127.0.0.1"]
    service.base_url = service.base_url.replace("127.0.0.1", "push.test")  # the VAPID aud is https://push.test:…
    sub = service.subscribe(SERVER_KEY)
    await transport(ca, allow_private=False).deliver(device_for(service, sub), MESSAGE)
    assert service.refused == [] and [to for to, _ in service.received] == [sub.id]
    assert service.hosts == [service.base_url.removeprefix("https://")]


async def test_a_name_that_resolves_inward_or_not_at_all_is_not_sent_to(
        service: WebPushService, ca: trustme.CA, dns: dict[str, list[str]]) -> None:
    dns["push.example.net"] = ["93.184.216.34", "10.0.0.5"]
    sub = service.subscribe(SERVER_KEY)
    inward = device_for(service, sub)
    inward.web_push_endpoint = f"https://push.example.net/push/{sub.id}"
    with pytest.raises(PermanentDeliveryError, match="10.0.0.5") as refused:
        await transport(ca, allow_private=False).deliver(inward, MESSAGE)
    assert not refused.value.target_gone
    inward.web_push_endpoint = f"https://gone.example.net/push/{sub.id}"
    with pytest.raises(RetryableDeliveryError, match="could not be resolved"):
        await transport(ca, allow_private=False).deliver(inward, MESSAGE)
    assert service.received == [] and service.refused == []


async def test_an_unreachable_push_service_is_retried(ca: trustme.CA) -> None:
    from tests.conftest import free_port

    gone = Device(platform=DevicePlatform.WEB, web_push_endpoint=f"https://127.0.0.1:{free_port()}/push/x",
                  web_push_p256dh=WebPushService().subscribe(SERVER_KEY).p256dh, web_push_auth="AAAAAAAAAAAAAAAAAAAAAA")
    with pytest.raises(RetryableDeliveryError):
        await transport(ca).deliver(gone, MESSAGE)


def test_the_registry_makes_one_transport_per_configuration(settings: Settings) -> None:
    assert webpush_transport(settings) is None  # no VAPID key: Web Push is off
    pem = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    configured = settings.model_copy(update={"vapid_private_key": pem, "vapid_subject": SUBJECT})
    first = webpush_transport(configured)
    assert first is not None and webpush_transport(configured) is first


# --- end to end: the reminder job, the delivery job, the push service, the browser --------------------------


@pytest.fixture
def web_transport(ca: trustme.CA) -> Iterator[None]:
    """The WEB kind's transport trusting the fake's CA (the real one trusts the public CAs)."""
    with transport_in_registry(DeliveryKind.WEB, transport(ca), webpush_transport):
        yield


async def test_a_reminder_reaches_the_browser_and_a_gone_subscription_is_not_used_again(
        settings: Settings, service: WebPushService, web_transport: None) -> None:
    settings = settings.model_copy(update={"delivery_retry_backoff_seconds": 0.01, "allow_private_webhooks": True})
    now = clock.utc_now()
    user, task = await household_due_today("web@example.com", "Wen", now)
    laptop, phone = service.subscribe(SERVER_KEY), service.subscribe(SERVER_KEY)
    laptop_device = device_for(service, laptop)
    laptop_device.user_id, laptop_device.last_seen_at, laptop_device.token_hash = user.id, now, "a" * 64
    await laptop_device.save()
    phone_device = device_for(service, phone)
    phone_device.user_id, phone_device.last_seen_at, phone_device.token_hash = user.id, now, "b" * 64
    await phone_device.save()
    service.answers[phone.id] = [(410, {})]  # the phone's browser unsubscribed

    async with mail_jobs(settings) as services:
        assert (await reminders.send_due_reminders(now, services.channels)).sent == 1
        await drain(services)
        [(to, payload)] = service.received
        assert to == laptop.id
        assert payload["event"] == "notification.created"
        assert payload["notification"]["type"] == "TASK_DUE_SOON"
        assert payload["task"] == {"id": str(task.id), "title": "Clean the gutters"}
        assert [a["id"] for a in payload["actions"]] == ["done", "snooze"]  # an owner may act on the task
        assert all("/actions/" in a["url"] for a in payload["actions"])
        rows = {r.target_id: r for r in await NotificationDelivery.filter(kind=DeliveryKind.WEB)}
        assert rows[laptop_device.id].status is DeliveryStatus.SENT
        assert payload["deliveryId"] == str(rows[laptop_device.id].id)
        assert (rows[phone_device.id].status, rows[phone_device.id].attempts) == (DeliveryStatus.FAILED, 1)
        assert "410" in (rows[phone_device.id].last_error or "")
        dead = await Device.get(id=phone_device.id)
        assert dead.dead_at is not None and "410" in (dead.dead_reason or "")

        # The next reminder (overdue, two days on) goes to the laptop only: the dead device is not tried.
        later = now + timedelta(days=2)
        await reminders.send_overdue_reminders(later, services.channels)
        await drain(services)
    assert [to for to, _ in service.received] == [laptop.id, laptop.id]
    assert await NotificationDelivery.filter(target_id=phone_device.id).count() == 1


@pytest.mark.e2e  # starts `honeydue` processes
async def test_jobs_run_without_redis_pushes_and_retries_before_it_exits(
        settings: Settings, service: WebPushService, ca: trustme.CA, tmp_path: Path) -> None:
    """``honeydue jobs run send_due_reminders`` as an operator runs it, with the transport the settings make."""
    # The command reads the wall clock and must run in the hour the preference names (and on the due date):
    # start clear of the hour's end by more than the command may take.
    now = await await_clear_of_edge(HOUR, needed=JOBS_RUN_TIMEOUT + 10)
    user = await User.create(email="cli@example.com", password_hash=DUMMY_HASH, display_name="Cleo",
                             email_verified=True)
    home = await Residence.create(name="Lake house", timezone="UTC")
    await Membership.create(residence=home, user=user, role=ResidenceRole.OWNER)
    await NotificationPreference.create(user=user, type=NotificationType.TASK_DUE_SOON, hour_of_day=now.hour)
    await Task.create(residence=home, title="Clean the gutters", frequency=TaskFrequency.ONCE,
                      due_date=now.date(), anchor_date=now.date())
    sub = service.subscribe(SERVER_KEY)
    device = device_for(service, sub)
    device.user_id, device.last_seen_at, device.token_hash = user.id, now, "c" * 64
    await device.save()
    service.answers[sub.id] = [(429, {"Retry-After": "1"})]
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("B2_", "DATABASE_URL", "REDIS_URL", "SMTP_", "VAPID_", "APNS_", "FCM_", "SSL_CERT"))}
    env.update({"PYTHONPATH": str(REPO), "LOG_FORMAT": "text", "DATABASE_URL": settings.database_url,
                "HONEYDUE_VAR_DIR": str(tmp_path / "var"), "MEDIA_SIGNING_KEY": settings.media_signing_key or "",
                "ALLOW_PRIVATE_WEBHOOKS": "true", "DELIVERY_RETRY_BACKOFF_SECONDS": "0.2",
                "VAPID_PRIVATE_KEY": vapid_raw_private_key(KEY), "VAPID_SUBJECT": SUBJECT,
                "SSL_CERT_FILE": str(ca_file)})  # the fake's CA, as an operator adds a private one
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "honeydue.cli", "jobs", "run", "send_due_reminders"], env=env,
        capture_output=True, timeout=JOBS_RUN_TIMEOUT)
    output = done.stdout.decode() + done.stderr.decode()
    assert done.returncode == 0, output

    [(to, payload)] = service.received
    [row] = await NotificationDelivery.filter(kind=DeliveryKind.WEB)
    assert to == sub.id and payload["deliveryId"] == str(row.id), output
    assert (row.status, row.attempts) == (DeliveryStatus.SENT, 2), output
    assert "429" in (row.attempt_log[0]["error"] or "")


async def test_a_type_whose_push_preference_is_off_reaches_no_device(
        settings: Settings, service: WebPushService, web_transport: None) -> None:
    settings = settings.model_copy(update={"allow_private_webhooks": True})
    now = clock.utc_now()
    user = await User.create(email="quiet@example.com", password_hash=DUMMY_HASH, display_name="Quinn",
                             email_verified=True)
    home = await Residence.create(name="Lake house", timezone="UTC")
    await Membership.create(residence=home, user=user, role=ResidenceRole.OWNER)
    await NotificationPreference.create(user=user, type=NotificationType.TASK_DUE_SOON, hour_of_day=now.hour,
                                        push=False)
    await Task.create(residence=home, title="Clean the gutters", frequency=TaskFrequency.ONCE,
                      due_date=now.date(), anchor_date=now.date())
    device = device_for(service, service.subscribe(SERVER_KEY))
    device.user_id, device.last_seen_at, device.token_hash = user.id, now, "d" * 64
    await device.save()

    async with mail_jobs(settings) as services:
        assert (await reminders.send_due_reminders(now, services.channels)).sent == 1  # in the app, and email
        await drain(services)
    assert service.received == [] and await NotificationDelivery.filter(kind=DeliveryKind.WEB).count() == 0
