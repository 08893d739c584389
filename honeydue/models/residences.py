"""Residences, who may see them (memberships) and how people join (share codes)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from tortoise import fields

from honeydue.models.base import UUIDModel
from honeydue.models.enums import (
    ClimateRegion,
    CoolingSystem,
    HeatingSystem,
    ResidenceRole,
    ResidenceType,
    RoofType,
    WaterHeaterType,
)

if TYPE_CHECKING:  # imported for annotations only: the models refer to each other
    from honeydue.models.accounts import User


class Residence(UUIDModel):
    name = fields.CharField(max_length=200)
    address = fields.TextField(default="")
    timezone = fields.CharField(max_length=64, default="UTC")
    type = fields.CharEnumField(ResidenceType, max_length=16, default=ResidenceType.HOUSE,
                                db_default=ResidenceType.HOUSE)
    # A plain column like User.avatar_id: media rows point at residences, and the migration autodetector
    # cannot order a Residence <-> Media cycle.
    photo_id = fields.UUIDField(null=True)
    # The home profile (Residence.profile). Every column is nullable: null is "not stated", which the
    # suggestions read as absent for the has_* features.
    year_built = fields.SmallIntField(null=True)
    heating = fields.CharEnumField(HeatingSystem, max_length=24, null=True)
    cooling = fields.CharEnumField(CoolingSystem, max_length=24, null=True)
    water_heater = fields.CharEnumField(WaterHeaterType, max_length=24, null=True)
    roof = fields.CharEnumField(RoofType, max_length=24, null=True)
    has_pool = fields.BooleanField(null=True)
    has_septic = fields.BooleanField(null=True)
    has_fireplace = fields.BooleanField(null=True)
    has_basement = fields.BooleanField(null=True)
    has_sprinklers = fields.BooleanField(null=True)
    climate_region = fields.CharEnumField(ClimateRegion, max_length=16, null=True)

    class Meta:
        table = "residences"


class Membership(UUIDModel):
    residence: fields.ForeignKeyRelation[Residence] = fields.ForeignKeyField(
        "honeydue.Residence", related_name="memberships", on_delete=fields.CASCADE
    )
    residence_id: uuid.UUID
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "honeydue.User", related_name="memberships", on_delete=fields.CASCADE
    )
    user_id: uuid.UUID
    role = fields.CharEnumField(ResidenceRole, max_length=16)

    class Meta:
        table = "memberships"
        unique_together = (("residence", "user"),)


class ShareCode(UUIDModel):
    residence: fields.ForeignKeyRelation[Residence] = fields.ForeignKeyField(
        "honeydue.Residence", related_name="share_codes", on_delete=fields.CASCADE
    )
    residence_id: uuid.UUID
    code = fields.CharField(max_length=32, unique=True)
    role = fields.CharEnumField(ResidenceRole, max_length=16)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "honeydue.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_by_id: uuid.UUID | None
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "share_codes"


class MemberRemoval(UUIDModel):
    # When an owner last removed this person from this residence: share codes made before it no longer
    # admit them (a removed member cannot walk back in with the code they joined by).
    residence: fields.ForeignKeyRelation[Residence] = fields.ForeignKeyField(
        "honeydue.Residence", related_name=False, on_delete=fields.CASCADE
    )
    residence_id: uuid.UUID
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "honeydue.User", related_name=False, on_delete=fields.CASCADE
    )
    user_id: uuid.UUID
    removed_at = fields.DatetimeField()

    class Meta:
        table = "member_removals"
        unique_together = (("residence", "user"),)
