"""Administration: the user list, one user, figures for the dashboard, and making an admin."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from honeydue.errors import Forbidden, NotFound
from honeydue.models import EmailDelivery, EmailStatus, Media, MediaStatus, Residence, Task, User
from honeydue.passwords import hash_password, password_problem
from honeydue.tokens import revoke_all_tokens
from honeydue.user_errors import UserErrorCode, reject
from resolvers.accounts import create_user, normalise_email
from resolvers.ids import as_id


def require_admin(user: User) -> User:
    if not user.is_admin:
        raise Forbidden("Administrators only.")
    return user


async def list_users(search: str | None, offset: int, limit: int) -> tuple[list[User], int]:
    """Users whose email or display name contains ``search`` (any case), oldest account first."""
    query = User.all()
    if search and search.strip():
        term = search.strip()[:200]
        query = query.filter(Q(email__icontains=term) | Q(display_name__icontains=term))
    total = await query.count()
    rows = await query.order_by("created_at", "id").offset(offset).limit(limit) if limit else []
    return list(rows), total


async def list_emails(kind: str | None, status: EmailStatus | None, offset: int,
                      limit: int) -> tuple[list[EmailDelivery], int]:
    """The delivery log, newest first; ``kind`` and ``status`` narrow it (a kind never sent matches nothing)."""
    query = EmailDelivery.all()
    if kind is not None:
        query = query.filter(kind=kind[:64])
    if status is not None:
        query = query.filter(status=status)
    total = await query.count()
    rows = await query.order_by("-created_at", "-id").offset(offset).limit(limit) if limit else []
    return list(rows), total


async def get_user(user_id: object) -> User:
    user = await User.get_or_none(id=as_id(user_id))
    if user is None:
        raise NotFound()
    return user


@dataclass(frozen=True)
class Stats:
    users: int
    residences: int
    tasks: int
    media: int  # READY files
    media_bytes: int  # their total size
    pending_uploads: int


async def stats() -> Stats:
    # flat=True yields the values themselves; Tortoise's stub types every values_list row as a tuple.
    ready: list[Any] = await Media.filter(status=MediaStatus.READY).annotate(n=Sum("size")).values_list("n", flat=True)
    return Stats(
        users=await User.all().count(),
        residences=await Residence.all().count(),
        tasks=await Task.all().count(),
        media=await Media.filter(status=MediaStatus.READY).count(),
        media_bytes=int(ready[0] or 0) if ready else 0,
        pending_uploads=await Media.filter(status=MediaStatus.PENDING).count(),
    )


class AdminOutcome(enum.Enum):
    """What ``create_admin`` did, for the command to say."""

    CREATED = "created"
    PROMOTED = "existing account made admin; password unchanged"
    PROMOTED_PASSWORD_SET = "existing account made admin; password set, its sessions signed out"


async def find_user(email: str) -> User | None:
    return await User.get_or_none(email=normalise_email(email))


async def create_admin(email: str, password: str | None, display_name: str) -> tuple[User, AdminOutcome]:
    """An administrator (``honeydue createadmin``): a new account, or an existing one promoted.

    An existing account keeps its password when ``password`` is None; a given password is set (checked as
    in register) and every session of the account ends, as after a password change. A new account needs a
    password. Bad input raises InputRejected, as in register; nothing is changed then.
    """
    existing = await find_user(email)
    if existing is None:
        if password is None:
            raise reject(UserErrorCode.WEAK_PASSWORD, "A new account needs a password.", "password")
        return await create_user(email, password, display_name, is_admin=True), AdminOutcome.CREATED
    if password is None:
        existing.is_admin = True
        await existing.save(update_fields=["is_admin"])
        return existing, AdminOutcome.PROMOTED
    problem = password_problem(password, existing.email)
    if problem:
        raise reject(UserErrorCode.WEAK_PASSWORD, problem, "password")
    existing.is_admin = True
    existing.password_hash = hash_password(password)
    async with in_transaction():
        await existing.save(update_fields=["is_admin", "password_hash"])
        await revoke_all_tokens(existing.id)
    return existing, AdminOutcome.PROMOTED_PASSWORD_SET
