"""Webhook and Apprise channels through the API, delivered to a real receiver that verifies the signature.

The receiver (tests/plugins/webhook_receiver.py) is an HTTP server on 127.0.0.1, so these tests set
ALLOW_PRIVATE_WEBHOOKS=true, except those about the SSRF guard, which check that such URLs are refused.
"""

from __future__ import annotations

import socket
import uuid
from typing import Any

import pytest

from honeydue.delivery import sealing, ssrf
from honeydue.delivery.channel_urls import check_channel_url
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
from honeydue.settings import Settings
from tests.plugins.mail import drain, mail_jobs
from tests.plugins.webhook_receiver import Receiver

ADD = """
mutation($input: AddNotificationChannelInput!) {
  addNotificationChannel(input: $input) {
    channel { id kind name urlHint active deadAt }
    secret
    userErrors { field message code }
  }
}"""
TEST = """
mutation($id: ID!) {
  testNotificationChannel(input: {channelId: $id}) {
    delivery { id kind status attempts lastError sentAt }
    userErrors { field message code }
  }
}"""
REMOVE = """
mutation($id: ID!) {
  removeNotificationChannel(input: {channelId: $id}) { removedId userErrors { field message code } }
}"""
LIST = "{ me { notificationChannels { id name kind active deadAt deadReason } } }"


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The test's settings, with local receivers allowed unless the test is parametrized with False."""
    return settings.model_copy(update={"allow_private_webhooks": getattr(request, "param", True),
                                       "delivery_retry_backoff_seconds": 0.01, "delivery_max_attempts": 3})


async def add(api: Any, token: str, kind: str, url: str, name: str = "my hook") -> dict:
    data = await api.execute(ADD, {"input": {"kind": kind, "url": url, "name": name}}, token=token)
    return data["data"]["addNotificationChannel"]


async def test_a_webhook_test_message_arrives_signed_and_the_secret_is_shown_once(
    api: Any, make_user: Any, webhook_receiver: Receiver
) -> None:
    token, _ = await make_user()
    added = await add(api, token, "WEBHOOK", webhook_receiver.url)
    assert added["userErrors"] == [] and added["secret"].startswith("whsec_")
    assert added["channel"]["urlHint"] == "http://127.0.0.1/…" and added["channel"]["active"] is True
    webhook_receiver.secret = added["secret"]

    tested = (await api.execute(TEST, {"id": added["channel"]["id"]}, token=token))["data"]["testNotificationChannel"]
    delivery = tested["delivery"]
    assert (delivery["status"], delivery["attempts"], delivery["lastError"]) == ("SENT", 1, None)
    [hook] = webhook_receiver.hooks()
    assert hook.body == {"event": "channel.test", "deliveryId": delivery["id"],
                         "notification": {"type": "TEST", "title": "honeydue test message",
                                          "body": 'This is a test of the notification channel "my hook".'},
                         "task": None, "actions": []}
    assert hook.headers["content-type"] == "application/json"

    # Shown once: the channel list has no secret, and the row holds neither it nor the URL in the clear.
    listed = (await api.execute(LIST, token=token))["data"]["me"]["notificationChannels"]
    assert [c["name"] for c in listed] == ["my hook"]
    row = await NotificationChannel.get(id=added["channel"]["id"])
    assert added["secret"] not in row.secret_sealed and str(webhook_receiver.port) not in row.url_sealed


async def test_a_wrong_secret_is_refused_by_the_receiver_and_reported(
    api: Any, make_user: Any, webhook_receiver: Receiver
) -> None:
    token, _ = await make_user()
    added = await add(api, token, "WEBHOOK", webhook_receiver.url)
    webhook_receiver.secret = "whsec_not-the-one"
    tested = (await api.execute(TEST, {"id": added["channel"]["id"]}, token=token))["data"]["testNotificationChannel"]
    assert (tested["delivery"]["status"], tested["delivery"]["lastError"]) == ("FAILED", "401 Unauthorized")
    assert webhook_receiver.refused == [(401, "bad signature")] and webhook_receiver.hooks() == []


