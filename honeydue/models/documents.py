"""The papers of a home: manuals, warranties, receipts."""

from __future__ import annotations

from tortoise import fields

from honeydue.models.base import UUIDModel
from honeydue.models.enums import DocumentKind


class Document(UUIDModel):
    residence = fields.ForeignKeyField("honeydue.Residence", related_name="documents",
                                       on_delete=fields.CASCADE)
    title = fields.CharField(max_length=200)
    kind = fields.CharEnumField(DocumentKind, max_length=16, default=DocumentKind.OTHER)
    notes = fields.TextField(default="")
    expires_at = fields.DateField(null=True, db_index=True)
    created_by = fields.ForeignKeyField("honeydue.User", related_name=False, null=True,
                                        on_delete=fields.SET_NULL)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "documents"
