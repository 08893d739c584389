"""Notifications the workers leave for a user, and the user's choices about them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from honeydue.models import Notification, NotificationPreference, NotificationType, User
from honeydue.user_errors import InputRejected, UserError, UserErrorCode
from resolvers.ids import id_list
from resolvers.paging import fetch_page
from resolvers.validation import MAX_LIST, MAX_NOTIFICATION_IDS, check_length

DEFAULT_HOUR = 20  # matches NotificationPreference.hour_of_day's default


@dataclass(frozen=True)
class Preference:
    type: NotificationType
    enabled: bool
    hour_of_day: int


def preferences_with_defaults(rows: list[NotificationPreference]) -> list[Preference]:
    """One preference per notification type, in enum order: stored choices, defaults for the rest."""
    stored = {NotificationType(row.type): row for row in rows}
    out = []
    for kind in NotificationType:
        row = stored.get(kind)
        out.append(Preference(kind, row.enabled, row.hour_of_day) if row else Preference(kind, True, DEFAULT_HOUR))
    return out


async def list_notifications(
    user: User, unread_only: bool, offset: int, limit: int
) -> tuple[list[Notification], int]:
    """The user's notifications, newest first."""
    query = Notification.filter(user_id=user.id)
    if unread_only:
        query = query.filter(read_at__isnull=True)
    return await fetch_page(query, offset, limit, "-created_at", "-id")


async def mark_read(user: User, ids: Sequence[object], now: datetime) -> int:
    """Mark the user's own notifications read (at most 100 IDs); IDs of anyone else's are ignored, not reported."""
    parsed = id_list(ids, "ids", limit=MAX_NOTIFICATION_IDS, message="No such notification.")
    if not parsed:
        return 0
    return await Notification.filter(user_id=user.id, id__in=parsed, read_at__isnull=True).update(read_at=now)


async def update_preferences(user: User, changes: list[Preference]) -> None:
    """Store the user's choice per notification type (hour of day 0-23, in the residence's timezone)."""
    check_length(changes, MAX_LIST, "preferences")
    errors = [
        UserError(UserErrorCode.INVALID_INPUT, "hourOfDay must be between 0 and 23.",
                  ["preferences", str(index), "hourOfDay"])
        for index, change in enumerate(changes) if not 0 <= change.hour_of_day <= 23
    ]
    seen = [change.type for change in changes]
    errors += [
        UserError(UserErrorCode.INVALID_INPUT, "Each notification type may appear once.", ["preferences", str(i)])
        for i, kind in enumerate(seen) if kind in seen[:i]
    ]
    if errors:
        raise InputRejected(*errors)
    async with in_transaction():
        for change in changes:
            await NotificationPreference.update_or_create(
                user_id=user.id, type=change.type,
                defaults={"enabled": change.enabled, "hour_of_day": change.hour_of_day},
            )
