"""The admin corner of the schema: ``admin { users user stats }``, for users with ``isAdmin`` only."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import admin
from schema.accounts import User
from schema.common import Connection, make_connection, page_bounds
from schema.context import Context


@strawberry.type
class AdminStats:
    users: int
    residences: int
    tasks: int
    media: int = strawberry.field(description="READY files.")
    media_bytes: float = strawberry.field(description="Total size of the READY files (a Float: it outgrows Int).")
    pending_uploads: int


@strawberry.type
class Admin:
    @strawberry.field(description="Users whose email or display name contains `search`, oldest first.")
    async def users(
        self, search: str | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[User]:
        offset, limit = page_bounds(first, after)
        rows, total = await admin.list_users(search, offset, limit)
        return make_connection([User.from_row(r) for r in rows], offset, total)

    @strawberry.field
    async def user(self, id: strawberry.ID) -> User:
        return User.from_row(await admin.get_user(id))

    @strawberry.field
    async def stats(self) -> AdminStats:
        figures = await admin.stats()
        return AdminStats(users=figures.users, residences=figures.residences, tasks=figures.tasks,
                          media=figures.media, media_bytes=figures.media_bytes,
                          pending_uploads=figures.pending_uploads)


@strawberry.type
class AdminQuery:
    @strawberry.field(description="Administration; FORBIDDEN unless the caller is an admin.")
    def admin(self, info: Info[Context, None]) -> Admin:
        admin.require_admin(info.context.require_user())
        return Admin()
