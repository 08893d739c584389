"""Shared model pieces: UUID primary keys and timestamps."""

from __future__ import annotations

import uuid

from tortoise import fields
from tortoise.models import Model


class UUIDModel(Model):
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        abstract = True
