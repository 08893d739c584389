"""From an HTTP answer of a push service (or any receiver) to the delivery outcome ``transport`` defines.

Shared by the push transports: 2xx delivered; 429 and 5xx retried (waiting at least ``Retry-After``, in
seconds or as an HTTP date); the statuses a service uses for "this target no longer exists" mark it gone;
anything else is a permanent failure whose reason is recorded. Network errors and timeouts are retried.
The webhook transport reads ``Retry-After`` with ``retry_after_seconds`` too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from honeydue.clock import utc_now
from honeydue.delivery.transport import PermanentDeliveryError, RetryableDeliveryError

MAX_REASON_LENGTH = 300  # what of a service's error body goes into the delivery row's last error
# Connection and protocol problems a retry may get past (httpx.TransportError covers timeouts too).
RETRYABLE_EXCEPTIONS = (httpx.TransportError, asyncio.TimeoutError, OSError)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now (delta-seconds or an HTTP date, RFC 9110); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    with contextlib.suppress(TypeError, ValueError, IndexError):
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - (now or utc_now())).total_seconds())
    return None


def short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_REASON_LENGTH else text[: MAX_REASON_LENGTH - 1] + "…"


def raise_for_outcome(service: str, response: httpx.Response, *, gone: Collection[int] = (410,),
                      reason: str = "") -> None:
    """Return when ``response`` is a success, else raise the delivery error its status calls for."""
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = short(f"{service} answered {status}" + (f": {reason}" if reason else ""))
    if status in gone:
        raise PermanentDeliveryError(detail, target_gone=True)
    if status == 429 or status >= 500:
        raise RetryableDeliveryError(detail, retry_after=retry_after_seconds(response.headers.get("retry-after")))
    raise PermanentDeliveryError(detail)