async def test_a_410_marks_the_channel_dead_and_it_is_skipped(
    api: Any, make_user: Any, webhook_receiver: Receiver, settings: Settings
) -> None:
    token, me = await make_user()
    added = await add(api, token, "WEBHOOK", webhook_receiver.url)
    webhook_receiver.secret = added["secret"]
    webhook_receiver.answer_next(410)
    tested = (await api.execute(TEST, {"id": added["channel"]["id"]}, token=token))["data"]["testNotificationChannel"]
    assert (tested["delivery"]["status"], tested["delivery"]["lastError"]) == ("FAILED", "410 Gone")
    [channel] = (await api.execute(LIST, token=token))["data"]["me"]["notificationChannels"]
    assert channel["active"] is False and channel["deadAt"] and channel["deadReason"] == "410 Gone"

    user = await User.get(id=me["id"])
    notice = await Notification.create(user=user, type=NotificationType.TASK_OVERDUE, title="t", body="b")
    async with mail_jobs(settings) as services:
        await OutboundChannel().send(user, notice)
        await drain(services)
    assert await NotificationDelivery.filter(notification_id=notice.id).count() == 0
    assert webhook_receiver.hooks() == []


async def test_a_503_with_retry_after_is_retried_and_delivered_once(
    settings: Settings, make_user: Any, api: Any, webhook_receiver: Receiver
) -> None:
    token, me = await make_user()
    added = await add(api, token, "WEBHOOK", webhook_receiver.url)
    webhook_receiver.secret = added["secret"]
    webhook_receiver.answer_next(503, {"Retry-After": "0"})
    webhook_receiver.answer_next(429)
    user = await User.get(id=me["id"])
    notice = await Notification.create(user=user, type=NotificationType.TASK_DUE_SOON, title="Replace filter",
                                       body="Lake house")
    async with mail_jobs(settings) as services:
        await OutboundChannel().send(user, notice)
        await drain(services)
    [row] = await NotificationDelivery.filter(notification_id=notice.id)
    assert (row.status, row.attempts) == (DeliveryStatus.SENT, 3)
    assert [e["error"] for e in row.attempt_log] == ["503 Service Unavailable", "429 Too Many Requests", None]
    [hook] = webhook_receiver.hooks()
    assert hook.body["deliveryId"] == str(row.id) and hook.headers["x-honeydue-event"] == "notification.created"
    assert hook.body["notification"] == {"type": "TASK_DUE_SOON", "title": "Replace filter", "body": "Lake house"}


async def test_apprise_json_reaches_a_local_receiver(api: Any, make_user: Any, webhook_receiver: Receiver) -> None:
    token, _ = await make_user()
    added = await add(api, token, "APPRISE", webhook_receiver.apprise_url, name="json")
    assert added["userErrors"] == [] and added["secret"] is None
    assert added["channel"]["kind"] == "APPRISE" and added["channel"]["urlHint"] == "json://127.0.0.1/…"
    tested = (await api.execute(TEST, {"id": added["channel"]["id"]}, token=token))["data"]["testNotificationChannel"]
    assert tested["delivery"]["status"] == "SENT", tested
    [received] = webhook_receiver.accepted
    assert received.path == "/apprise"
    assert received.body["title"] == "honeydue test message"
    assert received.body["message"] == 'This is a test of the notification channel "json".'


