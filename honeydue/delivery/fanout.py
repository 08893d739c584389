"""``OutboundChannel``: the ``workers.notify.Channel`` that fans a notification out to a user's channels and devices.

For each live target of every registered kind (``honeydue.delivery.targets``) that the user's preference for
the notification's type lets through, it writes a ``NotificationDelivery`` row and sends its job
(``send_notification_delivery``); the job makes the attempts (``honeydue.delivery.attempt``). The row is
written first, so a lost job message is re-sent by the sweeper; its unique (notification, target) key makes
a second fan-out of the same notification (a retried job, two workers) send nothing twice.

Preferences: a type's per-channel field (``push``, ``webhook``, ``apprise``) left null follows its
``enabled``; a type with no preference row is on everywhere.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Protocol

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from honeydue import jobs
from honeydue.clock import utc_now
from honeydue.delivery import targets
from honeydue.delivery.attempt import SEND_DELIVERY_JOB
from honeydue.models import DeliveryKind, NotificationDelivery, NotificationPreference, NotificationType, Task
from honeydue.notification_actions import actions_for_notification
from honeydue.settings import Settings

log = logging.getLogger(__name__)

NOTIFICATION_EVENT = "notification.created"
TEST_EVENT = "channel.test"


class Notice(Protocol):
    """What a channel needs of a notification (``honeydue.models.Notification`` fits): the stored row's id
    (deliveries are deduped on it), what it says, and the task it is about, if any (for its actions).
    ``workers.notify.Channel`` takes it too."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def task_id(self) -> uuid.UUID | None: ...

    @property
    def type(self) -> NotificationType: ...

    @property
    def title(self) -> str: ...

    @property
    def body(self) -> str: ...


class HasId(Protocol):
    @property
    def id(self) -> uuid.UUID: ...


async def channel_choices(user_id: uuid.UUID, ntype: NotificationType) -> dict[str, bool]:
    """Whether each preference channel (push, email, webhook, apprise) gets ``ntype`` for the user."""
    rows = await NotificationPreference.filter(user_id=user_id, type=ntype).values(
        "enabled", "push", "email", "webhook", "apprise")
    if not rows:
        return dict.fromkeys(("push", "email", "webhook", "apprise"), True)
    row = rows[0]
    return {name: bool(row["enabled"]) and (row[name] is None or bool(row[name]))
            for name in ("push", "email", "webhook", "apprise")}


async def notification_message(notice: Notice) -> dict[str, Any]:
    """The stored message fields for a notification, without actions (``attempt.stored_message`` reads them)."""
    task = await Task.get_or_none(id=notice.task_id).only("id", "title") if notice.task_id else None
    return {
        "event": NOTIFICATION_EVENT,
        "notification": {"type": NotificationType(notice.type).value, "title": notice.title, "body": notice.body},
        "task": None if task is None else {"id": str(task.id), "title": task.title},
        "actions": [],
    }


async def queue_delivery(*, user_id: uuid.UUID, target: targets.Target, notification_id: uuid.UUID | None,
                         message: dict[str, Any], send: bool = True) -> NotificationDelivery | None:
    """Write one delivery row (None when that notification already went to that target) and send its job."""
    try:
        async with in_transaction():  # a savepoint of its own: a duplicate must not abort the caller's transaction
            row = await NotificationDelivery.create(
                user_id=user_id, notification_id=notification_id, kind=target.kind, target_id=target.id,
                message=message, next_attempt_at=utc_now())
    except IntegrityError:
        log.info("notification %s already went to %s %s", notification_id, target.kind.value, target.id)
        return None
    if send:
        jobs.enqueue(SEND_DELIVERY_JOB, str(row.id))  # a lost message is re-sent by the sweeper
    return row


class OutboundChannel:
    """Every channel and device of the user, each delivery a job with retries; keeps no state between calls.

    A task reminder's message carries the "Done" and "Snooze 1 day" actions
    (``honeydue.notification_actions.actions_for_notification``), a fresh pair for each target, so a link
    leaked by one channel (a shared chat) is not the one another channel's button uses. ``settings`` gives
    ``PUBLIC_APP_URL`` for those links.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings

    async def send(self, user: HasId, notification: Notice) -> None:
        wanted = await targets.live_targets(user.id)
        if not wanted:
            return
        choices = await channel_choices(user.id, NotificationType(notification.type))
        wanted = [t for t in wanted if _allowed(t.kind, choices)]
        if not wanted:
            return
        message = await notification_message(notification)
        for target in wanted:
            actions = await actions_for_notification(user.id, notification.type, notification.task_id,
                                                     settings=self.settings)
            await queue_delivery(user_id=user.id, target=target, notification_id=notification.id, message={
                **message, "actions": [{"id": a.id, "title": a.title, "url": a.url} for a in actions]})


def _allowed(kind: DeliveryKind, choices: dict[str, bool]) -> bool:
    entry = targets.entry(kind)
    return entry is not None and choices.get(entry.preference, True)
