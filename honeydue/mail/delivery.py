"""One delivery attempt of one queued email, its outcome in the log, and when the next one is due.

Attempts and the back-off are counted in the ``EmailDelivery`` row, not in the job system: the row says how
many attempts were made and when the next is due, so a duplicate or early job message is a no-op and the
sweeper can re-send a lost one without exceeding ``EMAIL_MAX_ATTEMPTS``.

* Delivered: ``SENT``.
* Transient failure (no connection, timeout, 4xx): ``QUEUED`` again, due ``EMAIL_RETRY_BACKOFF_SECONDS``
  after the first failure, doubling after each one (capped at ``MAX_BACKOFF_SECONDS``), until
  ``EMAIL_MAX_ATTEMPTS`` attempts were made; then ``FAILED``.
* Permanent failure (5xx, a message that cannot be built): ``FAILED`` at once.

Every attempt appends ``{at, outcome, error}`` to ``attempt_log``. A worker claims the row for ``LEASE`` before
sending, so two messages for one row never send it twice at once; a worker that dies mid-send leaves the
claim to expire, and the sweeper sends the row again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from tortoise.expressions import Q

from honeydue.clock import utc_now
from honeydue.jobs import resend_overdue
from honeydue.links import app_link
from honeydue.mail.compose import compose, new_message_id
from honeydue.mail.render import render
from honeydue.mail.transport import MailError, MailTransport, PermanentMailError, TransientMailError
from honeydue.models import EmailDelivery, EmailStatus
from honeydue.settings import Settings
from honeydue.signing import sign_unsubscribe

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 3600.0
# Longer than a job may run (the send_email actor's time limit), so a live attempt is never taken over.
LEASE = timedelta(minutes=10)
# A message delayed to the due time may be taken from the queue a moment early by another host's clock.
CLOCK_SKEW = timedelta(seconds=2)
# The sweeper leaves a row alone this long past its due time: its job message is normally on its way.
SWEEP_GRACE = timedelta(minutes=5)
SWEEP_BATCH = 1000
UNSUBSCRIBE_PATH = "/email/unsubscribe"


@dataclass(frozen=True)
class AttemptResult:
    # None: nothing was attempted (not queued any more, not due yet, or another worker holds it).
    status: EmailStatus | None
    # Seconds until the next attempt is due, when one is.
    retry_in: float | None = None


def retry_delay(settings: Settings, failed_attempts: int) -> float:
    """Seconds between failed attempt number ``failed_attempts`` (1-based) and the next one."""
    return min(settings.email_retry_backoff_seconds * 2 ** (failed_attempts - 1), MAX_BACKOFF_SECONDS)


def unsubscribe_url(settings: Settings, signing_keys: Sequence[bytes], user_id: UUID, notification_type: str) -> str:
    """The one-click link that turns ``notification_type`` off for ``user_id``."""
    return app_link(settings, UNSUBSCRIBE_PATH, token=sign_unsubscribe(list(signing_keys), user_id.hex,
                                                                      notification_type))


def _template_context(row: EmailDelivery, settings: Settings, signing_keys: Sequence[bytes]) -> dict[str, Any]:
    context: dict[str, Any] = {**row.context, "app_url": settings.effective_public_app_url}
    if not row.transactional and row.user_id is not None and row.notification_type is not None:
        context["unsubscribe_url"] = unsubscribe_url(settings, signing_keys, row.user_id, row.notification_type)
    return context


async def attempt_delivery(
    delivery_id: UUID,
    *,
    settings: Settings,
    transport: MailTransport,
    signing_keys: Sequence[bytes],
    now: datetime | None = None,
) -> AttemptResult:
    """Make the next attempt at delivery ``delivery_id`` if it is due, and record its outcome."""
    now = now or utc_now()
    claimed = await (
        EmailDelivery.filter(id=delivery_id, status=EmailStatus.QUEUED, next_attempt_at__lte=now + CLOCK_SKEW)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + LEASE)
    )
    if not claimed:
        return AttemptResult(None)
    row = await EmailDelivery.get(id=delivery_id)
    message_id = row.message_id or new_message_id(settings.smtp_from)
    error: MailError | None = None
    detail = ""
    try:
        context = _template_context(row, settings, signing_keys)
        message = compose(render(row.kind, context), sender=settings.smtp_from, to=row.to, message_id=message_id,
                          unsubscribe_url=context.get("unsubscribe_url"))
    except Exception as exc:  # a template or address problem: no later attempt can do better
        log.exception("email %s (%s) could not be built", row.id, row.kind)
        error = PermanentMailError(f"could not build the message: {exc.__class__.__name__}: {exc}")
    else:
        try:
            detail = await transport.send(message)
        except MailError as exc:
            error = exc
    return await _record(row, settings, message_id, error, detail)


async def _record(row: EmailDelivery, settings: Settings, message_id: str, error: MailError | None,
                  detail: str) -> AttemptResult:
    at = utc_now()
    row.attempts += 1
    row.message_id = message_id
    row.claimed_until = None
    retry_in: float | None = None
    if error is None:
        row.status, row.sent_at, outcome = EmailStatus.SENT, at, "sent"
    elif isinstance(error, TransientMailError) and row.attempts < settings.email_max_attempts:
        retry_in = retry_delay(settings, row.attempts)
        row.next_attempt_at = at + timedelta(seconds=retry_in)
        outcome = "retry"
    else:
        row.status, outcome = EmailStatus.FAILED, "failed"
    if error is not None:
        row.last_error = str(error)[:2000]
    if row.status is not EmailStatus.QUEUED:
        row.context = {}  # it can hold a single-use link; the log keeps only what was sent to whom
    row.attempt_log = [*row.attempt_log, {"at": at.isoformat(), "outcome": outcome,
                                          "error": None if error is None else str(error)[:2000]}]
    await row.save(update_fields=["attempts", "message_id", "claimed_until", "status", "sent_at", "next_attempt_at",
                                  "last_error", "context", "attempt_log", "updated_at"])
    log.log(logging.INFO if error is None else logging.WARNING,
            "email %s (%s) attempt %d: %s%s", row.id, row.kind, row.attempts, outcome,
            f" ({error})" if error is not None else f" ({detail})",
            extra={"email_id": str(row.id), "kind": row.kind, "attempt": row.attempts, "outcome": outcome})
    return AttemptResult(row.status, retry_in)


async def sweep_email_outbox(now: datetime, send: Callable[[str], object]) -> list[str]:
    """Re-send the job of every queued email well past its due time (its message was lost); returns their ids."""
    ids = await resend_overdue(EmailDelivery.filter(status=EmailStatus.QUEUED), now, send,
                               grace=SWEEP_GRACE, batch=SWEEP_BATCH)
    if ids:
        log.info("email outbox: re-sent %d queued emails", len(ids))
    return ids
