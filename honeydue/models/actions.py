"""The secrets behind a notification's action buttons ("Done", "Snooze 1 day"): see honeydue.notification_actions."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from tortoise import fields

from honeydue.models.base import UUIDModel
from honeydue.models.enums import NotificationAction

if TYPE_CHECKING:  # imported for annotations only: the models refer to each other
    from honeydue.models.accounts import User
    from honeydue.models.tasks import Task


class ActionToken(UUIDModel):
    # One action link: only the SHA-256 of its secret is stored, so a database leak acts on nothing. It works
    # once (``used_at``), until ``expires_at``, and only while the task is still at the occurrence it was made
    # for (``due_date``): a "Done" from last week's reminder must not complete the next occurrence.

    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "honeydue.User", related_name=False, on_delete=fields.CASCADE
    )
    user_id: uuid.UUID
    task: fields.ForeignKeyRelation[Task] = fields.ForeignKeyField(
        "honeydue.Task", related_name=False, on_delete=fields.CASCADE
    )
    task_id: uuid.UUID
    action = fields.CharEnumField(NotificationAction, max_length=16)
    token_hash = fields.CharField(max_length=64, unique=True)
    due_date = fields.DateField(null=True)  # the task's due date when the link was made
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "action_tokens"
        # The clean-up of expired links walks by expiry.
        indexes = (("expires_at",),)
