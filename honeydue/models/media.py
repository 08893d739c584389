"""Uploaded files: one row per object in the bucket."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from honeydue.models.base import UUIDModel
from honeydue.models.enums import MediaPurpose, MediaStatus, MediaVariantKind, VariantsStatus

if TYPE_CHECKING:  # imported for annotations only: the models refer to each other
    from honeydue.models.accounts import User
    from honeydue.models.documents import Document
    from honeydue.models.residences import Residence
    from honeydue.models.tasks import TaskCompletion


class Media(UUIDModel):
    key = fields.CharField(max_length=512, unique=True)
    owner: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "honeydue.User", related_name="media", null=True, on_delete=fields.SET_NULL
    )
    owner_id: uuid.UUID | None
    purpose = fields.CharEnumField(MediaPurpose, max_length=24)
    # What the upload was requested for: a user (avatar), task (photo) or residence (document).
    target_id = fields.UUIDField(db_index=True, null=True)
    # Where it is attached once used (completion or document); null while unattached.
    completion: fields.ForeignKeyNullableRelation[TaskCompletion] = fields.ForeignKeyField(
        "honeydue.TaskCompletion", related_name="photos", null=True, on_delete=fields.SET_NULL
    )
    completion_id: uuid.UUID | None
    document: fields.ForeignKeyNullableRelation[Document] = fields.ForeignKeyField(
        "honeydue.Document", related_name="files", null=True, on_delete=fields.SET_NULL
    )
    document_id: uuid.UUID | None
    residence: fields.ForeignKeyNullableRelation[Residence] = fields.ForeignKeyField(
        "honeydue.Residence", related_name="media", null=True, on_delete=fields.SET_NULL
    )
    residence_id: uuid.UUID | None
    filename = fields.CharField(max_length=255)
    content_type = fields.CharField(max_length=100)
    size = fields.BigIntField()
    status = fields.CharEnumField(MediaStatus, max_length=16, default=MediaStatus.PENDING, db_index=True)
    reject_reason = fields.CharField(max_length=255, null=True)
    etag = fields.CharField(max_length=100, null=True)
    finalized_at = fields.DatetimeField(null=True)
    # Set by the one finalizeUpload working on a PENDING row (a guarded update claims it), so a concurrent
    # finalize never checks or copies the same upload; a claim older than the lease may be taken over.
    finalize_claim = fields.UUIDField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)
    # Written by the variant job (honeydue.media_variants): the displayed size (orientation applied) and a
    # BlurHash a list can paint before any byte of the file arrives. Null until the job has run.
    width = fields.IntField(null=True)
    height = fields.IntField(null=True)
    placeholder = fields.CharField(max_length=100, null=True)
    # Null for files that never get variants; see VariantsStatus. Attempts count the job's runs (retries).
    variants_status = fields.CharEnumField(VariantsStatus, max_length=16, null=True)
    variants_attempts = fields.SmallIntField(default=0, db_default=0)
    variants_error = fields.CharField(max_length=255, null=True)

    class Meta:
        table = "media"
        indexes = (("owner_id", "status"), ("status", "created_at"))


class MediaVariant(UUIDModel):
    """A smaller WebP rendition of a READY media, stored next to it (``honeydue.media_variants.keys``).

    The row exists only once its object is stored; it goes with its media (cascade), and its object with the
    media's (every deleter removes ``object_keys(media.key)``). The gateway serves it under the media's rules.
    """

    media: fields.ForeignKeyRelation[Media] = fields.ForeignKeyField(
        "honeydue.Media", related_name="variants", on_delete=fields.CASCADE
    )
    media_id: uuid.UUID
    kind = fields.CharEnumField(MediaVariantKind, max_length=16)
    key = fields.CharField(max_length=512, unique=True)
    content_type = fields.CharField(max_length=100)
    width = fields.IntField()
    height = fields.IntField()
    size = fields.BigIntField()
    etag = fields.CharField(max_length=100, null=True)

    class Meta:
        table = "media_variants"
        unique_together = (("media", "kind"),)


class BackupTombstone(Model):
    """An object the backup holds but the primary bucket no longer does, since ``missing_since``.

    The ``backup_storage`` job writes it the first time it sees the key missing from the primary, and deletes
    the backup's copy (and this row) once ``BACKUP_RETENTION_DAYS`` have passed; a key that comes back (a
    restore) loses its tombstone. See docs/storage.md.
    """

    key = fields.CharField(max_length=512, primary_key=True)
    missing_since = fields.DatetimeField()

    class Meta:
        table = "backup_tombstones"
