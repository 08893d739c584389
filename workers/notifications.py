"""Sends notifications the API recorded (someone joined a residence) through the delivery channels.

The API writes the ``Notification`` rows in the transaction of the event and enqueues their ids; this job
only delivers them outside the app. As for reminders (``workers.reminders.deliver``), each channel is tried
once and a failure is logged, not retried: the in-app notification already exists, and a retry would send
the email again to everyone the first attempt reached.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from honeydue.models import Notification
from workers.notify import Channel

log = logging.getLogger(__name__)


async def send_notifications(ids: Sequence[str], channels: Sequence[Channel]) -> int:
    """Deliver each notification still present to each channel; returns how many were found."""
    wanted = []
    for value in ids:
        try:
            wanted.append(uuid.UUID(str(value)))
        except ValueError:
            log.warning("send_notifications: ignoring malformed id %r", value)
    notices = await Notification.filter(id__in=wanted).prefetch_related("user") if wanted else []
    for notice in notices:
        for channel in channels:
            try:
                await channel.send(notice.user, notice)
            except Exception:  # one broken channel must not stop the others
                log.exception("notification %s for user %s not sent via %s", notice.id, notice.user_id,
                              type(channel).__name__)
    return len(notices)
