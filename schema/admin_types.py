"""The admin console's GraphQL types: audit entries, residences as admins see them, jobs, daily figures."""

from __future__ import annotations

import json
from datetime import date, datetime

import strawberry

from honeydue import models
from honeydue.periodic import PeriodicJobInfo
from resolvers.admin_views import Usage
from schema.accounts import User
from schema.enums import ResidenceRole


@strawberry.type(description="One admin action in the audit log.")
class AuditEntry:
    id: strawberry.ID = strawberry.field(description="Its ID.")
    created_at: datetime = strawberry.field(description="When the action was taken.")
    actor: User | None = strawberry.field(description="The admin who took it; null once their account is deleted.")
    action: str = strawberry.field(description="The mutation, e.g. adminSetUserDisabled, adminSendPasswordReset, "
                                               "adminRevokeSessions, adminSetAdmin, adminDeleteUser, adminRunJob.")
    target_type: str = strawberry.field(description="What the action was about: User or Job.")
    target_id: strawberry.ID | None = strawberry.field(
        description="The user's ID (it stays after adminDeleteUser), or the job's name.")
    reason: str | None = strawberry.field(description="The reason the admin gave, if any.")
    details: str = strawberry.field(description="What changed, as a JSON object (e.g. {\"disabled\": true, "
                                                "\"email\": …, \"sessions_ended\": 2}).")

    @classmethod
    def from_row(cls, row: models.AuditEntry) -> AuditEntry:
        actor = row.actor if row.actor_id is not None else None  # loaded with select_related
        return cls(id=strawberry.ID(str(row.id)), created_at=row.created_at,
                   actor=None if actor is None else User.from_row(actor), action=row.action,
                   target_type=row.target_type,
                   target_id=None if row.target_id is None else strawberry.ID(row.target_id),
                   reason=row.reason, details=json.dumps(row.details or {}, sort_keys=True))


@strawberry.type(description="READY files of one purpose and their size.")
class StorageUsage:
    purpose: str = strawberry.field(description="The upload purpose, e.g. AVATAR, COMPLETION_PHOTO, DOCUMENT_FILE.")
    count: int = strawberry.field(description="READY files.")
    bytes: float = strawberry.field(description="Their total size in bytes (a Float: it outgrows Int).")

    @classmethod
    def of(cls, usage: Usage) -> StorageUsage:
        return cls(purpose=usage.purpose.value, count=usage.count, bytes=usage.bytes)


def usage_list(rows: list[Usage]) -> list[StorageUsage]:
    return [StorageUsage.of(u) for u in rows]


@strawberry.type(description="A member of a residence as admins see it.")
class AdminMember:
    user: User = strawberry.field(description="The member.")
    role: ResidenceRole = strawberry.field(description="Their role.")  # type: ignore[valid-type]
    joined_at: datetime = strawberry.field(description="When they joined.")


@strawberry.type(description="A task of a residence as admins see it (title and state only).")
class AdminTask:
    id: strawberry.ID = strawberry.field(description="Its ID.")
    title: str = strawberry.field(description="Its title.")
    due_date: date | None = strawberry.field(description="When it is next due; null for none.")
    archived: bool = strawberry.field(description="Whether it is archived.")
    completed: bool = strawberry.field(description="Whether a one-off task is done.")


@strawberry.type(description="A residence as admins see it: who belongs, its tasks, the storage it uses.")
class AdminResidence:
    id: strawberry.ID = strawberry.field(description="Its ID.")
    name: str = strawberry.field(description="Its name.")
    address: str = strawberry.field(description="Its address; may be empty.")
    timezone: str = strawberry.field(description="Its IANA timezone.")
    created_at: datetime = strawberry.field(description="When it was created.")
    # Counted for a whole page at once by admin.residences; None: counted when asked.
    _member_count: strawberry.Private[int | None] = None
    _task_count: strawberry.Private[int | None] = None

    @strawberry.field(description="How many members it has.")
    async def member_count(self) -> int:
        from resolvers.admin_views import members_of

        return self._member_count if self._member_count is not None else len(await members_of(self.id))

    @strawberry.field(description="Every member with their role, the earliest to join first.")
    async def members(self) -> list[AdminMember]:
        from resolvers.admin_views import members_of

        return [AdminMember(user=User.from_row(m.user), role=m.role, joined_at=m.created_at)
                for m in await members_of(self.id)]

    @strawberry.field(description="How many tasks it has, archived and done ones included.")
    async def task_count(self) -> int:
        from resolvers.admin_views import tasks_of

        return self._task_count if self._task_count is not None else (await tasks_of(self.id, limit=0))[1]

    @strawberry.field(description="Its tasks, newest first, at most 100.")
    async def tasks(self) -> list[AdminTask]:
        from resolvers.admin_views import tasks_of

        rows, _ = await tasks_of(self.id)
        return [AdminTask(id=strawberry.ID(str(t.id)), title=t.title, due_date=t.due_date, archived=t.archived,
                          completed=t.completed) for t in rows]

    @strawberry.field(description="Its READY files per purpose.")
    async def storage(self) -> list[StorageUsage]:
        from resolvers.admin_views import usage_by_purpose

        return usage_list(await usage_by_purpose(residence_id=self.id))

    @classmethod
    def from_row(cls, row: models.Residence) -> AdminResidence:
        return cls(id=strawberry.ID(str(row.id)), name=row.name, address=row.address, timezone=row.timezone,
                   created_at=row.created_at)


