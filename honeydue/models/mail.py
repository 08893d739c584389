"""The outbound email log: one row per email, with every delivery attempt and its outcome."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tortoise import fields

from honeydue.models.base import UUIDModel
from honeydue.models.enums import EmailStatus, NotificationType

if TYPE_CHECKING:  # imported for annotations only: the models refer to each other
    from honeydue.models.accounts import User


class EmailDelivery(UUIDModel):
    # Deleted with its user: the row holds their address (right to be forgotten).
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "honeydue.User", related_name="email_deliveries", null=True, on_delete=fields.CASCADE
    )
    user_id: uuid.UUID | None
    kind = fields.CharField(max_length=64)  # the template pair: honeydue/mail/templates/<kind>.txt/.html
    to = fields.CharField(max_length=254)
    # Non-transactional mail (reminders, onboarding) carries List-Unsubscribe for ``notification_type``.
    transactional = fields.BooleanField(default=True)
    notification_type = fields.CharEnumField(NotificationType, max_length=32, null=True)
    status = fields.CharEnumField(EmailStatus, max_length=16, default=EmailStatus.QUEUED)
    attempts = fields.IntField(default=0)
    last_error = fields.TextField(null=True)
    # Chosen at the first attempt and kept, so every attempt sends the same one (receivers drop duplicates).
    message_id = fields.CharField(max_length=255, null=True)
    # The template context; emptied when the delivery ends, because it can hold a single-use link.
    context: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    # One entry per attempt: {"at": ISO time, "outcome": "sent" | "retry" | "failed", "error": str | None}.
    attempt_log: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)
    # Mail that goes to a person at most once (onboarding) names itself here; the unique index is the
    # guarantee (NULLs never collide, so other mail is unaffected).
    once_key = fields.CharField(max_length=128, null=True, unique=True)
    next_attempt_at: datetime = fields.DatetimeField()
    # Set while a worker is sending it, so a duplicate job message cannot send it twice at once.
    claimed_until = fields.DatetimeField(null=True)
    sent_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "email_deliveries"
        indexes = (("status", "next_attempt_at"), ("kind", "status", "created_at"))
