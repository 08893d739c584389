"""Residences, who may see them (memberships) and how people join (share codes)."""

from __future__ import annotations

from tortoise import fields

from honeydue.models.base import UUIDModel
from honeydue.models.enums import ResidenceRole


class Residence(UUIDModel):
    name = fields.CharField(max_length=200)
    address = fields.TextField(default="")
    timezone = fields.CharField(max_length=64, default="UTC")

    class Meta:
        table = "residences"


class Membership(UUIDModel):
    residence = fields.ForeignKeyField("honeydue.Residence", related_name="memberships",
                                       on_delete=fields.CASCADE)
    user = fields.ForeignKeyField("honeydue.User", related_name="memberships", on_delete=fields.CASCADE)
    role = fields.CharEnumField(ResidenceRole, max_length=16)

    class Meta:
        table = "memberships"
        unique_together = (("residence", "user"),)


class ShareCode(UUIDModel):
    residence = fields.ForeignKeyField("honeydue.Residence", related_name="share_codes",
                                       on_delete=fields.CASCADE)
    code = fields.CharField(max_length=32, unique=True)
    role = fields.CharEnumField(ResidenceRole, max_length=16)
    created_by = fields.ForeignKeyField("honeydue.User", related_name=False, null=True,
                                        on_delete=fields.SET_NULL)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "share_codes"
