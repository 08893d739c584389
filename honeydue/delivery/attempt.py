"""One attempt at one ``NotificationDelivery``, its outcome in the row, and when the next one is due.

As for email (``honeydue.mail.delivery``), attempts and back-off are counted in the row, not in the job system,
so a duplicate or early job message is a no-op and the sweeper can re-send a lost one:

* delivered: ``SENT``;
* ``RetryableDeliveryError`` (429, 5xx, timeout, no connection) or any unexpected error: ``QUEUED`` again, due
  ``DELIVERY_RETRY_BACKOFF_SECONDS`` after the first failure, doubling after each (capped at an hour), or
  after the receiver's ``Retry-After`` when that is later (capped at a day); ``FAILED`` once
  ``DELIVERY_MAX_ATTEMPTS`` attempts were made;
* ``PermanentDeliveryError``: ``FAILED`` at once; with ``target_gone`` the channel or device is marked dead
  (``targets.mark_target_dead``) and nothing is sent to it again;
* the target was removed or is dead, or its kind has no transport configured: ``FAILED``, nothing sent.

Every attempt appends ``{at, outcome, error}`` to ``attempt_log``. A worker claims the row for ``LEASE`` before
sending, so two messages for one row never send it twice at once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q

from honeydue.clock import utc_now
from honeydue.delivery import targets
from honeydue.delivery.message import Action, OutboundMessage, TaskRef
from honeydue.delivery.transport import DeliveryError, PermanentDeliveryError, RetryableDeliveryError
from honeydue.jobs import resend_overdue
from honeydue.models import DeliveryKind, DeliveryStatus, NotificationDelivery
from honeydue.settings import Settings

log = logging.getLogger(__name__)

SEND_DELIVERY_JOB = "send_notification_delivery"
MAX_BACKOFF_SECONDS = 3600.0
# A receiver's Retry-After is honoured up to this; a longer one would hold the row for days.
MAX_RETRY_AFTER_SECONDS = 86_400.0
# Longer than the send_notification_delivery actor's time limit (5 min), so a live attempt is never taken over.
LEASE = timedelta(minutes=6)
# One attempt as a whole (DNS, the transport's own bounded requests, a stuck library), in DELIVERY_TIMEOUT_SECONDS:
# above what a transport may legitimately take (a webhook's connect, write and read at one timeout each;
# Apprise's thread at three), within the actor's time limit at the largest setting (60 s).
ATTEMPT_TIMEOUTS = 4
CLOCK_SKEW = timedelta(seconds=2)
SWEEP_GRACE = timedelta(minutes=5)
SWEEP_BATCH = 1000


@dataclass(frozen=True)
class AttemptResult:
    # None: nothing was attempted (not queued any more, not due yet, or another worker holds it).
    status: DeliveryStatus | None
    retry_in: float | None = None
    error: str | None = None


def retry_delay(settings: Settings, failed_attempts: int, retry_after: float | None = None) -> float:
    """Seconds between failed attempt number ``failed_attempts`` (1-based) and the next one."""
    backoff = min(settings.delivery_retry_backoff_seconds * 2 ** (failed_attempts - 1), MAX_BACKOFF_SECONDS)
    if retry_after is not None:
        backoff = max(backoff, min(retry_after, MAX_RETRY_AFTER_SECONDS))
    return backoff


def message_fields(message: OutboundMessage) -> dict[str, Any]:
    """What a delivery row stores of a message (everything but its own id)."""
    body = message.webhook_body()
    return {"event": message.event, "notification": body["notification"], "task": body["task"],
            "actions": body["actions"]}


def stored_message(row: NotificationDelivery) -> OutboundMessage:
    """The message a row sends, with the row's id as its delivery id (receivers dedupe on it)."""
    data = row.message
    task = data.get("task")
    return OutboundMessage(
        event=data["event"], delivery_id=str(row.id), notification_type=data["notification"]["type"],
        title=data["notification"]["title"], body=data["notification"]["body"],
        task=None if task is None else TaskRef(id=task["id"], title=task["title"]),
        actions=tuple(Action(id=a["id"], title=a["title"], url=a["url"]) for a in data.get("actions", [])),
    )