@strawberry.type(description="A residence a user belongs to, with their role in it.")
class AdminMembership:
    residence: AdminResidence = strawberry.field(description="The residence.")
    role: ResidenceRole = strawberry.field(description="The user's role in it.")  # type: ignore[valid-type]


@strawberry.type(description="What admins see of one account beyond its `User` fields.")
class AdminUserFacts:
    user: User = strawberry.field(description="The account (its sessions and notification preferences are "
                                              "fields of User).")
    disabled_at: datetime | None = strawberry.field(description="When it was disabled; null unless disabled.")
    disabled_reason: str | None = strawberry.field(description="The reason given when it was disabled.")
    memberships: list[AdminMembership] = strawberry.field(description="The residences the user belongs to.")
    storage: list[StorageUsage] = strawberry.field(description="READY files the user uploaded, per purpose.")


@strawberry.type(description="One periodic job's health: when it last ran, succeeded and failed, and runs next.")
class AdminJob:
    name: str = strawberry.field(description="The job's name (what adminRunJob takes).")
    description: str = strawberry.field(description="What it does.")
    cron: str = strawberry.field(description="Its schedule, a cron expression in UTC.")
    next_run_at: datetime | None = strawberry.field(description="When the scheduler sends it next.")
    last_started_at: datetime | None = strawberry.field(description="When a run last started; null if never seen.")
    last_finished_at: datetime | None = strawberry.field(description="When a run last ended, either way.")
    last_success_at: datetime | None = strawberry.field(description="When a run last succeeded.")
    last_error_at: datetime | None = strawberry.field(description="When a run last failed.")
    last_error: str | None = strawberry.field(description="The last failure's error (its type and message).")
    last_report: str | None = strawberry.field(
        description="The last successful run's summary as a JSON object, for the jobs that give one "
                    "(reconcile_storage: objects, orphans, missing; backup_storage: copied, bytes, expired).")

    @classmethod
    def of(cls, job: PeriodicJobInfo, run: models.JobRun | None) -> AdminJob:
        base = cls(name=job.name, description=job.description, cron=job.cron, next_run_at=job.next_run_at,
                   last_started_at=None, last_finished_at=None, last_success_at=None, last_error_at=None,
                   last_error=None, last_report=None)
        if run is not None:  # never seen run: every "last" is null
            base.last_started_at, base.last_finished_at = run.last_started_at, run.last_finished_at
            base.last_success_at, base.last_error_at, base.last_error = (run.last_success_at, run.last_error_at,
                                                                         run.last_error)
            base.last_report = None if run.last_report is None else json.dumps(run.last_report, sort_keys=True)
        return base


@strawberry.type(description="One UTC day's count.")
class DayCount:
    day: date = strawberry.field(description="The UTC day.")
    count: int = strawberry.field(description="How many that day.")


@strawberry.type(description="One push, webhook or Apprise message to one channel or device, as admins see it.")
class AdminDelivery:
    id: strawberry.ID = strawberry.field(description="Its ID (a webhook's `deliveryId`).")
    user: User | None = strawberry.field(description="Whose notification it carried.")
    kind: str = strawberry.field(description="What it went to: WEBHOOK, APPRISE, IOS, ANDROID or WEB.")
    target_id: strawberry.ID = strawberry.field(description="The channel's or device's ID.")
    status: str = strawberry.field(description="QUEUED, SENT or FAILED.")
    attempts: int = strawberry.field(description="Attempts made so far.")
    last_error: str | None = strawberry.field(description="Why the last failed attempt failed; null when none did.")
    created_at: datetime = strawberry.field(description="When it was made.")
    sent_at: datetime | None = strawberry.field(description="When the receiver took it; null until SENT.")

    @classmethod
    def from_row(cls, row: models.NotificationDelivery) -> AdminDelivery:
        return cls(id=strawberry.ID(str(row.id)), user=User.from_row(row.user), kind=row.kind.value,
                   target_id=strawberry.ID(str(row.target_id)), status=row.status.value, attempts=row.attempts,
                   last_error=row.last_error, created_at=row.created_at, sent_at=row.sent_at)