async def test_remove_and_foreign_channels(api: Any, make_user: Any, webhook_receiver: Receiver) -> None:
    token, _ = await make_user()
    other, _ = await make_user()
    added = await add(api, token, "WEBHOOK", webhook_receiver.url)
    channel_id = added["channel"]["id"]
    for query in (REMOVE, TEST):
        data = await api.execute(query, {"id": channel_id}, token=other)
        assert data["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    data = await api.execute(REMOVE, {"id": channel_id}, token=token)
    assert data["data"]["removeNotificationChannel"] == {"removedId": channel_id, "userErrors": []}
    assert (await api.execute(LIST, token=token))["data"]["me"]["notificationChannels"] == []


async def test_bad_names_and_urls_are_user_errors(api: Any, make_user: Any) -> None:
    token, _ = await make_user()
    assert (await add(api, token, "WEBHOOK", "https://93.184.215.14/h", name="  "))["userErrors"] == [
        {"field": ["name"], "message": "name must be 1 to 100 characters.", "code": "INVALID_INPUT"}]
    refused = await add(api, token, "APPRISE", "nosuchservice://x/y")
    assert refused["userErrors"][0]["field"] == ["url"] and "Apprise does not understand" in (
        refused["userErrors"][0]["message"])
    assert (await add(api, token, "WEBHOOK", "x" * 2001))["userErrors"][0]["field"] == ["url"]


@pytest.mark.parametrize("settings", [False], indirect=True)
async def test_private_addresses_are_refused(api: Any, make_user: Any, settings: Settings) -> None:
    token, _ = await make_user()
    for url in ("https://127.0.0.1/h", "https://localhost:8443/h", "https://169.254.169.254/latest/meta-data",
                "https://10.1.2.3/h", "https://[::1]/h", "https://[::ffff:192.168.1.1]/h", "https://100.64.0.1/"):
        errors = (await add(api, token, "WEBHOOK", url))["userErrors"]
        assert errors and errors[0]["field"] == ["url"] and "ALLOW_PRIVATE_WEBHOOKS" in errors[0]["message"], url
    errors = (await add(api, token, "WEBHOOK", "http://93.184.215.14/h"))["userErrors"]
    assert "must start with https://" in errors[0]["message"]
    errors = (await add(api, token, "APPRISE", "json://192.168.0.10:8080/x"))["userErrors"]
    assert "ALLOW_PRIVATE_WEBHOOKS" in errors[0]["message"]
    # A public address, and an Apprise service that names no host (its own public API), are fine.
    assert (await add(api, token, "WEBHOOK", "https://93.184.215.14/h"))["userErrors"] == []
    assert (await add(api, token, "APPRISE", "tgram://123456789:AAAbbbCCCddd/987654"))["userErrors"] == []


@pytest.mark.parametrize("settings", [False], indirect=True)
async def test_a_name_that_resolves_inward_at_send_time_is_not_sent_to(
    settings: Settings, webhook_receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: public when the channel is added, 127.0.0.1 when the delivery is sent."""
    answers = {"hooks.example.test": "93.184.215.14"}

    async def fake_getaddrinfo(host: str, port: Any, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]

    monkeypatch.setattr(ssrf, "_getaddrinfo", fake_getaddrinfo)
    url = f"https://hooks.example.test:{webhook_receiver.port}/hook"
    await check_channel_url(NotificationChannelKind.WEBHOOK, url, settings)  # what addNotificationChannel checks
    user = await User.create(email=f"r-{uuid.uuid4().hex[:6]}@example.test", password_hash="x", display_name="R")
    channel_id = uuid.uuid4()
    keys = settings.signing_keys()
    await NotificationChannel.create(id=channel_id, user=user, kind=NotificationChannelKind.WEBHOOK, name="h",
                                     url_hint="https://hooks.example.test/…",
                                     url_sealed=sealing.seal(keys, url, str(channel_id)),
                                     secret_sealed=sealing.seal(keys, "s", str(channel_id)))
    answers["hooks.example.test"] = "127.0.0.1"
    notice = await Notification.create(user=user, type=NotificationType.TASK_DUE_SOON, title="t", body="b")
    async with mail_jobs(settings) as services:
        await OutboundChannel().send(user, notice)
        await drain(services)
    [row] = await NotificationDelivery.filter(notification_id=notice.id)
    assert row.status is DeliveryStatus.FAILED and "resolves to a private" in (row.last_error or "")
    assert webhook_receiver.accepted == [] and webhook_receiver.refused == []


def test_sealed_values_open_under_the_previous_key_and_only_on_their_row() -> None:
    old, new = [b"old-key"], [b"new-key", b"old-key"]
    value = sealing.seal(old, "https://example.test/secret-path", "row-1")
    assert sealing.open_sealed(new, value, "row-1") == ("https://example.test/secret-path", True)
    assert sealing.open_sealed(old, value, "row-1") == ("https://example.test/secret-path", False)
    with pytest.raises(sealing.SealError):
        sealing.open_sealed(old, value, "row-2")  # copied onto another row
    with pytest.raises(sealing.SealError):
        sealing.open_sealed([b"new-key"], value, "row-1")  # the old key was dropped


PREFS = """mutation($i: UpdateNotificationPreferencesInput!) { updateNotificationPreferences(input: $i) {
  preferences { type enabled push email webhook apprise } userErrors { field code } } }"""


async def test_per_channel_preferences_are_stored_and_read_back(api: Any, make_user: Any) -> None:
    from honeydue.mail.outbox import queue_email
    from honeydue.models import EmailDelivery

    token, me = await make_user()
    change = [{"type": "TASK_OVERDUE", "enabled": True, "webhook": False, "email": False},
              {"type": "TASK_DUE_SOON", "enabled": True, "push": True}]
    payload = (await api.execute(PREFS, {"i": {"preferences": change}}, token=token))["data"][
        "updateNotificationPreferences"]
    by_type = {p["type"]: p for p in payload["preferences"]}
    assert by_type["TASK_OVERDUE"] == {"type": "TASK_OVERDUE", "enabled": True, "push": None, "email": False,
                                       "webhook": False, "apprise": None}
    assert by_type["TASK_DUE_SOON"]["push"] is True and by_type["WARRANTY_EXPIRING"]["webhook"] is None
    # Sent again without the per-channel fields: they follow `enabled` again.
    payload = (await api.execute(PREFS, {"i": {"preferences": [{"type": "TASK_DUE_SOON", "enabled": True}]}},
                                 token=token))["data"]["updateNotificationPreferences"]
    assert {p["type"]: p["push"] for p in payload["preferences"]}["TASK_DUE_SOON"] is None

    # Email honours its own field: TASK_OVERDUE is off for email, TASK_DUE_SOON follows enabled.
    user = await User.get(id=me["id"])
    await User.filter(id=user.id).update(email_verified=True)
    for ntype in (NotificationType.TASK_OVERDUE, NotificationType.TASK_DUE_SOON):
        await queue_email(to=user.email, kind="notification", context={"display_name": "A", "title": "t",
                                                                        "body": "b", "actions": []},
                          user_id=user.id, transactional=False, notification_type=ntype)
    assert [r.notification_type for r in await EmailDelivery.filter(user_id=user.id, kind="notification")] == [
        NotificationType.TASK_DUE_SOON]


@pytest.mark.parametrize("settings", [False], indirect=True)
async def test_a_public_name_is_sent_to_the_checked_address_under_its_own_name_and_certificate(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the guard on, the request goes to the address just checked; Host and TLS still name the host, and
    the certificate is verified against that name (127.0.0.1 stands in for the public address here)."""
    import ssl

    import trustme

    from honeydue.delivery.message import OutboundMessage
    from honeydue.delivery.transport import RetryableDeliveryError
    from honeydue.delivery.webhook import WebhookTransport
    from tests.plugins.webhook_receiver import run_receiver

    async def resolves_to_the_receiver(host: str, port: Any, **kwargs: Any) -> list[Any]:
        assert host == "hooks.example.test"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(ssrf, "_getaddrinfo", resolves_to_the_receiver)
    monkeypatch.setattr(ssrf, "address_problem", lambda address: None)  # take 127.0.0.1 for a public address
    ca = trustme.CA()
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    user = await User.create(email=f"p-{uuid.uuid4().hex[:6]}@example.test", password_hash="x", display_name="P")
    message = OutboundMessage(event="channel.test", delivery_id=str(uuid.uuid4()), notification_type="TEST",
                              title="t", body="b")
    for cert_name, delivered in (("hooks.example.test", True), ("other.example.test", False)):
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(cert_name).configure_cert(server_tls)
        with run_receiver(server_tls) as receiver:
            receiver.secret = "whsec_s"
            url = f"https://hooks.example.test:{receiver.port}/hook"
            channel_id = uuid.uuid4()
            keys = settings.signing_keys()
            channel = await NotificationChannel.create(
                id=channel_id, user=user, kind=NotificationChannelKind.WEBHOOK, name="h", url_hint="x",
                url_sealed=sealing.seal(keys, url, str(channel_id)),
                secret_sealed=sealing.seal(keys, "whsec_s", str(channel_id)))
            transport = WebhookTransport(settings, verify=client_tls)
            if delivered:
                await transport.deliver(channel, message)
                [hook] = receiver.hooks()
                assert hook.headers["host"] == f"hooks.example.test:{receiver.port}"
            else:
                with pytest.raises(RetryableDeliveryError, match="could not connect"):
                    await transport.deliver(channel, message)  # the certificate names another host
                assert receiver.hooks() == []


@pytest.mark.parametrize("settings", [False], indirect=True)
async def test_a_name_that_does_not_resolve_at_send_time_is_retried_not_failed(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from honeydue.delivery.message import OutboundMessage
    from honeydue.delivery.transport import RetryableDeliveryError
    from honeydue.delivery.webhook import WebhookTransport

    async def no_answer(host: str, port: Any, **kwargs: Any) -> list[Any]:
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(ssrf, "_getaddrinfo", no_answer)
    user = await User.create(email=f"n-{uuid.uuid4().hex[:6]}@example.test", password_hash="x", display_name="N")
    channel_id, keys = uuid.uuid4(), settings.signing_keys()
    channel = await NotificationChannel.create(
        id=channel_id, user=user, kind=NotificationChannelKind.WEBHOOK, name="h", url_hint="x",
        url_sealed=sealing.seal(keys, "https://hooks.example.test/h", str(channel_id)),
        secret_sealed=sealing.seal(keys, "s", str(channel_id)))
    message = OutboundMessage(event="channel.test", delivery_id="d", notification_type="TEST", title="t", body="b")
    with pytest.raises(RetryableDeliveryError, match="could not be resolved"):
        await WebhookTransport(settings).deliver(channel, message)