async def attempt_delivery(delivery_id: uuid.UUID, *, settings: Settings, now: datetime | None = None,
                           max_attempts: int | None = None) -> AttemptResult:
    """Make the next attempt at delivery ``delivery_id`` if it is due, and record its outcome.

    ``max_attempts`` overrides ``DELIVERY_MAX_ATTEMPTS`` (a test message is tried once, while the caller waits).
    """
    now = now or utc_now()
    claimed = await (
        NotificationDelivery.filter(id=delivery_id, status=DeliveryStatus.QUEUED,
                                    next_attempt_at__lte=now + CLOCK_SKEW)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + LEASE)
    )
    if not claimed:
        return AttemptResult(None)
    row = await NotificationDelivery.get(id=delivery_id)
    kind = DeliveryKind(row.kind)
    error: DeliveryError | None = None
    entry = targets.entry(kind)
    target = await targets.load_target(kind, row.target_id)
    transport = None
    try:
        transport = None if entry is None else entry.transport(settings)
    except Exception as exc:  # a configuration the transport cannot use (a key that does not parse)
        log.exception("the %s transport could not be made", kind.value)
        error = PermanentDeliveryError(f"{kind.value} delivery is misconfigured: {exc.__class__.__name__}: {exc}")
    if error is not None:
        pass
    elif target is None:
        error = PermanentDeliveryError("the target was removed or is dead")
    elif transport is None:
        error = PermanentDeliveryError(f"{kind.value} delivery is not configured")
    else:
        try:
            # The transports bound their own requests; this bounds everything else (DNS, a stuck library).
            await asyncio.wait_for(transport.deliver(target, stored_message(row)),
                                   timeout=settings.delivery_timeout_seconds * ATTEMPT_TIMEOUTS + 5)
        except DeliveryError as exc:
            error = exc
        except TimeoutError:
            error = RetryableDeliveryError("timed out")
        except Exception as exc:  # a bug or an unexpected library error: retried, bounded by the attempts
            log.exception("delivery %s (%s) failed unexpectedly", row.id, kind.value)
            error = RetryableDeliveryError(f"{exc.__class__.__name__}: {exc}")
    return await _record(row, kind, max_attempts or settings.delivery_max_attempts, settings, error)


async def _record(row: NotificationDelivery, kind: DeliveryKind, max_attempts: int, settings: Settings,
                  error: DeliveryError | None) -> AttemptResult:
    at = utc_now()
    row.attempts += 1
    row.claimed_until = None
    retry_in: float | None = None
    if error is None:
        row.status, row.sent_at, outcome = DeliveryStatus.SENT, at, "sent"
    elif isinstance(error, RetryableDeliveryError) and row.attempts < max_attempts:
        retry_in = retry_delay(settings, row.attempts, error.retry_after)
        row.next_attempt_at = at + timedelta(seconds=retry_in)
        outcome = "retry"
    else:
        row.status, outcome = DeliveryStatus.FAILED, "failed"
    reason = None if error is None else (str(error) or error.__class__.__name__)[:2000]
    if reason is not None:
        row.last_error = reason
    if row.status is not DeliveryStatus.QUEUED:
        row.message = {}  # its action links act without a session; the log keeps what happened, not them
    row.attempt_log = [*row.attempt_log, {"at": at.isoformat(), "outcome": outcome, "error": reason}]
    await row.save(update_fields=["attempts", "claimed_until", "status", "sent_at", "next_attempt_at",
                                  "last_error", "message", "attempt_log", "updated_at"])
    if isinstance(error, PermanentDeliveryError) and error.target_gone:
        await targets.mark_target_dead(kind, row.target_id, reason or "gone")
    log.log(logging.INFO if error is None else logging.WARNING,
            "delivery %s (%s to %s) attempt %d: %s%s", row.id, kind.value, row.target_id, row.attempts, outcome,
            f" ({reason})" if reason else "",
            extra={"delivery_id": str(row.id), "kind": kind.value, "attempt": row.attempts, "outcome": outcome})
    return AttemptResult(row.status, retry_in, reason)


async def sweep_deliveries(now: datetime, send: Callable[[str], object]) -> list[str]:
    """Re-send the job of every queued delivery well past its due time (its message was lost); returns their ids."""
    ids = await resend_overdue(NotificationDelivery.filter(status=DeliveryStatus.QUEUED), now, send,
                               grace=SWEEP_GRACE, batch=SWEEP_BATCH)
    if ids:
        log.info("notification deliveries: re-sent %d queued deliveries", len(ids))
    return ids
