"""The admin corner of the schema: ``admin { users user stats emails }``, for users with ``isAdmin`` only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from honeydue import models
from resolvers import admin
from schema.accounts import User
from schema.common import After, Connection, First, described_enum, make_connection, page_bounds
from schema.context import Context
from schema.text_inputs import TextInputCheck

EmailStatus = described_enum(
    models.EmailStatus,
    name="EmailStatus",
    description="Where an email is in its delivery.",
    values={
        models.EmailStatus.QUEUED: "Waiting for its first attempt, or for the next one after a failure that may "
                                   "pass (no connection, a timeout, a 4xx answer).",
        models.EmailStatus.SENT: "The mail server accepted it (without SMTP_HOST: it was written to var/mail/).",
        models.EmailStatus.FAILED: "Given up: the server refused it for good (a 5xx answer), or every attempt "
                                   "(EMAIL_MAX_ATTEMPTS) failed. Never tried again.",
    },
)


@strawberry.type(name="EmailDelivery", description="One email in the delivery log.")
class EmailDeliveryType:
    id: strawberry.ID = strawberry.field(description="Its ID.")
    kind: str = strawberry.field(description="What it is: the template it was made from, e.g. welcome, "
                                             "add_home, add_first_task, notification.")
    to: str = strawberry.field(description="The address it was sent to.")
    status: EmailStatus = strawberry.field(  # type: ignore[valid-type]
        description="Where it is in its delivery.")
    attempts: int = strawberry.field(description="Delivery attempts made so far (at most EMAIL_MAX_ATTEMPTS).")
    last_error: str | None = strawberry.field(
        description="The last failed attempt's reason (the server's answer, e.g. '451 4.3.0 Mailbox busy'); "
                    "null when no attempt failed. A SENT email may have one from an attempt before it went out.")
    created_at: datetime = strawberry.field(description="When it was queued.")
    sent_at: datetime | None = strawberry.field(description="When the server accepted it; null unless SENT.")

    @classmethod
    def from_row(cls, row: models.EmailDelivery) -> EmailDeliveryType:
        return cls(id=strawberry.ID(str(row.id)), kind=row.kind, to=row.to, status=row.status,
                   attempts=row.attempts, last_error=row.last_error, created_at=row.created_at,
                   sent_at=row.sent_at)


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

    @strawberry.field(description="The email delivery log: every email queued, newest first. INVALID_INPUT for "
                                  "a control character in `kind`.",
                      extensions=[TextInputCheck(mutation=False)])
    async def emails(
        self,
        first: First = None, after: After = None,
        kind: Annotated[str | None, strawberry.argument(
            description="Only emails of this kind (e.g. welcome, notification); one that was never sent matches "
                        "nothing. Omitted: every kind.")] = None,
        status: Annotated[EmailStatus | None, strawberry.argument(  # type: ignore[valid-type]
            description="Only emails in this status. Omitted: every status.")] = None,
    ) -> Connection[EmailDeliveryType]:
        offset, limit = page_bounds(first, after)
        rows, total = await admin.list_emails(kind, status, offset, limit)
        return make_connection([EmailDeliveryType.from_row(r) for r in rows], offset, total)

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
