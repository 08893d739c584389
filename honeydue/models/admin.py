"""What the admin console reads and writes beside the domain: the audit log, and each periodic job's last runs."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

from honeydue.models.base import UUIDModel

if TYPE_CHECKING:  # imported for annotations only
    from honeydue.models.accounts import User


class AuditEntry(UUIDModel):
    # One admin action. The actor is kept as a nullable reference: deleting the admin's own account later
    # must not delete the record of what they did (the row stays, ``actor`` becomes null).
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "honeydue.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    actor_id: uuid.UUID | None
    action = fields.CharField(max_length=64)  # the mutation's name, e.g. adminSetUserDisabled
    target_type = fields.CharField(max_length=32)  # User, Job
    # Not a foreign key: the target may be deleted (adminDeleteUser), and a job's target is its name.
    target_id = fields.CharField(max_length=64, null=True)
    reason = fields.CharField(max_length=500, null=True)
    # What the action changed, for the log's reader (e.g. {"disabled": true}, {"email": ...} of a deleted user).
    details: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)

    class Meta:
        table = "audit_entries"
        indexes = (("created_at",), ("actor_id", "created_at"), ("target_id", "created_at"))


class JobRun(Model):
    """The last runs of one periodic job (``workers.job_runs`` writes it around every run of the actor)."""

    name = fields.CharField(max_length=64, primary_key=True)
    last_started_at = fields.DatetimeField(null=True)
    last_finished_at = fields.DatetimeField(null=True)
    last_success_at = fields.DatetimeField(null=True)
    last_error_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)
    # The last successful run's summary, when the job returns one (reconcile_storage, backup_storage).
    last_report: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)

    class Meta:
        table = "job_runs"
