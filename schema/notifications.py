"""Notifications in GraphQL: the list, marking read, and per-type preferences."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from honeydue import models
from honeydue.clock import utc_now
from honeydue.errors import Forbidden
from resolvers import notifications
from resolvers.validation import MAX_LIST, MAX_NOTIFICATION_IDS
from schema import loaders
from schema.accounts import User
from schema.common import After, Connection, First, FromRow, make_connection, page_bounds
from schema.context import Context
from schema.documents import Document
from schema.enums import NotificationType
from schema.mutation import mutation
from schema.tasks import Task

HOUR_OF_DAY = "Hour of the day to be told, 0 to 23, in the residence's timezone."
CHANNEL_DESCRIPTION = ("Whether this type goes to {}: null follows `enabled` (so a new device or channel gets "
                       "every enabled type), false keeps it off there, true on (while `enabled`).")


@strawberry.type(description="A user's choice for one notification type.")
class NotificationPreference:
    type: NotificationType = strawberry.field(description="The type it is for.")  # type: ignore[valid-type]
    enabled: bool = strawberry.field(description="Whether notifications of this type are made at all (default on).")
    hour_of_day: int = strawberry.field(description=HOUR_OF_DAY + " Default 20.")
    push: bool | None = strawberry.field(description=CHANNEL_DESCRIPTION.format("push notifications (devices)"))
    email: bool | None = strawberry.field(description=CHANNEL_DESCRIPTION.format("email"))
    webhook: bool | None = strawberry.field(description=CHANNEL_DESCRIPTION.format("WEBHOOK channels"))
    apprise: bool | None = strawberry.field(description=CHANNEL_DESCRIPTION.format("APPRISE channels"))

    @classmethod
    def from_data(cls, pref: notifications.Preference) -> NotificationPreference:
        return cls(type=pref.type, enabled=pref.enabled, hour_of_day=pref.hour_of_day, push=pref.push,
                   email=pref.email, webhook=pref.webhook, apprise=pref.apprise)


async def preferences_of(ctx: Context, user: models.User) -> list[NotificationPreference]:
    """A user's preferences, every type listed; only the user themself or an admin may read them."""
    viewer = ctx.require_user()
    if viewer.id != user.id and not viewer.is_admin:
        raise Forbidden("Only the user can see their notification preferences.")
    rows = await loaders.load_notification_preferences(ctx, user.id)
    return [NotificationPreference.from_data(p) for p in notifications.preferences_with_defaults(rows)]


@strawberry.type(description="A message to one user from the reminder jobs, shown in the app.")
class Notification(FromRow):
    id: strawberry.ID = strawberry.field(description="Opaque, stable ID.")
    type: NotificationType = strawberry.field(description="What it is about.")  # type: ignore[valid-type]
    title: str = strawberry.field(description="One line, e.g. \"Replace filter is due in 7 days\".")
    body: str = strawberry.field(description="More detail; may be empty.")
    created_at: datetime = strawberry.field(description="When it was made.")
    read_at: datetime | None = strawberry.field(description="When it was marked read; null while unread.")
    _row: strawberry.Private[models.Notification]

    @strawberry.field(description="Whether it was marked read.")
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


@strawberry.input(description="The notifications to mark read.")
class MarkNotificationsReadInput:
    ids: list[strawberry.ID] = strawberry.field(
        description=f"At most {MAX_NOTIFICATION_IDS} (else INVALID_INPUT); IDs of someone else's notifications, and "
                    "unknown ones, are ignored; a malformed one is NOT_FOUND at its index.")


@strawberry.type
class MarkedReadResult:
    ok: bool = strawberry.field(default=False, description="True when the mutation took effect.")
    marked: int = strawberry.field(default=0, description="How many were unread and now are read.")


@strawberry.input(description="The user's choice for one notification type.")
class NotificationPreferenceInput:
    type: NotificationType = strawberry.field(description="The type it is for.")  # type: ignore[valid-type]
    enabled: bool = strawberry.field(description="Whether notifications of this type are made at all.")
    hour_of_day: int = strawberry.field(default=notifications.DEFAULT_HOUR,
                                        description=HOUR_OF_DAY + " Else INVALID_INPUT.")
    push: bool | None = strawberry.field(default=None, description=CHANNEL_DESCRIPTION.format(
        "push notifications (devices)") + " Left out: null.")
    email: bool | None = strawberry.field(default=None, description=CHANNEL_DESCRIPTION.format("email")
                                          + " Left out: null.")
    webhook: bool | None = strawberry.field(default=None, description=CHANNEL_DESCRIPTION.format(
        "WEBHOOK channels") + " Left out: null.")
    apprise: bool | None = strawberry.field(default=None, description=CHANNEL_DESCRIPTION.format(
        "APPRISE channels") + " Left out: null.")


@strawberry.input(description="Types not listed keep their current setting.")
class UpdateNotificationPreferencesInput:
    preferences: list[NotificationPreferenceInput] = strawberry.field(
        description=f"At most {MAX_LIST}, each type at most once; else INVALID_INPUT.")


@strawberry.type
class PreferencesResult:
    user: User | None = strawberry.field(default=None, description="The caller.")
    preferences: list[NotificationPreference] | None = strawberry.field(
        default=None, description="Every type's preference as saved.")


@strawberry.type
class NotificationQuery:
    @strawberry.field(description="The caller's notifications, newest first.")
    async def notifications(
        self, info: Info[Context, None],
        unread_only: Annotated[bool, strawberry.argument(description="Only those not marked read.")] = False,
        first: First = None, after: After = None,
    ) -> Connection[Notification]:
        offset, limit = page_bounds(first, after)
        rows, total = await notifications.list_notifications(info.context.require_user(), unread_only, offset,
                                                             limit)
        return make_connection([Notification.from_row(r) for r in rows], offset, total)


@strawberry.type
class NotificationMutation:
    @mutation("Marks the caller's notifications read; those already read keep their readAt.")
    async def mark_notifications_read(
        self, info: Info[Context, None], input: MarkNotificationsReadInput
    ) -> MarkedReadResult:
        marked = await notifications.mark_read(info.context.require_user(), list(input.ids), utc_now())
        return MarkedReadResult(ok=True, marked=marked)

    @mutation("Sets the caller's choices per notification type.")
    async def update_notification_preferences(
        self, info: Info[Context, None], input: UpdateNotificationPreferencesInput
    ) -> PreferencesResult:
        ctx = info.context
        user = ctx.require_user()
        changes = [notifications.Preference(p.type, p.enabled, p.hour_of_day, push=p.push, email=p.email,
                                            webhook=p.webhook, apprise=p.apprise) for p in input.preferences]
        await notifications.update_preferences(user, changes)
        return PreferencesResult(user=User.from_row(user), preferences=await preferences_of(ctx, user))
