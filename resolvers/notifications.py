"""Notifications left for a user (by the workers, and by events such as someone joining), and the user's choices."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from honeydue import jobs
from honeydue.models import (
    Membership,
    Notification,
    NotificationPreference,
    NotificationType,
    Residence,
    ResidenceRole,
    User,
)
from honeydue.user_errors import InputRejected, UserError, UserErrorCode
from resolvers.ids import id_list
from resolvers.paging import fetch_page
from resolvers.validation import MAX_LIST, MAX_NOTIFICATION_IDS, check_length

log = logging.getLogger(__name__)

DEFAULT_HOUR = 20  # matches NotificationPreference.hour_of_day's default
# The worker job that sends notifications recorded here through the channels (workers.actors).
SEND_JOB = "send_notifications"


# The per-channel choices of a type, each None (follows ``enabled``), True or False.
CHANNEL_FIELDS = ("push", "email", "webhook", "apprise")


@dataclass(frozen=True)
class Preference:
    type: NotificationType
    enabled: bool
    hour_of_day: int
    push: bool | None = None
    email: bool | None = None
    webhook: bool | None = None
    apprise: bool | None = None


def preferences_with_defaults(rows: list[NotificationPreference]) -> list[Preference]:
    """One preference per notification type, in enum order: stored choices, defaults for the rest."""
    stored = {NotificationType(row.type): row for row in rows}
    out = []
    for kind in NotificationType:
        row = stored.get(kind)
        out.append(Preference(kind, row.enabled, row.hour_of_day,
                              **{name: getattr(row, name) for name in CHANNEL_FIELDS})
                   if row else Preference(kind, True, DEFAULT_HOUR))
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
    """Store the user's choice per notification type (hour of day 0-23, in the residence's timezone).

    A per-channel field sent as null, or left out, follows ``enabled`` from then on.
    """
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
                defaults={"enabled": change.enabled, "hour_of_day": change.hour_of_day,
                          **{name: getattr(change, name) for name in CHANNEL_FIELDS}},
            )


async def notify_owners_of_join(residence: Residence, joiner: User, role: ResidenceRole) -> list[Notification]:
    """A ``RESIDENCE_SHARED`` notification for each owner who has not turned that type off.

    Call it in the transaction that adds the membership. Unlike reminders it is not held for the owner's
    ``hourOfDay``: it tells of something that just happened.
    """
    owner_ids = await Membership.filter(residence_id=residence.id, role=ResidenceRole.OWNER).values_list(
        "user_id", flat=True)
    muted = set(await NotificationPreference.filter(
        user_id__in=list(owner_ids), type=NotificationType.RESIDENCE_SHARED, enabled=False,
    ).values_list("user_id", flat=True))
    title = f"{joiner.display_name} joined {residence.name}"[:200]
    body = f"{joiner.display_name} joined {residence.name} as {role.value.lower()} with a share code."
    return [
        await Notification.create(user_id=owner_id, type=NotificationType.RESIDENCE_SHARED, title=title, body=body)
        for owner_id in owner_ids if owner_id not in muted
    ]


def send_notifications(notices: list[Notification]) -> None:
    """Hand recorded notifications to the workers for the channels (email); call after the commit.

    As with reminders, the in-app notification is the durable part and an email is tried at most once: if the
    job cannot be sent, the notifications still show in the app and the miss is logged.
    """
    if notices and not jobs.enqueue(SEND_JOB, [str(n.id) for n in notices]):
        log.warning("%d notification(s) recorded but not sent to channels", len(notices))
