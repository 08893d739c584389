"""Idempotency keys: the claim a client's retry-safe request leaves, so a retry returns the first result."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from tortoise import fields

from honeydue.models.base import UUIDModel

if TYPE_CHECKING:  # imported for annotations only: the models refer to each other
    from honeydue.models.accounts import User

# A key answers its repeats for this long; after that it is free for a new request and cleaned up.
IDEMPOTENCY_WINDOW = timedelta(hours=24)
MAX_IDEMPOTENCY_KEY_LENGTH = 64


class IdempotencyKey(UUIDModel):
    # UNIQUE(user, key) is the guarantee: the claim is inserted in the transaction that does the work, so of
    # two concurrent requests with one key exactly one commits; the other fails on the constraint and reads
    # the winner's result (PostgreSQL makes it wait until the winner's transaction ends).

    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "honeydue.User", related_name=False, on_delete=fields.CASCADE
    )
    user_id: uuid.UUID
    key = fields.CharField(max_length=MAX_IDEMPOTENCY_KEY_LENGTH)
    operation = fields.CharField(max_length=32)  # the mutation's name, e.g. "completeTask"
    request_hash = fields.CharField(max_length=64)  # SHA-256 of the operation and its input, hex
    # What the first request made: the task, residence, document, media or completion.
    result_id = fields.UUIDField()

    class Meta:
        table = "idempotency_keys"
        unique_together = (("user", "key"),)
        indexes = (("created_at",),)
