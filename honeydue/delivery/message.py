"""The one shape of an outgoing notification, whatever carries it (push, webhook, Apprise).

A webhook's JSON body is ``OutboundMessage.webhook_body()``; push payloads and Apprise texts are built from
the same fields, so every channel says the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Action:
    """A button on the notification: ``id`` is ``done`` or ``snooze``; ``url`` is an absolute, signed,
    single-use link (``{PUBLIC_APP_URL}/actions/{token}``) that acts on a bare ``POST``."""

    id: str
    title: str
    url: str


@dataclass(frozen=True)
class TaskRef:
    id: str
    title: str


@dataclass(frozen=True)
class OutboundMessage:
    event: str  # e.g. "notification.created", "channel.test"
    delivery_id: str  # the NotificationDelivery row's id: receivers dedupe on it
    notification_type: str  # NotificationType value, e.g. "TASK_DUE"
    title: str
    body: str
    task: TaskRef | None = None
    actions: tuple[Action, ...] = field(default_factory=tuple)

    def webhook_body(self) -> dict[str, Any]:
        """The documented webhook JSON (issue 15): event, deliveryId, notification, task, actions."""
        return {
            "event": self.event,
            "deliveryId": self.delivery_id,
            "notification": {"type": self.notification_type, "title": self.title, "body": self.body},
            "task": None if self.task is None else {"id": self.task.id, "title": self.task.title},
            "actions": [{"id": a.id, "title": a.title, "url": a.url} for a in self.actions],
        }
