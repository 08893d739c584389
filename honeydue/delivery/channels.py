"""The user's channels (``NotificationChannel``: WEBHOOK and APPRISE) as delivery targets.

Registers both kinds (``honeydue.delivery.targets``); their transports are in ``webhook`` and ``apprise_send``,
imported when a delivery is attempted.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from honeydue.delivery.targets import Target, register
from honeydue.delivery.transport import Transport
from honeydue.models import DeliveryKind, NotificationChannel
from honeydue.settings import Settings


class ChannelTargets:
    async def live_targets(self, user_id: uuid.UUID) -> list[Target]:
        rows = await NotificationChannel.filter(user_id=user_id, dead_at__isnull=True).order_by(
            "created_at", "id").values_list("kind", "id")
        return [Target(DeliveryKind(kind), target_id) for kind, target_id in rows]

    async def load(self, kind: DeliveryKind, target_id: uuid.UUID) -> NotificationChannel | None:
        return await NotificationChannel.get_or_none(id=target_id, kind=kind.value, dead_at__isnull=True)

    async def mark_dead(self, kind: DeliveryKind, target_id: uuid.UUID, reason: str, at: datetime) -> None:
        await NotificationChannel.filter(id=target_id, dead_at__isnull=True).update(dead_at=at, dead_reason=reason)


def webhook_transport(settings: Settings) -> Transport:
    from honeydue.delivery.webhook import WebhookTransport

    return WebhookTransport(settings)


def apprise_transport(settings: Settings) -> Transport:
    from honeydue.delivery.apprise_send import AppriseTransport

    return AppriseTransport(settings)


CHANNELS = ChannelTargets()
register(DeliveryKind.WEBHOOK, source=CHANNELS, transport=webhook_transport, preference="webhook")
register(DeliveryKind.APPRISE, source=CHANNELS, transport=apprise_transport, preference="apprise")
