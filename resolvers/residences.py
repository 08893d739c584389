"""Residences and their members: create, edit, delete, share codes, joining and leaving."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from honeydue.client_address import limit_key
from honeydue.errors import NotFound, RateLimited
from honeydue.models import (
    Media,
    MemberRemoval,
    Membership,
    Residence,
    ResidenceRole,
    ResidenceType,
    ShareCode,
    User,
)
from honeydue.ratelimit import RateLimiter
from honeydue.schedule import validate_timezone
from honeydue.user_errors import UserErrorCode, reject
from resolvers import attachments, idempotency, rotation
from resolvers.access import require_role
from resolvers.notifications import notify_owners_of_join, send_notifications

# Crockford's base32 without the look-alikes (I, L, O, U): easy to read aloud and type on a phone.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10  # 50 bits: unguessable within an expiry, given the join attempt limit below
DEFAULT_CODE_TTL = timedelta(days=7)
MIN_CODE_TTL = timedelta(minutes=5)
MAX_CODE_TTL = timedelta(days=30)
JOIN_ATTEMPTS_PER_HOUR = 20
# Per client address as well: otherwise every fresh account would bring a fresh budget of guesses.
JOIN_ATTEMPTS_PER_HOUR_PER_ADDRESS = 30
_CODE_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
# The home profile's columns (Residence.profile); a profile change is a dict of some of them.
PROFILE_COLUMNS = ("year_built", "heating", "cooling", "water_heater", "roof", "has_pool", "has_septic",
                   "has_fireplace", "has_basement", "has_sprinklers", "climate_region")
EARLIEST_YEAR_BUILT = 1600


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise reject(UserErrorCode.INVALID_INPUT, "Name must be 1 to 200 characters.", "name")
    return name


def _check_address(address: str) -> str:
    address = address.strip()
    if len(address) > 1000:
        raise reject(UserErrorCode.INVALID_INPUT, "Address must be at most 1000 characters.", "address")
    return address


def _check_timezone(timezone: str) -> str:
    if not validate_timezone(timezone):
        raise reject(UserErrorCode.INVALID_TIMEZONE, f"Unknown timezone {timezone!r}; use an IANA name "
                     "such as Europe/Paris.", "timezone")
    return timezone


def _check_profile(profile: dict[str, object] | None, now: datetime) -> dict[str, Any]:
    """The profile columns to write; ``yearBuilt`` must be 1600 .. next year (null clears it, like any field)."""
    profile = dict(profile or {})
    unknown = set(profile) - set(PROFILE_COLUMNS)
    if unknown:
        raise ValueError(f"not profile columns: {sorted(unknown)}")
    year = profile.get("year_built")
    if year is not None and not EARLIEST_YEAR_BUILT <= int(year) <= now.year + 1:  # type: ignore[call-overload]
        raise reject(UserErrorCode.INVALID_INPUT, f"yearBuilt must be from {EARLIEST_YEAR_BUILT} to {now.year + 1}.",
                     "profile", "yearBuilt")
    return profile


async def create_residence(
    user: User, name: str, address: str | None, timezone: str | None, idempotency_key: str | None = None, *,
    type: ResidenceType = ResidenceType.HOUSE, profile: dict[str, object] | None = None, now: datetime,
) -> Residence:
    """A new residence with the caller as its OWNER; ``profile`` holds the home profile columns given.

    With an ``idempotency_key`` a repeat returns the first one.
    """
    request = idempotency.request(user, idempotency_key, "createResidence",
                                  dict(name=name, address=address, timezone=timezone, type=type,
                                       profile=profile or {}))

    async def create() -> Residence:
        checked_name = _check_name(name)
        checked_address = _check_address(address or "")
        checked_timezone = _check_timezone(timezone or "UTC")
        columns = _check_profile(profile, now)
        async with idempotency.claimed(request) as residence_id:
            residence = await Residence.create(id=residence_id, name=checked_name, address=checked_address,
                                               timezone=checked_timezone, type=type, **columns)
            await Membership.create(residence=residence, user=user, role=ResidenceRole.OWNER)
        return residence

    return await idempotency.once(request, create, residence_replay(user))


def residence_replay(user: User) -> Callable[[uuid.UUID], Awaitable[Residence]]:
    """The ``replay`` of a request that made a residence (create, import): that residence, while ``user`` may
    still read it; ``gone()`` once it has been deleted."""

    async def replay(residence_id: uuid.UUID) -> Residence:
        residence = await Residence.get_or_none(id=residence_id)
        if residence is None:
            raise idempotency.gone()
        await require_role(user, residence_id, ResidenceRole.VIEWER)
        return residence

    return replay


async def update_residence(
    user: User, residence_id: uuid.UUID, name: str | None, address: str | None, timezone: str | None, *,
    type: ResidenceType | None = None, profile: dict[str, object] | None = None, now: datetime,
) -> Residence:
    """Rename, re-address, re-type, re-profile or move a residence to another timezone (owners only).

    ``profile`` holds only the profile columns the client sent; a None in it clears that column (unset).
    """
    await require_role(user, residence_id, ResidenceRole.OWNER)
    residence = await Residence.get(id=residence_id)
    columns = _check_profile(profile, now)
    fields: list[str] = []
    if type is not None:
        residence.type = type
        fields.append("type")
    for column, value in columns.items():
        setattr(residence, column, value)
        fields.append(column)
    if name is not None:
        residence.name = _check_name(name)
        fields.append("name")
    if address is not None:
        residence.address = _check_address(address)
        fields.append("address")
    if timezone is not None:
        residence.timezone = _check_timezone(timezone)
        fields.append("timezone")
    if fields:
        await residence.save(update_fields=fields)
    return residence


async def delete_residence(user: User, residence_id: uuid.UUID) -> Residence:
    """Delete a residence with its tasks, documents, files and memberships (owners only); returns the deleted row."""
    await require_role(user, residence_id, ResidenceRole.OWNER)
    residence = await Residence.get(id=residence_id)
    async with in_transaction():
        # Documents, completion photos and the residence's photo all carry the residence (requestUpload sets it).
        await attachments.discard(Media.filter(residence_id=residence_id), "Deleted with its residence.")
        await residence.delete()
    return residence


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    """What the person meant to type: case, spaces and dashes ignored, O/I/L read as 0/1."""
    return "".join(code.split()).replace("-", "").upper().translate(_CODE_LOOKALIKES)


async def create_share_code(
    user: User, residence_id: uuid.UUID, role: ResidenceRole, expires_in: int | None, now: datetime
) -> ShareCode:
    """A code that lets whoever has it join with ``role`` until it expires or is revoked (owners only)."""
    await require_role(user, residence_id, ResidenceRole.OWNER)
    ttl = DEFAULT_CODE_TTL if expires_in is None else timedelta(seconds=expires_in)
    if not MIN_CODE_TTL <= ttl <= MAX_CODE_TTL:
        raise reject(UserErrorCode.INVALID_INPUT, f"expiresIn must be between {int(MIN_CODE_TTL.total_seconds())} "
                     f"and {int(MAX_CODE_TTL.total_seconds())} seconds.", "expiresIn")
    for _ in range(5):  # a collision in 2^50 is all but impossible; retrying costs nothing
        try:
            return await ShareCode.create(residence_id=residence_id, code=_new_code(), role=role,
                                          created_by=user, expires_at=now + ttl)
        except IntegrityError:
            continue
    raise RuntimeError("could not generate a unique share code")


async def revoke_share_code(user: User, code: str, now: datetime) -> None:
    """Kill a share code at once (owners of its residence only; anyone else is told it does not exist)."""
    share = await ShareCode.get_or_none(code=normalise_code(code))
    if share is None:
        raise NotFound("No such share code.")
    await require_role(user, share.residence_id, ResidenceRole.OWNER)
    if share.revoked_at is None:
        share.revoked_at = now
        await share.save(update_fields=["revoked_at"])


async def join_residence(user: User, limiter: RateLimiter, client_ip: str, code: str, now: datetime) -> Residence:
    """Become a member through a share code; an unknown, expired or revoked code is a user error.

    Attempts are limited per user and per client address (docs/rate-limits.md), so fresh accounts do not
    buy fresh guesses. A code made before the caller was last removed from its residence does not admit
    them. The owners are notified (``RESIDENCE_SHARED``, as their preferences allow).
    """
    within_user = await limiter.hit(f"join:{user.id}", JOIN_ATTEMPTS_PER_HOUR, 3600)
    within_address = await limiter.hit(f"join:addr:{limit_key(client_ip)}", JOIN_ATTEMPTS_PER_HOUR_PER_ADDRESS, 3600)
    if not (within_user and within_address):
        raise RateLimited("Too many attempts to join; try again later.")
    share = await ShareCode.get_or_none(code=normalise_code(code))
    if share is None or share.revoked_at is not None or share.expires_at <= now:
        # One message for all three: which one it was is nobody's business but the owner's.
        raise reject(UserErrorCode.INVALID_CODE, "This code is invalid or has expired.", "code")
    if await Membership.filter(user_id=user.id, residence_id=share.residence_id).exists():
        raise reject(UserErrorCode.ALREADY_MEMBER, "You are already a member of this residence.", "code")
    if await MemberRemoval.filter(residence_id=share.residence_id, user_id=user.id,
                                  removed_at__gte=share.created_at).exists():
        raise reject(UserErrorCode.INVALID_CODE, "You were removed from this residence after this code was made; "
                     "ask an owner for a new code.", "code")
    residence = await Residence.get(id=share.residence_id)
    try:
        async with in_transaction():
            await Membership.create(user=user, residence_id=share.residence_id, role=share.role)
            notices = await notify_owners_of_join(residence, user, share.role)
    except IntegrityError:  # a double-submitted join
        raise reject(UserErrorCode.ALREADY_MEMBER, "You are already a member of this residence.", "code") from None
    send_notifications(notices)
    return residence


async def remove_member(
    user: User, residence_id: uuid.UUID, member_id: uuid.UUID, now: datetime
) -> Residence | None:
    """Remove a member (owners), or leave (anyone removing themselves); the last OWNER must stay.

    A removal by an owner is recorded with its time: share codes made before it no longer admit that person
    (``join_residence``). Leaving of one's own accord is not recorded; the same code lets them back.
    Returns the residence, or None when the caller left it and may no longer see it.
    """
    leaving = member_id == user.id
    await require_role(user, residence_id, ResidenceRole.VIEWER if leaving else ResidenceRole.OWNER)
    async with in_transaction():
        target = await Membership.get_or_none(residence_id=residence_id, user_id=member_id)
        if target is None:
            raise reject(UserErrorCode.NOT_FOUND, "That person is not a member of this residence.", "userId")
        if target.role == ResidenceRole.OWNER:
            # Locking the owner rows makes two owners removing each other at once take turns (PostgreSQL).
            owners = await Membership.filter(residence_id=residence_id, role=ResidenceRole.OWNER).select_for_update()
            if len(owners) <= 1:
                raise reject(UserErrorCode.LAST_OWNER, "The last owner cannot leave or be removed; delete the "
                             "residence instead.", "userId")
        await target.delete()
        if not leaving:
            await MemberRemoval.update_or_create(residence_id=residence_id, user_id=member_id,
                                                 defaults={"removed_at": now})
        # Out of the rotations, off the assignments: nobody should be assigned a chore in a home they cannot see.
        await rotation.drop_member(member_id, [residence_id])
    return None if leaving else await Residence.get(id=residence_id)
