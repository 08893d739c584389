"""The admin corner of the schema: ``admin { users user stats }``, for users with ``isAdmin`` only."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers import admin
from schema.accounts import User
from schema.common import After, Connection, First, make_connection, page_bounds
from schema.context import Context


@strawberry.type(description="Figures for the admin dashboard, counted now.")
class AdminStats:
    users: int = strawberry.field(description="Accounts.")
    residences: int = strawberry.field(description="Residences.")
    tasks: int = strawberry.field(description="Tasks, archived and done ones included.")
    media: int = strawberry.field(description="READY files.")
    media_bytes: float = strawberry.field(description="Total size of the READY files in bytes (a Float: it outgrows "
                                                      "Int).")
    pending_uploads: int = strawberry.field(description="Uploads requested and not finalized yet (PENDING).")


@strawberry.type(description="What administrators may see.")
class Admin:
    @strawberry.field(description="Every user, or those whose email or display name contains `search`, oldest "
                                  "account first.")
    async def users(
        self,
        search: Annotated[str | None, strawberry.argument(
            description="Text to look for, any case; its first 200 characters count. Omitted or blank: everyone."
        )] = None,
        first: First = None, after: After = None,
    ) -> Connection[User]:
        offset, limit = page_bounds(first, after)
        rows, total = await admin.list_users(search, offset, limit)
        return make_connection([User.from_row(r) for r in rows], offset, total)

    @strawberry.field(description="Any one user. NOT_FOUND when there is no such user.")
    async def user(self, id: Annotated[strawberry.ID, strawberry.argument(description="Their ID.")]) -> User:
        return User.from_row(await admin.get_user(id))

    @strawberry.field(description="Figures for the dashboard.")
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
