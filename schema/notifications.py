"""Notifications in GraphQL: the list, marking read, and per-type preferences."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
from strawberry.types import Info

from honeydue import models
from honeydue.errors import Forbidden
from resolvers import notifications
from resolvers.validation import MAX_LIST, MAX_NOTIFICATION_IDS
from schema import loaders
from schema.accounts import User
from schema.common import Connection, make_connection, page_bounds
from schema.context import Context
from schema.documents import Document
from schema.mutation import mutation
from schema.tasks import Task

NotificationType = strawberry.enum(models.NotificationType, name="NotificationType")


@strawberry.type
class NotificationPreference:
    type: NotificationType  # type: ignore[valid-type]
    enabled: bool
    hour_of_day: int = strawberry.field(description="0-23, in the residence's timezone.")

    @classmethod
    def from_data(cls, pref: notifications.Preference) -> NotificationPreference:
        return cls(type=pref.type, enabled=pref.enabled, hour_of_day=pref.hour_of_day)


async def preferences_of(ctx: Context, user: models.User) -> list[NotificationPreference]:
    """A user's preferences, every type listed; only the user themself or an admin may read them."""
    viewer = ctx.require_user()
    if viewer.id != user.id and not viewer.is_admin:
        raise Forbidden("Only the user can see their notification preferences.")
    rows = await loaders.load_notification_preferences(ctx, user.id)
    return [NotificationPreference.from_data(p) for p in notifications.preferences_with_defaults(rows)]


@strawberry.type
class Notification:
    id: strawberry.ID
    type: NotificationType  # type: ignore[valid-type]
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None
    _row: strawberry.Private[models.Notification]

    @classmethod
    def from_row(cls, row: models.Notification) -> Notification:
        return cls(id=strawberry.ID(str(row.id)), type=row.type, title=row.title, body=row.body,
                   created_at=row.created_at, read_at=row.read_at, _row=row)

    @strawberry.field
    def read(self) -> bool:
        return self.read_at is not None

    @strawberry.field(description="Null once the task is gone or the user no longer belongs to its residence.")
    async def task(self, info: Info[Context, None]) -> Task | None:
        row = await loaders.load_task(info.context, self._row.task_id)
        if row is None or await loaders.load_my_role(info.context, row.residence_id) is None:
            return None
        return Task.from_row(row)

    @strawberry.field(description="Null once the document is gone or the user left its residence.")
    async def document(self, info: Info[Context, None]) -> Document | None:
        row = await loaders.load_document(info.context, self._row.document_id)
        if row is None or await loaders.load_my_role(info.context, row.residence_id) is None:
            return None
        return Document.from_row(row)


@strawberry.input
class MarkNotificationsReadInput:
    ids: list[strawberry.ID] = strawberry.field(
        description=f"At most {MAX_NOTIFICATION_IDS}; IDs of someone else's notifications are ignored.")


@strawberry.type
class MarkedReadResult:
    ok: bool = False
    marked: int = strawberry.field(default=0, description="How many were unread and now are read.")


@strawberry.input
class NotificationPreferenceInput:
    type: NotificationType  # type: ignore[valid-type]
    enabled: bool
    hour_of_day: int = notifications.DEFAULT_HOUR


@strawberry.input(description="Types not listed keep their current setting.")
class UpdateNotificationPreferencesInput:
    preferences: list[NotificationPreferenceInput] = strawberry.field(
        description=f"At most {MAX_LIST}, each type at most once.")


@strawberry.type
class PreferencesResult:
    user: User | None = None
    preferences: list[NotificationPreference] | None = None


@strawberry.type
class NotificationQuery:
    @strawberry.field(description="The caller's notifications, newest first.")
    async def notifications(
        self, info: Info[Context, None], unread_only: bool = False, first: int | None = None,
        after: str | None = None,
    ) -> Connection[Notification]:
        offset, limit = page_bounds(first, after)
        rows, total = await notifications.list_notifications(info.context.require_user(), unread_only, offset,
                                                             limit)
        return make_connection([Notification.from_row(r) for r in rows], offset, total)


@strawberry.type
class NotificationMutation:
    @mutation()
    async def mark_notifications_read(
        self, info: Info[Context, None], input: MarkNotificationsReadInput
    ) -> MarkedReadResult:
        marked = await notifications.mark_read(info.context.require_user(), list(input.ids), datetime.now(UTC))
        return MarkedReadResult(ok=True, marked=marked)

    @mutation()
    async def update_notification_preferences(
        self, info: Info[Context, None], input: UpdateNotificationPreferencesInput
    ) -> PreferencesResult:
        ctx = info.context
        user = ctx.require_user()
        changes = [notifications.Preference(p.type, p.enabled, p.hour_of_day) for p in input.preferences]
        await notifications.update_preferences(user, changes)
        return PreferencesResult(user=User.from_row(user), preferences=await preferences_of(ctx, user))
