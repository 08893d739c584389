"""Notifications outside the app: the user's channels (webhook, Apprise) and the log of every delivery.

Devices (push) live in their own model; a delivery names its target by kind and id, so one log covers both.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tortoise import fields

from honeydue.models.base import UUIDModel
from honeydue.models.enums import DeliveryKind, DeliveryStatus, NotificationChannelKind

if TYPE_CHECKING:  # imported for annotations only: the models refer to each other
    from honeydue.models.accounts import User
    from honeydue.models.notifications import Notification


class NotificationChannel(UUIDModel):
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "honeydue.User", related_name="notification_channels", on_delete=fields.CASCADE
    )
    user_id: uuid.UUID
    kind = fields.CharEnumField(NotificationChannelKind, max_length=16)
    name = fields.CharField(max_length=100)
    # The URL and the signing secret, encrypted with a key derived from MEDIA_SIGNING_KEY
    # (honeydue.delivery.secrets): both can carry credentials (Apprise tokens, Slack/Discord webhook paths),
    # and a copy of the database alone must not let anyone post as this user's honeydue.
    url_sealed = fields.TextField()
    secret_sealed = fields.TextField()
    # What the API shows of the URL: scheme and host only.
    url_hint = fields.CharField(max_length=300)
    # Set when a receiver said the target is gone for good (webhook 410): no delivery is made to it any more.
    dead_at = fields.DatetimeField(null=True)
    dead_reason = fields.TextField(null=True)

    class Meta:
        table = "notification_channels"
        indexes = (("user_id", "created_at"),)


class NotificationDelivery(UUIDModel):
    """One message to one target (a channel or a device), with its attempts and outcome."""

    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "honeydue.User", related_name="notification_deliveries", on_delete=fields.CASCADE
    )
    user_id: uuid.UUID
    # Null for a test message (testNotificationChannel); NULLs never collide in the unique key, so tests repeat.
    notification: fields.ForeignKeyNullableRelation[Notification] = fields.ForeignKeyField(
        "honeydue.Notification", related_name=False, null=True, on_delete=fields.CASCADE
    )
    notification_id: uuid.UUID | None
    kind = fields.CharEnumField(DeliveryKind, max_length=16)
    # The NotificationChannel's or the device's id. Not a foreign key: it names rows of two tables, and the
    # log outlives a removed channel (an attempt then finds no target and fails).
    target_id = fields.UUIDField()
    status = fields.CharEnumField(DeliveryStatus, max_length=16, default=DeliveryStatus.QUEUED)
    attempts = fields.IntField(default=0)
    last_error = fields.TextField(null=True)
    # What is sent (honeydue.delivery.message.OutboundMessage's fields), fixed when the delivery is made so
    # every attempt sends the same; emptied when the delivery ends, because its action links act without a
    # session.
    message: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    # One entry per attempt: {"at": ISO time, "outcome": "sent" | "retry" | "failed", "error": str | None}.
    attempt_log: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)
    next_attempt_at: datetime = fields.DatetimeField()
    # Set while a worker is sending it, so a duplicate job message cannot send it twice at once.
    claimed_until = fields.DatetimeField(null=True)
    sent_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "notification_deliveries"
        # The dedupe key: a notification goes out at most once per channel or device.
        unique_together = (("notification", "target_id"),)
        indexes = (("status", "next_attempt_at"), ("target_id", "created_at"))
