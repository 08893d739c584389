"""The admin corner of the schema: ``admin { users user stats emails residences jobs timeseries auditLog … }``, for
users with ``isAdmin`` only (every field is behind ``AdminQuery.admin``'s FORBIDDEN)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from honeydue import clock, models
from honeydue.periodic import periodic_job_table
from resolvers import admin, admin_views
from schema.accounts import User
from schema.admin_types import (
    AdminDelivery,
    AdminJob,
    AdminMembership,
    AdminResidence,
    AdminUserFacts,
    AuditEntry,
    DayCount,
    StorageUsage,
    usage_list,
)
from schema.common import After, Connection, First, make_connection, page_bounds
from schema.context import Context
from schema.enums import DeliveryStatus, EmailStatus, TimeseriesMetric
from schema.notification_channels import NotificationChannel
from schema.text_inputs import TextInputCheck


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
    verified_users: int = strawberry.field(description="Accounts whose address is verified.")
    disabled_users: int = strawberry.field(description="Accounts disabled by an admin.")
    admins: int = strawberry.field(description="Admin accounts.")
    completions_7_days: int = strawberry.field(description="Task completions recorded in the last 7 days.")
    completions_30_days: int = strawberry.field(description="Task completions recorded in the last 30 days.")
    media_by_purpose: list[StorageUsage] = strawberry.field(description="READY files and bytes per purpose.")
    variants_by_kind: list[StorageUsage] = strawberry.field(
        description="Files derived from uploads (thumbnails, previews, video posters) and their bytes, per kind "
                    "(`purpose` holds the kind).")


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
        more = await admin_views.figures()
        return AdminStats(users=figures.users, residences=figures.residences, tasks=figures.tasks,
                          media=figures.media, media_bytes=figures.media_bytes,
                          pending_uploads=figures.pending_uploads, verified_users=more.verified_users,
                          disabled_users=more.disabled_users, admins=more.admins,
                          completions_7_days=more.completions_7_days, completions_30_days=more.completions_30_days,
                          media_by_purpose=usage_list(more.media_by_purpose),
                          variants_by_kind=[StorageUsage(purpose=kind, count=n, bytes=size)
                                            for kind, n, size in await admin_views.variant_usage()])

    @strawberry.field(description="What admins see of one account besides its User fields: when and why it was "
                                  "disabled, its residences and its storage. NOT_FOUND when there is no such user.")
    async def user_facts(self, id: Annotated[strawberry.ID, strawberry.argument(description="Their ID.")]) \
            -> AdminUserFacts:
        user = await admin.get_user(id)
        memberships = await admin_views.memberships_of_user(user.id)
        return AdminUserFacts(
            user=User.from_row(user), disabled_at=user.disabled_at, disabled_reason=user.disabled_reason,
            memberships=[AdminMembership(residence=AdminResidence.from_row(m.residence), role=m.role)
                         for m in memberships],
            storage=usage_list(await admin_views.usage_by_purpose(owner_id=user.id)))

    @strawberry.field(description="The emails sent to one user, newest first, at most 20. NOT_FOUND when there is "
                                  "no such user.")
    async def user_emails(self, id: Annotated[strawberry.ID, strawberry.argument(description="Their ID.")]) \
            -> list[EmailDeliveryType]:
        user = await admin.get_user(id)
        return [EmailDeliveryType.from_row(r) for r in await admin_views.recent_emails(user.id)]

    @strawberry.field(description="One user's webhook and Apprise channels, oldest first (their devices are "
                                  "`User.devices`). NOT_FOUND when there is no such user.")
    async def user_channels(self, id: Annotated[strawberry.ID, strawberry.argument(description="Their ID.")]) \
            -> list[NotificationChannel]:
        user = await admin.get_user(id)
        return [NotificationChannel.from_row(r) for r in await admin_views.channels_of_user(user.id)]

    @strawberry.field(description="The push, webhook and Apprise delivery log: every message to a device or "
                                  "channel, newest first.")
    async def deliveries(
        self,
        first: First = None, after: After = None,
        user_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="Only this user's deliveries. Omitted: everyone's.")] = None,
        status: Annotated[DeliveryStatus | None, strawberry.argument(  # type: ignore[valid-type]
            description="Only deliveries in this status. Omitted: every status.")] = None,
    ) -> Connection[AdminDelivery]:
        offset, limit = page_bounds(first, after)
        rows, total = await admin_views.list_deliveries(
            user_id, None if status is None else models.DeliveryStatus(status), offset, limit)
        return make_connection([AdminDelivery.from_row(r) for r in rows], offset, total)

    @strawberry.field(description="Every residence, or those whose name or address contains `search`, newest "
                                  "first.")
    async def residences(
        self,
        search: Annotated[str | None, strawberry.argument(
            description="Text to look for, any case; its first 200 characters count. Omitted or blank: every "
                        "residence.")] = None,
        first: First = None, after: After = None,
    ) -> Connection[AdminResidence]:
        offset, limit = page_bounds(first, after)
        rows, total = await admin_views.list_residences(search, offset, limit)
        members, tasks = await admin_views.page_counts([r.id for r in rows])
        nodes = []
        for row in rows:
            node = AdminResidence.from_row(row)
            node._member_count, node._task_count = members.get(str(row.id), 0), tasks.get(str(row.id), 0)
            nodes.append(node)
        return make_connection(nodes, offset, total)

    @strawberry.field(description="Any one residence, members and tasks included. NOT_FOUND when there is none.")
    async def residence(self, id: Annotated[strawberry.ID, strawberry.argument(description="Its ID.")]) \
            -> AdminResidence:
        return AdminResidence.from_row(await admin_views.get_residence(id))

    @strawberry.field(description="Every periodic job, in the scheduler's order, with its last run, last success, "
                                  "last error and next run. Runs are recorded by the process that ran them (a "
                                  "worker, or honeydue serve).")
    async def jobs(self, info: Info[Context, None]) -> list[AdminJob]:
        runs = await admin_views.job_runs()
        return [AdminJob.of(job, runs.get(job.name))
                for job in periodic_job_table(info.context.settings, clock.utc_now())]

    @strawberry.field(description="A count per UTC day over the last `days` days (today included), oldest first; "
                                  "days with none count 0. INVALID_INPUT when `days` is not from 1 to 366.")
    async def timeseries(
        self,
        metric: Annotated[TimeseriesMetric, strawberry.argument(  # type: ignore[valid-type]
            description="What to count.")],
        days: Annotated[int, strawberry.argument(description="How many days, 1 to 366.")] = 90,
    ) -> list[DayCount]:
        return [DayCount(day=day, count=count) for day, count in await admin_views.timeseries(metric, days)]

    @strawberry.field(description="Every admin action, newest first: who, when, what and on what.")
    async def audit_log(
        self,
        first: First = None, after: After = None,
        actor_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="Only actions of this admin. Omitted: everyone's.")] = None,
        target_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="Only actions on this target (a user's ID, a job's name). Omitted: every target.")] = None,
    ) -> Connection[AuditEntry]:
        offset, limit = page_bounds(first, after)
        rows, total = await admin_views.audit_log(actor_id, target_id, offset, limit)
        return make_connection([AuditEntry.from_row(r) for r in rows], offset, total)


@strawberry.type
class AdminQuery:
    @strawberry.field(description="Administration; FORBIDDEN unless the caller is an admin.")
    def admin(self, info: Info[Context, None]) -> Admin:
        admin.require_admin(info.context.require_user())
        return Admin()
