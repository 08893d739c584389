"""The papers of a home: manuals, warranties, receipts."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from tortoise import fields

from honeydue.models.base import UUIDModel
from honeydue.models.enums import DocumentKind

if TYPE_CHECKING:  # imported for annotations only: the models refer to each other
    from honeydue.models.accounts import User
    from honeydue.models.residences import Residence


class Document(UUIDModel):
    residence: fields.ForeignKeyRelation[Residence] = fields.ForeignKeyField(
        "honeydue.Residence", related_name="documents", on_delete=fields.CASCADE
    )
    residence_id: uuid.UUID
    title = fields.CharField(max_length=200)
    kind = fields.CharEnumField(DocumentKind, max_length=16, default=DocumentKind.OTHER)
    notes = fields.TextField(default="")
    expires_at = fields.DateField(null=True, db_index=True)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "honeydue.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_by_id: uuid.UUID | None
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "documents"
