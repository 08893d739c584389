"""Data exports (GDPR right of access): a zip of everything the user has, built by a job, kept 7 days."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from tortoise import fields

from honeydue.models.base import UUIDModel
from honeydue.models.enums import DataExportStatus

if TYPE_CHECKING:  # imported for annotations only: the models refer to each other
    from honeydue.models.accounts import User
    from honeydue.models.media import Media


class DataExport(UUIDModel):
    # The row is the durable record of the request: the job that builds the zip is re-sent from it
    # (workers.data_exports.sweep_data_exports) if its message is lost or its worker dies.
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "honeydue.User", related_name="data_exports", on_delete=fields.CASCADE
    )
    user_id: uuid.UUID
    status = fields.CharEnumField(DataExportStatus, max_length=16, default=DataExportStatus.PENDING)
    # The zip once READY: a DATA_EXPORT media row, so the gateway serves it like any other file.
    media: fields.ForeignKeyNullableRelation[Media] = fields.ForeignKeyField(
        "honeydue.Media", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    media_id: uuid.UUID | None
    size_bytes = fields.BigIntField(null=True)
    ready_at = fields.DatetimeField(null=True)
    expires_at = fields.DatetimeField(null=True, db_index=True)
    # The build job's claim: set when a run starts, cleared when it ends; a claim older than the lease is a
    # run that died, and the sweeper re-sends the job.
    claimed_at = fields.DatetimeField(null=True)
    attempts = fields.SmallIntField(default=0)
    last_error = fields.TextField(null=True)

    class Meta:
        table = "data_exports"
        indexes = (("user_id", "created_at"), ("status", "created_at"))
