"""What the workers tell people, and the log that keeps them from saying it twice."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from tortoise import fields

from honeydue.models.base import UUIDModel
from honeydue.models.enums import NotificationType

if TYPE_CHECKING:  # imported for annotations only: the models refer to each other
    from honeydue.models.accounts import User
    from honeydue.models.documents import Document
    from honeydue.models.tasks import Task


class Notification(UUIDModel):
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "honeydue.User", related_name="notifications", on_delete=fields.CASCADE
    )
    user_id: uuid.UUID
    type = fields.CharEnumField(NotificationType, max_length=32)
    title = fields.CharField(max_length=200)
    body = fields.TextField(default="")
    task: fields.ForeignKeyNullableRelation[Task] = fields.ForeignKeyField(
        "honeydue.Task", related_name=False, null=True, on_delete=fields.CASCADE
    )
    task_id: uuid.UUID | None
    document: fields.ForeignKeyNullableRelation[Document] = fields.ForeignKeyField(
        "honeydue.Document", related_name=False, null=True, on_delete=fields.CASCADE
    )
    document_id: uuid.UUID | None
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notifications"
        indexes = (("user_id", "read_at", "created_at"),)


class ReminderLog(UUIDModel):
    # One row per reminder stage sent; the unique key makes a re-run a no-op.

    # The task or document reminded of. One non-null column, because NULLs
    # never collide in a unique index and the dedupe would silently stop working.
    subject_id = fields.UUIDField()
    user_id = fields.UUIDField()
    due_date = fields.DateField()
    stage = fields.CharField(max_length=32)  # e.g. "due-30", "due-0", "overdue-6", "warranty-7"

    class Meta:
        table = "reminder_log"
        unique_together = (("subject_id", "user_id", "due_date", "stage"),)


class AccountPurge(UUIDModel):
    # Durable record that a deleted account's objects must be purged ("right to be forgotten").

    user_id = fields.UUIDField(unique=True)
    # Object keys/prefixes to delete, captured at delete time while the rows still existed.
    prefixes: fields.JSONField[list[str]] = fields.JSONField(default=list)
    keys: fields.JSONField[list[str]] = fields.JSONField(default=list)
    attempts = fields.IntField(default=0)
    last_error = fields.TextField(null=True)
    done_at = fields.DatetimeField(null=True, db_index=True)

    class Meta:
        table = "account_purges"
