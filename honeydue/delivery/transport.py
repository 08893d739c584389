"""What a transport (APNs, FCM, Web Push, webhook, Apprise) does with one message for one target.

A transport sends once and reports the outcome by raising; the delivery job decides what happens next:

* returns normally: delivered;
* ``RetryableDeliveryError``: 429, 5xx, timeouts, connection errors; retried with exponential back-off,
  waiting at least ``retry_after`` seconds when the receiver sent ``Retry-After``;
* ``PermanentDeliveryError``: recorded as failed and not retried; with ``target_gone=True`` (APNs 410
  Unregistered, FCM UNREGISTERED, Web Push 404/410, webhook 410) the device or channel is marked dead and
  is not used again.
"""

from __future__ import annotations

from typing import Protocol

from honeydue.delivery.message import OutboundMessage


class DeliveryError(Exception):
    """A delivery attempt failed; ``str(exc)`` is the operator-facing reason recorded on the delivery row."""


class RetryableDeliveryError(DeliveryError):
    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    def __init__(self, reason: str, *, target_gone: bool = False) -> None:
        super().__init__(reason)
        self.target_gone = target_gone


class Transport(Protocol):
    """One way of sending. ``target`` is the Device or NotificationChannel row the message goes to."""

    async def deliver(self, target: object, message: OutboundMessage) -> None: ...
