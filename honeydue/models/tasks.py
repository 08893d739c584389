"""Recurring chores and the record of each time one was done."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from tortoise import fields

from honeydue.models.base import UUIDModel
from honeydue.models.enums import RotationMode, TaskCategory, TaskFrequency, TaskPriority

if TYPE_CHECKING:  # imported for annotations only: the models refer to each other
    from honeydue.models.accounts import User
    from honeydue.models.contractors import Contractor
    from honeydue.models.residences import Residence


class Task(UUIDModel):
    residence: fields.ForeignKeyRelation[Residence] = fields.ForeignKeyField(
        "honeydue.Residence", related_name="tasks", on_delete=fields.CASCADE
    )
    residence_id: uuid.UUID
    title = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    category = fields.CharEnumField(TaskCategory, max_length=16, default=TaskCategory.OTHER)
    priority = fields.CharEnumField(TaskPriority, max_length=16, default=TaskPriority.MEDIUM)
    frequency = fields.CharEnumField(TaskFrequency, max_length=16, default=TaskFrequency.ONCE)
    interval_days = fields.IntField(null=True)
    rolling = fields.BooleanField(default=False)
    # The schedule's anchor: fixed schedules count slots from here.
    anchor_date = fields.DateField(null=True)
    due_date = fields.DateField(null=True, db_index=True)
    in_progress = fields.BooleanField(default=False)
    cancelled = fields.BooleanField(default=False)
    archived = fields.BooleanField(default=False)
    completed = fields.BooleanField(default=False)  # a ONCE task that has been done
    assignee: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "honeydue.User", related_name="assigned_tasks", null=True, on_delete=fields.SET_NULL
    )
    assignee_id: uuid.UUID | None
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "honeydue.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_by_id: uuid.UUID | None
    last_completed_at = fields.DatetimeField(null=True)
    # The catalogue template the task was made from (honeydue.catalogue), by its stable id; null for tasks
    # written from scratch. An id, not a foreign key: the catalogue is data in the package, not a table.
    template_id = fields.CharField(max_length=64, null=True)
    # Who usually does it; deleting the contractor clears the link.
    contractor: fields.ForeignKeyNullableRelation[Contractor] = fields.ForeignKeyField(
        "honeydue.Contractor", related_name="tasks", null=True, on_delete=fields.SET_NULL
    )
    contractor_id: uuid.UUID | None
    # How the assignee changes on completion; ROUND_ROBIN and FEWEST_COMPLETIONS rotate among the
    # TaskRotationMember rows, FIXED keeps whoever assignee is.
    rotation_mode = fields.CharEnumField(RotationMode, max_length=24, default=RotationMode.FIXED,
                                         db_default=RotationMode.FIXED)
    # Reminders about this task are held back while the residence's today is before this date; the
    # schedule (due_date) does not move. Cleared when the schedule moves on (completion or skip).
    snoozed_until = fields.DateField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "tasks"
        indexes = (("residence_id", "due_date"), ("residence_id", "template_id"))


class TaskCompletion(UUIDModel):
    task: fields.ForeignKeyRelation[Task] = fields.ForeignKeyField(
        "honeydue.Task", related_name="completions", on_delete=fields.CASCADE
    )
    task_id: uuid.UUID
    completed_at = fields.DatetimeField()
    completed_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "honeydue.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    completed_by_id: uuid.UUID | None
    notes = fields.TextField(default="")
    cost_cents = fields.BigIntField(null=True)
    # Who did the job (and charged cost_cents); deleting the contractor clears the link.
    contractor: fields.ForeignKeyNullableRelation[Contractor] = fields.ForeignKeyField(
        "honeydue.Contractor", related_name="completions", null=True, on_delete=fields.SET_NULL
    )
    contractor_id: uuid.UUID | None
    # A skipped occurrence (skipTaskOccurrence): the schedule moved on without the task being done. Skips
    # sit in the history with the completions but count as none (rotation, costs).
    skipped = fields.BooleanField(default=False, db_default=False)

    class Meta:
        table = "task_completions"
        indexes = (("task_id", "completed_at"),)


class TaskRotationMember(UUIDModel):
    """One member of a task's rotation, at ``position`` in its order (0 first)."""

    task: fields.ForeignKeyRelation[Task] = fields.ForeignKeyField(
        "honeydue.Task", related_name="rotation_members", on_delete=fields.CASCADE
    )
    task_id: uuid.UUID
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "honeydue.User", related_name=False, on_delete=fields.CASCADE
    )
    user_id: uuid.UUID
    position = fields.IntField()

    class Meta:
        table = "task_rotation_members"
        unique_together = (("task", "user"),)
