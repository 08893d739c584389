"""Fixtures for domain API tests: a residence with one member of each role, and an outsider.

Users are made straight in the database with real bearer tokens (``issue_token``) instead of through
``register``, which hashes a password with Argon2 each time: the role tables create many worlds.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from honeydue import models
from honeydue.passwords import DUMMY_HASH
from honeydue.tokens import issue_token

ROLES = ("owner", "editor", "viewer", "outsider")


@dataclass
class Actor:
    user: models.User
    token: str

    @property
    def id(self) -> str:
        return str(self.user.id)


@dataclass
class World:
    residence: models.Residence
    owner: Actor
    editor: Actor
    viewer: Actor
    outsider: Actor

    @property
    def rid(self) -> str:
        return str(self.residence.id)

    def actor(self, role: str) -> Actor:
        return getattr(self, role)


async def make_actor(name: str, *, is_admin: bool = False) -> Actor:
    user = await models.User.create(email=f"{name}-{uuid.uuid4().hex[:6]}@example.com", password_hash=DUMMY_HASH,
                                    display_name=name.title(), is_admin=is_admin)
    return Actor(user, await issue_token(user, 1))


async def make_world(timezone: str = "UTC") -> World:
    residence = await models.Residence.create(name="Home", address="1 Main St", timezone=timezone)
    actors = {role: await make_actor(role) for role in ROLES}
    for role in ("owner", "editor", "viewer"):
        await models.Membership.create(residence=residence, user=actors[role].user, role=role.upper())
    return World(residence=residence, **actors)


async def ready_media(owner: Actor, purpose: models.MediaPurpose, target_id: uuid.UUID, residence_id: uuid.UUID | None,
                      status: models.MediaStatus = models.MediaStatus.READY) -> models.Media:
    """A media row as ``requestUpload``/``finalizeUpload`` leave it (no object needed: only rows are read)."""
    return await models.Media.create(
        key=f"test/{uuid.uuid4()}.jpg", owner=owner.user, purpose=purpose, target_id=target_id,
        residence_id=residence_id, filename="photo.jpg", content_type="image/jpeg", size=1234, status=status,
        finalized_at=datetime.now(UTC) if status == models.MediaStatus.READY else None,
    )


def error_code(result: dict) -> str | None:
    """The first top-level error code, or None when the operation succeeded."""
    errors = result.get("errors")
    return errors[0]["extensions"]["code"] if errors else None
