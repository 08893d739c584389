"""Delivery channels: how a notification record reaches a person outside the app.

The workers create the ``Notification`` row (what the ``notifications`` query shows), commit it, and
then hand it to every configured channel (``Services.channels``). ``Channel`` is the one interface
every way of reaching a person implements (email here; webhooks, Apprise and push through
``honeydue.delivery.fanout.OutboundChannel``), so a new channel needs no change to the jobs.

A channel's ``send`` is called at most once per notification and raises when it could not take the
notification; the caller (``workers.reminders.deliver``) logs that and goes on with the other channels and
recipients. What happens after a channel took it is the channel's business: email hands it to the outbox
(``honeydue.mail.outbox``), whose delivery job retries a failed SMTP attempt with back-off and logs every
attempt; the outbound channel writes a ``NotificationDelivery`` row per channel or device of the user and
sends a job for each, which retries the same way (``honeydue.delivery.attempt``). The reminder log that
keeps a stage from being sent twice was written with the notification.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from honeydue.delivery.fanout import Notice, OutboundChannel
from honeydue.mail.outbox import queue_email
from honeydue.notification_actions import actions_for_notification
from honeydue.settings import Settings

NOTIFICATION_KIND = "notification"


class Recipient(Protocol):
    """What a channel needs of a user (``honeydue.models.User`` fits)."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def email(self) -> str: ...

    @property
    def display_name(self) -> str: ...


class Channel(Protocol):
    """One way of reaching a person outside the app; keeps no state between calls."""

    async def send(self, user: Recipient, notification: Notice) -> None:
        """Take ``notification`` for ``user`` once; raise when it could not be taken."""
        ...


class EmailChannel:
    """Notifications (reminders, someone joined a home) by email: the ``notification`` templates, through the
    outbox like every email.

    They are not transactional: each carries a one-click unsubscribe link for its notification type, and is
    not queued for a user who turned that type off or has not verified their address (``queue_email``).
    Without ``SMTP_HOST`` the outbox writes the email under ``var/mail/`` and logs it.

    A task reminder carries the "Done" and "Snooze 1 day" actions (``honeydue.notification_actions``) as buttons;
    they lead to the confirmation page, which acts only on its own button (mail scanners follow links).
    ``settings`` gives ``PUBLIC_APP_URL`` for those links.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings

    async def send(self, user: Recipient, notification: Notice) -> None:
        actions = await actions_for_notification(user.id, notification.type, notification.task_id,
                                                 settings=self.settings)
        await queue_email(
            to=user.email,
            kind=NOTIFICATION_KIND,
            context={"display_name": user.display_name, "title": notification.title, "body": notification.body,
                     "actions": [{"id": a.id, "title": a.title, "url": a.url} for a in actions]},
            user_id=user.id,
            transactional=False,
            notification_type=notification.type,
        )


def channels_from_settings(settings: Settings) -> list[Channel]:
    """Every channel notifications go out on: email (SMTP, or ``.eml`` files without ``SMTP_HOST``), then the
    user's webhooks, Apprise URLs and devices (each a delivery job of its own)."""
    return [EmailChannel(settings), OutboundChannel(settings)]
