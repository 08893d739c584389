"""The people and firms a household calls: plumbers, electricians, the gutter cleaner."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from tortoise import fields

from honeydue.models.base import UUIDModel

if TYPE_CHECKING:  # imported for annotations only: the models refer to each other
    from honeydue.models.residences import Residence


class Contractor(UUIDModel):
    residence: fields.ForeignKeyRelation[Residence] = fields.ForeignKeyField(
        "honeydue.Residence", related_name="contractors", on_delete=fields.CASCADE
    )
    residence_id: uuid.UUID
    name = fields.CharField(max_length=200)
    company = fields.CharField(max_length=200, default="")
    phone = fields.CharField(max_length=50, default="")
    email = fields.CharField(max_length=254, default="")
    website = fields.CharField(max_length=2000, default="")
    notes = fields.TextField(default="")
    favorite = fields.BooleanField(default=False)
    # The specialties as given (normalised), in order, for display.
    specialties: fields.JSONField[list[str]] = fields.JSONField(default=list)
    # The same specialties as one text, each between SEPARATORs ("\x1fplumbing\x1fhvac\x1f"), so the
    # `specialty` filter is one LIKE on a plain column on PostgreSQL and SQLite alike.
    specialty_tags = fields.TextField(default="")
    # Name, company and specialties case-folded and joined by SEPARATOR: the `search` filter is one LIKE
    # of the case-folded search text here (SQLite's own LIKE folds ASCII only, so the folding is done in
    # Python, once per write).
    search_text = fields.TextField(default="")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "contractors"
        indexes = (("residence_id", "favorite", "name"),)
