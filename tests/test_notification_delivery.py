"""Delivery jobs for webhooks, Apprise and push: one row per (notification, target), retries, dead targets.

The transports here are scripted stand-ins registered for the WEBHOOK and APPRISE kinds: what is tested is
the delivery job's bookkeeping (attempts, back-off, Retry-After, dead targets, dedupe, preferences), run by
the in-process worker of ``honeydue serve``. The real transports are tested against real receivers in
tests/test_webhooks.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from honeydue.delivery import attempt, targets
from honeydue.delivery.channels import CHANNELS, apprise_transport, webhook_transport
from honeydue.delivery.fanout import OutboundChannel
from honeydue.delivery.message import OutboundMessage
from honeydue.delivery.transport import PermanentDeliveryError, RetryableDeliveryError
from honeydue.models import (
    DeliveryKind,
    DeliveryStatus,
    Notification,
    NotificationChannel,
    NotificationChannelKind,
    NotificationDelivery,
    NotificationPreference,
    NotificationType,
    User,
)
from honeydue.passwords import DUMMY_HASH
from honeydue.settings import Settings
from tests.plugins.mail import drain, mail_jobs


class Scripted:
    """A transport that answers each call with the next scripted outcome (None: delivered) and records calls."""

    def __init__(self, *outcomes: Exception | None) -> None:
        self.outcomes = list(outcomes)
        self.sent: list[tuple[uuid.UUID, OutboundMessage]] = []

    async def deliver(self, target: object, message: OutboundMessage) -> None:
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        assert isinstance(target, NotificationChannel)
        self.sent.append((target.id, message))


@pytest.fixture
def scripted() -> Iterator[dict[DeliveryKind, Scripted]]:
    """Replace the WEBHOOK and APPRISE transports with scripted ones for one test."""
    by_kind = {DeliveryKind.WEBHOOK: Scripted(), DeliveryKind.APPRISE: Scripted()}
    for kind, transport in by_kind.items():
        targets.register(kind, source=CHANNELS, transport=lambda _s, t=transport: t,
                         preference=kind.value.lower())
    try:
        yield by_kind
    finally:
        targets.register(DeliveryKind.WEBHOOK, source=CHANNELS, transport=webhook_transport, preference="webhook")
        targets.register(DeliveryKind.APPRISE, source=CHANNELS, transport=apprise_transport, preference="apprise")


@pytest.fixture
def fast(settings: Settings) -> Settings:
    return settings.model_copy(update={"delivery_retry_backoff_seconds": 0.01, "delivery_max_attempts": 3})


async def make_user() -> User:
    return await User.create(email=f"u-{uuid.uuid4().hex[:8]}@example.test", password_hash=DUMMY_HASH,
                             display_name="Ada", email_verified=True)


async def make_channel(user: User, kind: NotificationChannelKind = NotificationChannelKind.WEBHOOK,
                       name: str = "hook") -> NotificationChannel:
    return await NotificationChannel.create(user=user, kind=kind, name=name, url_sealed="x", secret_sealed="x",
                                            url_hint="https://example.test/…")


async def notify(user: User, title: str = "Replace filter is due today") -> Notification:
    return await Notification.create(user=user, type=NotificationType.TASK_DUE_SOON, title=title, body="Lake house")


async def test_a_notification_goes_to_each_channel_once_with_its_delivery_id(
    fast: Settings, scripted: dict[DeliveryKind, Scripted]
) -> None:
    user = await make_user()
    hook, apprise = await make_channel(user), await make_channel(user, NotificationChannelKind.APPRISE, "ntfy")
    notice = await notify(user)
    async with mail_jobs(fast) as services:
        await OutboundChannel().send(user, notice)
        await OutboundChannel().send(user, notice)  # the job ran twice: the dedupe key holds
        await drain(services)

    rows = {r.target_id: r for r in await NotificationDelivery.filter(notification_id=notice.id)}
    assert set(rows) == {hook.id, apprise.id}
    assert all((r.status, r.attempts, r.message) == (DeliveryStatus.SENT, 1, {}) for r in rows.values())
    [(target, message)] = scripted[DeliveryKind.WEBHOOK].sent
    assert target == hook.id and message.delivery_id == str(rows[hook.id].id)
    assert message.webhook_body() == {
        "event": "notification.created", "deliveryId": str(rows[hook.id].id),
        "notification": {"type": "TASK_DUE_SOON", "title": "Replace filter is due today", "body": "Lake house"},
        "task": None, "actions": []}
    assert len(scripted[DeliveryKind.APPRISE].sent) == 1


async def test_retries_back_off_honour_retry_after_and_stop_at_the_last_attempt(fast: Settings) -> None:
    user = await make_user()
    hook = await make_channel(user)
    notice = await notify(user)
    transport = Scripted(RetryableDeliveryError("503 Service Unavailable"),
                         RetryableDeliveryError("429 Too Many Requests", retry_after=120), None)
    targets.register(DeliveryKind.WEBHOOK, source=CHANNELS, transport=lambda _s: transport, preference="webhook")
    try:
        row = await attempt_rows(user, notice)
        now = datetime.now(UTC)
        first = await attempt.attempt_delivery(row.id, settings=fast, now=now)
        assert (first.status, first.retry_in) == (DeliveryStatus.QUEUED, 0.01)
        early = await attempt.attempt_delivery(row.id, settings=fast, now=now - timedelta(minutes=1))
        assert early.status is None  # not due yet: a duplicate or early message does nothing
        second = await attempt.attempt_delivery(row.id, settings=fast, now=datetime.now(UTC) + timedelta(seconds=5))
        assert second.retry_in == 120  # the receiver's Retry-After, longer than the back-off
        row = await NotificationDelivery.get(id=row.id)
        assert row.status is DeliveryStatus.QUEUED and row.last_error == "429 Too Many Requests"
        third = await attempt.attempt_delivery(row.id, settings=fast, now=row.next_attempt_at)
        assert third.status is DeliveryStatus.SENT
    finally:
        targets.register(DeliveryKind.WEBHOOK, source=CHANNELS, transport=webhook_transport, preference="webhook")
    row = await NotificationDelivery.get(id=row.id)
    assert [e["outcome"] for e in row.attempt_log] == ["retry", "retry", "sent"] and row.attempts == 3
    assert len(transport.sent) == 1 and hook.id == transport.sent[0][0]


async def attempt_rows(user: User, notice: Notification) -> NotificationDelivery:
    """Fan out without sending the job: the test makes the attempts itself."""
    from honeydue import jobs

    sent: list[str] = []
    original = jobs.enqueue
    jobs.enqueue = lambda name, *args: sent.append(args[0]) or True  # type: ignore[assignment]
    try:
        await OutboundChannel().send(user, notice)
    finally:
        jobs.enqueue = original
    [row] = await NotificationDelivery.filter(id__in=sent)
    return row


def test_back_off_doubles_and_is_capped(settings: Settings) -> None:
    s = settings.model_copy(update={"delivery_retry_backoff_seconds": 30.0})
    assert [attempt.retry_delay(s, n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert attempt.retry_delay(s, 20) == attempt.MAX_BACKOFF_SECONDS
    assert attempt.retry_delay(s, 1, retry_after=5) == 30  # a shorter Retry-After does not hurry us
    assert attempt.retry_delay(s, 1, retry_after=10**9) == attempt.MAX_RETRY_AFTER_SECONDS


async def test_out_of_attempts_fails_and_a_gone_target_is_marked_dead_and_skipped(
    fast: Settings, scripted: dict[DeliveryKind, Scripted]
) -> None:
    user = await make_user()
    hook, apprise = await make_channel(user), await make_channel(user, NotificationChannelKind.APPRISE, "ntfy")
    scripted[DeliveryKind.WEBHOOK].outcomes = [PermanentDeliveryError("410 Gone", target_gone=True)]
    scripted[DeliveryKind.APPRISE].outcomes = [RetryableDeliveryError("timed out")] * 3
    first = await notify(user)
    async with mail_jobs(fast) as services:
        await OutboundChannel().send(user, first)
        await drain(services)

        by_kind = {r.kind: r for r in await NotificationDelivery.filter(notification_id=first.id)}
        assert (by_kind[DeliveryKind.WEBHOOK].status, by_kind[DeliveryKind.WEBHOOK].attempts,
                by_kind[DeliveryKind.WEBHOOK].last_error) == (DeliveryStatus.FAILED, 1, "410 Gone")
        assert (by_kind[DeliveryKind.APPRISE].status, by_kind[DeliveryKind.APPRISE].attempts) == (
            DeliveryStatus.FAILED, 3)
        hook = await NotificationChannel.get(id=hook.id)
        assert hook.dead_at is not None and hook.dead_reason == "410 Gone"
        assert (await NotificationChannel.get(id=apprise.id)).dead_at is None  # failing is not gone

        second = await notify(user, "Clean gutters is due today")
        await OutboundChannel().send(user, second)
        await drain(services)
    assert [r.kind for r in await NotificationDelivery.filter(notification_id=second.id)] == [DeliveryKind.APPRISE]
    assert scripted[DeliveryKind.WEBHOOK].sent == []
    assert len(scripted[DeliveryKind.APPRISE].sent) == 1


async def test_a_removed_channel_fails_its_queued_delivery_without_sending(
    fast: Settings, scripted: dict[DeliveryKind, Scripted]
) -> None:
    user = await make_user()
    hook = await make_channel(user)
    row = await attempt_rows(user, await notify(user))
    await hook.delete()
    result = await attempt.attempt_delivery(row.id, settings=fast)
    assert (result.status, result.error) == (DeliveryStatus.FAILED, "the target was removed or is dead")
    assert scripted[DeliveryKind.WEBHOOK].sent == []


async def test_an_unexpected_error_on_one_channel_does_not_stop_the_others(
    fast: Settings, scripted: dict[DeliveryKind, Scripted]
) -> None:
    user = await make_user()
    await make_channel(user)
    await make_channel(user, NotificationChannelKind.APPRISE, "ntfy")
    scripted[DeliveryKind.WEBHOOK].outcomes = [ValueError("bug")] * 3
    notice = await notify(user)
    async with mail_jobs(fast) as services:
        await OutboundChannel().send(user, notice)
        await drain(services)
    statuses = {r.kind: (r.status, r.last_error) for r in await NotificationDelivery.all()}
    assert statuses == {DeliveryKind.WEBHOOK: (DeliveryStatus.FAILED, "ValueError: bug"),
                        DeliveryKind.APPRISE: (DeliveryStatus.SENT, None)}
    assert await Notification.filter(id=notice.id).exists()


@pytest.mark.parametrize(("enabled", "webhook", "apprise", "expected"), [
    (True, None, None, {DeliveryKind.WEBHOOK, DeliveryKind.APPRISE}),  # left out: every channel follows enabled
    (True, False, None, {DeliveryKind.APPRISE}),
    (True, None, False, {DeliveryKind.WEBHOOK}),
    (False, True, None, set()),  # the type is off: no channel gets it
])
async def test_per_channel_preferences(fast: Settings, scripted: dict[DeliveryKind, Scripted], enabled: bool,
                                       webhook: bool | None, apprise: bool | None,
                                       expected: set[DeliveryKind]) -> None:
    user = await make_user()
    await make_channel(user)
    await make_channel(user, NotificationChannelKind.APPRISE, "ntfy")
    await NotificationPreference.create(user=user, type=NotificationType.TASK_DUE_SOON, enabled=enabled,
                                        webhook=webhook, apprise=apprise)
    notice = await notify(user)
    async with mail_jobs(fast) as services:
        await OutboundChannel().send(user, notice)
        await drain(services)
    assert {r.kind for r in await NotificationDelivery.all()} == expected


async def test_the_sweeper_re_sends_a_lost_delivery_once(
    fast: Settings, scripted: dict[DeliveryKind, Scripted]
) -> None:
    user = await make_user()
    await make_channel(user)
    row = await attempt_rows(user, await notify(user))  # its job message was never sent
    now = datetime.now(UTC)
    assert await attempt.sweep_deliveries(now, lambda _: None) == []  # not overdue yet
    async with mail_jobs(fast) as services:
        from honeydue.jobs import send_job

        assert services.broker is not None
        resent = await attempt.sweep_deliveries(now + timedelta(minutes=6), lambda did: send_job(
            services.broker, attempt.SEND_DELIVERY_JOB, did))
        assert resent == [str(row.id)]
        send_job(services.broker, attempt.SEND_DELIVERY_JOB, str(row.id))  # a duplicate: a no-op once SENT
        await drain(services)
    assert len(scripted[DeliveryKind.WEBHOOK].sent) == 1
    assert (await NotificationDelivery.get(id=row.id)).status is DeliveryStatus.SENT
