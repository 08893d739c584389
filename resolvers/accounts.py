"""Accounts: register, log in and out, profile, password, and deleting an account."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from honeydue import jobs
from honeydue.client_address import limit_key
from honeydue.data_exports import exports_prefix
from honeydue.errors import RateLimited
from honeydue.models import (
    ROLE_RANK,
    AccountPurge,
    Media,
    MediaPurpose,
    MediaStatus,
    Membership,
    Residence,
    ResidenceRole,
    User,
)
from honeydue.passwords import (
    DUMMY_HASH,
    MAX_PASSWORD_LENGTH,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
)
from honeydue.ratelimit import RateLimiter
from honeydue.settings import Settings
from honeydue.storage import Storage
from honeydue.tokens import SessionOrigin, issue_token, revoke_all_tokens, revoke_token, session_ttl_days
from honeydue.user_errors import UserErrorCode, reject
from resolvers import rotation
from resolvers.login_limits import begin_login_attempt
from resolvers.media import replace_avatar

log = logging.getLogger(__name__)

# Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is
# proven by email, not by regex.
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")


@dataclass
class Session:
    token: str
    user: User


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _check_display_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100:
        raise reject(UserErrorCode.INVALID_INPUT, "Display name must be 1 to 100 characters.", "displayName")
    return name


def check_email(email: str, field: str = "email") -> str:
    """``email`` normalised, or INVALID_EMAIL on ``field`` when it does not look like an address."""
    email = normalise_email(email)
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise reject(UserErrorCode.INVALID_EMAIL, "Enter a valid email address.", field)
    return email


async def create_user(email: str, password: str, display_name: str, *, is_admin: bool = False) -> User:
    """A new account after every check ``register`` promises; bad input raises InputRejected."""
    email = check_email(email)
    problem = password_problem(password, email)
    if problem:
        raise reject(UserErrorCode.WEAK_PASSWORD, problem, "password")
    name = _check_display_name(display_name)
    if await User.filter(email=email).exists():
        raise reject(UserErrorCode.EMAIL_TAKEN, "An account with this email already exists.", "email")
    try:
        return await User.create(email=email, password_hash=hash_password(password), display_name=name,
                                 is_admin=is_admin)
    except IntegrityError:  # a concurrent registration won the race
        raise reject(UserErrorCode.EMAIL_TAKEN, "An account with this email already exists.", "email") from None


REGISTER_WINDOW = 3600


async def register(
    settings: Settings, limiter: RateLimiter, client_ip: str, email: str, password: str, display_name: str,
    origin: SessionOrigin | None = None,
) -> Session:
    """A new account and its first session; ``REGISTER_ATTEMPTS_PER_HOUR`` attempts per client address."""
    if not await limiter.hit(f"register:addr:{limit_key(client_ip)}", settings.register_attempts_per_hour,
                             REGISTER_WINDOW):
        raise RateLimited("Too many sign-ups from this address; try again later.")
    user = await create_user(email, password, display_name)
    return Session(token=await issue_token(user, session_ttl_days(settings, user), origin), user=user)


async def login(
    settings: Settings, limiter: RateLimiter, client_ip: str, email: str, password: str,
    origin: SessionOrigin | None = None,
) -> Session:
    """A session for the right password; failures are limited as ``resolvers.login_limits`` describes."""
    email = normalise_email(email)
    attempt = await begin_login_attempt(limiter, settings.login_attempts_per_15min, email, client_ip)
    # Nothing longer than an address or a password can be could match: answer without a query or a hash
    # (and without echoing megabytes of input into an error log).
    plausible = len(email) <= 254 and len(password) <= MAX_PASSWORD_LENGTH
    user = await User.get_or_none(email=email) if plausible else None
    if user is None:
        verify_password(DUMMY_HASH, password[:MAX_PASSWORD_LENGTH])
        raise reject(UserErrorCode.INVALID_CREDENTIALS, "Email or password is incorrect.")
    if not verify_password(user.password_hash, password):
        raise reject(UserErrorCode.INVALID_CREDENTIALS, "Email or password is incorrect.")
    if user.disabled:
        # Said only after the right password, so the answer tells nothing to someone guessing addresses.
        raise reject(UserErrorCode.ACCOUNT_DISABLED, "This account has been disabled by an administrator.")
    await attempt.succeeded()
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        await user.save(update_fields=["password_hash"])
    return Session(token=await issue_token(user, session_ttl_days(settings, user), origin), user=user)


async def logout(token: str) -> None:
    await revoke_token(token)


async def update_profile(
    user: User, storage: Storage, display_name: str | None, avatar_id: uuid.UUID | None
) -> User:
    """Display name and avatar; an avatar replaced here is deleted (row and object), as on finalize."""
    fields: list[str] = []
    if display_name is not None:
        user.display_name = _check_display_name(display_name)
        fields.append("display_name")
    if avatar_id is not None and avatar_id != user.avatar_id:
        media = await Media.get_or_none(id=avatar_id)
        if media is None or media.owner_id != user.id:
            raise reject(UserErrorCode.MEDIA_NOT_ALLOWED, "That file is not one of your uploads.", "avatarId")
        if media.purpose != MediaPurpose.AVATAR or media.target_id not in (None, user.id):
            raise reject(UserErrorCode.MEDIA_NOT_ALLOWED, "That file was not uploaded as an avatar.", "avatarId")
        if media.status != MediaStatus.READY:
            raise reject(UserErrorCode.MEDIA_NOT_READY, "That file is not finalized yet.", "avatarId")
        await replace_avatar(user, storage, media)
    if fields:
        await user.save(update_fields=fields)
    return user


async def change_password(user: User, current_token: str | None, current: str, new: str) -> None:
    if not verify_password(user.password_hash, current):
        raise reject(UserErrorCode.WRONG_PASSWORD, "Current password is incorrect.", "currentPassword")
    problem = password_problem(new, user.email)
    if problem:
        raise reject(UserErrorCode.WEAK_PASSWORD, problem, "newPassword")
    user.password_hash = hash_password(new)
    await user.save(update_fields=["password_hash"])
    # Every other session ends; the one that changed the password stays signed in.
    await revoke_all_tokens(user.id, except_raw=current_token)


async def delete_account(user: User, password: str) -> None:
    """Remove the user and their rows now; leave a durable record for purging their files."""
    if not verify_password(user.password_hash, password):
        raise reject(UserErrorCode.WRONG_PASSWORD, "Password is incorrect.", "password")
    await remove_user(user)


async def remove_user(user: User, before_delete: Callable[[], Awaitable[object]] | None = None) -> None:
    """``deleteAccount``'s work, also ``adminDeleteUser``'s: the rows now, the files by a durable purge.

    ``before_delete`` runs inside the same transaction (the admin action's audit entry), so both or neither
    are written.
    """
    async with in_transaction():
        if before_delete is not None:
            await before_delete()
        sole_residences = await _residences_only_this_user_belongs_to(user)
        purge = await AccountPurge.create(
            user_id=user.id,
            # exports/<user_id>/ also catches a data export whose build finishes after this transaction.
            prefixes=[f"users/{user.id}/", exports_prefix(user.id),
                      *(f"residences/{rid}/" for rid in sole_residences)],
            keys=await _media_keys_to_purge(user, sole_residences),
        )
        await Media.filter(owner_id=user.id, residence_id=None).delete()
        await Media.filter(residence_id__in=sole_residences).delete()
        await Residence.filter(id__in=sole_residences).delete()
        await _hand_over_ownership(user)
        # Leaving every shared home: out of its rotations, the task passed to whoever is next.
        shared = await Membership.filter(user_id=user.id).exclude(residence_id__in=sole_residences) \
            .values_list("residence_id", flat=True)
        await rotation.drop_member(user.id, list(shared))  # type: ignore[arg-type]
        await user.delete()
    if not jobs.enqueue("purge_account", str(purge.id)):
        log.warning("purge %s left for the sweeper", purge.id)


async def _hand_over_ownership(user: User) -> None:
    """A shared home the user owned alone gets a new OWNER: the highest-ranked, longest-standing member.

    Without this the last-owner rule would be sidestepped by deleting the account, leaving a home that
    nobody can manage (members, share codes, deletion).
    """
    owned = await Membership.filter(user_id=user.id, role=ResidenceRole.OWNER).values_list(
        "residence_id", flat=True
    )
    for residence_id in owned:
        others = await Membership.filter(residence_id=residence_id).exclude(user_id=user.id).order_by("created_at")
        if not others or any(m.role == ResidenceRole.OWNER for m in others):
            continue
        heir = max(others, key=lambda m: (ROLE_RANK[m.role], -m.created_at.timestamp()))
        heir.role = ResidenceRole.OWNER
        await heir.save(update_fields=["role"])


async def _residences_only_this_user_belongs_to(user: User) -> list[uuid.UUID]:
    mine = await Membership.filter(user_id=user.id).values_list("residence_id", flat=True)
    shared = await Membership.filter(residence_id__in=list(mine)).exclude(user_id=user.id).values_list(
        "residence_id", flat=True
    )
    return [rid for rid in mine if rid not in set(shared)]  # type: ignore[misc]


async def _media_keys_to_purge(user: User, sole_residences: list[uuid.UUID]) -> list[str]:
    """Keys under the residences/tasks that go with the account (task keys live outside its prefixes)."""
    keys = await Media.filter(residence_id__in=sole_residences).values_list("key", flat=True)
    own = await Media.filter(owner_id=user.id, residence_id=None).values_list("key", flat=True)
    return sorted({*keys, *own})  # type: ignore[arg-type]
