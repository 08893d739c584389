"""A user's notification channels: add (checked, sealed), remove, list, and send a test message.

The URL is checked (``honeydue.delivery.channel_urls``: https for webhooks, a URL Apprise understands, the SSRF
guard) here and again at each send.

The webhook's signing secret is made here and shown once (``AddNotificationChannelPayload.secret``); the URL
and the secret are stored sealed (``honeydue.delivery.sealing``).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from typing import Any

from honeydue.clock import utc_now
from honeydue.delivery import attempt, targets
from honeydue.delivery.channel_urls import check_channel_url, url_hint
from honeydue.delivery.fanout import TEST_EVENT, queue_delivery
from honeydue.delivery.sealing import seal
from honeydue.delivery.ssrf import UnsafeUrl
from honeydue.errors import NotFound
from honeydue.models import DeliveryKind, NotificationChannel, NotificationChannelKind, NotificationDelivery, User
from honeydue.ratelimit import RateLimiter
from honeydue.settings import Settings
from honeydue.user_errors import InputRejected, UserError, UserErrorCode
from resolvers.ids import as_id

MAX_CHANNELS = 20  # per user
MAX_URL_LENGTH = 2000
MAX_NAME_LENGTH = 100
# testNotificationChannel makes an outgoing request while the caller waits: bounded per user.
TESTS_PER_HOUR = 20
SECRET_PREFIX = "whsec_"


def _invalid(field: str, message: str) -> InputRejected:
    return InputRejected(UserError(UserErrorCode.INVALID_INPUT, message, [field]))


async def add_channel(user: User, settings: Settings, signing_keys: Sequence[bytes], kind: NotificationChannelKind,
                      url: str, name: str) -> tuple[NotificationChannel, str | None]:
    """Create a channel; returns it and the webhook's secret (None for Apprise), which is shown only now."""
    name, url = name.strip(), url.strip()
    errors = []
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        errors.append(UserError(UserErrorCode.INVALID_INPUT, f"name must be 1 to {MAX_NAME_LENGTH} characters.",
                                ["name"]))
    if not 1 <= len(url) <= MAX_URL_LENGTH:
        errors.append(UserError(UserErrorCode.INVALID_INPUT, f"url must be 1 to {MAX_URL_LENGTH} characters.",
                                ["url"]))
    if errors:
        raise InputRejected(*errors)
    if await NotificationChannel.filter(user_id=user.id).count() >= MAX_CHANNELS:
        raise _invalid("url", f"At most {MAX_CHANNELS} notification channels per account; remove one first.")
    try:
        await check_channel_url(kind, url, settings)
    except UnsafeUrl as exc:
        raise _invalid("url", str(exc)) from None
    channel_id = uuid.uuid4()
    secret = SECRET_PREFIX + secrets.token_urlsafe(32) if kind is NotificationChannelKind.WEBHOOK else None
    channel = await NotificationChannel.create(
        id=channel_id, user_id=user.id, kind=kind, name=name, url_hint=url_hint(url),
        url_sealed=seal(signing_keys, url, str(channel_id)),
        secret_sealed=seal(signing_keys, secret or "", str(channel_id)))
    return channel, secret


async def own_channel(user: User, channel_id: object) -> NotificationChannel:
    channel = await NotificationChannel.get_or_none(id=as_id(channel_id), user_id=user.id)
    if channel is None:
        raise NotFound("No such notification channel.")
    return channel


async def remove_channel(user: User, channel_id: object) -> NotificationChannel:
    """Delete the caller's channel; its queued deliveries then fail without sending (the log stays)."""
    channel = await own_channel(user, channel_id)
    await channel.delete()
    return channel


async def list_channels(user: User) -> list[NotificationChannel]:
    return await NotificationChannel.filter(user_id=user.id).order_by("created_at", "id").limit(MAX_CHANNELS)


async def test_channel(user: User, settings: Settings, limiter: RateLimiter,
                       channel_id: object) -> NotificationDelivery:
    """Send a test message now (one attempt, no retries) and return its delivery with the outcome."""
    channel = await own_channel(user, channel_id)
    if not await limiter.hit(f"channel-test:{user.id}", TESTS_PER_HOUR, 3600):
        raise _invalid("channelId", f"At most {TESTS_PER_HOUR} test messages an hour; try again later.")
    message: dict[str, Any] = {
        "event": TEST_EVENT,
        "notification": {"type": "TEST", "title": "honeydue test message",
                         "body": f"This is a test of the notification channel \"{channel.name}\"."},
        "task": None, "actions": [],
    }
    row = await queue_delivery(user_id=user.id, notification_id=None, message=message, send=False,
                               target=targets.Target(DeliveryKind(channel.kind), channel.id))
    assert row is not None  # no notification: nothing to collide with
    await attempt.attempt_delivery(row.id, settings=settings, now=utc_now(), max_attempts=1)
    return await NotificationDelivery.get(id=row.id)
