"""Administration: the user list, one user, figures for the dashboard, and making an admin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Sum

from honeydue.errors import Forbidden, NotFound
from honeydue.models import Media, MediaStatus, Residence, Task, User
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


async def create_admin(email: str, password: str, display_name: str) -> User:
    """An administrator (``honeydue createadmin``): a new account, or an existing one promoted (its password
    left alone). Bad input raises InputRejected, as in register."""
    existing = await User.get_or_none(email=normalise_email(email))
    if existing is not None:
        existing.is_admin = True
        await existing.save(update_fields=["is_admin"])
        return existing
    return await create_user(email, password, display_name, is_admin=True)
