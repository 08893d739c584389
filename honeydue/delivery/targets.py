"""The registry of delivery kinds: where each kind's targets come from, how it is sent, and how it dies.

Every ``DeliveryKind`` (WEBHOOK, APPRISE, IOS, ANDROID, WEB) is registered once, by the module that owns its
targets, with ``register``::

    register(DeliveryKind.WEBHOOK, source=ChannelTargets(), transport=webhook_transport, preference="webhook")

* ``source``, a ``TargetSource``: the user's live targets of the kinds it serves (``live_targets``), one
  target row by id (``load``; None when it was removed or is dead), and ``mark_dead`` for a receiver's
  "gone for good". One source may serve several kinds (the channels serve WEBHOOK and APPRISE; the devices
  IOS, ANDROID and WEB): register each kind with the same object.
* ``transport``: ``Callable[[Settings], Transport | None]``, called for each attempt; None when the kind is
  not configured (no APNs key, say), which fails that delivery with a clear reason. A transport that needs
  costly state (an OAuth token, a signed JWT) caches it itself, keyed by what it was made from.
* ``preference``: the ``NotificationPreference`` field that turns the kind off per notification type
  (``push``, ``webhook`` or ``apprise``; email is the email channel's own).

The modules in ``PROVIDERS`` are imported on first use, so their ``register`` calls have run wherever a
delivery is made or attempted (the API, a worker, ``honeydue jobs run``). A module that registers kinds
adds itself there.

``mark_target_dead(kind, target_id)`` is the one way a delivery marks its target dead (a webhook's 410,
APNs' 410 Unregistered, FCM's UNREGISTERED, a Web Push 404/410): it dispatches to the kind's source, so
channels and devices are handled alike and are never sent to again.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from honeydue.clock import utc_now
from honeydue.delivery.transport import Transport
from honeydue.models import DeliveryKind
from honeydue.settings import Settings

# Imported before the registry is read; each registers the kinds it owns.
PROVIDERS: tuple[str, ...] = ("honeydue.delivery.channels", "honeydue.delivery.devices")

TransportFactory = Callable[[Settings], Transport | None]


@dataclass(frozen=True)
class Target:
    kind: DeliveryKind
    id: uuid.UUID


class TargetSource(Protocol):
    async def live_targets(self, user_id: uuid.UUID) -> list[Target]:
        """The user's targets of this source's kinds that are not dead, oldest first."""
        ...

    async def load(self, kind: DeliveryKind, target_id: uuid.UUID) -> object | None:
        """The target row (what the transport gets), or None when it is gone or dead."""
        ...

    async def mark_dead(self, kind: DeliveryKind, target_id: uuid.UUID, reason: str, at: datetime) -> None:
        """Record that the receiver said the target is gone for good; it is not used again."""
        ...


@dataclass(frozen=True)
class KindEntry:
    source: TargetSource
    transport: TransportFactory
    preference: str


_registry: dict[DeliveryKind, KindEntry] = {}
_loaded = False


def register(kind: DeliveryKind, *, source: TargetSource, transport: TransportFactory, preference: str) -> None:
    """Make ``kind`` deliverable; a second registration of a kind replaces the first (tests swap transports)."""
    _registry[kind] = KindEntry(source, transport, preference)


def _ensure_loaded() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in PROVIDERS:
            importlib.import_module(module)


def entry(kind: DeliveryKind) -> KindEntry | None:
    _ensure_loaded()
    return _registry.get(kind)


def registered() -> dict[DeliveryKind, KindEntry]:
    _ensure_loaded()
    return dict(_registry)


async def live_targets(user_id: uuid.UUID) -> list[Target]:
    """Every live target of the user, of every registered kind (each source asked once)."""
    seen: list[TargetSource] = []
    targets: list[Target] = []
    for kind_entry in registered().values():
        if any(kind_entry.source is s for s in seen):
            continue
        seen.append(kind_entry.source)
        targets.extend(await kind_entry.source.live_targets(user_id))
    return targets


async def load_target(kind: DeliveryKind, target_id: uuid.UUID) -> object | None:
    kind_entry = entry(kind)
    return None if kind_entry is None else await kind_entry.source.load(kind, target_id)


async def mark_target_dead(kind: DeliveryKind, target_id: uuid.UUID, reason: str = "gone") -> None:
    """Mark a channel or device dead: no delivery is made to it any more."""
    kind_entry = entry(kind)
    if kind_entry is None:
        raise KeyError(f"no delivery kind {kind!r} is registered")
    await kind_entry.source.mark_dead(kind, target_id, reason[:2000], utc_now())
