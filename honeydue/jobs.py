"""Job messages: the one place a ``dramatiq.Message`` is built, and sending by actor name.

Senders address actors by name, so nothing imports the workers package to send. The broker is installed
by whoever assembles the process (``workers.broker``). ``send_job`` raises when the broker cannot take
the message (the scheduler and the sweeper handle that); ``enqueue``, the API's way, logs it and answers
False instead. Every job the API sends has a durable record: purges are re-sent by a periodic sweeper;
notification emails (``send_notifications``) are tried at most once, like reminders' emails, behind the
in-app notification.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import dramatiq
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

log = logging.getLogger(__name__)

QUEUE = "default"


def job_message(
    actor_name: str, *args: Any, options: dict[str, Any] | None = None, **kwargs: Any
) -> dramatiq.Message:
    """The message that runs ``actor_name(*args, **kwargs)``; ``options`` are Dramatiq message options."""
    return dramatiq.Message(queue_name=QUEUE, actor_name=actor_name, args=args, kwargs=kwargs,
                            options=options or {})


def send_job(
    broker: dramatiq.Broker,
    actor_name: str,
    *args: Any,
    options: dict[str, Any] | None = None,
    delay_ms: int | None = None,
    **kwargs: Any,
) -> dramatiq.Message:
    """Enqueue on ``broker`` (to run ``delay_ms`` from now, if given); raises when the broker cannot take it."""
    return broker.enqueue(job_message(actor_name, *args, options=options, **kwargs), delay=delay_ms)


def enqueue(actor_name: str, *args: object) -> bool:
    """Send through the process's installed broker; False (logged) when it could not be sent."""
    try:
        send_job(dramatiq.get_broker(), actor_name, *args)
        return True
    except Exception as exc:  # the broker may be down; the sweeper retries from the database
        log.warning("could not enqueue %s: %s", actor_name, exc.__class__.__name__)
        return False


def resend_each(ids: Iterable[object], send: Callable[[str], object]) -> list[str]:
    """A sweeper's step: ``send`` each id (as text) again, for jobs whose first message was lost; returns them."""
    sent = [str(job_id) for job_id in ids]
    for job_id in sent:
        send(job_id)
    return sent


async def resend_overdue(queued: QuerySet[Any], now: datetime, send: Callable[[str], object], *,
                         grace: timedelta, batch: int) -> list[str]:
    """The outbox sweeper's step: ``send`` again the job of each of the ``queued`` rows (at most ``batch``,
    longest overdue first) whose ``next_attempt_at`` is more than ``grace`` ago and that no worker holds a live
    claim on (``claimed_until``): their job message was lost. Returns their ids."""
    overdue = await (
        queued.filter(next_attempt_at__lt=now - grace)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at").limit(batch).values_list("id", flat=True)
    )
    return resend_each(overdue, send)
