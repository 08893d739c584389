"""The user's push devices (``Device``: IOS, ANDROID, WEB) as delivery targets.

Registers the three kinds with ``honeydue.delivery.targets``: one ``DeviceTargets`` source, and per kind a
transport factory. A factory is called for each attempt, so it hands out one transport per configuration
(``_cached``): the APNs JWT, the FCM OAuth2 token and the VAPID JWTs are minted once and reused, and a changed
setting (a test, a key rotation) gets a fresh transport. Unconfigured: None, and the delivery fails saying so.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Hashable
from datetime import datetime

from honeydue.delivery.targets import Target, register
from honeydue.delivery.transport import Transport
from honeydue.models import DeliveryKind, Device, DevicePlatform
from honeydue.settings import Settings

KINDS = {DevicePlatform.IOS: DeliveryKind.IOS, DevicePlatform.ANDROID: DeliveryKind.ANDROID,
         DevicePlatform.WEB: DeliveryKind.WEB}


class DeviceTargets:
    async def live_targets(self, user_id: uuid.UUID) -> list[Target]:
        rows = await Device.filter(user_id=user_id, dead_at__isnull=True).order_by("created_at", "id").values_list(
            "platform", "id")
        return [Target(KINDS[DevicePlatform(platform)], device_id) for platform, device_id in rows]

    async def load(self, kind: DeliveryKind, target_id: uuid.UUID) -> Device | None:
        return await Device.get_or_none(id=target_id, platform=kind.value, dead_at__isnull=True)

    async def mark_dead(self, kind: DeliveryKind, target_id: uuid.UUID, reason: str, at: datetime) -> None:
        await Device.filter(id=target_id, dead_at__isnull=True).update(dead_at=at, dead_reason=reason[:255])


_transports: dict[tuple[str, Hashable], Transport | None] = {}


def _cached(name: str, key: Hashable, make: Callable[[], Transport | None]) -> Transport | None:
    """One transport per (kind, configuration); older ones of the kind are dropped when the settings change."""
    slot = (name, key)
    if slot not in _transports:
        for old in [k for k in _transports if k[0] == name]:
            del _transports[old]
        _transports[slot] = make()
    return _transports[slot]


def apns_transport(settings: Settings) -> Transport | None:
    if not settings.apns_key_id:
        return None
    from honeydue.delivery.apns import APNsTransport

    key = (settings.apns_key_id, settings.apns_team_id, settings.apns_private_key, settings.apns_topic,
           settings.apns_environment, settings.delivery_timeout_seconds)
    return _cached("apns", key, lambda: APNsTransport.from_settings(settings))


def fcm_transport(settings: Settings) -> Transport | None:
    if not settings.fcm_project_id:
        return None
    from honeydue.delivery.fcm import FCMTransport

    key = (settings.fcm_project_id, str(settings.fcm_credentials_file), settings.delivery_timeout_seconds)
    return _cached("fcm", key, lambda: FCMTransport.from_settings(settings))


def webpush_transport(settings: Settings) -> Transport | None:
    if not settings.vapid_private_key:
        return None
    from honeydue.delivery.webpush import WebPushTransport

    key = (settings.vapid_private_key, settings.vapid_subject, settings.allow_private_webhooks,
           settings.delivery_timeout_seconds)
    return _cached("webpush", key, lambda: WebPushTransport.from_settings(settings))


DEVICES = DeviceTargets()
register(DeliveryKind.IOS, source=DEVICES, transport=apns_transport, preference="push")
register(DeliveryKind.ANDROID, source=DEVICES, transport=fcm_transport, preference="push")
register(DeliveryKind.WEB, source=DEVICES, transport=webpush_transport, preference="push")
